// Package wxapitest is a fake of WeChat's server API on loopback, for tests
// and for development (wxreply fakeapi): the two access_token endpoints, the
// custom menu, get_current_autoreply_info, and customer-service messages
// and typing with WeChat's per-user limits, with a script of faults, a count
// of calls per path and a record of the messages sent. Like
// net/http/httptest, it never talks to WeChat; unlike it, it links no
// testing package, so that the wxreply binary can serve it.
package wxapitest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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

	// SendLimit is how many customer-service messages a user may get
	// within SendWindow; the next get 45047. WeChat allows 5 within 48 h
	// after a message and 3 within a minute after an event, counted from
	// the user's push, which the fake does not see: so it counts from the
	// user's first message of the window instead. DefaultSendLimit and
	// DefaultSendWindow when zero. Set them before the first call.
	SendLimit  int
	SendWindow time.Duration
	// Log, when not nil, gets one line per call, for a person to read:
	// the time, the API, the user, the message's kind and the start of
	// its text. Set it before the first call.
	Log io.Writer
	// Now is time.Now when nil.
	Now func() time.Time

	closing   chan struct{}
	closeOnce sync.Once

	custom customState // guarded by mu

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

// TB is the part of testing.TB that NewServer uses.
type TB interface {
	Helper()
	Cleanup(func())
}

// NewServer starts a fake for the account appID with secret on a loopback
// port. It stops when the test ends.
func NewServer(tb TB, appID, secret string) *Server {
	tb.Helper()
	s := newServer(appID, secret)
	s.Start()
	tb.Cleanup(s.Close)
	return s
}

// Settings are the Server's fields that Serve sets before it answers.
type Settings struct {
	SendLimit     int
	SendWindow    time.Duration
	AutoreplyInfo json.RawMessage
	Log           io.Writer
}

// Serve starts a fake for the account appID with secret on ln, a listener
// of the caller's (the address of wxreply fakeapi --listen); Close stops it.
func Serve(ln net.Listener, appID, secret string, set Settings) *Server {
	s := newServer(appID, secret)
	s.SendLimit, s.SendWindow, s.AutoreplyInfo, s.Log = set.SendLimit, set.SendWindow, set.AutoreplyInfo, set.Log
	// The unstarted server's own loopback listener gives way to ln.
	s.Listener.Close()
	s.Listener = ln
	// ln may face a network (wxreply fakeapi --listen): a client that
	// sends nothing does not hold its connection for ever.
	s.Config.ReadHeaderTimeout = 10 * time.Second
	s.Config.ReadTimeout = 30 * time.Second
	s.Config.IdleTimeout = time.Minute
	s.Start()
	return s
}

func newServer(appID, secret string) *Server {
	s := &Server{
		AppID: appID, Secret: secret,
		closing: make(chan struct{}),
		calls:   map[string]int{}, faults: map[string][]Fault{}, bodies: map[string][]byte{},
		menuID: 208396938,
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	return s
}

// Close ends the calls that hang (Fault.Hang) and stops the server. It may
// be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.closing) })
	s.Server.Close()
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
	// Only the fake's own paths are counted: anyone reaching a fakeapi
	// could otherwise fill the maps with paths of their making.
	if knownPaths[r.URL.Path] {
		s.calls[r.URL.Path]++
		s.bodies[r.URL.Path] = body
	}
	var fault *Fault
	if q := s.faults[r.URL.Path]; len(q) > 0 {
		fault, s.faults[r.URL.Path] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if fault != nil && s.fault(w, r, *fault) {
		s.logCall(r.URL.Path, body, "fault (Server.Fail)")
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
	case CustomSendPath:
		answer = s.withToken(r, func() any { return s.customSend(r.Method, body) })
	case CustomTypingPath:
		answer = s.withToken(r, func() any { return s.customTyping(r.Method, body) })
	case SentPath:
		s.sentMessages(w, r)
		return
	default:
		http.NotFound(w, r)
		return
	}
	s.logCall(r.URL.Path, body, answer)
	writeJSON(w, answer)
}

var knownPaths = map[string]bool{TokenPath: true, StableTokenPath: true, MenuCreatePath: true, MenuGetPath: true,
	MenuDeletePath: true, AutoreplyInfoPath: true, CustomSendPath: true, CustomTypingPath: true}

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
