package wxapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

const (
	appID  = "wx5c2a9e0b7d4f1a36"
	secret = "S3CR3T-0123456789abcdef0123456789ab"
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 6, 12, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setup starts a fake API and a client for it, with a menu in place and a
// log buffer that the test checks for secrets when it ends.
func setup(t *testing.T) (*wxapitest.Server, *wxapi.Client, *clock) {
	t.Helper()
	fake := wxapitest.NewServer(t, appID, secret)
	clk := newClock()
	var logs syncbuf.Buffer
	c := &wxapi.Client{
		AppID: appID, Secret: secret, BaseURL: fake.URL,
		Timeout: 2 * time.Second, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	t.Cleanup(func() {
		if tok := fake.Token(); tok != "" && strings.Contains(logs.String(), tok) {
			t.Errorf("the log holds the access token:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds the AppSecret:\n%s", logs.String())
		}
	})
	return fake, c, clk
}

var testMenu = map[string]any{"button": []any{
	map[string]any{"type": "click", "name": "营业时间", "key": "MENU_OPENING_HOURS"},
	map[string]any{"type": "view", "name": "会员", "url": "https://example.com/member?a=1&b=2"},
}}

func mustCreate(t *testing.T, c *wxapi.Client) {
	t.Helper()
	if err := c.MenuCreate(context.Background(), testMenu); err != nil {
		t.Fatal(err)
	}
}

func wantCalls(t *testing.T, fake *wxapitest.Server, tokenFetches int, path string, calls int) {
	t.Helper()
	if got := fake.TokenFetches(); got != tokenFetches {
		t.Errorf("%d token fetches, want %d", got, tokenFetches)
	}
	if got := fake.Calls(path); got != calls {
		t.Errorf("%d calls to %s, want %d", got, path, calls)
	}
}

func TestTokenFetchedOnceForManyCalls(t *testing.T) {
	fake, c, _ := setup(t)
	mustCreate(t, c)
	for range 20 {
		if _, err := c.MenuGet(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wantCalls(t, fake, 1, wxapitest.MenuGetPath, 20)
	if fake.Calls(wxapitest.TokenPath) != 0 {
		t.Error("the classic /cgi-bin/token was called; stable_token is the default")
	}
	var req map[string]any
	if err := json.Unmarshal(fake.LastBody(wxapitest.StableTokenPath), &req); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"grant_type": "client_credential", "appid": appID, "secret": secret, "force_refresh": false}
	if fmt.Sprint(req) != fmt.Sprint(want) {
		t.Errorf("stable_token request %v, want %v", req, want)
	}
}

func TestClassicTokenEndpoint(t *testing.T) {
	fake, c, _ := setup(t)
	c.TokenEndpoint = wxapi.ClassicToken
	mustCreate(t, c)
	if _, err := c.MenuGet(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fake.Calls(wxapitest.TokenPath); got != 1 {
		t.Errorf("%d calls to /cgi-bin/token, want 1", got)
	}
	if got := fake.Calls(wxapitest.StableTokenPath); got != 0 {
		t.Errorf("%d calls to stable_token, want 0", got)
	}
}

func TestParseTokenEndpoint(t *testing.T) {
	for _, s := range []string{"stable_token", "token"} {
		if ep, err := wxapi.ParseTokenEndpoint(s); err != nil || string(ep) != s {
			t.Errorf("ParseTokenEndpoint(%q) = %q, %v", s, ep, err)
		}
	}
	if _, err := wxapi.ParseTokenEndpoint("stable"); err == nil || !strings.Contains(err.Error(), "want stable_token or token") {
		t.Errorf("ParseTokenEndpoint(stable): %v", err)
	}
}

func TestTokenCachedUntilExpiryLessMargin(t *testing.T) {
	fake, c, clk := setup(t)
	mustCreate(t, c)
	clk.Add(7200*time.Second - wxapi.DefaultMargin - time.Second)
	if _, err := c.MenuGet(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokenFetches(); got != 1 {
		t.Fatalf("%d token fetches 1 s before the margin, want 1", got)
	}
	clk.Add(time.Second)
	if _, err := c.MenuGet(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokenFetches(); got != 2 {
		t.Errorf("%d token fetches at expiry less the margin, want 2", got)
	}
}

// A token WeChat refuses is replaced once and the call retried once, for
// each of the three codes that mean "bad token".
func TestRefusedTokenRefreshedOnceAndRetriedOnce(t *testing.T) {
	for _, code := range []int{40001, 40014, 42001} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			fake, c, _ := setup(t)
			mustCreate(t, c)
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{ErrCode: code, ErrMsg: "access_token is invalid"})
			info, err := c.MenuGet(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(info.Menu), "MENU_OPENING_HOURS") {
				t.Errorf("menu %s", info.Menu)
			}
			wantCalls(t, fake, 2, wxapitest.MenuGetPath, 2)
		})
	}
}

// The real case: another program's /cgi-bin/token call revoked our token.
func TestRevokedTokenReplaced(t *testing.T) {
	fake, c, _ := setup(t)
	mustCreate(t, c)
	first := fake.Token()
	fake.RevokeToken()
	if _, err := c.MenuGet(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, fake, 2, wxapitest.MenuGetPath, 2)
	if fake.Token() == first {
		t.Error("the token was not replaced")
	}
}

func TestRefusedTwiceIsAnErrorNotALoop(t *testing.T) {
	fake, c, _ := setup(t)
	mustCreate(t, c)
	var faults []wxapitest.Fault
	for range 10 {
		faults = append(faults, wxapitest.Fault{ErrCode: 40001, ErrMsg: "invalid credential, access_token is invalid or not latest"})
	}
	fake.Fail(wxapitest.MenuGetPath, faults...)
	_, err := c.MenuGet(context.Background())
	var apiErr *wxapi.Error
	if !errors.As(err, &apiErr) || apiErr.Code != 40001 || !apiErr.Retried {
		t.Fatalf("err = %v, want a retried 40001 *wxapi.Error", err)
	}
	if !strings.Contains(err.Error(), "refused again after getting a fresh one") {
		t.Errorf("err = %v", err)
	}
	wantCalls(t, fake, 2, wxapitest.MenuGetPath, 2)
}

// staleStore hands out one token that has already been replaced, once, as
// a second instance that read the shared store just before a refresh would.
type staleStore struct {
	wxapi.TokenStore
	mu    sync.Mutex
	stale *wxapi.Token
}

func (s *staleStore) Get(ctx context.Context, key string) (wxapi.Token, bool, error) {
	s.mu.Lock()
	stale := s.stale
	s.stale = nil
	s.mu.Unlock()
	if stale != nil {
		return *stale, true, nil
	}
	return s.TokenStore.Get(ctx, key)
}

// A refused token is dropped only if it is still the stored one: another
// instance's newer token survives.
func TestRefusedTokenComparedBeforeDelete(t *testing.T) {
	fake, a, clk := setup(t)
	shared := &wxapi.MemoryTokenStore{}
	a.TokenStore = shared
	mustCreate(t, a)
	t1, _, _ := shared.Get(context.Background(), appID)

	fake.RevokeToken()
	if _, err := a.MenuGet(context.Background()); err != nil { // A refreshes: T2 is stored
		t.Fatal(err)
	}
	t2, _, _ := shared.Get(context.Background(), appID)
	if t2.Value == t1.Value {
		t.Fatal("A did not refresh")
	}

	b := &wxapi.Client{AppID: appID, Secret: secret, BaseURL: fake.URL, Now: clk.Now,
		TokenStore: &staleStore{TokenStore: shared, stale: &t1}}
	if _, err := b.MenuGet(context.Background()); err != nil { // B calls with T1, is refused, finds T2
		t.Fatal(err)
	}
	wantCalls(t, fake, 2, wxapitest.MenuGetPath, 4) // A: T1 refused, T2; B: T1 refused, T2
	if now, _, _ := shared.Get(context.Background(), appID); now.Value != t2.Value {
		t.Error("B's refused T1 made it delete A's newer T2")
	}
}

// lockedOutStore is a shared store whose lock another process holds
// while it fetches: taking the lock waits until that process has stored its
// token.
type lockedOutStore struct {
	wxapi.TokenStore
	theirs wxapi.Token
	locks  int
}

func (s *lockedOutStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	s.locks++
	s.TokenStore.Set(ctx, key, s.theirs) // the other process's fetch ends
	return s.TokenStore.Lock(ctx, key, ttl)
}

// A client reads the store again once it holds the lock: the token the
// lock's last holder stored is used, and WeChat is not asked.
func TestTokenReadAgainAfterTheLock(t *testing.T) {
	fake, c, clk := setup(t)
	mustCreate(t, c) // another process's token, which the fake takes
	fetched := fake.TokenFetches()
	theirs := wxapi.Token{Value: fake.Token(), ExpiresAt: clk.Now().Add(time.Hour)}
	s := &lockedOutStore{TokenStore: &wxapi.MemoryTokenStore{}, theirs: theirs}
	b := &wxapi.Client{AppID: appID, Secret: secret, BaseURL: fake.URL, Now: clk.Now, TokenStore: s}
	if _, err := b.MenuGet(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.locks != 1 || fake.TokenFetches() != fetched {
		t.Errorf("locks taken %d, tokens fetched %d; want 1 lock and no fetch", s.locks, fake.TokenFetches()-fetched)
	}
}

func TestMemoryTokenStoreCompareAndDelete(t *testing.T) {
	ctx := context.Background()
	var s wxapi.MemoryTokenStore
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Fatal("a zero store has a token")
	}
	s.Set(ctx, "a", wxapi.Token{Value: "new"})
	if deleted, _ := s.CompareAndDelete(ctx, "a", "old"); deleted {
		t.Error("deleted a token that was not the given one")
	}
	if tok, ok, _ := s.Get(ctx, "a"); !ok || tok.Value != "new" {
		t.Errorf("Get = %v, %v", tok.Value, ok)
	}
	if deleted, _ := s.CompareAndDelete(ctx, "a", "new"); !deleted {
		t.Error("did not delete the given token")
	}
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Error("the token is still there")
	}
}

func TestConcurrentCallersFetchOneToken(t *testing.T) {
	fake, c, _ := setup(t)
	// A slow token endpoint, so that every caller needs the token while the
	// first fetch is still running.
	fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Delay: 100 * time.Millisecond})
	callAll := func() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := c.AccessToken(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	callAll()
	if got := fake.TokenFetches(); got != 1 {
		t.Errorf("%d token fetches for 50 concurrent callers, want 1", got)
	}

	// 50 calls refused for the same revoked token: one refresh between them.
	mustCreate(t, c)
	fake.RevokeToken()
	fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Delay: 50 * time.Millisecond})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.MenuGet(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := fake.TokenFetches(); got != 2 {
		t.Errorf("%d token fetches after 50 concurrent refusals, want 2", got)
	}
}

