package admin_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxreply/wxreply/admin"
	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

// The rule folder the tests serve: a follow, a keyword with a news reply,
// a disabled rule, and a fallback with a cooldown; and a test file with a
// case that passes and one that fails.
const (
	shopRules = `vars:
  shop: Test Shop
rules:
  - id: welcome
    description: Greets a new follower
    event: subscribe
    reply:
      text: "Welcome to {{ .Vars.shop }}!"
  - id: price
    description: Sends the price list
    keywords: [price, how much]
    reply:
      news:
        - title: Prices
          description: Our price list
          url: https://example.com/prices
  - id: old-promo
    description: Last summer's promotion
    enabled: false
    keywords: [promo]
    reply: { text: "old" }
  - id: fallback
    msgtype: text
    priority: -100
    cooldown: 1h
    reply: { text: "Sorry, I did not get that." }
`
	shopTests = `tests:
  - name: price gets the list
    event: {MsgType: text, Content: price}
    want: {rule: price}
  - name: hello is welcomed
    event: {MsgType: text, Content: hello}
    want: {rule: welcome}
`
	// brokenRules has an unknown name in a condition, on line 4.
	brokenRules = `rules:
  - id: broken
    msgtype: text
    when: Evnt == "subscribe"
    reply: { text: "never" }
`
	callbackToken = "callback-token-do-not-show"
	adminToken    = "admin-token-do-not-show"
)

// now is the server's clock in the tests.
var now = time.Date(2024, 6, 12, 2, 0, 0, 0, time.UTC)

type fixture struct {
	t   *testing.T
	dir string
	srv *server.Server
	eng *engine.Engine
	now func() time.Time
}

// newFixture serves shopRules from a folder of its own, with adminToken as
// the admin token when token is true, at now.
func newFixture(t *testing.T, token bool) *fixture {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "shop.yaml"), shopRules)
	write(t, filepath.Join(dir, "shop_test.yaml"), shopTests)
	return serve(t, dir, token, func() time.Time { return now })
}

// serve serves the rules of dir with a server whose clock is clock.
func serve(t *testing.T, dir string, token bool, clock func() time.Time) *fixture {
	t.Helper()
	res, err := rules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(res.RuleSet, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	watcher := rules.NewWatcher(dir, eng, res, rules.WatcherOptions{Logger: logger})
	opts := server.Options{Token: callbackToken, Account: "gh_test_account", Now: clock, Logger: logger, Watcher: watcher}
	if token {
		opts.AdminToken = adminToken
	}
	srv, err := server.New(opts, eng)
	if err != nil {
		t.Fatal(err)
	}
	srv.MountAdminPage(admin.New(admin.Options{Engine: eng, Reloader: watcher, Stats: srv.PushStats, Dir: filepath.ToSlash(dir),
		Account: opts.Account, Mode: string(srv.Mode()), Token: opts.AdminToken, Now: opts.Now, Logger: logger}))
	return &fixture{t: t, dir: dir, srv: srv, eng: eng, now: clock}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// local is a request from a browser on the server's machine.
func local(method, target string, body io.Reader) *http.Request {
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "127.0.0.1:50000"
	r.Host = "127.0.0.1:9091"
	if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

// remote is a request from another machine.
func remote(method, target string, body io.Reader) *http.Request {
	r := local(method, target, body)
	r.RemoteAddr = "203.0.113.9:50000"
	r.Host = "admin.example.com"
	return r
}

func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.srv.AdminHandler().ServeHTTP(rec, r)
	return rec
}

// get fetches a page from this machine, and fails unless it is a 200.
func (f *fixture) get(target string) string {
	f.t.Helper()
	rec := f.do(local(http.MethodGet, target, nil))
	if rec.Code != http.StatusOK {
		f.t.Fatalf("GET %s: %d\n%s", target, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// post submits a form from this machine with the page's CSRF token.
func (f *fixture) post(target string, form url.Values) *httptest.ResponseRecorder {
	f.t.Helper()
	token := f.csrf()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", token)
	r := local(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.AddCookie(&http.Cookie{Name: "wxreply_csrf", Value: token})
	return f.do(r)
}

// csrf is a CSRF token the page hands a browser.
func (f *fixture) csrf() string {
	f.t.Helper()
	rec := f.do(local(http.MethodGet, "/", nil))
	for _, c := range rec.Result().Cookies() {
		if c.Name == "wxreply_csrf" {
			return c.Value
		}
	}
	f.t.Fatal("the page set no CSRF cookie")
	return ""
}

var pushNonce atomic.Int64

// push sends an authentic text message from a user to the callback.
func (f *fixture) push(content string) {
	f.t.Helper()
	at := f.now()
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := strconv.FormatInt(pushNonce.Add(1), 10)
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wxcrypto.Sign(callbackToken, ts, nonce)}}
	body := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_test_account]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName>
<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%s</MsgId></xml>`, at.Unix(), content, nonce)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		f.t.Fatalf("push %q: %d %s", content, rec.Code, rec.Body)
	}
}

// text is what a person reads of a page: its text without tags, spaces
// collapsed.
func text(page string) string {
	page = regexp.MustCompile(`(?s)<head>.*?</head>|<[^>]*>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(page)), " ")
}

func mustContain(t *testing.T, what, page string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(page, want) {
			t.Errorf("%s does not say %q:\n%s", what, want, page)
		}
	}
}

