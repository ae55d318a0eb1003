package wxapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for a Client's zero fields.
const (
	DefaultBaseURL = "https://api.weixin.qq.com"
	// DefaultTimeout bounds each HTTP request to WeChat.
	DefaultTimeout = 3 * time.Second
	// DefaultMargin is how long before WeChat's expiry the client stops using
	// a token. stable_token rotates its token 5 minutes before expiry.
	DefaultMargin = 5 * time.Minute
)

// MaxTokenLifetime is the longest expires_in the client believes: WeChat's
// tokens live 7200 s. A longer one is cut to it.
const MaxTokenLifetime = 7200 * time.Second

// maxAnswer bounds the body read from WeChat.
const maxAnswer = 1 << 20

// TokenEndpoint is where a Client gets its access_token.
type TokenEndpoint string

const (
	// StableToken is POST /cgi-bin/stable_token: it returns the same token
	// while that one is valid, so any number of programs may call it without
	// revoking each other's tokens.
	StableToken TokenEndpoint = "stable_token"
	// ClassicToken is GET /cgi-bin/token: every call issues a new token and
	// revokes the previous one after a few minutes, for every program using it.
	ClassicToken TokenEndpoint = "token"
)

func (e TokenEndpoint) path() string { return "/cgi-bin/" + string(e) }

// ParseTokenEndpoint reads "stable_token" or "token".
func ParseTokenEndpoint(s string) (TokenEndpoint, error) {
	switch TokenEndpoint(s) {
	case StableToken, ClassicToken:
		return TokenEndpoint(s), nil
	}
	return "", fmt.Errorf("token endpoint %q: want %s or %s", s, StableToken, ClassicToken)
}

// Client calls WeChat's API for one account. Set its fields before the first
// call and do not change them after; a Client is safe for concurrent use.
type Client struct {
	AppID  string
	Secret string
	// BaseURL is DefaultBaseURL when empty; a test or a proxy points it
	// elsewhere.
	BaseURL string
	// HTTP is http.DefaultClient when nil.
	HTTP *http.Client
	// TokenStore keeps the access_token; a MemoryTokenStore when nil.
	TokenStore TokenStore
	// TokenEndpoint is StableToken when empty.
	TokenEndpoint TokenEndpoint
	// Timeout bounds each HTTP request; DefaultTimeout when zero.
	Timeout time.Duration
	// Margin is how long before WeChat's expiry a token is replaced;
	// DefaultMargin when zero. A token is always used for at least half its
	// life, however short that is.
	Margin time.Duration
	// Now is time.Now when nil.
	Now func() time.Time
	// Logger gets a line for each token fetched and each refused token; no
	// logs when nil. It never sees a secret.
	Logger *slog.Logger

	initOnce sync.Once
	store    TokenStore

	mu         sync.Mutex
	flight     *flight              // the token fetch in progress, if any
	quotaUntil map[string]time.Time // API path → when its daily quota (45009) resets
}

// flight is one token fetch that every caller waiting for a token shares.
type flight struct {
	done chan struct{}
	tok  string
	err  error
}

// String shows the AppID only, so that printing a Client leaks no secret.
func (c *Client) String() string { return fmt.Sprintf("wxapi.Client{AppID: %q}", c.AppID) }

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

func (c *Client) init() {
	c.initOnce.Do(func() {
		c.store = c.TokenStore
		if c.store == nil {
			c.store = &MemoryTokenStore{}
		}
	})
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) margin() time.Duration {
	if c.Margin > 0 {
		return c.Margin
	}
	return DefaultMargin
}

func (c *Client) endpoint() TokenEndpoint {
	if c.TokenEndpoint == "" {
		return StableToken
	}
	return c.TokenEndpoint
}