// A failed fetch is shared too: concurrent callers don't queue one failing
// fetch each.
func TestConcurrentCallersShareAFailedFetch(t *testing.T) {
	fake, c, _ := setup(t)
	fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Delay: 100 * time.Millisecond, ErrCode: 40164, ErrMsg: "invalid ip 203.0.113.7, not in whitelist"})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.AccessToken(context.Background()); err == nil {
				t.Error("no error")
			}
		})
	}
	wg.Wait()
	if got := fake.TokenFetches(); got != 1 {
		t.Errorf("%d token fetches, want 1", got)
	}
}

// A caller whose context ends stops waiting; the fetch it started goes on
// for the others.
func TestCallerContextEndsWait(t *testing.T) {
	fake, c, _ := setup(t)
	fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Delay: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.AccessToken(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("returned after %s", d)
	}
	if _, err := c.AccessToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fake.TokenFetches(); got != 1 {
		t.Errorf("%d token fetches, want 1", got)
	}
}

func TestErrcodesSayWhatToDo(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		fault     wxapitest.Fault
		want      []string
		menuCalls int
	}{
		{"daily quota", wxapitest.MenuCreatePath,
			wxapitest.Fault{ErrCode: 45009, ErrMsg: "reach max api daily quota limit"},
			[]string{"/cgi-bin/menu/create: WeChat error 45009 \"reach max api daily quota limit rid: ", "used up today's quota", "resets at midnight, Beijing time", "never resets quotas itself"}, 1},
		{"IP not whitelisted", wxapitest.StableTokenPath,
			wxapitest.Fault{ErrCode: 40164, ErrMsg: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist"},
			[]string{"/cgi-bin/stable_token: WeChat error 40164 \"invalid ip 203.0.113.7", "not in the account's IP whitelist", "IP白名单"}, 0},
		{"bad secret", wxapitest.StableTokenPath,
			wxapitest.Fault{ErrCode: 40125, ErrMsg: "invalid appsecret"},
			[]string{"WeChat error 40125", "the AppSecret is wrong"}, 0},
		{"40001 from the token endpoint", wxapitest.StableTokenPath,
			wxapitest.Fault{ErrCode: 40001, ErrMsg: "invalid credential"},
			[]string{"WeChat error 40001", "the AppSecret is wrong for this AppID"}, 0},
		{"busy", wxapitest.MenuCreatePath,
			wxapitest.Fault{ErrCode: -1, ErrMsg: "system error"},
			[]string{"WeChat error -1", "try again in a few seconds"}, 1},
		{"unknown code", wxapitest.MenuCreatePath,
			wxapitest.Fault{ErrCode: 61451, ErrMsg: "invalid parameter"},
			[]string{"WeChat error 61451 \"invalid parameter rid: ", "全局返回码"}, 1},
		{"menu too big", wxapitest.MenuCreatePath,
			wxapitest.Fault{ErrCode: 40018, ErrMsg: "invalid button name size"},
			[]string{"WeChat error 40018", "over 16 bytes"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := setup(t)
			fake.Fail(tt.path, tt.fault)
			err := c.MenuCreate(context.Background(), testMenu)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
			wantCalls(t, fake, 1, wxapitest.MenuCreatePath, tt.menuCalls)
		})
	}
}