func mustNotContain(t *testing.T, what, page string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(page, u) {
			t.Errorf("%s says %q:\n%s", what, u, page)
		}
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t, false)
	page := text(f.get("/"))
	mustContain(t, "the overview", page, "Account gh_test_account", "Mode plain", "Rules answering 3 · 1 disabled",
		"Pushes in the last minute", "No push yet.")
	mustNotContain(t, "the overview", page, "The last reload failed")

	f.push("price")
	f.push("something else")
	f.push("something else again") // the fallback is cooling down for this user
	page = text(f.get("/"))
	mustContain(t, "the overview after three pushes", page, "3 Pushes in the last minute", "3 Pushes since start",
		"replied a rule answered 2", `no_rule no rule matched (answered "success") 1`)
	// The chart's last bar, the minute now, is the busiest: full height.
	mustContain(t, "the chart", f.get("/"), `<rect x="590" y="0" width="8" height="80"><title>-0 min: 3</title></rect></svg>`)
}

func TestRules(t *testing.T) {
	f := newFixture(t, false)
	f.push("how much is a latte")
	body := f.get("/rules")
	page := text(body)
	// In match order: priority, then place in the file; the disabled rule
	// in its place.
	order := []string{"welcome", "price", "old-promo", "fallback"}
	last := -1
	for _, id := range order {
		i := strings.Index(body, `id="rule-`+id+`"`)
		if i < last {
			t.Errorf("rule %s is not in match order %v", id, order)
		}
		last = i
	}
	mustContain(t, "the rules page", page,
		"welcome priority 0 "+f.dir+"/shop.yaml:4:5 Greets a new follower Matches event: subscribe Reply · text Welcome to {{ .Vars.shop }}! Hits never answered",
		"price priority 0 "+f.dir+"/shop.yaml:9:5 Sends the price list Matches keywords (contains): price, how much Reply · news Prices Hits 1 last 2024-06-12 10:00:00 (0s ago)",
		"old-promo priority 0 disabled (enabled: false) "+f.dir+"/shop.yaml:17:5 Last summer's promotion Matches keywords: promo Reply · text old Hits –",
		"fallback priority -100", "Matches msgtype: text", "cooldown: 1h",
		"4 of 4 rules")
	mustContain(t, "the rules page", body, `class="rule disabled" id="rule-old-promo"`, `class="rule never" id="rule-welcome"`, `class="rule" id="rule-price"`)

	filtered := f.get("/rules?q=PRICE+LIST")
	mustContain(t, "the filtered rules page", text(filtered), "1 of 4 rules")
	mustContain(t, "the filtered rules page", filtered, `id="rule-welcome" hidden`, `class="rule" id="rule-price">`)
}