func (c *Client) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// AccessToken returns a valid access_token: the stored one, or a new one from
// the token endpoint. While one fetch runs, other callers wait for it rather
// than start their own; a caller whose ctx ends stops waiting, and the fetch
// goes on (bounded by Timeout) for the others.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	c.init()
	if tok, ok, err := c.cached(ctx); err != nil || ok {
		return tok, err
	}
	c.mu.Lock()
	f := c.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		c.flight = f
		go c.fetch(context.WithoutCancel(ctx), f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cached returns the stored token if it is still good to use.
func (c *Client) cached(ctx context.Context) (string, bool, error) {
	t, ok, err := c.store.Get(ctx, c.AppID)
	if err != nil {
		return "", false, fmt.Errorf("access_token store: %w", err)
	}
	if !ok || t.Value == "" || !c.now().Before(t.ExpiresAt) {
		return "", false, nil
	}
	return t.Value, true, nil
}

// fetch runs one flight: it reads the store again (a token may have been
// stored since the caller looked), takes the store's lock so that no other
// process sharing the store fetches at the same time, reads the store once
// more (the lock's last holder may have stored a token), and only then asks
// WeChat.
func (c *Client) fetch(ctx context.Context, f *flight) {
	defer func() {
		c.mu.Lock()
		c.flight = nil
		c.mu.Unlock()
		close(f.done)
	}()
	if tok, ok, err := c.cached(ctx); err != nil || ok {
		f.tok, f.err = tok, err
		return
	}
	// The holder's fetch is bounded by the timeout, so the lock lives a
	// little longer than that, and a waiter waits a little longer still: by
	// then the holder has stored its token, or died and left the lock to
	// run out.
	ttl := c.timeout() + time.Second
	lctx, cancel := context.WithTimeout(ctx, ttl+time.Second)
	unlock, err := c.store.Lock(lctx, c.AppID, ttl)
	cancel()
	if err != nil {
		// Fetching without the lock risks a second token; not fetching
		// fails the call for sure.
		c.log().Warn("wechat api: access_token lock not taken; fetching without it", "error", err.Error())
	} else {
		defer unlock()
		if tok, ok, err := c.cached(ctx); err != nil || ok {
			f.tok, f.err = tok, err
			return
		}
	}
	t, err := c.requestToken(ctx)
	if err != nil {
		f.err = err
		return
	}
	if err := c.store.Set(ctx, c.AppID, t); err != nil {
		f.err = fmt.Errorf("access_token store: %w", err)
		return
	}
	f.tok = t.Value
}

// tokenAnswer is what both token endpoints return.
type tokenAnswer struct {
	AccessToken string   `json:"access_token"`
	ExpiresIn   *float64 `json:"expires_in"`
}

// requestToken asks the token endpoint for a token and works out how long to
// use it.
func (c *Client) requestToken(ctx context.Context) (Token, error) {
	ep := c.endpoint()
	path := ep.path()
	var raw []byte
	var err error
	switch ep {
	case ClassicToken:
		q := url.Values{"grant_type": {"client_credential"}, "appid": {c.AppID}, "secret": {c.Secret}}
		raw, err = c.do(ctx, http.MethodGet, path, q, nil)
	default:
		body, _ := json.Marshal(map[string]any{
			"grant_type": "client_credential", "appid": c.AppID, "secret": c.Secret, "force_refresh": false,
		})
		raw, err = c.do(ctx, http.MethodPost, path, nil, body)
	}
	if err != nil {
		return Token{}, err
	}
	var a tokenAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return Token{}, fmt.Errorf("%s: the answer is not a token: %v", path, err)
	}
	if a.AccessToken == "" {
		return Token{}, fmt.Errorf("%s: the answer has no access_token", path)
	}
	if a.ExpiresIn == nil {
		return Token{}, fmt.Errorf("%s: the answer has no expires_in", path)
	}
	secs := *a.ExpiresIn
	if !(secs > 0) || math.IsInf(secs, 0) {
		return Token{}, fmt.Errorf("%s: expires_in %v: want a positive number of seconds", path, secs)
	}
	life := MaxTokenLifetime
	if secs < life.Seconds() {
		life = time.Duration(secs * float64(time.Second))
	} else if secs > life.Seconds() {
		c.log().Warn("wechat api: expires_in longer than WeChat's tokens live; using the maximum",
			"endpoint", path, "expires_in", secs, "used", life.String())
	}
	use := max(life-c.margin(), life/2)
	c.log().Info("wechat api: access_token fetched", "endpoint", path, "expires_in", secs, "used_for", use.String())
	return Token{Value: a.AccessToken, ExpiresAt: c.now().Add(use)}, nil
}

// invalidate drops tok from the store, unless another caller has already
// replaced it.
func (c *Client) invalidate(ctx context.Context, tok string) error {
	if _, err := c.store.CompareAndDelete(ctx, c.AppID, tok); err != nil {
		return fmt.Errorf("access_token store: %w", err)
	}
	return nil
}

