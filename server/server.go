package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/server/wxcrypto"
	"github.com/wxreply/wxreply/store"
)

// Mode is the message encryption mode set in WeChat's admin panel.
type Mode string

// The modes. WeChat sends plaintext in plain mode, plaintext and ciphertext in
// one body in compatible mode, and ciphertext only in safe mode.
const (
	ModePlain  Mode = "plain"
	ModeCompat Mode = "compat"
	ModeSafe   Mode = "safe"
)

// Defaults for Options.
const (
	DefaultPath            = "/wechat"
	DefaultTimestampWindow = 300 * time.Second
	DefaultDeadline        = 4 * time.Second
	DefaultBodyLimit       = 64 << 10
	DefaultShedWait        = 100 * time.Millisecond
	maxEchostr             = 1024
)

// DefaultMaxInflight is four pushes matched at once per CPU the runtime
// uses (GOMAXPROCS, which follows a container's CPU limit): matching is CPU
// work, so more at once only makes each slower.
func DefaultMaxInflight() int { return 4 * runtime.GOMAXPROCS(0) }

// Options configure a Server. Token is required; AESKey and AppID are
// required in compat and safe mode.
type Options struct {
	Path  string // the callback path; DefaultPath when empty
	Token string
	AppID string
	Mode  Mode
	// Account, the account's original id (gh_...), refuses pushes addressed
	// to another account when set.
	Account string
	// AESKey decrypts pushes and encrypts replies. PreviousAESKey, during a
	// key rotation, decrypts pushes still sealed with the old key; their
	// replies are sealed with it too.
	AESKey, PreviousAESKey *wxcrypto.Key
	// TimestampWindow refuses pushes whose timestamp is further than this
	// from now; 0 means DefaultTimestampWindow, negative turns the check off.
	TimestampWindow time.Duration
	// Deadline is how long the rules may take: a push whose rules took
	// longer is answered "success"; WeChat waits 5 s. The engine's push
	// time (engine.Budget.Time), kept below it, stops the rules sooner.
	// 0 means DefaultDeadline.
	Deadline time.Duration
	// MaxInflight caps how many pushes are matched against the rules at
	// once; 0 means DefaultMaxInflight. A push beyond it waits up to
	// ShedWait for a turn, then is answered "success" (shed) and counted in
	// wxreply_pushes_shed_total.
	MaxInflight int
	// ShedWait is how long a push waits for a turn; 0 means
	// DefaultShedWait, and at most a quarter of Deadline.
	ShedWait time.Duration
	// BodyLimit caps a push's size in bytes; 0 means DefaultBodyLimit.
	BodyLimit int64
	// Store remembers what outlives a push (answered pushes for WeChat's
	// retries, users' state); nil means a store.Memory of RetryEntries
	// entries. The caller closes it.
	Store store.Store
	// RetryEntries caps the store.Memory made when Store is nil; 0 means
	// store.DefaultRetryEntries.
	RetryEntries int
	// UserEntries caps the users of the store.Memory made when Store is
	// nil; 0 means store.DefaultUserEntries.
	UserEntries int
	// SessionTTL is how long a user's session lives after a rule sets or
	// unsets a value, for rules and folders that give no session_ttl; 0
	// means store.DefaultSessionTTL.
	SessionTTL time.Duration
	// ReplayEntries caps how many signed queries are remembered, for the
	// timestamp window, to refuse one that comes back with another body;
	// 0 means DefaultReplayEntries.
	ReplayEntries int
	// Logger gets one line per request; nil means slog.Default().
	Logger *slog.Logger
	// Registry gets the server's metrics; nil means a registry of its own.
	Registry *prometheus.Registry
	// Build says which wxreply this is, in wxreply_build_info.
	Build BuildInfo
	// Now is the clock; nil means time.Now. Tests fix it.
	Now func() time.Time
	// Random fills nonces and encryption prefixes; nil means crypto/rand.
	Random io.Reader
	// Watcher reloads the rules for POST /-/reload and reports reloads in
	// /readyz and /metrics; nil when the rules cannot change (the built-in
	// examples).
	Watcher Reloader
	// AdminToken, when set, is required (as "Authorization: Bearer TOKEN")
	// by POST /-/reload; when empty, only loopback clients that did not
	// come through a proxy (no Forwarded, X-Forwarded-For or other proxy
	// header) may.
	AdminToken string
	// Sender sends what follows a passive reply (the other replies of
	// pick: all, a backend's late answer) through the customer-service
	// API; nil when the server has no access to the API, and then
	// CheckAPI refuses rules that need it (a server built without that
	// check logs such messages as dropped).
	Sender Sender
	// Backend calls rules' backends; nil when none is wired in.
	Backend Backend
	// MaxBackendCalls bounds the backend calls in flight; 0 means
	// DefaultMaxBackendCalls.
	MaxBackendCalls int
	// TrustedProxies are the networks whose X-Forwarded-For is believed:
	// a request from one is logged, and judged, as coming from the first
	// address in the header not in these networks. From anywhere else the
	// client is the connection's peer, whatever its headers say.
	TrustedProxies []*net.IPNet
}

