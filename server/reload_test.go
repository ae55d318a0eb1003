package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

const reloadToken = "reload-test-token"

// reloadRules is version n of a rule folder: any text is answered
// "v{n} {n}", a literal and a var, so that a reply mixing the templates of
// one version with the vars of another would read "v3 4".
func reloadRules(n int) string {
	return fmt.Sprintf(`vars:
  v: "%d"
rules:
  - id: any-text
    msgtype: text
    reply: { text: "v%d {{ .Vars.v }}" }
  - id: follow
    event: subscribe
    reply: { text: "welcome v%d" }
`, n, n, n)
}

// reloadBadRules has two mistakes; a failed reload reports both, with
// positions.
const reloadBadRules = `rules:
  - id: broken
    wehn: Content == "x"
    reply: { text: hi }
  - id: worse
    when: Evnt == "x"
    reply: { text: hi }
`

var reloadBadPositions = []string{
	`shop.yaml:3:5: rule "broken": unknown field "wehn"`,
	`shop.yaml:6:11: rule "worse": when: unknown name Evnt`,
}

// replyPattern is a reply of one version: "v{n} {n}".
var replyPattern = regexp.MustCompile(`^v(\d+) (\d+)$`)

// reloadFixture is a server answering with the rule folder dir, which a
// Watcher reloads.
type reloadFixture struct {
	dir string
	eng *engine.Engine
	w   *rules.Watcher
	srv *server.Server
	log *syncbuf.Buffer // the watcher's log
}

