// Package wxapitest is a fake of WeChat's server API on loopback, for tests:
// the two access_token endpoints and the custom menu, with a script of faults
// and a count of calls per path. Like net/http/httptest, it is for tests
// only; it never talks to WeChat.
package wxapitest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The paths the fake answers.
const (
	TokenPath       = "/cgi-bin/token"
	StableTokenPath = "/cgi-bin/stable_token"
	MenuCreatePath  = "/cgi-bin/menu/create"
	MenuGetPath     = "/cgi-bin/menu/get"
	MenuDeletePath  = "/cgi-bin/menu/delete"
	// AutoreplyInfoPath answers with Server.AutoreplyInfo.
	AutoreplyInfoPath = "/cgi-bin/get_current_autoreply_info"
)

// Fault replaces one normal answer.
type Fault struct {
	// ErrCode and ErrMsg make the answer {"errcode": ErrCode, "errmsg": ErrMsg}.
	ErrCode int
	ErrMsg  string
	// Status, when not 0, is the HTTP status (with Body, or WeChat-like JSON).
	Status int
	// Body, when not "", is the answer's body as is: invalid JSON, say.
	Body string
	// Hang gives no answer until the client gives up (or the server closes).
	Hang bool
	// Reset closes the connection without an answer.
	Reset bool
	// Delay waits this long first; a Fault with nothing else set then
	// answers normally, so a slow endpoint keeps callers waiting together.
	Delay time.Duration
}

// Server is the fake API. Its URL is the base URL to give a client.
type Server struct {
	*httptest.Server
	AppID, Secret string
	// ExpiresIn is the expires_in of the tokens it gives; 7200 when zero.
	ExpiresIn int
	// AutoreplyInfo is what get_current_autoreply_info answers: the admin
	// panel's auto-reply rules, as JSON (a saved answer, say). Set it before
	// the first call. When nil, the answer is that of an account whose
	// auto-reply is switched off and empty.
	AutoreplyInfo json.RawMessage

	closing chan struct{}

	mu      sync.Mutex
	calls   map[string]int
	faults  map[string][]Fault
	bodies  map[string][]byte
	token   string // the valid access_token; "" before the first fetch
	issued  int
	menu    []any // the default menu's buttons, as WeChat's menu/get shows them
	hasMenu bool
	menuID  int64
}

// NewServer starts a fake for the account appID with secret. It stops when
// the test ends.
func NewServer(tb testing.TB, appID, secret string) *Server {
	tb.Helper()
	s := &Server{
		AppID: appID, Secret: secret,
		closing: make(chan struct{}),
		calls:   map[string]int{}, faults: map[string][]Fault{}, bodies: map[string][]byte{},
		menuID: 208396938,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(func() {
		close(s.closing)
		s.Close()
	})
	return s
}

// Fail makes the next calls to path answer with faults, one each, in order;
// the calls after them are answered normally.
func (s *Server) Fail(path string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], faults...)
}

// Calls counts the requests made to path, faulty answers included.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// TokenFetches counts the requests to both token endpoints.
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[TokenPath] + s.calls[StableTokenPath]
}

// LastBody is the body of the last request to path.
func (s *Server) LastBody(path string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[path]
}

// Token is the access_token the fake accepts now; "" when it has given none.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// RevokeToken makes the current token invalid, as another program's call to
// /cgi-bin/token would: calls with it get 40001, and the next token request
// gets a new one.
func (s *Server) RevokeToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = ""
}

// Menu is the default menu as menu/get would return it, {"button": [...],
// "menuid": N}, or nil when there is none.
func (s *Server) Menu() json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasMenu {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"button": s.menu, "menuid": s.menuID})
	return b
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.calls[r.URL.Path]++
	s.bodies[r.URL.Path] = body
	var fault *Fault
	if q := s.faults[r.URL.Path]; len(q) > 0 {
		fault, s.faults[r.URL.Path] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if fault != nil && s.fault(w, r, *fault) {
		return
	}
	var answer any
	switch r.URL.Path {
	case StableTokenPath:
		answer = s.stableToken(r.Method, body)
	case TokenPath:
		answer = s.classicToken(r)
	case MenuCreatePath:
		answer = s.withToken(r, func() any { return s.menuCreate(r.Method, body) })
	case MenuGetPath:
		answer = s.withToken(r, s.menuGet)
	case MenuDeletePath:
		answer = s.withToken(r, s.menuDelete)
	case AutoreplyInfoPath:
		answer = s.withToken(r, func() any { return s.autoreplyInfo(r.Method) })
	default:
		http.NotFound(w, r)
		return
	}
	writeJSON(w, answer)
}