func TestTry(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		query string
		wants []string
	}{
		{"text=how+much", []string{
			`Message: text message "how much"`, "at 2024-06-12 10:00 CST",
			"Answered by: price " + f.dir + "/shop.yaml:9:5",
			"Prices Our price list", // the news card
			"Not tried: 1 rules for other message types or events.",
		}},
		{"text=hello&time=2024-06-12+22:30", []string{
			"Answered by: fallback", "at 2024-06-12 22:30 CST",
			"Sorry, I did not get that.",
			"Then: does not answer this user again for 1h",
			"Not matched, in order price " + f.dir + `/shop.yaml:9:5 : keywords (contains): "hello" matches none of ["price", "how much"]`,
		}},
		{"event=subscribe", []string{"Message: subscribe event", "Answered by: welcome", "Welcome to Test Shop!"}},
		{"event=subscribe&scene=42", []string{`Message: subscribe event (EventKey "qrscene_42")`, "Answered by: welcome"}},
		{"event=CLICK&key=NOTHING", []string{`CLICK event (EventKey "NOTHING")`, `No rule matched: the server answers "success"`}},
		{"text=hi&time=yesterday", []string{"time: "}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			body := f.get("/try?" + tc.query)
			mustContain(t, "/try?"+tc.query, text(body), tc.wants...)
		})
	}
}