func newReloadFixture(t *testing.T, opts server.Options, wopts rules.WatcherOptions) *reloadFixture {
	t.Helper()
	f := &reloadFixture{dir: t.TempDir(), log: &syncbuf.Buffer{}}
	f.write(t, reloadRules(1))
	res, err := rules.Load(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.eng = engine.New(res.RuleSet, nil)
	wopts.Logger = slog.New(slog.NewTextHandler(f.log, nil))
	f.w = rules.NewWatcher(f.dir, f.eng, res, wopts)
	opts.Token = reloadToken
	opts.Watcher = f.w
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if f.srv, err = server.New(opts, f.eng); err != nil {
		t.Fatal(err)
	}
	return f
}

// write replaces shop.yaml by a rename, as an editor saves.
func (f *reloadFixture) write(t *testing.T, src string) {
	t.Helper()
	tmp := filepath.Join(f.dir, ".shop.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
}

// version is the Version the folder loads as now.
func (f *reloadFixture) version(t *testing.T) string {
	t.Helper()
	snap, err := rules.Read(os.DirFS(f.dir), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Version
}

func (f *reloadFixture) do(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// admin serves req on the admin listener.
func (f *reloadFixture) admin(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.srv.AdminHandler().ServeHTTP(rec, req)
	return rec
}

// reload is POST /-/reload from remoteAddr, with an Authorization header
// when authz is not empty.
func (f *reloadFixture) reload(remoteAddr, authz string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
	req.Host = "127.0.0.1:9091" // the admin listener, as a client here names it
	req.RemoteAddr = remoteAddr
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	return f.admin(req)
}

var msgIDs atomic.Int64

// textPush is an authentic text message, with a MsgId of its own.
func textPush() []byte {
	return server.EncodeFields(map[string]string{
		"ToUserName": "gh_reload", "FromUserName": "o_reload", "CreateTime": strconv.FormatInt(time.Now().Unix(), 10),
		"MsgType": "text", "Content": "hello", "MsgId": strconv.FormatInt(7_000_000_000_000_000_000+msgIDs.Add(1), 10),
	})
}

// answer posts a text message and returns the status and the reply's text.
func (f *reloadFixture) answer(t *testing.T) (int, string) {
	t.Helper()
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.FormatInt(msgIDs.Add(1), 10)
	q := "timestamp=" + ts + "&nonce=" + nonce + "&signature=" + wxcrypto.Sign(reloadToken, ts, nonce)
	rec := f.do(httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(textPush())))
	r, err := server.ParseReply(rec.Body.Bytes())
	if err != nil || r == nil {
		return rec.Code, fmt.Sprintf("(no reply: %q)", rec.Body)
	}
	return rec.Code, r.Text()
}

// ready is GET /readyz, decoded.
func (f *reloadFixture) ready(t *testing.T) map[string]any {
	t.Helper()
	rec := f.admin(httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /readyz: %d %s (%v)", rec.Code, rec.Body, err)
	}
	return body
}

// metrics is GET /metrics.
func (f *reloadFixture) metrics(t *testing.T) string {
	t.Helper()
	return f.admin(httptest.NewRequest(http.MethodGet, "/metrics", nil)).Body.String()
}

func hasLines(t *testing.T, what, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, l) {
			t.Errorf("%s lacks %q:\n%.3000s", what, l, text)
		}
	}
}

// TestReloadEndpoint walks POST /-/reload through a good edit, a bad one,
// the fix, and a deleted file: 200 with the version, or 400 with every
// positioned error while the old rules keep answering, and the outcome in
// /readyz and /metrics.
func TestReloadEndpoint(t *testing.T) {
	f := newReloadFixture(t, server.Options{}, rules.WatcherOptions{})
	const loopback = "127.0.0.1:50000"
	v1 := f.version(t)

	if rec := f.reload(loopback, ""); rec.Code != http.StatusOK || rec.Body.String() != "unchanged: version "+v1+"\n" {
		t.Errorf("nothing changed: %d %q", rec.Code, rec.Body)
	}

	f.write(t, reloadRules(2))
	v2 := f.version(t)
	if rec := f.reload(loopback, ""); rec.Code != http.StatusOK || rec.Body.String() != "reloaded: version "+v2+"\n" {
		t.Errorf("a good edit: %d %q, want reloaded: version %s", rec.Code, rec.Body, v2)
	}
	if code, text := f.answer(t); code != http.StatusOK || text != "v2 2" {
		t.Errorf("after the reload: %d %q, want \"v2 2\"", code, text)
	}
	if r := f.ready(t); r["rules_version"] != v2 || r["last_reload_successful"] != true || r["last_error"] != nil {
		t.Errorf("/readyz after a good reload: %v", r)
	}

	f.write(t, reloadBadRules)
	for i, what := range []string{"a bad edit", "the same bad edit again"} {
		rec := f.reload(loopback, "")
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d %q, want 400", what, rec.Code, rec.Body)
		}
		hasLines(t, what+": the 400's body", rec.Body.String(), append(reloadBadPositions, "the previous rules keep answering")...)
		if i == 0 {
			for _, l := range strings.Split(strings.TrimSpace(rec.Body.String()), "\n") {
				if strings.HasPrefix(l, f.dir) && !regexp.MustCompile(`^\S+shop\.yaml:\d+:\d+: `).MatchString(l) {
					t.Errorf("an error line without file:line:col: %q", l)
				}
			}
		}
	}
	if code, text := f.answer(t); code != http.StatusOK || text != "v2 2" {
		t.Errorf("after a failed reload: %d %q, want the old rules' \"v2 2\"", code, text)
	}
	r := f.ready(t)
	if r["rules_version"] != v2 || r["last_reload_successful"] != false || r["failing_since"] == nil {
		t.Errorf("/readyz after a failed reload: %v", r)
	}
	lastError, _ := r["last_error"].(string)
	hasLines(t, "/readyz last_error", lastError, reloadBadPositions...)
	hasLines(t, "/metrics after a failed reload", f.metrics(t),
		"wxreply_rules_last_reload_successful 0\n",
		`wxreply_rules_reloads_total{result="failure"} 1`+"\n",
		`wxreply_rules_reloads_total{result="success"} 1`+"\n",
		"wxreply_rules_source_missing 0\n",
		"wxreply_rules_loaded 2\n")
	// Each error is logged on a line of its own, with its position (slog's
	// text handler escapes the quotes).
	for _, pos := range reloadBadPositions {
		line := `level=ERROR msg="rules not reloaded: ` + f.dir + "/" + strings.ReplaceAll(pos, `"`, `\"`)
		hasLines(t, "the log", f.log.String(), line)
	}
	// The second attempt found the same files: its answer holds the errors,
	// but they are not logged twice.
	if n := strings.Count(f.log.String(), "level=ERROR"); n != len(reloadBadPositions) {
		t.Errorf("%d error lines, want %d:\n%s", n, len(reloadBadPositions), f.log)
	}

	f.write(t, reloadRules(3))
	v3 := f.version(t)
	if rec := f.reload(loopback, ""); rec.Code != http.StatusOK || rec.Body.String() != "reloaded: version "+v3+"\n" {
		t.Errorf("the fix: %d %q", rec.Code, rec.Body)
	}
	if r := f.ready(t); r["last_reload_successful"] != true || r["last_error"] != nil || r["failing_since"] != nil || r["rules_version"] != v3 {
		t.Errorf("/readyz after the fix: %v", r)
	}
	hasLines(t, "/metrics after the fix", f.metrics(t), "wxreply_rules_last_reload_successful 1\n", `wxreply_rules_reloads_total{result="success"} 2`+"\n")

	// R14: the file goes; the rules stay.
	if err := os.Remove(filepath.Join(f.dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
	if rec := f.reload(loopback, ""); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "no rule files") {
		t.Errorf("the file deleted: %d %q", rec.Code, rec.Body)
	}
	if code, text := f.answer(t); code != http.StatusOK || text != "v3 3" {
		t.Errorf("the file deleted: %d %q, want the old rules' \"v3 3\"", code, text)
	}
	if r := f.ready(t); r["source_missing"] != true || r["rules"] != float64(2) {
		t.Errorf("/readyz with the file deleted: %v", r)
	}
	hasLines(t, "/metrics with the file deleted", f.metrics(t), "wxreply_rules_source_missing 1\n", "wxreply_rules_last_reload_successful 0\n", "wxreply_rules_loaded 2\n")
}

// TestReloadEndpointAccess: POST /-/reload is for loopback clients, or for
// the holder of the admin token when there is one; a refusal reloads
// nothing and says nothing.
func TestReloadEndpointAccess(t *testing.T) {
	const token = "s3cret-admin-token"
	tests := []struct {
		name       string
		adminToken string
		remoteAddr string
		header     map[string]string
		want       int
	}{
		{name: "loopback", remoteAddr: "127.0.0.1:41000", want: http.StatusOK},
		{name: "loopback IPv6", remoteAddr: "[::1]:41000", want: http.StatusOK},
		{name: "another host", remoteAddr: "192.0.2.10:41000", want: http.StatusForbidden},
		{name: "another host claiming loopback", remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-Ip": "127.0.0.1"}, want: http.StatusForbidden},
		// A reverse proxy on the same host makes every client loopback; the
		// headers it adds give it away.
		{name: "proxied from elsewhere", remoteAddr: "127.0.0.1:41000",
			header: map[string]string{"X-Forwarded-For": "203.0.113.5"}, want: http.StatusForbidden},
		{name: "proxied, RFC 7239", remoteAddr: "127.0.0.1:41000",
			header: map[string]string{"Forwarded": "for=203.0.113.5"}, want: http.StatusForbidden},
		{name: "proxied, X-Real-IP", remoteAddr: "[::1]:41000",
			header: map[string]string{"X-Real-Ip": "203.0.113.5"}, want: http.StatusForbidden},
		{name: "proxied with the token", adminToken: token, remoteAddr: "127.0.0.1:41000",
			header: map[string]string{"X-Forwarded-For": "203.0.113.5", "Authorization": "Bearer " + token}, want: http.StatusOK},
		{name: "another host with a token nobody set", remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"Authorization": "Bearer " + token}, want: http.StatusForbidden},
		{name: "token", adminToken: token, remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"Authorization": "Bearer " + token}, want: http.StatusOK},
		{name: "wrong token", adminToken: token, remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"Authorization": "Bearer not-" + token}, want: http.StatusForbidden},
		{name: "token prefix", adminToken: token, remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"Authorization": "Bearer " + token[:len(token)-1]}, want: http.StatusForbidden},
		{name: "token without Bearer", adminToken: token, remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"Authorization": token}, want: http.StatusForbidden},
		{name: "no token", adminToken: token, remoteAddr: "192.0.2.10:41000", want: http.StatusForbidden},
		// With a token set, being local is not enough.
		{name: "loopback without the token", adminToken: token, remoteAddr: "127.0.0.1:41000", want: http.StatusForbidden},
		// A page of another site, open in an operator's browser, posts to
		// the loopback listener: no token needed, or a Basic password the
		// browser keeps.
		{name: "a page of another site", remoteAddr: "127.0.0.1:41000",
			header: map[string]string{"Origin": "http://evil.example"}, want: http.StatusForbidden},
		{name: "a page of another site, Sec-Fetch-Site", remoteAddr: "127.0.0.1:41000",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden},
		{name: "a page of another site with the kept password", adminToken: token, remoteAddr: "192.0.2.10:41000",
			header: map[string]string{"Origin": "http://evil.example", "Authorization": "Bearer " + token}, want: http.StatusForbidden},
		{name: "the listener's own page", remoteAddr: "127.0.0.1:41000",
			header: map[string]string{"Origin": "http://127.0.0.1:9091", "Sec-Fetch-Site": "same-origin"}, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newReloadFixture(t, server.Options{AdminToken: tt.adminToken}, rules.WatcherOptions{})
			f.write(t, reloadRules(2))
			req := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
			req.Host = "127.0.0.1:9091" // the admin listener, as a client here names it
			req.RemoteAddr = tt.remoteAddr
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := f.admin(req)
			if rec.Code != tt.want {
				t.Fatalf("%d %q, want %d", rec.Code, rec.Body, tt.want)
			}
			st := f.w.Status()
			reloads := st.Reloads["success"] + st.Reloads["failure"] + st.Reloads["unchanged"]
			if tt.want == http.StatusOK {
				if want := "reloaded: version " + f.version(t) + "\n"; rec.Body.String() != want {
					t.Errorf("body %q, want %q", rec.Body, want)
				}
				return
			}
			if reloads != 0 || strings.Contains(rec.Body.String(), token) {
				t.Errorf("a refused request reloaded (%v) or leaked: %q", st.Reloads, rec.Body)
			}
			if code, text := f.answer(t); code != http.StatusOK || text != "v1 1" {
				t.Errorf("after a refused reload: %d %q", code, text)
			}
		})
	}

	t.Run("one wrong token a second", func(t *testing.T) {
		clock := testNow
		f := newReloadFixture(t, server.Options{AdminToken: token, Now: func() time.Time { return clock }}, rules.WatcherOptions{})
		post := func(given string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
			req.RemoteAddr = "192.0.2.10:41000"
			req.Header.Set("Authorization", "Bearer "+given)
			return f.admin(req)
		}
		if rec := post("guess"); rec.Code != http.StatusForbidden {
			t.Fatalf("a wrong token: %d", rec.Code)
		}
		// Within the second, the right token waits too: a guesser learns
		// nothing faster.
		if rec := post(token); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("the token at once after a wrong one: %d, Retry-After %q; want 429, 1", rec.Code, rec.Header().Get("Retry-After"))
		}
		clock = clock.Add(time.Second)
		if rec := post(token); rec.Code != http.StatusOK {
			t.Fatalf("the token a second later: %d %s", rec.Code, rec.Body)
		}
		// A request without a token is refused, and no guess: it holds
		// off no one.
		anonymous := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
		anonymous.RemoteAddr = "192.0.2.10:41000"
		if rec := f.admin(anonymous); rec.Code != http.StatusForbidden {
			t.Fatalf("no token: %d", rec.Code)
		}
		if rec := post(token); rec.Code != http.StatusOK {
			t.Fatalf("the token at once after a request without one: %d %s", rec.Code, rec.Body)
		}
	})

	t.Run("rules built in", func(t *testing.T) {
		res, err := rules.Load("testdata/rules")
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Options{Token: reloadToken, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, engine.New(res.RuleSet, nil))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
		req.Host = "127.0.0.1:9091" // the admin listener, as a client here names it
		req.RemoteAddr = "127.0.0.1:41000"
		rec := httptest.NewRecorder()
		srv.AdminHandler().ServeHTTP(rec, req)
		if rec.Code != http.StatusConflict {
			t.Errorf("no watcher: %d %q, want 409", rec.Code, rec.Body)
		}
	})
}

