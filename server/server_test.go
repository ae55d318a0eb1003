package server_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
	"github.com/wxreply/wxreply/store"
)

var update = flag.Bool("update", false, "rewrite the golden replies in testdata/golden")

const testToken = "wxreply-test-token"

// testNow is the server's clock in tests: a minute after the fixtures were sent.
var testNow = time.Unix(1718170200, 0)

// testServer answers with testdata/rules at testNow, logging into log.
type testServer struct {
	*server.Server
	log   *bytes.Buffer
	clock time.Time
}

func newTestServer(t *testing.T, opts server.Options) *testServer {
	t.Helper()
	res, err := rules.Load("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{log: &bytes.Buffer{}, clock: testNow}
	if opts.Token == "" {
		opts.Token = testToken
	}
	opts.Now = func() time.Time { return ts.clock }
	opts.Logger = slog.New(slog.NewTextHandler(ts.log, nil))
	ts.Server, err = server.New(opts, engine.New(res.RuleSet, nil))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// signedQuery is the query WeChat adds: signature over token, timestamp, nonce.
func signedQuery(token string, timestamp time.Time, nonce string) url.Values {
	ts := strconv.FormatInt(timestamp.Unix(), 10)
	return url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wxcrypto.Sign(token, ts, nonce)}}
}

func (ts *testServer) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	ts.Handler().ServeHTTP(rec, req)
	return rec
}

// admin serves req on the admin listener.
func (ts *testServer) admin(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	ts.AdminHandler().ServeHTTP(rec, req)
	return rec
}

// post sends body as an authentic plaintext push, each with a nonce of its
// own, as WeChat sends them: a query seen before with another body is
// refused as a replay.
func (ts *testServer) post(body []byte) *httptest.ResponseRecorder {
	q := signedQuery(testToken, testNow, strconv.FormatInt(postNonces.Add(1), 10))
	return ts.do(httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body)))
}