// Server answers WeChat's callbacks with an engine.
type Server struct {
	opts    Options
	guesses TokenGuesses // of the admin token, on the admin listener
	engine  *engine.Engine
	store   store.Store
	log     *slog.Logger
	metrics *metrics
	replay  *replayCache
	// inflight holds a token per push being matched: a semaphore of
	// MaxInflight.
	inflight chan struct{}
	// backendCalls holds a token per backend call in flight: a semaphore
	// of MaxBackendCalls.
	backendCalls chan struct{}
	// callsBy counts each sender's backend calls in flight, so that one
	// user cannot take every token (MaxBackendCallsPerUser).
	callsMu sync.Mutex
	callsBy map[string]int
	// stopping ends when Stop is called.
	stopping context.Context
	stop     context.CancelFunc
	echo     *echo.Echo // the callback listener's
	admin    *echo.Echo // the admin listener's
}

// New checks opts and returns a Server answering with eng.
func New(opts Options, eng *engine.Engine) (*Server, error) {
	if opts.Token == "" {
		return nil, errors.New("token is required: set it to the Token of the account's server configuration")
	}
	switch opts.Mode {
	case "":
		opts.Mode = ModePlain
	case ModePlain:
	case ModeCompat, ModeSafe:
		if opts.AESKey == nil {
			return nil, fmt.Errorf("mode %s needs the EncodingAESKey (aes-key)", opts.Mode)
		}
		if opts.AppID == "" {
			return nil, fmt.Errorf("mode %s needs the AppID (appid)", opts.Mode)
		}
	default:
		return nil, fmt.Errorf("mode %q: use plain, compat or safe", opts.Mode)
	}
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if opts.TimestampWindow == 0 {
		opts.TimestampWindow = DefaultTimestampWindow
	}
	if opts.Deadline == 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.MaxInflight <= 0 {
		opts.MaxInflight = DefaultMaxInflight()
	}
	if opts.ShedWait <= 0 {
		opts.ShedWait = DefaultShedWait
	}
	opts.ShedWait = min(opts.ShedWait, opts.Deadline/4)
	if opts.MaxBackendCalls <= 0 {
		opts.MaxBackendCalls = DefaultMaxBackendCalls
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = DefaultBodyLimit
	}
	if opts.Store == nil {
		opts.Store = store.NewMemory(store.MemoryOptions{RetryEntries: opts.RetryEntries, UserEntries: opts.UserEntries})
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Sender == nil {
		opts.Sender = noAPI{log: opts.Logger}
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Random == nil {
		opts.Random = rand.Reader
	}
	// A query is accepted while its timestamp is within the window of now,
	// so at most twice the window after it is first seen.
	replayTTL := 2 * opts.TimestampWindow
	if opts.TimestampWindow < 0 {
		replayTTL = 2 * DefaultTimestampWindow
	}
	replay := newReplayCache(replayTTL, opts.ReplayEntries)
	s := &Server{
		opts:         opts,
		engine:       eng,
		store:        opts.Store,
		log:          opts.Logger,
		replay:       replay,
		inflight:     make(chan struct{}, opts.MaxInflight),
		backendCalls: make(chan struct{}, opts.MaxBackendCalls),
		callsBy:      map[string]int{},
		metrics:      newMetrics(opts.Registry, eng, opts.Watcher, cacheCollector{opts.Store, replay}, opts.Build, opts.Now),
	}
	s.stopping, s.stop = context.WithCancel(context.Background())
	healthz := func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }
	// The callback listener faces the internet: WeChat's callback, and the
	// bare health and readiness a load balancer asks for.
	// A panic answers 500 rather than cutting the connection (the
	// callback answers a push that panicked "success" itself, in
	// respond). recoverRequests is put on each route rather than with
	// echo's Use, whose middleware echo composes anew for every request.
	s.echo = s.newEcho()
	s.echo.GET(opts.Path, chain(s.verifyURL, s.recoverRequests))
	s.echo.POST(opts.Path, chain(s.callback, s.recoverRequests))
	s.echo.GET("/healthz", chain(healthz, s.recoverRequests))
	s.echo.GET("/readyz", chain(s.readyStatus, s.recoverRequests))
	// The admin listener says what the rules are, how reloads went, and
	// reloads them: for operators and Prometheus, not for the internet.
	s.admin = s.newEcho()
	s.admin.Use(s.recoverRequests)
	s.admin.GET("/healthz", healthz)
	// The reload and the admin page check their clients themselves.
	s.admin.GET("/readyz", chain(s.ready, s.refuseRebinding))
	s.admin.POST("/-/reload", chain(s.reload, s.adminOnly))
	s.admin.GET("/metrics", chain(echo.WrapHandler(promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{})), s.refuseRebinding))
	return s, nil
}

