package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/redistest"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/store"
)

// BenchmarkCallbackStore answers the example account's pushes with the
// user's state kept in memory and in Redis (WXREPLY_TEST_REDIS): what
// sharing it costs a push. Each push comes from a new user and is answered
// by the fallback, whose cooldown is stored: a retry claim, a load and a
// save of the user, and the reply kept for retries.
func BenchmarkCallbackStore(b *testing.B) {
	res, err := rules.Load("../examples/rules")
	if err != nil {
		b.Fatal(err)
	}
	stores := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(*testing.B) store.Store { return store.NewMemory(store.MemoryOptions{}) }},
		{"redis", func(b *testing.B) store.Store {
			url := redistest.URL(b)
			st, err := store.OpenRedis(context.Background(), url, store.RedisOptions{Prefix: fmt.Sprintf("wxreply-bench-%d:", time.Now().UnixNano())})
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, sc := range stores {
		b.Run(sc.name, func(b *testing.B) {
			st := sc.open(b)
			defer st.Close()
			srv, err := server.New(server.Options{
				Token:  testToken,
				Store:  st,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now:    func() time.Time { return testNow },
			}, engine.New(res.RuleSet, nil))
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				body := server.EncodeFields(map[string]string{
					"ToUserName": "gh_5e8a1c2f9b3d", "FromUserName": "oBench" + strconv.Itoa(i), "CreateTime": "1718170001",
					"MsgType": "text", "Content": "asdfgh", "MsgId": strconv.Itoa(2e9 + i),
				})
				q := "/wechat?" + signedQuery(testToken, testNow, "s"+strconv.Itoa(i)).Encode()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, q, bytes.NewReader(body)))
				if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte("抱歉")) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			if h := st.Health(); h.Degraded {
				b.Fatalf("the store degraded during the run: %+v", h)
			}
		})
	}
}