// TestTryLink: a result links to itself, so that it can be sent on.
func TestTryLink(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(local(http.MethodGet, "/try?text=&event=CLICK&key=NOTHING&time=&openid=", nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/try?event=CLICK&key=NOTHING" {
		t.Fatalf("the form's query: %d, Location %q; want a redirect to /try?event=CLICK&key=NOTHING", rec.Code, loc)
	}
	body := f.get("/try?event=CLICK&key=NOTHING")
	mustContain(t, "a try", body, `<a href="/try?event=CLICK&amp;key=NOTHING" id="try-link">`)
}

func TestTests(t *testing.T) {
	f := newFixture(t, false)
	mustContain(t, "the tests page before a run", text(f.get("/tests")), "Not run yet.")
	rec := f.post("/tests", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /tests: %d %s", rec.Code, rec.Body)
	}
	page := text(rec.Body.String())
	mustContain(t, "the tests' report", page,
		"Ran 2024-06-12 10:00:00: 1 passed, 1 failed.",
		"Coverage: 67% of 3 rules answered at least one case.",
		"Rules no case is answered by: welcome ("+f.dir+"/shop.yaml:4:5)",
		"pass price gets the list",
		"FAIL hello is welcomed "+f.dir+"/shop_test.yaml:5:5",
		`rule: want "welcome", got "fallback"`)
	// The last run stays on the page.
	mustContain(t, "the tests page after a run", text(f.get("/tests")), "1 passed, 1 failed.")
}

func TestReloadShowsTheErrorsAndKeepsTheRules(t *testing.T) {
	f := newFixture(t, false)
	version := f.eng.RuleSet().Version()
	write(t, filepath.Join(f.dir, "broken.yaml"), brokenRules)
	rec := f.post("/reload", nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?reload=failed" {
		t.Fatalf("POST /reload: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, path := range []string{"/?reload=failed", "/rules", "/try"} {
		page := text(f.get(path))
		mustContain(t, path, page, "The last reload failed: the files on disk have errors",
			f.dir+`/broken.yaml:4:11 rule "broken": when: unknown name Evnt`,
			"| Evnt ==", "| ^",
			"The previous rules (version "+version+", loaded", "keep answering since")
	}
	mustContain(t, "the overview", text(f.get("/?reload=failed")), "The reload failed; the previous rules keep answering.")
	// The old rules still answer a try.
	mustContain(t, "a try", text(f.get("/try?text=price")), "Answered by: price")

	os.Remove(filepath.Join(f.dir, "broken.yaml"))
	write(t, filepath.Join(f.dir, "more.yaml"), "rules:\n  - id: extra\n    keywords: [extra]\n    reply: { text: more }\n")
	rec = f.post("/reload", nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if loc.Query().Get("reload") != "ok" {
		t.Fatalf("reload of good files: Location %s", loc)
	}
	page := text(f.get(loc.String()))
	mustContain(t, "the overview after a good reload", page, "Reloaded: version "+loc.Query().Get("version")+" is answering.", "Rules answering 4")
	mustNotContain(t, "the overview after a good reload", page, "The last reload failed")
	rec = f.post("/reload", nil)
	mustContain(t, "a reload of unchanged files", rec.Header().Get("Location"), "reload=unchanged")
}

func TestAccess(t *testing.T) {
	open, guarded := newFixture(t, false), newFixture(t, true)
	forwarded := local(http.MethodGet, "/", nil)
	forwarded.Header.Set("X-Forwarded-For", "198.51.100.7")
	rebound := local(http.MethodGet, "/", nil)
	rebound.Host = "attacker.example:9091"
	basic := remote(http.MethodGet, "/rules", nil)
	basic.SetBasicAuth("", adminToken)
	wrongBasic := remote(http.MethodGet, "/rules", nil)
	wrongBasic.SetBasicAuth("admin", "guess")
	bearer := remote(http.MethodGet, "/try?text=price", nil)
	bearer.Header.Set("Authorization", "Bearer "+adminToken)
	for _, tc := range []struct {
		name string
		f    *fixture
		req  *http.Request
		code int
		says string
	}{
		{"no token: this machine", open, local(http.MethodGet, "/", nil), 200, "Overview"},
		{"no token: another machine", open, remote(http.MethodGet, "/", nil), 403, "Without --admin-token, this page answers only browsers on the server's own machine"},
		{"no token: through a proxy", open, forwarded, 403, "start wxreply with --admin-token"},
		{"no token: a rebound host name", open, rebound, 403, "Only on the server's machine"},
		{"no token: the style sheet", open, remote(http.MethodGet, "/assets/style.css", nil), 200, "wxreply admin page"},
		{"token: nothing given", guarded, remote(http.MethodGet, "/rules", nil), 401, "This admin page needs the admin token"},
		{"token: this machine gives nothing either", guarded, local(http.MethodGet, "/", nil), 401, "Admin token"},
		{"token: basic", guarded, basic, 200, "Rules"},
		{"token: bearer", guarded, bearer, 200, "Answered by: price"},
		{"token: metrics are still the listener's", guarded, remote(http.MethodGet, "/metrics", nil), 200, "wxreply_rule_hits_total"},
		{"token: wrong basic", guarded, wrongBasic, 401, "the admin token is wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.f.do(tc.req)
			if rec.Code != tc.code {
				t.Errorf("%d, want %d\n%s", rec.Code, tc.code, rec.Body)
			}
			mustContain(t, tc.name, text(rec.Body.String()), tc.says)
		})
	}

	// The fixture's clock stands still: what follows a wrong token comes
	// within its second.
	t.Run("token: the right one, within a second of a wrong one", func(t *testing.T) {
		f := newFixture(t, true)
		if rec := f.do(wrongBasic.Clone(context.Background())); rec.Code != http.StatusUnauthorized {
			t.Fatalf("a wrong token: %d", rec.Code)
		}
		rec := f.do(bearer.Clone(context.Background()))
		if rec.Code != http.StatusTooManyRequests {
			t.Errorf("the right token at once after: %d, want 429", rec.Code)
		}
		mustContain(t, "the right token at once after", text(rec.Body.String()), "try again in a second")
	})

	// The token given in a header is checked by the guard alone, at its
	// pace: no page outside it, the login form included, tells a right
	// token from a wrong one.
	t.Run("token: the login form tells nothing of a header's token", func(t *testing.T) {
		f := newFixture(t, true)
		for _, given := range []string{"guess", adminToken} {
			r := remote(http.MethodGet, "/login", nil)
			r.Header.Set("Authorization", "Bearer "+given)
			if rec := f.do(r); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "reload") {
				t.Errorf("GET /login with %q: %d, want the login form alone", given, rec.Code)
			}
		}
	})
}

func TestLogin(t *testing.T) {
	clock := now
	dir := t.TempDir()
	write(t, filepath.Join(dir, "shop.yaml"), shopRules)
	write(t, filepath.Join(dir, "shop_test.yaml"), shopTests)
	f := serve(t, dir, true, func() time.Time { return clock })
	login := func(token string) *httptest.ResponseRecorder {
		form := url.Values{"token": {token}, "next": {"/rules?q=price"}}
		return f.do(remote(http.MethodPost, "/login", strings.NewReader(form.Encode())))
	}
	rec := login("guess")
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("a wrong token: %d", rec.Code)
	}
	mustContain(t, "a wrong token", text(rec.Body.String()), "That is not the admin token.")
	for _, c := range rec.Result().Cookies() {
		if c.Name == "wxreply_admin" {
			t.Error("a wrong token got a session cookie")
		}
	}

	// One guess a second: within it, even the right token waits.
	if rec = login(adminToken); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("a second guess at once: %d, Retry-After %q; want 429, 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock = clock.Add(time.Second)
	rec = login(adminToken)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/rules?q=price" {
		t.Fatalf("login: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	var session *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "wxreply_admin" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", session)
	}
	if strings.Contains(session.Value, adminToken) {
		t.Error("the session cookie holds the token")
	}
	req := remote(http.MethodGet, "/rules?q=price", nil)
	req.AddCookie(session)
	rec = f.do(req)
	if rec.Code != http.StatusOK {
		t.Fatalf("with the cookie: %d", rec.Code)
	}
	mustContain(t, "the page with the cookie", text(rec.Body.String()), "1 of 4 rules", "Log out")

	// An outside next is not followed.
	form := url.Values{"token": {adminToken}, "next": {"//evil.example/"}}
	rec = f.do(remote(http.MethodPost, "/login", strings.NewReader(form.Encode())))
	if loc := rec.Header().Get("Location"); loc != "/" {
		t.Errorf("login with next //evil.example/: Location %q, want /", loc)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, false)
	token := f.csrf()
	for _, tc := range []struct {
		name         string
		cookie, form string
		site         string
	}{
		{"no token", "", "", ""},
		{"a form token without the cookie", "", token, ""},
		{"a cookie without the form token", token, "", ""},
		{"another browser's token", token, strings.Repeat("0", 32), ""},
		{"from another site", token, token, "cross-site"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := local(http.MethodPost, "/reload", strings.NewReader(url.Values{"csrf": {tc.form}}.Encode()))
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "wxreply_csrf", Value: tc.cookie})
			}
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			rec := f.do(r)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("%d, want 403", rec.Code)
			}
			mustContain(t, tc.name, text(rec.Body.String()), "The form was stale or came from another site.")
		})
	}
	if rec := f.post("/reload", nil); rec.Code != http.StatusSeeOther {
		t.Errorf("with the token: %d, want 303", rec.Code)
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t, false)
	for _, tc := range []struct {
		accept, query string
		says          string
	}{
		{"", "", "Rules answering"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "", "生效规则"},
		{"en-US,en;q=0.9,zh;q=0.8", "", "Rules answering"},
		{"fr-FR,zh-TW;q=0.5", "", "生效规则"},
		{"zh-CN", "?lang=en", "Rules answering"},
		{"", "?lang=zh", "生效规则"},
	} {
		r := local(http.MethodGet, "/"+tc.query, nil)
		r.Header.Set("Accept-Language", tc.accept)
		rec := f.do(r)
		mustContain(t, fmt.Sprintf("Accept-Language %q, %q", tc.accept, tc.query), text(rec.Body.String()), tc.says)
	}
	// The switch keeps the page and its query, and the choice sticks.
	r := local(http.MethodGet, "/try?text=price", nil)
	r.Header.Set("Accept-Language", "zh-CN")
	body := f.do(r).Body.String()
	mustContain(t, "the switch", body, `href="/try?lang=en&amp;text=price"`, `<html lang="zh-CN">`, "回复规则")
	rec := f.do(local(http.MethodGet, "/try?lang=en&text=price", nil))
	var picked *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "wxreply_lang" {
			picked = c
		}
	}
	if picked == nil || picked.Value != "en" {
		t.Fatalf("the switch set cookie %+v, want wxreply_lang=en", picked)
	}
	r = local(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Language", "zh-CN")
	r.AddCookie(picked)
	mustContain(t, "the page after the switch", text(f.do(r).Body.String()), "Rules answering")
}