// Call makes one API call: method (GET or POST) to path under BaseURL with
// the access_token and query, with body encoded as JSON when it is not nil,
// and the answer decoded into out when out is not nil. An errcode other than 0
// is an *Error. When WeChat refuses the access_token (40001, 40014, 42001),
// Call drops that token, gets one again and retries the call exactly once.
func (c *Client) Call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	c.init()
	var payload []byte
	if body != nil {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false) // URLs keep their & as WeChat shows them
		if err := enc.Encode(body); err != nil {
			return fmt.Errorf("%s: encode the request: %w", path, err)
		}
		payload = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	raw, err := c.callOnce(ctx, method, path, query, payload)
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.tokenRefused() {
		c.log().Info("wechat api: access_token refused; getting a new one and retrying once", "api", path, "errcode", apiErr.Code)
		raw, err = c.callOnce(ctx, method, path, query, payload)
		if errors.As(err, &apiErr) && apiErr.tokenRefused() {
			apiErr.Retried = true
		}
	}
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: unexpected answer: %v", path, err)
		}
	}
	return nil
}

// callOnce gets a token and makes the call with it. A refused token is
// dropped from the store before the error is returned.
func (c *Client) callOnce(ctx context.Context, method, path string, query url.Values, payload []byte) ([]byte, error) {
	tok, err := c.AccessToken(ctx)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("access_token", tok)
	raw, err := c.do(ctx, method, path, q, payload)
	var apiErr *Error
	if errors.As(err, &apiErr) && apiErr.tokenRefused() {
		if ierr := c.invalidate(ctx, tok); ierr != nil {
			return nil, ierr
		}
	}
	return raw, err
}

// do sends one HTTP request and returns the body of an answer whose errcode
// is 0 (or absent). Errors never carry the URL's query, which holds the
// secret or the token, nor either value anywhere else.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, payload []byte) ([]byte, error) {
	if until, ok := c.quotaBlocked(path); ok {
		return nil, &Error{API: path, Code: codeDailyQuota, Message: fmt.Sprintf(
			"not called again: the quota ran out earlier today (resets %s)", until.Format("2006-01-02 15:04 MST"))}
	}
	secrets := []string{c.Secret, query.Get("access_token")}
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u := strings.TrimSuffix(base, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	actx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s", method, path, redact(errorText(err), secrets))
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var raw []byte
		raw, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		if err == nil {
			return c.answer(path, resp, raw, secrets)
		}
	}
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
	case errors.Is(actx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("%s %s: no answer within %s (%w): is %s reachable from here (network, proxy)?",
			method, path, c.timeout(), context.DeadlineExceeded, redact(base, secrets))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%s %s: the connection closed without a full answer (%w)", method, path, io.ErrUnexpectedEOF)
	}
	return nil, fmt.Errorf("%s %s: %s", method, path, redact(errorText(err), secrets))
}

// errorText is err's text without the URL that net/http puts in front of it.
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// answer checks an HTTP answer from WeChat: status 200, JSON, errcode 0.
func (c *Client) answer(path string, resp *http.Response, raw []byte, secrets []string) ([]byte, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP status %s from WeChat (or a proxy on the way)%s", path, resp.Status, snippet(raw, secrets))
	}
	var status struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &status); err != nil {
		return nil, fmt.Errorf("%s: the answer is not WeChat's JSON (%v)%s", path, err, snippet(raw, secrets))
	}
	if status.ErrCode != 0 {
		e := &Error{API: path, Code: status.ErrCode, Message: redact(status.ErrMsg, secrets)}
		if e.Code == codeDailyQuota {
			c.blockQuota(path)
		}
		return nil, e
	}
	return raw, nil
}

// snippet quotes the start of a body that was not what we wanted, for the
// error message.
func snippet(raw []byte, secrets []string) string {
	// Redact before cutting: a secret the cut splits would no longer be
	// found whole, and its first part would be printed.
	s := redact(strings.TrimSpace(string(raw)), secrets)
	if s == "" {
		return ": empty body"
	}
	const limit = 120
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "…"
	}
	return fmt.Sprintf(": %q", s)
}

// redact replaces every secret in s by "***".
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
			if esc := url.QueryEscape(sec); esc != sec {
				s = strings.ReplaceAll(s, esc, "***")
			}
		}
	}
	return s
}

// Daily quotas reset at midnight in China.
var beijing = time.FixedZone("CST", 8*60*60)

// blockQuota stops calls to path until the next midnight in Beijing: after a
// 45009, any call before then only burns attempts.
func (c *Client) blockQuota(path string) {
	now := c.now().In(beijing)
	y, m, d := now.Date()
	until := time.Date(y, m, d+1, 0, 0, 0, 0, beijing)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quotaUntil == nil {
		c.quotaUntil = map[string]time.Time{}
	}
	c.quotaUntil[path] = until
	c.log().Warn("wechat api: daily quota used up; not calling this API again before it resets", "api", path, "until", until)
}

func (c *Client) quotaBlocked(path string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.quotaUntil[path]
	if !ok || !c.now().Before(until) {
		return time.Time{}, false
	}
	return until, true
}