// chain puts middleware before h, the first outermost, as echo does with a
// route's middleware. echo (v4) composes those anew on every request, a
// closure per middleware per push; composed here, once, they cost a push
// nothing.
func chain(h echo.HandlerFunc, middleware ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(middleware) - 1; i >= 0; i-- {
		h = middleware[i](h)
	}
	return h
}

// newEcho is an echo app that takes the client's address from the
// connection, or from X-Forwarded-For when the peer is a trusted proxy:
// echo's default believes X-Forwarded-For and X-Real-IP from anyone.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if len(s.opts.TrustedProxies) > 0 {
		// Only the networks given: echo trusts loopback, link-local and
		// private addresses unless told not to.
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range s.opts.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	return e
}

// Stop makes every push in flight, and any that comes later, answer
// "success" at once instead of waiting for the rules, a turn or the first
// delivery of a retry. A graceful shutdown calls it shortly before its
// timeout, so that pushes are answered rather than cut.
func (s *Server) Stop() { s.stop() }

// WaitBackends waits for the backend calls in flight, and for their late
// answers to be handed to the Sender, until ctx ends; then it stops the
// server (Stop), which cuts the calls, and waits for them to be counted and
// logged as canceled (and their on_error handed over). A graceful shutdown
// calls it once the listeners are closed, before it closes the Sender. No
// call starts after it.
func (s *Server) WaitBackends(ctx context.Context) {
	defer context.AfterFunc(ctx, s.Stop)()
	for range cap(s.backendCalls) {
		s.backendCalls <- struct{}{}
	}
}

// Handler serves the callback listener: the callback path, /healthz, and
// /readyz as a bare status code for load balancers.
func (s *Server) Handler() http.Handler { return s.echo }

// AdminHandler serves the admin listener: /metrics, /readyz with the
// rules' details, POST /-/reload and /healthz.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// clientAttrs are the log attributes naming the client: its address, and
// what a forwarding header claimed, kept apart, since anyone can write one.
func clientAttrs(c echo.Context) []any {
	attrs := []any{"remote", c.RealIP()}
	if xff := c.Request().Header.Get(echo.HeaderXForwardedFor); xff != "" {
		attrs = append(attrs, "forwarded_for", text.Cut(xff, 200))
	}
	return attrs
}

// Mode is the encryption mode the server runs in.
func (s *Server) Mode() Mode { return s.opts.Mode }

// query is what the server reads of a callback's query: WeChat's
// parameters, unescaped.
type query struct {
	signature, timestamp, nonce string
	msgSignature, encryptType   string // encrypted pushes
	echostr                     string // the URL check
}

// parseQuery reads WeChat's parameters from a raw query as url.ParseQuery
// reads any, without building its map: a pair with a semicolon or a bad
// escape is skipped, and names WeChat does not send are ignored. A
// parameter given twice is refused: the signature could be checked on one
// value and another used, by us or by a proxy that reads the other.
func parseQuery(raw string) (query, error) {
	var q query
	params := [...]struct {
		name string
		into *string
	}{
		{"signature", &q.signature}, {"timestamp", &q.timestamp}, {"nonce", &q.nonce},
		{"msg_signature", &q.msgSignature}, {"encrypt_type", &q.encryptType}, {"echostr", &q.echostr},
	}
	var seen [len(params)]bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err := unescape(name)
		if err != nil {
			continue
		}
		i := 0
		for i < len(params) && params[i].name != name {
			i++
		}
		if i == len(params) {
			continue
		}
		if value, err = unescape(value); err != nil {
			continue
		}
		if seen[i] {
			return query{}, refuse("repeated_param", fmt.Errorf("%s appears more than once in the query", name))
		}
		seen[i], *params[i].into = true, value
	}
	return q, nil
}

// unescape is url.QueryUnescape, which it calls only for what needs it:
// WeChat's values never do.
func unescape(s string) (string, error) {
	if strings.ContainsAny(s, "%+") {
		return url.QueryUnescape(s)
	}
	return s, nil
}