// TestReloadUnderLoad is T1 of /work/shared/reliability.md, short: 30
// reloads in 40 s, by every trigger and with invalid candidates between
// them, while four clients send signed messages over HTTP. Every push gets a
// 2xx, every reply is one version's ("vN N", never "v3 4"), no client ever
// sees a version older than one it saw before, and each valid save is live
// within 2 s.
func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("40 s under load: skipped with -short")
	}
	t.Parallel()
	const (
		reloads  = 30
		duration = 40 * time.Second
		clients  = 4
		liveIn   = 2 * time.Second
	)
	// A push waits up to a second for a turn, not 100 ms: on a machine
	// busy with other tests, shedding would answer "success", which this
	// test would take for a lost reply.
	f := newReloadFixture(t, server.Options{ShedWait: time.Second}, rules.WatcherOptions{Debounce: 100 * time.Millisecond, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan error, 1)
	go func() { watching <- f.w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-watching; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	hs := httptest.NewServer(f.srv.Handler())
	defer hs.Close()
	adminHS := httptest.NewServer(f.srv.AdminHandler())
	defer adminHS.Close()

	var (
		mu       sync.Mutex
		sent     int
		failures []string // non-2xx, transport errors, no reply, mixed replies
		perVer   = map[int]int{}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		} else {
			failures[19] = "... and more"
		}
	}
	stop := make(chan struct{})
	var load sync.WaitGroup
	for c := range clients {
		load.Go(func() {
			client := &server.Client{URL: hs.URL + "/wechat", Token: reloadToken}
			seen := 0 // the newest version this client has seen
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Send(context.Background(), textPush())
				mu.Lock()
				sent++
				mu.Unlock()
				switch {
				case err != nil:
					fail("client %d: %v", c, err)
					continue
				case resp.Status/100 != 2:
					fail("client %d: status %d", c, resp.Status)
					continue
				case resp.Reply == nil:
					fail("client %d: no reply (outcome %s): %q", c, resp.Outcome, resp.Raw)
					continue
				}
				m := replyPattern.FindStringSubmatch(resp.Reply.Text())
				if m == nil || m[1] != m[2] {
					fail("client %d: reply %q is not one version's", c, resp.Reply.Text())
					continue
				}
				n, _ := strconv.Atoi(m[1])
				if n < seen {
					fail("client %d: version %d after version %d", c, n, seen)
				}
				seen = max(seen, n)
				mu.Lock()
				perVer[n]++
				mu.Unlock()
			}
		})
	}

	admin := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, adminHS.URL+"/-/reload", nil)
		resp, err := adminHS.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	waitFor := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			if time.Since(start) > liveIn {
				t.Fatalf("%s: not within %s\nstatus %+v\nlog:\n%s", what, liveIn, f.w.Status(), f.log)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(start)
	}

	start := time.Now()
	var slowest time.Duration
	triggers := map[string]int{}
	for n := 2; n <= reloads+1; n++ {
		time.Sleep(time.Until(start.Add(time.Duration(n-1) * duration / reloads)))
		if n%5 == 0 { // an invalid candidate first: the old rules keep answering
			old := f.eng.RuleSet()
			failed := f.w.Status().Reloads["failure"]
			f.write(t, reloadBadRules)
			waitFor("the invalid candidate's reload", func() bool { return f.w.Status().Reloads["failure"] > failed })
			if f.eng.RuleSet() != old || f.w.Status().LastReloadSuccessful {
				t.Fatalf("step %d: an invalid candidate replaced the rules", n)
			}
		}
		f.write(t, reloadRules(n))
		want := f.version(t)
		var trigger string
		switch n % 3 {
		case 0:
			trigger = "watch"
		case 1:
			trigger = "admin"
			// The watch may have reloaded it already: then it is unchanged.
			code, body := admin()
			if code != http.StatusOK || !strings.HasSuffix(body, "version "+want+"\n") {
				t.Fatalf("step %d: POST /-/reload: %d %q, want 200 with version %s", n, code, body, want)
			}
		case 2:
			trigger = "sighup"
			if v, _, err := f.w.Reload("sighup"); err != nil || v != want {
				t.Fatalf("step %d: Reload: %s, %v", n, v, err)
			}
		}
		triggers[trigger]++
		slowest = max(slowest, waitFor(fmt.Sprintf("step %d (%s)", n, trigger), func() bool { return f.eng.RuleSet().Version() == want }))
	}
	close(stop)
	load.Wait()

	st := f.w.Status()
	t.Logf("%d pushes in %s; %d reloads %v by %v; slowest save to live %s; replies per version %v",
		sent, time.Since(start).Round(time.Millisecond), reloads, st.Reloads, triggers, slowest.Round(time.Millisecond), perVer)
	for _, failure := range failures {
		t.Error(failure)
	}
	if st.Reloads["success"] != reloads || st.Reloads["failure"] != reloads/5 {
		t.Errorf("reloads %v, want %d successes and %d failures", st.Reloads, reloads, reloads/5)
	}
	if len(perVer) < reloads/2 || sent < 10*reloads {
		t.Errorf("too little traffic to prove anything: %d pushes, %d versions seen", sent, len(perVer))
	}
}

