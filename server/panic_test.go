package server_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
	"github.com/wxreply/wxreply/store"
)

// panicReader panics when read: as Options.Random, it makes sealing a
// reply panic.
type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("random source broke") }

// panicStore is a store.Memory whose Finish panics, after the reply is
// encoded.
type panicStore struct{ store.Store }

func (panicStore) Finish(context.Context, string, []byte) error { panic("store broke") }

// TestPanicAnswersSuccess: a panic past the checks and outside matching
// (sealing the reply, keeping it for retries) answers the authentic push
// 200 "success", counted as outcome error, and logged.
func TestPanicAnswersSuccess(t *testing.T) {
	const appID = "wx2c2769f8efd9abc2"
	key, err := wxcrypto.ParseKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts server.Options
		key  *wxcrypto.Key // the client seals with it, when set
	}{
		{"sealing", server.Options{Mode: server.ModeSafe, AppID: appID, AESKey: key, Random: panicReader{}}, key},
		{"store", server.Options{Store: panicStore{store.NewMemory(store.MemoryOptions{})}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, tt.opts)
			srv := httptest.NewServer(ts.Handler())
			defer srv.Close()
			client := &server.Client{URL: srv.URL + "/wechat", Token: testToken, Key: tt.key, AppID: appID,
				Now: func() time.Time { return testNow }}
			resp, err := client.Send(t.Context(), readFixture(t, "event_click.xml"))
			if err != nil {
				t.Fatalf("%v\nlog: %s", err, ts.log)
			}
			if resp.Status != 200 || !bytes.Equal(resp.Raw, server.Success) {
				t.Errorf("status %d, body %q; want 200 success", resp.Status, resp.Raw)
			}
			m := scrape(t, ts)
			if n := m[`wxreply_requests_total{event="CLICK",msgtype="event",outcome="error"}`]; n != 1 {
				t.Errorf("wxreply_requests_total{outcome=error} = %v, want 1", n)
			}
			if rej := m.rejected(); len(rej) != 0 {
				t.Errorf("rejections %v, want none", rej)
			}
			if !strings.Contains(ts.log.String(), "panic while answering a push; answered success") {
				t.Errorf("the panic is not logged:\n%s", ts.log)
			}
		})
	}
}