// TestNoSecrets: no page shows the tokens or what a user wrote.
func TestNoSecrets(t *testing.T) {
	f := newFixture(t, true)
	f.push("my phone is 13800138000")
	// Each page as rendered for a logged-in user (what it shows, checked),
	// so that what it must not show is looked for in a real page.
	for path, shows := range map[string]string{"/": "gh_test_account", "/rules": "welcome", "/try": "Try a message",
		"/tests": "Run the tests", "/try?text=price": "price"} {
		r := local(http.MethodGet, path, nil)
		r.SetBasicAuth("", adminToken)
		rec := f.do(r)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d, want 200", path, rec.Code)
		}
		body := rec.Body.String()
		mustContain(t, path, text(body), shows)
		mustNotContain(t, path, body, adminToken, callbackToken, "13800138000")
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t, false)
	rec := f.do(local(http.MethodGet, "/nothing-here", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("%d, want 404", rec.Code)
	}
	mustContain(t, "a page that is not there", text(rec.Body.String()), "No such page.")
}

// TestTryDrawsTheReply: each kind of reply is drawn as the phone shows it,
// media as a placeholder with its media id.
func TestTryDrawsTheReply(t *testing.T) {
	f := serve(t, "../examples/rules", false, time.Now)
	for _, tc := range []struct {
		query string
		wants []string
	}{
		{"text=wifi", []string{`<div class="bubble them reply-text">Wi-Fi：BlueBottle-Guest，密码印在你的小票底部 🧾`}},
		{"event=subscribe", []string{`<div class="news reply-news">`, `<div class="title">欢迎来到蓝瓶咖啡 Demo 店 · Welcome to Blue Bottle Demo</div>`}},
		{"text=menu", []string{`<span class="media-kind">Image</span><code>media_id PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA_2O7</code>`}},
		{"event=CLICK&key=MENU_LATTE_ART", []string{`<span class="media-kind">Video</span>`, `media_id _hBKqFYY_kv5ZJr3J1TWDtkwtDDb-xHKas1VOqg6YYZ`}},
		{"event=CLICK&key=MENU_PLAYLIST", []string{`<span class="media-kind">Music</span>`, `thumbnail Yn9ZhyiA4uoRgnatmUdjAWtGSU8po-799NksnRH9ucA`}},
		{"text=%E4%BA%BA%E5%B7%A5&time=2024-06-12+12:00", []string{`reply-transfer">Handed to customer service`}},
	} {
		body := f.get("/try?" + tc.query)
		mustContain(t, "/try?"+tc.query, body, tc.wants...)
	}
}