// TestProxyHeadersGrantNothing is E04 of /work/shared/reliability.md: a
// header naming the client (X-Client-IP, True-Client-IP, CF-Connecting-IP,
// Via, X-Forwarded-For, ...) never makes a request local. From another host
// it is refused and logged under the connection's address, the header's
// claim kept apart in forwarded_for; from loopback it says a proxy forwarded
// the request, which is refused too.
func TestProxyHeadersGrantNothing(t *testing.T) {
	headers := []string{"X-Client-IP", "True-Client-IP", "CF-Connecting-IP", "Via", "X-Forwarded-For", "X-Real-IP", "Forwarded"}
	for _, h := range headers {
		for _, peer := range []string{"192.0.2.10:41000", "127.0.0.1:41000"} {
			t.Run(h+" from "+peer, func(t *testing.T) {
				var log syncbuf.Buffer
				f := newReloadFixture(t, server.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}, rules.WatcherOptions{})
				f.write(t, reloadRules(2))
				req := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
				req.Host = "127.0.0.1:9091" // the admin listener, as a client here names it
				req.RemoteAddr = peer
				req.Header.Set(h, "127.0.0.1")
				rec := f.admin(req)
				if rec.Code != http.StatusForbidden {
					t.Fatalf("%d %q, want 403", rec.Code, rec.Body)
				}
				st := f.w.Status()
				if n := st.Reloads["success"] + st.Reloads["unchanged"]; n != 0 {
					t.Errorf("the refused request reloaded: %v", st.Reloads)
				}
				host, _, _ := strings.Cut(peer, ":")
				if !strings.Contains(log.String(), "reason=admin_refused remote="+host) {
					t.Errorf("not logged under the peer's address %s:\n%s", host, log.String())
				}
			})
		}
	}
}