// checkQuery reads the query, and refuses it when WeChat did not sign it,
// or signed it too long ago.
func (s *Server) checkQuery(raw string, now time.Time) (query, error) {
	q, err := parseQuery(raw)
	if err != nil {
		return query{}, err
	}
	if q.signature == "" || q.timestamp == "" || q.nonce == "" {
		return query{}, refuse("missing_param", errors.New("signature, timestamp and nonce are required"))
	}
	if !wxcrypto.Verify(q.signature, s.opts.Token, q.timestamp, q.nonce) {
		return query{}, refuse("bad_signature", nil)
	}
	ts, err := strconv.ParseInt(q.timestamp, 10, 64)
	if err != nil || ts < 0 {
		return query{}, refuse("bad_timestamp", fmt.Errorf("timestamp %.20q is not a Unix time", q.timestamp))
	}
	if s.opts.TimestampWindow > 0 {
		skew := now.Sub(time.Unix(ts, 0))
		if skew > s.opts.TimestampWindow || skew < -s.opts.TimestampWindow {
			return query{}, refuse("stale_timestamp", fmt.Errorf("timestamp is %s from now; the window is %s", skew.Round(time.Second), s.opts.TimestampWindow))
		}
	}
	return q, nil
}

// verifyURL answers WeChat's check of the callback URL: the echostr back,
// only when the signature holds.
func (s *Server) verifyURL(c echo.Context) error {
	q, err := s.checkQuery(c.Request().URL.RawQuery, s.opts.Now())
	if err != nil {
		return err
	}
	if q.echostr == "" || len(q.echostr) > maxEchostr {
		return refuse("bad_echostr", fmt.Errorf("echostr of %d bytes", len(q.echostr)))
	}
	s.log.Info("callback URL verified", clientAttrs(c)...)
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(q.echostr))
}

// sealed says how a push came in, so that its reply goes out the same way.
type sealed struct {
	key   *wxcrypto.Key // nil: plaintext
	nonce string
}

// push is what the server learns of a push on the way to its answer.
type push struct {
	start time.Time
	body  []byte // as received (readBody)
	plain []byte // the XML, decrypted (open)
	seal  sealed
	// localState is set when the rules read the sender's state from this
	// process alone, the shared store being down.
	localState bool
	// lateCopy is set when this process saw the signed query with this
	// body first longer ago than WeChat retries (wechatRetryWindow): a
	// copy of the push, not WeChat's retry.
	lateCopy bool
}

// callback answers one push. The checks come in the order G1 asks: the
// query, how the push comes, then its body, and only then anything of the
// rules. Each refusal is an error, which handleError answers.
func (s *Server) callback(c echo.Context) error {
	// The clock is read once for the checks and the reply: a reading
	// costs 0.1 µs on a virtual machine, and a push read it a dozen times.
	p := push{start: s.opts.Now()}
	q, err := s.checkQuery(c.Request().URL.RawQuery, p.start)
	if err != nil {
		return err
	}
	if err := s.checkEncryption(q); err != nil {
		return err
	}
	if p.body, p.lateCopy, err = s.readBody(c, q, p.start); err != nil {
		return err
	}
	if err := s.open(q, &p); err != nil {
		return err
	}
	return s.respond(c, &p)
}

// checkEncryption decides from the query alone whether the push comes the
// way the mode allows, before its body is read.
func (s *Server) checkEncryption(q query) error {
	encrypted := q.encryptType == "aes"
	switch {
	case !encrypted && s.opts.Mode == ModeSafe:
		return refuse("plaintext_refused", errors.New("safe mode accepts encrypted pushes only"))
	case encrypted && s.opts.Mode == ModePlain:
		return refuse("unexpected_encryption", errors.New("an encrypted push, but the server runs in plain mode: set mode and aes-key"))
	case encrypted && q.msgSignature == "":
		return refuse("missing_param", errors.New("msg_signature is required for an encrypted push"))
	}
	return nil
}

// exactBody is the longest body read into a buffer of its declared
// length: as much as net/http's own read buffer, which every connection
// holds anyway.
const exactBody = 4 << 10

// readBody reads the body, up to BodyLimit, and refuses a signed query seen
// before with another body; lateCopy reports one that came with this body
// longer ago than WeChat retries.
//
// A body of known length up to exactBody, as WeChat's nearly all are, is
// read into a buffer of that size: net/http stops its reader there. A
// longer one, or one of unknown length (chunked), grows its buffer as its
// bytes come, so that a client declaring a large body and sending nothing
// holds no more than exactBody of the server's memory. It goes through
// http.MaxBytesReader, not echo's middleware.BodyLimit: MaxBytesReader
// also has net/http close the connection after the 413, rather than read
// the rest of an oversized body, and its error is told apart from a failed
// read here, so that both come out as refusals with their reasons.
func (s *Server) readBody(c echo.Context, q query, now time.Time) (body []byte, lateCopy bool, err error) {
	req := c.Request()
	if req.ContentLength > s.opts.BodyLimit {
		return nil, false, refuse("body_too_large", fmt.Errorf("Content-Length %d", req.ContentLength))
	}
	if req.ContentLength >= 0 && req.ContentLength <= exactBody {
		body = make([]byte, req.ContentLength)
		_, err = io.ReadFull(req.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, s.opts.BodyLimit))
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, false, refuse("body_too_large", err)
		}
		return nil, false, refuse("read_failed", err)
	}
	replayed, since := s.replay.seen(queryKey(q.signature), body, now)
	if replayed {
		return nil, false, refuse("replayed_query", errors.New("this signed query came before with another body"))
	}
	return body, since > wechatRetryWindow, nil
}