// After 45009 the client stops calling that API until the quota resets.
func TestQuotaStopsCallsUntilMidnight(t *testing.T) {
	fake, c, clk := setup(t) // 10:00 UTC is 18:00 in Beijing
	fake.Fail(wxapitest.MenuCreatePath, wxapitest.Fault{ErrCode: 45009, ErrMsg: "reach max api daily quota limit"})
	for range 3 {
		if err := c.MenuCreate(context.Background(), testMenu); err == nil {
			t.Fatal("no error")
		}
	}
	err := c.MenuCreate(context.Background(), testMenu)
	if !strings.Contains(err.Error(), "not called again") || !strings.Contains(err.Error(), "resets 2024-06-13 00:00 CST") {
		t.Errorf("err = %v", err)
	}
	if got := fake.Calls(wxapitest.MenuCreatePath); got != 1 {
		t.Errorf("%d calls after 45009, want 1", got)
	}
	if _, err := c.MenuGet(context.Background()); !errors.Is(err, wxapi.ErrNoMenu) {
		t.Errorf("another API is blocked too: %v", err)
	}
	clk.Add(6 * time.Hour)
	if err := c.MenuCreate(context.Background(), testMenu); err != nil {
		t.Errorf("after midnight: %v", err)
	}
}

func TestBrokenAnswers(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		fault wxapitest.Fault
		want  string
	}{
		{"invalid JSON", wxapitest.MenuGetPath, wxapitest.Fault{Body: "<html>502 Bad Gateway</html>"},
			`/cgi-bin/menu/get: the answer is not WeChat's JSON (invalid character '<' looking for beginning of value): "<html>502 Bad Gateway</html>"`},
		{"invalid JSON from the token endpoint", wxapitest.StableTokenPath, wxapitest.Fault{Body: `{"access_token": `},
			`/cgi-bin/stable_token: the answer is not WeChat's JSON (unexpected end of JSON input)`},
		{"HTTP 500", wxapitest.MenuGetPath, wxapitest.Fault{Status: 500, Body: "internal error"},
			`/cgi-bin/menu/get: HTTP status 500 Internal Server Error from WeChat (or a proxy on the way): "internal error"`},
		{"HTTP 502, empty", wxapitest.MenuGetPath, wxapitest.Fault{Status: 502},
			`/cgi-bin/menu/get: HTTP status 502 Bad Gateway from WeChat (or a proxy on the way): empty body`},
		// A POST: Go's transport resends a GET once when a reused connection breaks.
		{"reset", wxapitest.MenuCreatePath, wxapitest.Fault{Reset: true}, `POST /cgi-bin/menu/create: `},
		{"hang", wxapitest.MenuGetPath, wxapitest.Fault{Hang: true},
			`GET /cgi-bin/menu/get: no answer within 200ms (context deadline exceeded): is http://127.0.0.1:`},
		{"token endpoint hangs", wxapitest.StableTokenPath, wxapitest.Fault{Hang: true},
			`POST /cgi-bin/stable_token: no answer within 200ms`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := setup(t)
			c.Timeout = 200 * time.Millisecond
			mustCreate(t, c)
			if tt.path == wxapitest.StableTokenPath {
				fake.RevokeToken()
				fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{ErrCode: 40001})
			}
			fake.Fail(tt.path, tt.fault)
			start := time.Now()
			var err error
			if tt.path == wxapitest.MenuCreatePath {
				err = c.MenuCreate(context.Background(), testMenu)
			} else {
				_, err = c.MenuGet(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v\nwant it to contain %s", err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s", d)
			}
			if strings.Contains(tt.name, "hang") && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("a timeout does not match context.DeadlineExceeded: %v", err)
			}
		})
	}
}