// TestTrustedProxies: the client's address comes from X-Forwarded-For only
// when the peer is in --trusted-proxies, and then the nearest address not
// in them; the header is logged as forwarded_for either way.
func TestTrustedProxies(t *testing.T) {
	_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
	tests := []struct {
		name, peer, xff, remote string
		trusted                 bool
	}{
		{"untrusted peer", "192.0.2.10:41000", "127.0.0.1", "192.0.2.10", true},
		{"trusted proxy", "10.0.0.5:41000", "203.0.113.5", "203.0.113.5", true},
		{"trusted proxy, client spoofs loopback", "10.0.0.5:41000", "127.0.0.1, 203.0.113.5", "203.0.113.5", true},
		{"two trusted proxies", "10.0.0.5:41000", "203.0.113.5, 10.1.2.3", "203.0.113.5", true},
		{"no trusted proxies: loopback is no proxy", "127.0.0.1:41000", "203.0.113.5", "127.0.0.1", false},
		{"no trusted proxies: private is no proxy", "10.0.0.5:41000", "203.0.113.5", "10.0.0.5", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log syncbuf.Buffer
			opts := server.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}
			if tt.trusted {
				opts.TrustedProxies = []*net.IPNet{proxies}
			}
			f := newReloadFixture(t, opts, rules.WatcherOptions{})
			req := httptest.NewRequest(http.MethodPost, "/wechat?signature=bad&timestamp=1&nonce=1", nil)
			req.RemoteAddr = tt.peer
			req.Header.Set("X-Forwarded-For", tt.xff)
			if rec := f.do(req); rec.Code != http.StatusForbidden {
				t.Fatalf("%d, want 403", rec.Code)
			}
			xff := tt.xff
			if strings.Contains(xff, " ") { // slog's text handler quotes it then
				xff = strconv.Quote(xff)
			}
			want := "remote=" + tt.remote + " forwarded_for=" + xff
			if !strings.Contains(log.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, log.String())
			}
		})
	}
}