// wechatRetryWindow bounds when WeChat's retries of a push come: three,
// each after 5 s without an answer. A copy of a push that comes later is
// not WeChat's.
const wechatRetryWindow = 20 * time.Second

// open finds the push's plaintext XML, decrypting it in compat and safe
// mode.
func (s *Server) open(q query, p *push) error {
	if q.encryptType != "aes" {
		p.plain = p.body
		return nil
	}
	plain, key, err := s.decrypt(q, p.body)
	if err != nil {
		return err
	}
	p.plain, p.seal = plain, sealed{key: key, nonce: q.nonce}
	return nil
}

// decrypt opens an encrypted push's envelope with the key, or the previous
// key, that it was sealed with.
func (s *Server) decrypt(q query, body []byte) ([]byte, *wxcrypto.Key, error) {
	// The envelope is read by the same strict decoder as a plaintext push,
	// so that <x:Encrypt> or a DOCTYPE is refused here as well.
	envelope, err := readFields(body)
	if err != nil {
		return nil, nil, refuse("malformed_xml", err)
	}
	encrypt := envelope["Encrypt"]
	if encrypt == "" {
		return nil, nil, refuse("malformed_xml", errors.New("no <Encrypt> element"))
	}
	if !wxcrypto.Verify(q.msgSignature, s.opts.Token, q.timestamp, q.nonce, encrypt) {
		return nil, nil, refuse("bad_msg_signature", nil)
	}
	var failed error // the error that says what to fix
	for _, key := range []*wxcrypto.Key{s.opts.AESKey, s.opts.PreviousAESKey} {
		if key == nil {
			continue
		}
		plain, err := key.Decrypt(encrypt, s.opts.AppID)
		if err == nil {
			return plain, key, nil
		}
		// A key that decrypts to another AppID is the right key: its error
		// is the one that says what to fix, whatever the other key says.
		if failed == nil || errors.Is(err, wxcrypto.ErrAppIDMismatch) {
			failed = err
		}
	}
	return nil, nil, refuse(wxcrypto.Reason(failed), failed)
}

// The response's content types, as header values shared by every
// response: net/http only reads them, and setting a fresh one would cost
// each push an allocation.
var (
	xmlContentType  = []string{"application/xml; charset=utf-8"}
	textContentType = []string{"text/plain; charset=utf-8"}
)