var postNonces atomic.Int64

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenReplies posts every fixture and compares the whole reply with
// testdata/golden/<fixture>.golden (go test -update rewrites them).
func TestGoldenReplies(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/fixtures/*.xml")
	for _, path := range fixtures {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, server.Options{})
			rec := ts.post(readFixture(t, name))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s\nlog: %s", rec.Code, rec.Body, ts.log)
			}
			golden := filepath.Join("testdata/golden", strings.TrimSuffix(name, ".xml")+".golden")
			if *update {
				if err := os.WriteFile(golden, rec.Body.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./server -update to create it)", err)
			}
			if !bytes.Equal(rec.Body.Bytes(), want) {
				t.Errorf("reply:\n%s\nwant (%s):\n%s", rec.Body, golden, want)
			}
			if !bytes.Equal(rec.Body.Bytes(), server.Success) {
				assertWellFormedReply(t, rec.Body.Bytes(), readFixture(t, name))
			}
		})
	}
}

// assertWellFormedReply checks what WeChat checks: the reply parses, goes back
// to the sender from the account, and is dated now.
func assertWellFormedReply(t *testing.T, reply, push []byte) {
	t.Helper()
	var in, out struct {
		ToUserName, FromUserName string
		CreateTime               int64
	}
	if err := xml.Unmarshal(push, &in); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(reply, &out); err != nil {
		t.Fatalf("the reply does not parse: %v", err)
	}
	if out.ToUserName != in.FromUserName || out.FromUserName != in.ToUserName || out.CreateTime != testNow.Unix() {
		t.Errorf("reply header %+v; want To=%s From=%s CreateTime=%d", out, in.FromUserName, in.ToUserName, testNow.Unix())
	}
}

// TestEchoedContentCannotBreakTheReply: a rule that repeats what the user sent
// yields XML that parses back to the same text, whatever the text.
func TestEchoedContentCannotBreakTheReply(t *testing.T) {
	for _, content := range []string{
		"a]]>b",
		"</Content></xml><xml><Content>evil",
		"<![CDATA[x]]>",
		"tab\tnewline\nreturn\r",
		"emoji 🧋 and 中文",
	} {
		ts := newTestServer(t, server.Options{})
		push := server.EncodeFields(map[string]string{
			"ToUserName": "gh_1", "FromUserName": "o1", "CreateTime": "1718170001",
			"MsgType": "text", "MsgId": "1", "Content": content,
		})
		rec := ts.post(push)
		r, err := server.ParseReply(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("%q: the reply does not parse: %v\n%s", content, err, rec.Body)
		}
		clean := strings.ReplaceAll(content, "\r", "\n") // XML reads a lone CR as a newline
		if want := "You said: " + clean + " (<&> ]]> are safe)"; r.Text() != want {
			t.Errorf("%q: reply text %q, want %q", content, r.Text(), want)
		}
	}
}

func TestRetryGetsTheSameReply(t *testing.T) {
	ts := newTestServer(t, server.Options{})
	push := readFixture(t, "text.xml")
	first := ts.post(push)
	ts.clock = ts.clock.Add(5 * time.Second) // a fresh answer would carry a new CreateTime
	retry := ts.post(push)
	if first.Code != 200 || !bytes.Equal(first.Body.Bytes(), retry.Body.Bytes()) {
		t.Errorf("first %d %s\nretry %d %s", first.Code, first.Body, retry.Code, retry.Body)
	}
	if !strings.Contains(ts.log.String(), "outcome=retry") {
		t.Errorf("the retry was not logged as one:\n%s", ts.log)
	}

	// Events have no MsgId: who, when, what and which key tell retries apart.
	click := readFixture(t, "event_click.xml")
	a := ts.post(click)
	ts.clock = ts.clock.Add(5 * time.Second)
	b := ts.post(click)
	other := ts.post(bytes.Replace(click, []byte("MENU_OPENING_HOURS"), []byte("MENU_CONTACT"), 1))
	if !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) || bytes.Equal(a.Body.Bytes(), other.Body.Bytes()) {
		t.Errorf("event retry:\n%s\n%s\nanother key at the same second:\n%s", a.Body, b.Body, other.Body)
	}

	// Two job reports of one second, each with its own MsgID and status,
	// are two events; the same report again is a retry.
	retries := func() int { return strings.Count(ts.log.String(), "outcome=retry") }
	job := readFixture(t, "event_templatesendjobfinish.xml")
	before := retries()
	ts.post(job)
	ts.post(bytes.Replace(bytes.Replace(job, []byte("2843910385725915136"), []byte("2843910385725915140"), 1),
		[]byte("success"), []byte("failed:user block"), 1))
	if n := retries() - before; n != 0 {
		t.Errorf("a second job report of the same second was taken for a retry of the first:\n%s", ts.log)
	}
	ts.post(job)
	if n := retries() - before; n != 1 {
		t.Errorf("the same job report again: %d retries logged, want 1:\n%s", n, ts.log)
	}
}

func TestSafeModeRoundTrip(t *testing.T) {
	const appID = "wx2c2769f8efd9abc2"
	key, err := wxcrypto.ParseKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	if err != nil {
		t.Fatal(err)
	}
	oldKey, _ := wxcrypto.ParseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	for _, mode := range []server.Mode{server.ModeSafe, server.ModeCompat} {
		for _, sealWith := range []*wxcrypto.Key{key, oldKey} {
			ts := newTestServer(t, server.Options{Mode: mode, AppID: appID, AESKey: key, PreviousAESKey: oldKey})
			srv := httptest.NewServer(ts.Handler())
			client := &server.Client{URL: srv.URL + "/wechat", Token: testToken, Key: sealWith, AppID: appID,
				Now: func() time.Time { return testNow }}
			resp, err := client.Send(t.Context(), readFixture(t, "event_click.xml"))
			srv.Close()
			if err != nil {
				t.Fatalf("%s: %v\nlog: %s", mode, err, ts.log)
			}
			if resp.Reply == nil || resp.Reply.Text() != "You pressed MENU_OPENING_HOURS" {
				t.Errorf("%s: reply %+v", mode, resp.Reply)
			}
			if bytes.Contains(resp.Raw, []byte("MENU_OPENING_HOURS")) {
				t.Errorf("%s: the reply went out in plaintext: %s", mode, resp.Raw)
			}
		}
	}
}

func TestHealthReadyAndMetrics(t *testing.T) {
	ts := newTestServer(t, server.Options{})
	ts.post(readFixture(t, "event_click.xml"))
	ts.post(readFixture(t, "event_view.xml"))
	ts.post([]byte("not xml"))

	for path, want := range map[string][]string{
		"/healthz": {"ok"},
		"/readyz":  {`"status":"ready"`, `"rules":17`, `"mode":"plain"`, `"rules_version":"`, `"store":{"backend":"memory","degraded":false}`},
		"/metrics": {
			`wxreply_requests_total{event="CLICK",msgtype="event",outcome="replied"} 1`,
			`wxreply_requests_total{event="VIEW",msgtype="event",outcome="no_rule"} 1`,
			`wxreply_requests_rejected_total{reason="malformed_xml"} 1`,
			`wxreply_rule_hits_total{rule="click"} 1`,
			`wxreply_rules_loaded 17`,
			`wxreply_request_duration_seconds_bucket{le="5"} 2`,
			`wxreply_cache_entries{cache="retry"} 2`,
			`wxreply_cache_entries{cache="replay"} 3`,
			`wxreply_cache_evictions_total{cache="retry"} 0`,
			`wxreply_store_degraded 0`,
		},
	} {
		rec := ts.admin(httptest.NewRequest(http.MethodGet, path, nil))
		body, _ := io.ReadAll(rec.Body)
		for _, w := range want {
			if rec.Code != 200 || !bytes.Contains(body, []byte(w)) {
				t.Errorf("GET %s: %d, missing %s in:\n%.2000s", path, rec.Code, w, body)
			}
		}
	}
}

// degradedStore is a store.Memory standing in for a Redis store that
// failed.
type degradedStore struct{ *store.Memory }

func (degradedStore) Degraded() bool { return true }

func (degradedStore) Health() store.Health {
	return store.Health{Backend: "redis", Degraded: true, Since: testNow, LastError: "dial tcp 10.0.0.7:6379: connect: connection refused",
		Errors: map[string]uint64{"claim": 3, "save_user": 0}}
}

// TestStoreHealthShown: a degraded store shows in /readyz's details and in
// the metrics, and the server stays ready: it answers from memory.
func TestStoreHealthShown(t *testing.T) {
	ts := newTestServer(t, server.Options{Store: degradedStore{store.NewMemory(store.MemoryOptions{})}})
	for path, want := range map[string][]string{
		"/readyz": {`"status":"ready"`, `"store":{"backend":"redis","degraded":true,"degraded_since":"`, `"errors":{"claim":3,"save_user":0}`, `"last_error":"dial tcp 10.0.0.7:6379: connect: connection refused"`},
		"/metrics": {
			`wxreply_store_degraded 1`,
			`wxreply_store_errors_total{op="claim"} 3`,
			`wxreply_store_errors_total{op="save_user"} 0`,
			`wxreply_cache_entries{cache="user"} 0`,
		},
	} {
		rec := ts.admin(httptest.NewRequest(http.MethodGet, path, nil))
		body, _ := io.ReadAll(rec.Body)
		for _, w := range want {
			if rec.Code != 200 || !bytes.Contains(body, []byte(w)) {
				t.Errorf("GET %s: %d, missing %s in:\n%.3000s", path, rec.Code, w, body)
			}
		}
	}
}

// TestCallbackListenerShowsNothing is E04 of /work/shared/reliability.md:
// the callback listener, which faces the internet, answers /healthz and a
// bare /readyz for load balancers, and has no metrics, no details of the
// rules and no reload: those are on the admin listener.
func TestCallbackListenerShowsNothing(t *testing.T) {
	ts := newTestServer(t, server.Options{})
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/healthz", http.StatusOK, "ok\n"},
		{http.MethodGet, "/readyz", http.StatusOK, "ready\n"},
		{http.MethodGet, "/metrics", http.StatusNotFound, ""},
		{http.MethodPost, "/-/reload", http.StatusNotFound, ""},
		{http.MethodGet, "/readyz?verbose=1", http.StatusOK, "ready\n"},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, nil)
		req.RemoteAddr = "127.0.0.1:41000"
		rec := ts.do(req)
		if rec.Code != tt.status || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s %s on the callback listener: %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body, tt.status, tt.body)
		}
		if strings.Contains(rec.Body.String(), "rules") || strings.Contains(rec.Body.String(), "wxreply_") {
			t.Errorf("%s %s on the callback listener tells: %q", tt.method, tt.path, rec.Body)
		}
	}
	// The admin listener has no callback.
	if rec := ts.admin(httptest.NewRequest(http.MethodPost, "/wechat?"+authQuery().Encode(), bytes.NewReader(readFixture(t, "text.xml")))); rec.Code != http.StatusNotFound {
		t.Errorf("POST /wechat on the admin listener: %d", rec.Code)
	}
}

// TestLogs: one line per push with the rule that answered, and never a secret
// or what the user wrote.
func TestLogs(t *testing.T) {
	key, _ := wxcrypto.ParseKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	ts := newTestServer(t, server.Options{AESKey: key, AppID: "wx2c2769f8efd9abc2", Mode: server.ModeCompat})
	ts.post(readFixture(t, "text.xml"))
	ts.post(readFixture(t, "event_view.xml"))
	lines := strings.Split(strings.TrimSpace(ts.log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), ts.log)
	}
	for _, want := range []string{"rule=text-echo", "outcome=replied", "msgtype=text", "latency_ms="} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}
	for _, secret := range []string{testToken, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "周末营业时间"} {
		if strings.Contains(ts.log.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, ts.log)
		}
	}
}

func TestDeadlineAnswersSuccess(t *testing.T) {
	ts := newTestServer(t, server.Options{Deadline: time.Nanosecond})
	rec := ts.post(readFixture(t, "text.xml"))
	if rec.Code != 200 || rec.Body.String() != "success" || !strings.Contains(ts.log.String(), "outcome=deadline") {
		t.Errorf("%d %q\n%s", rec.Code, rec.Body, ts.log)
	}
}

func TestWrongAccountIsRefused(t *testing.T) {
	ts := newTestServer(t, server.Options{Account: "gh_5e8a1c2f9b3d"})
	if rec := ts.post(readFixture(t, "text.xml")); rec.Code != http.StatusOK {
		t.Errorf("our account: %d %s", rec.Code, rec.Body)
	}
	other := bytes.Replace(readFixture(t, "text.xml"), []byte("gh_5e8a1c2f9b3d"), []byte("gh_000000000000"), 1)
	if rec := ts.post(other); rec.Code != http.StatusForbidden || !strings.Contains(ts.log.String(), "reason=wrong_account") {
		t.Errorf("another account: %d %s\n%s", rec.Code, rec.Body, ts.log)
	}
}

// TestRetryWhileTheFirstIsAnswered: a retry that arrives before the first
// delivery is answered waits for it, and gets its reply.
func TestRetryWhileTheFirstIsAnswered(t *testing.T) {
	mem := store.NewMemory(store.MemoryOptions{})
	ts := newTestServer(t, server.Options{Store: mem})
	// The first delivery, still being answered.
	key := retryKey(t, readFixture(t, "text.xml"))
	if ok, _ := mem.Claim(t.Context(), key); !ok {
		t.Fatal("claim")
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- ts.post(readFixture(t, "text.xml")) }()
	select {
	case rec := <-done:
		t.Fatalf("the retry did not wait: %d %s", rec.Code, rec.Body)
	case <-time.After(50 * time.Millisecond):
	}
	mem.Finish(t.Context(), key, []byte("<xml>first</xml>"))
	if rec := <-done; rec.Body.String() != "<xml>first</xml>" {
		t.Errorf("retry got %q", rec.Body)
	}
}

// retryKey is the Store key of push.
func retryKey(t *testing.T, push []byte) string {
	t.Helper()
	fields, err := server.DecodeFields(bytes.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := engine.NewEvent(fields, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return server.DedupeKey(ev)
}

// TestSameMsgIdFromTwoUsers is E01 of /work/shared/reliability.md: a MsgId
// is unique per user only, so two users sending the same one each get their
// own reply, addressed to themselves, and neither is taken for a retry.
func TestSameMsgIdFromTwoUsers(t *testing.T) {
	ts := newTestServer(t, server.Options{})
	srv := httptest.NewServer(ts.Handler())
	defer srv.Close()
	push := func(account, openID, content string) []byte {
		return server.EncodeFields(map[string]string{"ToUserName": account, "FromUserName": openID,
			"CreateTime": "1718170001", "MsgType": "text", "MsgId": "7382914650123456701", "Content": content})
	}
	for _, tc := range []struct{ account, openID, content string }{
		{"gh_5e8a1c2f9b3d", "oAlice0000000000000000000000", "from Alice"},
		{"gh_5e8a1c2f9b3d", "oBob000000000000000000000000", "from Bob"},
		// Another account behind the same server, the same user and MsgId.
		{"gh_000000000000", "oAlice0000000000000000000000", "to the other account"},
	} {
		client := &server.Client{URL: srv.URL + "/wechat", Token: testToken, Now: func() time.Time { return testNow }}
		resp, err := client.Send(t.Context(), push(tc.account, tc.openID, tc.content))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ ToUserName, FromUserName string }
		if err := xml.Unmarshal(resp.Raw, &out); err != nil {
			t.Fatalf("%s: %v\n%s", tc.openID, err, resp.Raw)
		}
		if resp.Reply == nil || resp.Reply.Text() != "You said: "+tc.content+" (<&> ]]> are safe)" ||
			out.ToUserName != tc.openID || out.FromUserName != tc.account {
			t.Errorf("%s → %s: reply %s", tc.openID, tc.account, resp.Raw)
		}
	}
	if strings.Contains(ts.log.String(), "outcome=retry") {
		t.Errorf("a push of another user was taken for a retry:\n%s", ts.log)
	}
}

// TestEverySeriesIsWxreply: all the server exports is found under wxreply_.
func TestEverySeriesIsWxreply(t *testing.T) {
	ts := newTestServer(t, server.Options{Build: server.BuildInfo{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26"}})
	ts.post(readFixture(t, "text.xml"))
	rec := ts.admin(httptest.NewRequest(http.MethodGet, "/metrics", nil))
	n := 0
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		// The runtime's and the process's series keep their usual names.
		if !strings.HasPrefix(line, "wxreply_") && !strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") {
			t.Errorf("series without the wxreply_ prefix: %s", line)
		}
	}
	for _, want := range []string{"\ngo_goroutines ", "\nprocess_resident_memory_bytes ",
		`wxreply_build_info{goversion="go1.26",revision="abc",version="v1.2.3"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("no %s among the %d series:\n%.1000s", want, n, rec.Body)
		}
	}
}

// TestRuleHitsFromLoad: every rule of the set answering has a hits series,
// 0 until it answers, so that dead rules show; a rule a reload removes
// loses its series.
func TestRuleHitsFromLoad(t *testing.T) {
	rs := func(ids ...string) *engine.RuleSet {
		var list []*engine.Rule
		for _, id := range ids {
			list = append(list, &engine.Rule{ID: id, MsgType: "text", Replies: []*engine.ReplyTemplate{textReply(t, id)}})
		}
		return engine.NewRuleSet(list, nil, strings.Join(ids, ","))
	}
	eng := engine.New(rs("first", "gone"), nil)
	srv, err := server.New(server.Options{Token: testToken, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, eng)
	if err != nil {
		t.Fatal(err)
	}
	metrics := func() string {
		rec := httptest.NewRecorder()
		srv.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	m := metrics()
	for _, want := range []string{`wxreply_rule_hits_total{rule="first"} 0`, `wxreply_rule_hits_total{rule="gone"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("no %s before any push:\n%s", want, m)
		}
	}
	q := signedQuery(testToken, testNow, "hits")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(readFixture(t, "text.xml"))))
	eng.Swap(rs("first", "new"))
	m = metrics()
	for _, want := range []string{`wxreply_rule_hits_total{rule="first"} 1`, `wxreply_rule_hits_total{rule="new"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("no %s after a push and a reload:\n%s", want, m)
		}
	}
	if strings.Contains(m, `rule="gone"`) {
		t.Errorf("the removed rule still has a series:\n%s", m)
	}
}

// TestRuleErrorsDoNotLogWhatTheUserWrote: an expr error quotes the value it
// failed on; the log line names the rule and the error without it.
func TestRuleErrorsDoNotLogWhatTheUserWrote(t *testing.T) {
	rs := loadRules(t, "r.yaml", `rules:
  - id: number
    when: MsgType == "text" and int(Text) > 5
    reply: { text: big }
  - id: fallback
    msgtype: text
    reply: { text: ok }
`)
	var log bytes.Buffer
	srv, err := server.New(server.Options{Token: testToken, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(&log, nil))}, engine.New(rs, nil))
	if err != nil {
		t.Fatal(err)
	}
	push := server.EncodeFields(map[string]string{"ToUserName": "gh_1", "FromUserName": "o1", "CreateTime": "1718170001",
		"MsgType": "text", "MsgId": "9", "Content": "my phone is 13812345678"})
	q := signedQuery(testToken, testNow, "1")
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(push)))
	if r, _ := server.ParseReply(rec.Body.Bytes()); r == nil || r.Text() != "ok" {
		t.Fatalf("reply %s", rec.Body)
	}
	if !strings.Contains(log.String(), `rule=number`) || !strings.Contains(log.String(), "[redacted]") {
		t.Errorf("no redacted rule error in the log:\n%s", log.String())
	}
	if strings.Contains(log.String(), "13812345678") {
		t.Errorf("the log holds what the user wrote:\n%s", log.String())
	}
}

// TestAppIDMismatchDuringKeyRotation: with two keys, a push for another
// AppID is reported as such (403), not as the other key's padding error.
func TestAppIDMismatchDuringKeyRotation(t *testing.T) {
	key, _ := wxcrypto.ParseKey("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	oldKey, _ := wxcrypto.ParseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	ts := newTestServer(t, server.Options{Mode: server.ModeSafe, AppID: "wx2c2769f8efd9abc2", AESKey: key, PreviousAESKey: oldKey})
	srv := httptest.NewServer(ts.Handler())
	defer srv.Close()
	client := &server.Client{URL: srv.URL + "/wechat", Token: testToken, Key: key, AppID: "wx0000000000000000",
		Now: func() time.Time { return testNow }}
	resp, err := client.Send(t.Context(), readFixture(t, "text.xml"))
	if resp == nil || resp.Status != http.StatusForbidden || !strings.Contains(ts.log.String(), "reason=appid_mismatch") {
		t.Errorf("err %v, response %+v\nlog: %s", err, resp, ts.log)
	}
}

// TestBOMAndNamespacesOverHTTP: a push after a byte-order mark is answered;
// a <x:Content> is refused as not WeChat's XML, in the plaintext and in the
// envelope of an encrypted push, and no rule sees it.
func TestBOMAndNamespacesOverHTTP(t *testing.T) {
	text := readFixture(t, "text.xml")
	ts := newTestServer(t, server.Options{})
	rec := ts.post(append([]byte("\xEF\xBB\xBF"), text...))
	if r, err := server.ParseReply(rec.Body.Bytes()); rec.Code != http.StatusOK || err != nil || r == nil || !strings.HasPrefix(r.Text(), "You said: ") {
		t.Errorf("after a BOM: %d %s", rec.Code, rec.Body)
	}

	for _, body := range [][]byte{
		bytes.Replace(text, []byte("<Content>"), []byte("<x:Content>"), 1),
		bytes.Replace(bytes.Replace(text, []byte("<Content>"), []byte("<w:Content>"), 1), []byte("</Content>"), []byte("</w:Content>"), 1),
	} {
		ts := newTestServer(t, server.Options{})
		rec := ts.post(body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(ts.log.String(), "reason=malformed_xml") || strings.Contains(ts.log.String(), "push answered") {
			t.Errorf("%s: %d %s\n%s", body, rec.Code, rec.Body, ts.log)
		}
	}

	const aesKey, appID = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"
	key := safeKey(t, aesKey)
	encrypt, err := key.Encrypt(readFixture(t, "event_click.xml"), appID, safeRandom)
	if err != nil {
		t.Fatal(err)
	}
	envelope := safeBody(encrypt)
	for _, tc := range []struct {
		name string
		body []byte
		want int
	}{
		{"BOM before the envelope", append([]byte("\xEF\xBB\xBF"), envelope...), http.StatusOK},
		{"prefixed Encrypt", bytes.ReplaceAll(envelope, []byte("Encrypt>"), []byte("x:Encrypt>")), http.StatusBadRequest},
	} {
		ts := newTestServer(t, server.Options{Mode: server.ModeSafe, AESKey: key, AppID: appID})
		rec := ts.do(httptest.NewRequest(http.MethodPost, "/wechat?"+safeQuery(encrypt).Encode(), bytes.NewReader(tc.body)))
		if rec.Code != tc.want {
			t.Errorf("%s: %d %s\n%s", tc.name, rec.Code, rec.Body, ts.log)
		}
	}
}

// TestReplayedQuery is E02 of /work/shared/reliability.md: WeChat signs the
// query only, so a signed query seen once may come back with the same body
// (WeChat's retry: the same reply) but never with another (403, counted as
// replayed_query, no rule run for it).
func TestReplayedQuery(t *testing.T) {
	text := readFixture(t, "text.xml")
	other := bytes.Replace(text, []byte("7382914650123456701"), []byte("7382914650123456702"), 1)
	q := signedQuery(testToken, testNow, "replay-nonce").Encode()
	tests := []struct {
		name   string
		second []byte
		status int
	}{
		{"same body: a retry", text, http.StatusOK},
		{"another body", other, http.StatusForbidden},
		{"the same body with a byte more", append(bytes.Clone(text), '\n'), http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, server.Options{})
			first := ts.do(httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(text)))
			second := ts.do(httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(tt.second)))
			if first.Code != http.StatusOK || second.Code != tt.status {
				t.Fatalf("first %d, second %d %q; want 200 and %d", first.Code, second.Code, second.Body, tt.status)
			}
			m := scrape(t, ts)
			if tt.status == http.StatusOK {
				if !bytes.Equal(first.Body.Bytes(), second.Body.Bytes()) || m.sum("wxreply_requests_rejected_total") != 0 {
					t.Errorf("the retry got %q, want %q; rejections %v", second.Body, first.Body, m.rejected())
				}
				return
			}
			if second.Body.String() != "Forbidden\n" || m.rejected()["replayed_query"] != 1 || !strings.Contains(ts.log.String(), "reason=replayed_query") {
				t.Errorf("body %q, rejections %v\n%s", second.Body, m.rejected(), ts.log)
			}
			if n := m.sum("wxreply_requests_total"); n != 1 {
				t.Errorf("wxreply_requests_total = %v, want 1: the replay reached the rules", n)
			}
		})
	}
}

// TestCopyAfterTheStoreForgets: a signed query sent again with its body
// after the retry store let the push go is answered "success" when it
// comes later than WeChat retries (a copy: the rules ran for the push
// once), and afresh within that window (WeChat's retry of a push the store
// lost to its cap: the user gets a reply).
func TestCopyAfterTheStoreForgets(t *testing.T) {
	var ts *testServer
	mem := store.NewMemory(store.MemoryOptions{RetryTTL: time.Minute, RetryEntries: 1, Now: func() time.Time { return ts.clock }})
	ts = newTestServer(t, server.Options{Store: mem})
	text := readFixture(t, "text.xml")
	q := signedQuery(testToken, testNow, "copy-nonce").Encode()
	send := func() *httptest.ResponseRecorder {
		return ts.do(httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(text)))
	}
	first := send()
	if first.Code != http.StatusOK || !strings.Contains(first.Body.String(), "<Content>") {
		t.Fatalf("first %d %q, want a reply", first.Code, first.Body)
	}
	ts.post(readFixture(t, "image.xml")) // the store's one entry goes to another push
	ts.clock = ts.clock.Add(5 * time.Second)
	if retry := send(); retry.Code != http.StatusOK || !strings.Contains(retry.Body.String(), "<Content>") {
		t.Errorf("WeChat's retry 5 s later, its push evicted: %d %q, want a reply", retry.Code, retry.Body)
	}
	ts.clock = ts.clock.Add(2 * time.Minute)
	copied := send()
	if copied.Code != http.StatusOK || copied.Body.String() != "success" {
		t.Errorf("the copy two minutes later: %d %q, want 200 success", copied.Code, copied.Body)
	}
	m := scrape(t, ts)
	if n := m.sum("wxreply_rule_hits_total"); n != 3 {
		t.Errorf("rules answered %v times, want 3: the push, the image, the retry; not the copy", n)
	}
	if !strings.Contains(ts.log.String(), "outcome=retry") {
		t.Errorf("the copy was not logged as a retry:\n%s", ts.log)
	}
}

// TestRepeatedQueryParameter: two values of a parameter the server reads
// are refused with 400 before the signature is checked or the body read.
func TestRepeatedQueryParameter(t *testing.T) {
	for _, name := range []string{"signature", "timestamp", "nonce", "msg_signature", "encrypt_type", "echostr"} {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(name+"/"+method, func(t *testing.T) {
				ts := newTestServer(t, server.Options{})
				q := authQuery()
				q.Set("echostr", "4375120948345356249")
				first := q.Get(name)
				if first == "" {
					first = "aes"
				}
				q[name] = []string{first, "other"}
				req, body := request(method, "/wechat?"+q.Encode(), readFixture(t, "text.xml"))
				rec := ts.do(req)
				assertRefused(t, ts, rec, http.StatusBadRequest, "repeated_param")
				if body.read.Load() {
					t.Error("the body was read")
				}
			})
		}
	}
}

// TestOutcomeHeader: a client on the server's own machine learns how its
// push was answered (a retry, say); others, and anyone through a proxy, do
// not.
func TestOutcomeHeader(t *testing.T) {
	ts := newTestServer(t, server.Options{})
	body := readFixture(t, "text.xml")
	q := signedQuery(testToken, testNow, "outcome").Encode()
	send := func(remote string, header ...string) string {
		req := httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(body))
		req.RemoteAddr = remote
		if len(header) == 2 {
			req.Header.Set(header[0], header[1])
		}
		return ts.do(req).Header().Get(server.OutcomeHeader)
	}
	if got := send("127.0.0.1:40000"); got != "replied" {
		t.Errorf("first push from loopback: outcome %q, want replied", got)
	}
	if got := send("[::1]:40000"); got != "retry" {
		t.Errorf("the same push again: outcome %q, want retry", got)
	}
	if got := send("203.0.113.9:40000"); got != "" {
		t.Errorf("a client elsewhere was told %q", got)
	}
	if got := send("127.0.0.1:40000", "X-Forwarded-For", "203.0.113.9"); got != "" {
		t.Errorf("a client through a proxy was told %q", got)
	}
}

// loadRules loads src as the file name of a rule folder.
func loadRules(t testing.TB, name, src string) *engine.RuleSet {
	t.Helper()
	res, err := rules.LoadFS(fstest.MapFS{name: {Data: []byte(src)}}, "rules")
	if err != nil {
		t.Fatal(err)
	}
	return res.RuleSet
}