// TestReloadSuspiciousSaves: a save that leaves no enabled rule is refused
// with a 400 that says how to stop answering on purpose, and one that drops
// more than half of the rules is applied with a warning in /readyz and
// wxreply_rules_shrunk_total.
func TestReloadSuspiciousSaves(t *testing.T) {
	f := newReloadFixture(t, server.Options{}, rules.WatcherOptions{})
	const loopback = "127.0.0.1:50000"
	hasLines(t, "/metrics at start", f.metrics(t), "wxreply_rules_shrunk_total 0\n")

	f.write(t, "rules: []\n")
	rec := f.reload(loopback, "")
	if rec.Code != http.StatusBadRequest {
		t.Errorf("an emptied file: %d %q, want 400", rec.Code, rec.Body)
	}
	const refusal = "no enabled rule would be left: 2 rules answer now"
	hasLines(t, "the 400's body", rec.Body.String(), refusal, "To stop answering on purpose, restart wxreply", "the previous rules keep answering")
	if code, text := f.answer(t); code != http.StatusOK || text != "v1 1" {
		t.Errorf("after the refusal: %d %q, want the old rules' \"v1 1\"", code, text)
	}
	r := f.ready(t)
	lastError, _ := r["last_error"].(string)
	if r["last_reload_successful"] != false || !strings.Contains(lastError, refusal) {
		t.Errorf("/readyz after the refusal: %v", r)
	}

	// Six rules, then one: applied, with a warning.
	var six strings.Builder
	six.WriteString(reloadRules(2))
	for i := range 4 {
		fmt.Fprintf(&six, "  - { id: kw%d, keywords: [kw%d], reply: { text: kw } }\n", i, i)
	}
	f.write(t, six.String())
	if rec := f.reload(loopback, ""); rec.Code != http.StatusOK {
		t.Fatalf("six rules: %d %q", rec.Code, rec.Body)
	}
	f.write(t, "rules:\n  - { id: any-text, msgtype: text, reply: { text: \"v3 3\" } }\n")
	if rec := f.reload(loopback, ""); rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "reloaded: version ") {
		t.Errorf("one rule of six: %d %q, want it reloaded", rec.Code, rec.Body)
	}
	if code, text := f.answer(t); code != http.StatusOK || text != "v3 3" {
		t.Errorf("after the cut: %d %q, want \"v3 3\"", code, text)
	}
	r = f.ready(t)
	warning, _ := r["warning"].(string)
	if r["last_reload_successful"] != true || !strings.Contains(warning, "5 of the 6 enabled rules gone (1 left)") {
		t.Errorf("/readyz after the cut: %v", r)
	}
	hasLines(t, "/metrics after the cut", f.metrics(t), "wxreply_rules_shrunk_total 1\n", "wxreply_rules_loaded 1\n")

	// The next change clears the warning; the counter stays.
	f.write(t, reloadRules(4))
	if rec := f.reload(loopback, ""); rec.Code != http.StatusOK {
		t.Fatalf("a normal edit: %d %q", rec.Code, rec.Body)
	}
	if r := f.ready(t); r["warning"] != nil {
		t.Errorf("/readyz after a normal edit: %v", r)
	}
	hasLines(t, "/metrics after a normal edit", f.metrics(t), "wxreply_rules_shrunk_total 1\n")
}