// respond decodes the authentic push, answers it and writes the answer. A
// panic past the checks (encoding, sealing, a store) answers "success",
// as any failure there is answered, and is counted as outcome "error";
// matching has its own recover, in decide.
func (s *Server) respond(c echo.Context, p *push) (err error) {
	var ev *engine.Event
	defer func() {
		if r := recover(); r != nil {
			err = s.answerPanic(c, ev, r)
		}
	}()
	fields, err := decodeFields(p.plain)
	if err != nil {
		return refuse("malformed_xml", err)
	}
	if ev, err = engine.NewEvent(fields, s.engine.Location()); err != nil {
		return refuse("bad_field", err)
	}
	if s.opts.Account != "" && ev.ToUserName != s.opts.Account {
		return refuse("wrong_account", fmt.Errorf("ToUserName %.40q is not this account", ev.ToUserName))
	}
	reply, d, outcome := s.answer(c.Request().Context(), ev, p)
	s.logPush(ev, d, outcome, p)
	w := c.Response()
	if sameMachine(c.Request()) {
		// For wxreply send and tests on this machine: whether the answer
		// is a retry's (the reply of an earlier push), and so on.
		w.Header().Set(OutcomeHeader, outcome)
	}
	w.Header()["Content-Type"] = xmlContentType
	if bytes.Equal(reply, Success) {
		w.Header()["Content-Type"] = textContentType
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(reply)
	return err
}

// answerPanic answers "success" to the push whose answering panicked with
// r, and logs and counts it. ev is nil when the push was not decoded yet.
func (s *Server) answerPanic(c echo.Context, ev *engine.Event, r any) error {
	if r == http.ErrAbortHandler {
		panic(r) // net/http's way to cut a response: not ours to answer
	}
	msgType, event := "other", ""
	if ev != nil {
		msgType, event = msgTypeLabel(ev), eventLabel(ev)
	}
	s.metrics.requests.With(msgType, event, "error").Count(s.opts.Now())
	s.log.Error("panic while answering a push; answered success", "panic", fmt.Sprint(r), "stack", string(stackOf()))
	if c.Response().Committed {
		return nil
	}
	if err := c.Blob(http.StatusOK, "text/plain; charset=utf-8", Success); err != nil {
		s.log.Warn("success not written after a panic", "error", err.Error())
	}
	return nil
}

// recoverRequests is middleware that answers a request whose handler
// panicked 500 rather than cutting the connection, and logs the panic.
// Not echo's middleware.Recover, which costs every request an allocation.
func (s *Server) recoverRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic while answering a request", "method", c.Request().Method, "path", c.Path(), "panic", fmt.Sprint(r), "stack", string(stackOf()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// stackOf is the panicking goroutine's stack, its first 4 KiB.
func stackOf() []byte {
	stack := make([]byte, 4<<10)
	return stack[:runtime.Stack(stack, false)]
}

// answer finds the reply to ev: the first delivery's for a retry, else the
// rules', sealed like the push and kept for the retries. outcome is the
// label of wxreply_requests_total.
func (s *Server) answer(ctx context.Context, ev *engine.Event, p *push) (reply []byte, d engine.Decision, outcome string) {
	key := dedupeKey(ev)
	claimed, err := s.store.Claim(ctx, key)
	if err != nil {
		// Answering twice beats not answering: go on without de-duplication.
		s.log.Warn("dedupe store failed; answering without it", "error", err.Error())
		claimed = true
	}
	outcome = "retry"
	switch {
	case !claimed:
		ctx, cancel := s.untilStopped(ctx, s.opts.Deadline)
		reply, _ = s.store.Wait(ctx, key)
		cancel()
	case p.lateCopy:
		// The store has let the push go (its TTL, its cap) while this
		// process still knows its query and body from longer ago than
		// WeChat retries: a copy of a push answered, not WeChat's retry.
		// Answering it afresh would do again what the push did. (A retry
		// within the window, whose push the store lost to its cap or to
		// a Redis outage, is answered afresh: the user gets a reply.)
		// (outcome "retry")
	case s.stopping.Err() != nil:
		outcome = "shutdown"
	default:
		// The user's state is read before the push takes a turn: the turns
		// bound the matching, not the wait for the store.
		rs, opts := s.engine.RuleSet(), s.engine.OptionsAt(p.start)
		var user string
		if rs.UsesState() {
			user = store.UserKey(ev.ToUserName, ev.FromUserName)
			p.localState = s.loadUser(ctx, user, &opts)
		}
		if !s.acquire(ctx) {
			outcome = "shed"
			s.metrics.shed.Inc()
			break
		}
		if d, outcome = s.decide(rs, ev, opts); d.Change != nil {
			s.saveUser(user, d, opts.Now)
		}
		// Here, and not for a retry: the messages after the passive reply
		// go to the sender's queue once per push; a backend may still
		// change the passive reply (followup.go).
		d = s.followUp(ctx, ev, d, p.start)
	}
	if claimed {
		reply = s.encode(d, ev, p.seal, p.start)
		// A background context: the reply is kept for the retries even when
		// this request's context has ended.
		if err := s.store.Finish(context.Background(), key, reply); err != nil {
			s.log.Warn("dedupe store failed to keep a reply", "error", err.Error())
		}
	}
	if len(reply) == 0 {
		reply = Success
	}
	return reply, d, outcome
}

// untilStopped is ctx, ended also after d or when the server stops: a push
// waiting then is answered "success" at once rather than cut. Only the
// waits that may be long take it; the rest of a push is bounded by itself.
func (s *Server) untilStopped(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, d)
	stop := context.AfterFunc(s.stopping, cancel)
	return ctx, func() { stop(); cancel() }
}

