package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
)

// BenchmarkCallback answers a signed text push with the example account,
// in process, beside a handler that writes fixed bytes (the floor).
func BenchmarkCallback(b *testing.B) {
	srv := newBenchServer(b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fixed := []byte("<xml><Content><![CDATA[hi]]></Content></xml>")
	for _, bc := range []struct {
		name    string
		handler http.Handler
	}{
		{"bare", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); w.Write(fixed) })},
		{"wxreply", srv.Handler()},
	} {
		b.Run(bc.name, func(b *testing.B) { benchPushes(b, bc.handler) })
	}
}

// BenchmarkCallbackLog is BenchmarkCallback's wxreply with the log serve
// writes, JSON to a file, beside no log: what the access log costs a push.
// (A buffered writer in front of the file saved about 1 µs of some 40 and
// delayed the lines that explain a crash; serve writes straight.)
func BenchmarkCallbackLog(b *testing.B) {
	for _, name := range []string{"none", "json-file"} {
		b.Run(name, func(b *testing.B) {
			var w io.Writer = io.Discard
			if name == "json-file" {
				f, err := os.Create(filepath.Join(b.TempDir(), "log"))
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				w = f
			}
			benchPushes(b, newBenchServer(b, slog.New(slog.NewJSONHandler(w, nil))).Handler())
		})
	}
}

func newBenchServer(b *testing.B, log *slog.Logger) *server.Server {
	res, err := rules.Load("../examples/rules")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Options{
		Token:  testToken,
		Logger: log,
		Now:    func() time.Time { return testNow },
	}, engine.New(res.RuleSet, nil))
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// benchPushes posts b.N signed text pushes to h, one after another.
func benchPushes(b *testing.B, h http.Handler) {
	// Each push is signed with its own nonce, as WeChat's are: the server
	// refuses a signed query that comes again with another body.
	query := func(i int) string { return "/wechat?" + signedQuery(testToken, testNow, strconv.Itoa(i)).Encode() }
	push := func(i int) []byte {
		return server.EncodeFields(map[string]string{
			"ToUserName": "gh_5e8a1c2f9b3d", "FromUserName": "oLoad", "CreateTime": "1718170001",
			"MsgType": "text", "Content": "how much is a latte", "MsgId": strconv.Itoa(1e9 + i),
		})
	}
	b.ReportAllocs()
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, query(i), bytes.NewReader(push(i))))
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	// CPU time, user and system, of the whole process (the GC's too): the
	// cost of a push, which the time of day hides on a busy machine.
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkDecode reads a text push and the deepest event WeChat sends
// (pic_weixin: SendPicsInfo/PicList/item) into their fields.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"text.xml", "event_pic_weixin.xml"} {
		push := readFixture(b, name)
		b.Run(strings.TrimSuffix(name, ".xml"), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(push)))
			for b.Loop() {
				if _, err := server.DecodeFields(bytes.NewReader(push)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