func TestExpiresIn(t *testing.T) {
	tests := []struct {
		name string
		body string
		want time.Duration // how long the token is used; 0 for an error
		err  string
	}{
		{"normal", `{"access_token":"T","expires_in":7200}`, 7200*time.Second - wxapi.DefaultMargin, ""},
		{"stable_token's shortest", `{"access_token":"T","expires_in":300}`, 150 * time.Second, ""},
		{"short", `{"access_token":"T","expires_in":10}`, 5 * time.Second, ""},
		{"huge", `{"access_token":"T","expires_in":1000000000}`, 7200*time.Second - wxapi.DefaultMargin, ""},
		{"float", `{"access_token":"T","expires_in":7200.0}`, 7200*time.Second - wxapi.DefaultMargin, ""},
		{"missing", `{"access_token":"T"}`, 0, "/cgi-bin/stable_token: the answer has no expires_in"},
		{"zero", `{"access_token":"T","expires_in":0}`, 0, "/cgi-bin/stable_token: expires_in 0: want a positive number of seconds"},
		{"negative", `{"access_token":"T","expires_in":-7200}`, 0, "/cgi-bin/stable_token: expires_in -7200: want a positive number of seconds"},
		{"text", `{"access_token":"T","expires_in":"7200"}`, 0, "/cgi-bin/stable_token: the answer is not a token"},
		{"no token", `{"expires_in":7200}`, 0, "/cgi-bin/stable_token: the answer has no access_token"},
		{"empty token", `{"access_token":"","expires_in":7200}`, 0, "/cgi-bin/stable_token: the answer has no access_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, clk := setup(t)
			store := &wxapi.MemoryTokenStore{}
			c.TokenStore = store
			fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Body: tt.body})
			_, err := c.AccessToken(context.Background())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %s", err, tt.err)
				}
				if _, ok, _ := store.Get(context.Background(), appID); ok {
					t.Error("a refused token was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tok, _, _ := store.Get(context.Background(), appID)
			if got := tok.ExpiresAt.Sub(clk.Now()); got != tt.want {
				t.Errorf("used for %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMenuCalls(t *testing.T) {
	fake, c, _ := setup(t)
	ctx := context.Background()
	if _, err := c.MenuGet(ctx); !errors.Is(err, wxapi.ErrNoMenu) {
		t.Fatalf("MenuGet with no menu: %v, want ErrNoMenu", err)
	}
	mustCreate(t, c)
	body := string(fake.LastBody(wxapitest.MenuCreatePath))
	if !strings.Contains(body, `"url":"https://example.com/member?a=1&b=2"`) {
		t.Errorf("create body %s: want the URL's & as it is", body)
	}
	info, err := c.MenuGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(info.Menu), `"key":"MENU_OPENING_HOURS"`) || len(info.ConditionalMenus) != 0 {
		t.Errorf("MenuGet = %s, %d conditional", info.Menu, len(info.ConditionalMenus))
	}
	if err := c.MenuDelete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MenuGet(ctx); !errors.Is(err, wxapi.ErrNoMenu) {
		t.Errorf("MenuGet after delete: %v", err)
	}
}

// Neither the AppSecret nor an access token appears in any error, whatever
// WeChat (or something pretending to be it) answers, nor in a printed Client.
func TestErrorsHoldNoSecrets(t *testing.T) {
	for _, ep := range []wxapi.TokenEndpoint{wxapi.StableToken, wxapi.ClassicToken} {
		t.Run(string(ep), func(t *testing.T) {
			fake, c, _ := setup(t)
			c.TokenEndpoint = ep
			c.Timeout = 100 * time.Millisecond
			mustCreate(t, c)
			tok := fake.Token()
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Errorf("%s: no error", what)
					return
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), tok) {
					t.Errorf("%s: the error holds a secret:\n%v", what, err)
				}
			}
			tokenPath := wxapitest.StableTokenPath
			if ep == wxapi.ClassicToken {
				tokenPath = wxapitest.TokenPath
			}
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{Hang: true})
			_, err := c.MenuGet(context.Background())
			check("hang", err)
			fake.Fail(wxapitest.MenuCreatePath, wxapitest.Fault{Reset: true})
			err = c.MenuCreate(context.Background(), testMenu)
			check("reset", err)
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{Status: 500, Body: "bad token " + tok})
			_, err = c.MenuGet(context.Background())
			check("echoed token", err)
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{Body: "not json " + tok + " " + secret})
			_, err = c.MenuGet(context.Background())
			check("echoed in junk", err)
			// Echoed across the cut the error quotes at: no part of it shows.
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{Status: 414, Body: strings.Repeat("x", 110) + secret + "&access_token=" + tok})
			_, err = c.MenuGet(context.Background())
			if err == nil || strings.Contains(err.Error(), secret[:8]) || strings.Contains(err.Error(), tok[:8]) {
				t.Errorf("a secret cut by the quote shows in part:\n%v", err)
			}
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{ErrCode: 40013, ErrMsg: "access_token=" + tok})
			_, err = c.MenuGet(context.Background())
			check("echoed in errmsg", err)

			// The token endpoint, whose request holds the secret.
			fake.RevokeToken()
			fake.Fail(wxapitest.MenuGetPath, wxapitest.Fault{ErrCode: 40001})
			fake.Fail(tokenPath, wxapitest.Fault{Hang: true})
			_, err = c.MenuGet(context.Background())
			check("token endpoint hangs", err)
			fake.Fail(tokenPath, wxapitest.Fault{ErrCode: 40125, ErrMsg: "invalid appsecret " + secret})
			_, err = c.AccessToken(context.Background())
			check("secret echoed by the token endpoint", err)

			// Nothing listening.
			ln, lerr := net.Listen("tcp", "127.0.0.1:0")
			if lerr != nil {
				t.Fatal(lerr)
			}
			addr := ln.Addr().String()
			ln.Close()
			dead := &wxapi.Client{AppID: appID, Secret: secret, BaseURL: "http://" + addr, TokenEndpoint: ep, Timeout: time.Second}
			_, err = dead.AccessToken(context.Background())
			check("connection refused", err)

			for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
				if strings.Contains(s, secret) {
					t.Errorf("a printed Client shows the secret: %s", s)
				}
			}
			stored := wxapi.Token{Value: tok, ExpiresAt: time.Now()}
			if s := fmt.Sprintf("%v %+v", stored, stored); strings.Contains(s, tok) {
				t.Errorf("a printed Token shows its value: %s", s)
			}
		})
	}
}

// An HTTP client without a timeout of its own still gets the Client's.
func TestTimeoutWithoutHTTPTimeout(t *testing.T) {
	fake, c, _ := setup(t)
	c.HTTP = &http.Client{}
	c.Timeout = 100 * time.Millisecond
	fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Hang: true})
	start := time.Now()
	if _, err := c.AccessToken(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s", d)
	}
}
