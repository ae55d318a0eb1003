package server_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/benchrules"
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
		b.Run(bc.name, func(b *testing.B) { benchPushes(b, bc.handler, benchText("how much is a latte")) })
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
			benchPushes(b, newBenchServer(b, slog.New(slog.NewJSONHandler(w, nil))).Handler(), benchText("how much is a latte"))
		})
	}
}

// BenchmarkCallbackRules answers pushes among 10, 1,000 and 10,000 rules
// shaped as the peer bench's (internal/benchrules): a text answered by the
// last rule, and a menu click answered by the second; each push's
// candidates are found by index, so the rules' number should barely show.
func BenchmarkCallbackRules(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(benchrules.File(n)), 0o644); err != nil {
			b.Fatal(err)
		}
		srv := newBenchServerFor(b, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		b.Run(fmt.Sprintf("rules=%d/text", n), func(b *testing.B) { benchPushes(b, srv.Handler(), benchText("hello")) })
		b.Run(fmt.Sprintf("rules=%d/click", n), func(b *testing.B) { benchPushes(b, srv.Handler(), benchClick("KEY_1")) })
	}
}

func newBenchServer(b *testing.B, log *slog.Logger) *server.Server {
	return newBenchServerFor(b, "../examples/rules", log)
}

func newBenchServerFor(b *testing.B, dir string, log *slog.Logger) *server.Server {
	res, err := rules.Load(dir)
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

// benchText is the i-th push of a user saying content.
func benchText(content string) func(i int) []byte {
	return func(i int) []byte {
		return server.EncodeFields(map[string]string{
			"ToUserName": "gh_5e8a1c2f9b3d", "FromUserName": "oLoad", "CreateTime": "1718170001",
			"MsgType": "text", "Content": content, "MsgId": strconv.Itoa(1e9 + i),
		})
	}
}

// benchClick is the i-th click of a menu item with key by a user, each in
// its own second, so that none is taken for a retry of another.
func benchClick(key string) func(i int) []byte {
	return func(i int) []byte {
		return server.EncodeFields(map[string]string{
			"ToUserName": "gh_5e8a1c2f9b3d", "FromUserName": "oLoad", "CreateTime": strconv.Itoa(1718170001 + i),
			"MsgType": "event", "Event": "CLICK", "EventKey": key,
		})
	}
}

var benchNonces atomic.Int64

// benchPushes posts b.N signed pushes to h, one after another. The
// requests are built in batches with the timer stopped, so that B/op and
// allocs/op are the handler's alone.
func benchPushes(b *testing.B, h http.Handler, push func(i int) []byte) {
	// Each push is signed with its own nonce, as WeChat's are: the server
	// refuses a signed query that comes again with another body. The
	// nonces go on across benchmarks that share a server.
	query := func() string {
		return "/wechat?" + signedQuery(testToken, testNow, strconv.FormatInt(benchNonces.Add(1), 10)).Encode()
	}
	const batch = 1000
	reqs := make([]*http.Request, batch)
	recs := make([]*httptest.ResponseRecorder, batch)
	b.ReportAllocs()
	b.ResetTimer()
	var cpu int64
	for done := 0; done < b.N; done += batch {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			reqs[i] = httptest.NewRequest(http.MethodPost, query(), bytes.NewReader(push(done+i)))
			recs[i] = httptest.NewRecorder()
		}
		b.StartTimer()
		start := cpuTime()
		for i := range n {
			h.ServeHTTP(recs[i], reqs[i])
		}
		cpu += cpuTime() - start
		for i := range n {
			if recs[i].Code != http.StatusOK {
				b.Fatalf("%d %s", recs[i].Code, recs[i].Body)
			}
		}
	}
	// CPU time, user and system, of the whole process (the GC's too): the
	// cost of a push, which the time of day hides on a busy machine.
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
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