// logPush counts and logs an answered push, and the rules that failed on it.
func (s *Server) logPush(ev *engine.Event, d engine.Decision, outcome string, p *push) {
	now := s.opts.Now()
	elapsed := now.Sub(p.start)
	s.metrics.requests.With(msgTypeLabel(ev), eventLabel(ev), outcome).Count(now)
	s.metrics.duration.Observe(elapsed.Seconds())
	// Typed attributes in an array on the stack, and most lines at most
	// five of them, as many as a slog.Record holds without allocating:
	// the line costs no allocation of its own on the way to the handler.
	var buf [7]slog.Attr
	attrs := append(buf[:0], slog.String("msgtype", ev.MsgType))
	if ev.Event != "" {
		attrs = append(attrs, slog.String("event", ev.Event))
	}
	attrs = append(attrs, slog.String("outcome", outcome), slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000))
	if d.Rule != nil {
		attrs = append(attrs, slog.String("rule", d.Rule.ID))
	}
	if p.seal.key != nil {
		attrs = append(attrs, slog.Bool("encrypted", true))
	}
	if p.localState {
		attrs = append(attrs, slog.String("user_state", "local only: the shared store is down"))
	}
	for _, e := range d.Errors {
		s.metrics.ruleErrors.WithLabelValues(e.Rule.ID).Inc()
		if be := engine.AsBudgetError(e.Err); be != nil {
			// Never the user's text: only which budget and its limit.
			s.metrics.overBudget.WithLabelValues(e.Rule.ID, be.Budget).Inc()
			s.log.Warn("rule over budget; skipped", "rule", e.Rule.ID, "source", e.Rule.Source, "budget", be.Budget, "limit", be.Limit)
			continue
		}
		s.log.Error("rule failed; skipped", "rule", e.Rule.ID, "source", e.Rule.Source, "error", redact(e.Err.Error(), ev))
	}
	// The record is made here rather than by Logger.LogAttrs, which reads
	// the clock again and walks the stack for the caller, a source no
	// handler of ours prints: some 0.4 µs a push.
	if ctx := context.Background(); s.log.Enabled(ctx, slog.LevelInfo) {
		r := slog.NewRecord(now, slog.LevelInfo, "push answered", 0)
		r.AddAttrs(attrs...)
		_ = s.log.Handler().Handle(ctx, r) // as Logger does, a line not written is no reason not to answer
	}
}

// acquire takes a turn to match a push, waiting up to ShedWait for one.
// false means none came: the push is shed. Shedding beats queueing: WeChat
// waits 5 s, and a queue longer than that answers nobody in time.
func (s *Server) acquire(ctx context.Context) bool {
	select {
	case s.inflight <- struct{}{}:
		return true
	default:
	}
	wait := time.NewTimer(s.opts.ShedWait)
	defer wait.Stop()
	select {
	case s.inflight <- struct{}{}:
		return true
	case <-wait.C:
	case <-ctx.Done():
	case <-s.stopping.Done():
	}
	return false
}

// decide runs the rules, in the request's goroutine: the engine holds every
// rule to its budget and the push's rules to --push-time, below the
// deadline, so matching ends by itself and nothing of it runs on after the
// answer. A panic, or rules that still took longer than the deadline, yield
// no reply, never an error the user would see. It gives the push's
// turn back once the matching is done.
func (s *Server) decide(rs *engine.RuleSet, ev *engine.Event, opts engine.MatchOptions) (engine.Decision, string) {
	start := time.Now() // the real clock: Options.Now may be fixed
	var d engine.Decision
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		d = rs.Match(ev, opts)
	}()
	<-s.inflight
	switch {
	case panicked != nil:
		s.log.Error("panic while matching; answered success", "panic", fmt.Sprint(panicked))
		return engine.Decision{}, "error"
	case time.Since(start) > s.opts.Deadline:
		s.log.Error("rules took longer than the deadline; answered success", "deadline", s.opts.Deadline.String())
		return engine.Decision{}, "deadline"
	case d.Rule == nil:
		return d, "no_rule"
	}
	s.metrics.ruleHits.WithLabelValues(d.Rule.ID).Count(opts.Now)
	return d, "replied"
}

// loadUser puts the sender's session and cooldowns into opts. It reports
// whether they come from this process alone: the shared store is down, and
// values set through other instances are not seen.
func (s *Server) loadUser(ctx context.Context, user string, opts *engine.MatchOptions) (localOnly bool) {
	u, err := s.store.LoadUser(ctx, user, opts.Now)
	if err != nil {
		// Answering without the user's state beats not answering.
		s.log.Warn("user state unavailable; rules see no session or cooldown", "error", err.Error())
		return true
	}
	opts.Session, opts.Cooldowns = u.Session, u.Cooldowns
	return s.store.Degraded()
}

// saveUser stores what the answer changes in the sender's state, before the
// reply goes out, so that the user's next push sees it. The store bounds
// its own time; a failure is logged and the reply goes out all the same.
func (s *Server) saveUser(user string, d engine.Decision, now time.Time) {
	change := store.ChangeOf(d, now)
	if change.SessionTTL <= 0 {
		change.SessionTTL = s.opts.SessionTTL // the store's default when 0 too
	}
	if err := s.store.SaveUser(context.Background(), user, change); err != nil {
		s.log.Warn("user state not saved", "rule", d.Rule.ID, "error", err.Error())
	}
}