// TestReloadRefusesRebinding: a POST from this machine that names another
// host (a web page whose name was made to resolve to 127.0.0.1) does not
// reload, as it does not reach the admin page.
func TestReloadRefusesRebinding(t *testing.T) {
	f := newReloadFixture(t, server.Options{}, rules.WatcherOptions{})
	req := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
	req.RemoteAddr = "127.0.0.1:50000"
	req.Host = "attacker.example:9091"
	rec := httptest.NewRecorder()
	f.srv.AdminHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a loopback POST naming attacker.example: %d, want 403", rec.Code)
	}
	req.Host = "localhost:9091"
	rec = httptest.NewRecorder()
	f.srv.AdminHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("a loopback POST naming localhost: %d %s, want 200", rec.Code, rec.Body)
	}

	// Nor does it read what the listener tells: file paths and errors.
	for _, path := range []string{"/metrics", "/readyz"} {
		for _, host := range []string{"attacker.example:9091", "127.0.0.1:9091"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.RemoteAddr, req.Host = "127.0.0.1:50000", host
			rec := httptest.NewRecorder()
			f.srv.AdminHandler().ServeHTTP(rec, req)
			want := http.StatusOK
			if host != "127.0.0.1:9091" {
				want = http.StatusForbidden
			}
			if rec.Code != want {
				t.Errorf("GET %s naming %s: %d, want %d", path, host, rec.Code, want)
			}
		}
	}
}