// fault answers with f; it returns false when f was only a delay and the
// normal answer should follow.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
		if f == (Fault{Delay: f.Delay}) {
			return false
		}
	}
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		case <-time.After(time.Minute):
		}
		return true
	}
	if f.Status != 0 {
		w.WriteHeader(f.Status)
	}
	if f.Body != "" || f.Status != 0 {
		io.WriteString(w, f.Body)
		return true
	}
	writeJSON(w, errAnswer(f.ErrCode, f.ErrMsg))
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; encoding=utf-8")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func errAnswer(code int, msg string) map[string]any {
	return map[string]any{"errcode": code, "errmsg": msg + " rid: " + rid()}
}

func rid() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// issue returns the valid token, making one if there is none (or force).
// The caller holds s.mu.
func (s *Server) issue(force bool) map[string]any {
	if s.token == "" || force {
		s.issued++
		b := make([]byte, 24)
		rand.Read(b)
		s.token = fmt.Sprintf("FAKE_ACCESS_TOKEN_%d_%s", s.issued, hex.EncodeToString(b))
	}
	exp := s.ExpiresIn
	if exp == 0 {
		exp = 7200
	}
	return map[string]any{"access_token": s.token, "expires_in": exp}
}

func (s *Server) stableToken(method string, body []byte) any {
	if method != http.MethodPost {
		return errAnswer(43002, "require POST method")
	}
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errAnswer(47001, "data format error")
	}
	if a := s.checkCredentials(req.GrantType, req.AppID, req.Secret); a != nil {
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue(req.ForceRefresh)
}

func (s *Server) classicToken(r *http.Request) any {
	q := r.URL.Query()
	if a := s.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); a != nil {
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue(true) // every call to /cgi-bin/token makes a new token
}

func (s *Server) checkCredentials(grantType, appID, secret string) map[string]any {
	switch {
	case grantType != "client_credential":
		return errAnswer(40002, "invalid grant_type")
	case appID != s.AppID:
		return errAnswer(40013, "invalid appid")
	case secret != s.Secret:
		return errAnswer(40125, "invalid appsecret")
	}
	return nil
}

// withToken answers 40001 unless the request carries the valid token.
func (s *Server) withToken(r *http.Request, next func() any) any {
	s.mu.Lock()
	ok := s.token != "" && r.URL.Query().Get("access_token") == s.token
	s.mu.Unlock()
	if !ok {
		return errAnswer(40001, "invalid credential, access_token is invalid or not latest")
	}
	return next()
}

func (s *Server) menuCreate(method string, body []byte) any {
	if method != http.MethodPost {
		return errAnswer(43002, "require POST method")
	}
	var req struct {
		Button []map[string]any `json:"button"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return errAnswer(47001, "data format error")
	}
	if len(req.Button) < 1 || len(req.Button) > 3 {
		return errAnswer(40016, "invalid button size")
	}
	// menu/get shows "sub_button": [] on every button that has none.
	buttons := make([]any, len(req.Button))
	for i, b := range req.Button {
		subs, _ := b["sub_button"].([]any)
		for _, sb := range subs {
			if m, ok := sb.(map[string]any); ok {
				m["sub_button"] = []any{}
			}
		}
		if subs == nil {
			b["sub_button"] = []any{}
		}
		buttons[i] = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.menu, s.hasMenu = buttons, true
	s.menuID++
	return map[string]any{"errcode": 0, "errmsg": "ok"}
}

func (s *Server) menuGet() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasMenu {
		return errAnswer(46003, "menu no exist")
	}
	return map[string]any{"menu": map[string]any{"button": s.menu, "menuid": s.menuID}}
}

func (s *Server) menuDelete() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.menu, s.hasMenu = nil, false
	return map[string]any{"errcode": 0, "errmsg": "ok"}
}

func (s *Server) autoreplyInfo(method string) any {
	if method != http.MethodGet {
		return errAnswer(43001, "require GET method")
	}
	if s.AutoreplyInfo == nil {
		return map[string]any{"is_add_friend_reply_open": 0, "is_autoreply_open": 0}
	}
	return s.AutoreplyInfo
}