// encode turns the decision into the response body, sealed like the push.
func (s *Server) encode(d engine.Decision, ev *engine.Event, seal sealed, now time.Time) []byte {
	if d.Reply == nil {
		return Success
	}
	if content := d.Reply.Text(); d.Reply.Kind == engine.KindText && len(content) > engine.MaxTextBytes {
		s.metrics.truncated.WithLabelValues(d.Rule.ID).Inc()
		s.log.Warn("text reply cut to what WeChat delivers", "rule", d.Rule.ID, "bytes", len(content), "limit", engine.MaxTextBytes)
		d.Reply = engine.NewReply(engine.KindText, map[string]string{"text": text.Cut(content, engine.MaxTextBytes)})
	}
	reply, err := EncodeReply(d.Reply, ev, now)
	if err != nil {
		s.log.Error("reply could not be encoded; answered success", "rule", d.Rule.ID, "error", err.Error())
		return Success
	}
	if seal.key == nil {
		return reply
	}
	sealedReply, err := s.seal(reply, seal, now)
	if err != nil {
		s.log.Error("reply could not be encrypted; answered success", "error", err.Error())
		return Success
	}
	return sealedReply
}

type encryptedReplyXML struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      cdata    `xml:"Encrypt"`
	MsgSignature cdata    `xml:"MsgSignature"`
	TimeStamp    int64    `xml:"TimeStamp"`
	Nonce        cdata    `xml:"Nonce"`
}

func (s *Server) seal(reply []byte, seal sealed, now time.Time) ([]byte, error) {
	random := make([]byte, 16)
	if _, err := io.ReadFull(s.opts.Random, random); err != nil {
		return nil, err
	}
	timestamp := strconv.FormatInt(now.Unix(), 10)
	encrypt, signature, err := wxcrypto.SignedReply(s.opts.Token, seal.key, reply, s.opts.AppID, timestamp, seal.nonce, random)
	if err != nil {
		return nil, err
	}
	return xml.Marshal(encryptedReplyXML{
		Encrypt:      cdata{encrypt},
		MsgSignature: cdata{signature},
		TimeStamp:    now.Unix(),
		Nonce:        cdata{seal.nonce},
	})
}

// notSecret are the fields of a push that may appear in a log line; every
// other value is what the user wrote, sent or scanned.
var notSecret = map[string]bool{"ToUserName": true, "FromUserName": true, "CreateTime": true,
	"MsgType": true, "Event": true, "MsgId": true, "MsgID": true}

// redact replaces, in an error about ev, every value the user sent with
// "[redacted]": an expr error quotes the values it failed on.
func redact(msg string, ev *engine.Event) string {
	values := make([]string, 0, len(ev.Raw))
	for k, v := range ev.Raw {
		if v = strings.TrimSpace(v); !notSecret[k] && len(v) >= 3 {
			values = append(values, v)
		}
	}
	// Longest first, so that a value inside another goes with it.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		msg = strings.ReplaceAll(msg, v, "[redacted]")
	}
	return msg
}

// dedupeKey names a push across WeChat's retries: the account it was sent
// to, who sent it, and the message (its MsgId) or, for events, which have
// no MsgId, all the event holds. A MsgId is unique per user only, so
// without the account and the sender two users could get each other's
// reply. WeChat suggests the sender and CreateTime for events, but two
// events of one second (two menu clicks, two template-job reports with
// their own MsgID) would then be taken for one, and the second never
// answered; a retry repeats every field.
//
// The parts are joined by NUL, which XML cannot carry, so that no two pushes
// share a key by moving text from one field to the next.
func dedupeKey(ev *engine.Event) string {
	if ev.MsgId != "" {
		return "msg\x00" + ev.ToUserName + "\x00" + ev.FromUserName + "\x00" + ev.MsgId
	}
	h := sha256.New()
	for _, path := range slices.Sorted(maps.Keys(ev.Raw)) {
		io.WriteString(h, path)
		h.Write([]byte{0})
		io.WriteString(h, ev.Raw[path])
		h.Write([]byte{0})
	}
	return "event\x00" + ev.ToUserName + "\x00" + ev.FromUserName + "\x00" + hex.EncodeToString(h.Sum(nil)[:16])
}

// fromLoopback reports whether r's connection comes from a loopback
// address.
func fromLoopback(r *http.Request) bool {
	addr, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && addr.Addr().IsLoopback()
}

// OutcomeHeader carries, to a client on this machine, how a push was
// answered: replied, no_rule, retry (the reply of an earlier push with the
// same account, sender and message), shed, ... as in wxreply_requests_total.
const OutcomeHeader = "X-Wxreply-Outcome"

// sameMachine reports whether r comes straight from a loopback address,
// through no proxy: what the server says or allows only to its own machine.
// The address is the connection's, never one a header claims (a header is
// anyone's to write); and a reverse proxy on this host makes every client
// look local, so the headers proxies add say the request came from
// elsewhere.
func sameMachine(r *http.Request) bool {
	if !fromLoopback(r) {
		return false
	}
	for _, h := range proxyHeaders {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return true
}