// TestTryPickAllAndBackend: a rule with pick: all shows every reply in
// order; a rule with a backend says the page does not call it, shows its
// stand-in and on_error replies, and never the backend's path or query.
func TestTryPickAllAndBackend(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "more.yaml"), `rules:
  - id: opening
    keywords: [hours]
    pick: all
    replies:
      - text: "We open at 8."
      - text: "And close at 20."
  - id: order-status
    keywords: [order]
    backend:
      url: https://orders.example.com/wechat?key=s3cret-key
    reply: { text: "Looking up your order…" }
    on_error: { text: "Orders are down, sorry." }
  - id: ask
    keywords: [ask]
    backend: { url: "https://answers.example.com/" }
`)
	f := serve(t, dir, false, func() time.Time { return now })
	page := text(f.get("/try?text=hours"))
	mustContain(t, "a try of pick: all", page, "Answered by: opening", "all 2 replies, in order (pick: all)", "We open at 8. And close at 20.")

	body := f.get("/try?text=order")
	mustContain(t, "a try of a backend's rule", text(body), "Answered by: order-status",
		"Answered by the account's service at https://orders.example.com: the page does not call it.",
		"if the service is late Looking up your order…", "if the service fails (on_error) Orders are down, sorry.")
	// A backend's rule without a stand-in reply: nothing until it answers.
	mustContain(t, "a try of a backend's rule without a reply", text(f.get("/try?text=ask")), "Answered by: ask",
		"Nothing while the service answers late")
	rules := f.get("/rules")
	mustContain(t, "the rules page", text(rules), "all 2, in order", "backend: https://orders.example.com", "on_error: text: Orders are down, sorry.")
	for what, page := range map[string]string{"the try": body, "the rules page": rules} {
		mustNotContain(t, what, page, "s3cret-key", "/wechat?")
	}
}
