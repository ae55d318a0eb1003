package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxreply/wxreply/admin"
	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/examples"
	"github.com/wxreply/wxreply/internal/connlimit"
	"github.com/wxreply/wxreply/internal/logbuf"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/backend"
	"github.com/wxreply/wxreply/server/outbox"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxcrypto"
	"github.com/wxreply/wxreply/store"
)

// devToken is the token of development mode, which `wxreply send` uses by
// default, so that serve and send work together with no configuration.
const devToken = "wxreply-dev"

func runServe(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// SIGHUP asks for a reload; caught from the start, a SIGHUP during
	// start-up is not the default "terminate".
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// The log's lines are written a few times a second rather than one
	// write each (warnings at once): at thousands of pushes a second the
	// writes cost more than the lines.
	logs := logbuf.New(stderr, logbuf.DefaultInterval)
	defer logs.Close()
	set, err := loadSettings(args, logs)
	if err == nil {
		err = runUntilSignalled(ctx, set, hup, stdout)
	}
	var exit exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit):
		return exit.code
	}
	fmt.Fprintf(logs, "wxreply serve: %v\n", err)
	return exitFailure
}

// exitError ends a command with code, what it had to say already written.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// serveSettings are what serve runs with, read and checked from flags, the
// environment and the config file.
type serveSettings struct {
	opts            server.Options
	watch           rules.WatcherOptions
	budget          engine.Budget
	logHandler      slog.Handler
	rules           string // the --rules flag as given
	listen          string
	adminListen     string
	maxConns        int
	shutdownTimeout time.Duration
	devMode         bool // no --token: plaintext on loopback, with devToken
	redisURL        string
	redisPrefix     string
	// api is the client of WeChat's API, when --appid and --appsecret are
	// given: the customer-service messages go through it. nil otherwise.
	api *wxapi.Client
	// backendSecret signs the requests to rules' backends.
	backendSecret string
}

// serveFlags declares serve's settings on fs.
func serveFlags(fs *flag.FlagSet) *settings {
	set := newSettings(fs)
	set.add("config", "", "a YAML file of settings, keyed by flag name with _ for -")
	set.add("listen", "127.0.0.1:8080", "address of the callback listener: the callback path, /healthz and a bare /readyz")
	set.add("admin-listen", "127.0.0.1:9091", "address of the admin listener: the admin page, /metrics, /readyz with details, POST /-/reload")
	set.add("trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client; from elsewhere the client is the connection's peer")
	set.add("max-conns", strconv.Itoa(defaultMaxConns), "connections the callback listener serves at once; at the cap, one doing nothing is closed for each new one")
	set.add("path", server.DefaultPath, "the callback path, as in the URL given to WeChat")
	set.add("rules", "", "rule folder (default "+defaultRulesDir+", or the examples built in)")
	set.add("token", "", "the Token of the account's server configuration; none runs in development mode with token "+devToken)
	set.add("appid", "", "the account's AppID (compat and safe mode, and with --appsecret for the customer-service API)")
	set.add("appsecret", "", "the AppSecret, for rules that send through the customer-service API (pick: all, backend); prefer the env, which ps does not show")
	set.add("api-base", wxapi.DefaultBaseURL, "WeChat's API address: point it at a proxy, or a test server (wxreply fakeapi)")
	set.add("api-timeout", wxapi.DefaultTimeout.String(), "how long to wait for each answer from WeChat")
	set.add("token-endpoint", string(wxapi.StableToken), "where the access_token comes from: stable_token, or token for the classic /cgi-bin/token (each call of which revokes the tokens other programs hold)")
	set.add("backend-secret", "", "the key that signs requests to rules' backends (X-Wxreply-Signature); prefer the env, which ps does not show")
	set.add("account", "", "the account's original id (gh_...): refuse pushes addressed to another account")
	set.add("aes-key", "", "the EncodingAESKey, 43 characters (compat and safe mode)")
	set.add("aes-key-previous", "", "the EncodingAESKey before the last change, still accepted during a rotation")
	set.add("mode", "plain", "message encryption mode: plain, compat or safe")
	set.add("timestamp-window", server.DefaultTimestampWindow.String(), "refuse pushes whose timestamp is further than this from now (0 turns it off)")
	set.add("deadline", server.DefaultDeadline.String(), "answer \"success\" when the rules take longer than this")
	set.add("body-limit", strconv.Itoa(server.DefaultBodyLimit), "largest push accepted, in bytes")
	set.add("max-inflight", strconv.Itoa(server.DefaultMaxInflight()), "pushes matched against the rules at once (default 4 × GOMAXPROCS); beyond it a push waits up to 100 ms, then is answered \"success\"")
	set.add("retry-entries", strconv.Itoa(store.DefaultRetryEntries), "answered pushes remembered for WeChat's retries (about 50 bytes each, plus the reply's length and 20); the oldest go first")
	set.add("session-ttl", engine.FormatDuration(store.DefaultSessionTTL), "how long a user's session values live after a rule last set or unset one, unless the rule or the folder's settings say otherwise")
	set.add("user-entries", strconv.Itoa(store.DefaultUserEntries), "users whose sessions and cooldowns are kept in memory (about 300 bytes each); the one changed longest ago goes first")
	set.add("redis", "", "redis://[:password@]host:port/db: share retries, sessions, cooldowns and the access_token with the other instances through this Redis (prefer the env: ps shows flags); none keeps them in this process")
	set.add("redis-prefix", store.DefaultRedisPrefix, "start of every Redis key, so that several accounts or programs share one Redis")
	set.add("replay-entries", strconv.Itoa(server.DefaultReplayEntries), "signed queries remembered to refuse a replay with another body (about 42 bytes each); the oldest go first")
	addBudgetSettings(set)
	set.add("shutdown-timeout", "10s", "on SIGTERM, how long in-flight requests may take to finish, and the customer-service messages still waiting to be sent")
	set.add("log-format", "text", "log format: text or json")
	set.add("admin-token", "", "token POST /-/reload requires (Authorization: Bearer TOKEN); without it only loopback clients may reload, and --admin-listen must be a loopback address")
	set.add("reload-debounce", rules.DefaultDebounce.String(), "reload the rules this long after the last change to the folder")
	set.add("reload-poll", rules.DefaultPollInterval.String(), "also check the rule folder for changes this often")
	return set
}

// loadSettings reads serve's settings from args, the environment and the
// config file, and checks them. An exitError means stop with its code (the
// usage or the problem already written to stderr); any other error is a
// setting to fix.
func loadSettings(args []string, stderr io.Writer) (serveSettings, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := serveFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply serve [flags]\n\nAnswers WeChat's callbacks on --listen with the rules in --rules.\nFlags override environment variables, which override the config file.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return serveSettings{}, exitError{code}
	}
	if err := set.resolveWithConfig(); err != nil {
		fmt.Fprintf(stderr, "wxreply serve: %v\n", err)
		return serveSettings{}, exitError{exitUsage}
	}
	ss := serveSettings{
		rules:         set.get("rules"),
		listen:        set.get("listen"),
		adminListen:   set.get("admin-listen"),
		redisURL:      set.get("redis"),
		redisPrefix:   set.get("redis-prefix"),
		backendSecret: set.get("backend-secret"),
	}
	if ss.redisURL != "" {
		if _, err := store.ParseRedisURL(ss.redisURL); err != nil {
			return ss, set.locate(fmt.Errorf("--redis: %w", err))
		}
	}
	switch set.get("log-format") {
	case "json":
		ss.logHandler = logbuf.Handler(slog.NewJSONHandler(stderr, nil), stderr)
	case "text":
		ss.logHandler = logbuf.Handler(slog.NewTextHandler(stderr, nil), stderr)
	default:
		return ss, set.locate(fmt.Errorf("--log-format %q: use text or json", set.get("log-format")))
	}
	ss.opts = server.Options{
		Path:       set.get("path"),
		Token:      set.get("token"),
		AppID:      set.get("appid"),
		Account:    set.get("account"),
		AdminToken: set.get("admin-token"),
		Mode:       server.Mode(set.get("mode")),
		Logger:     slog.New(ss.logHandler),
		Build:      build(),
	}
	for _, msg := range set.unknownEnv() {
		ss.opts.Logger.Warn(msg)
	}
	ss.watch = rules.WatcherOptions{Logger: ss.opts.Logger}
	for _, step := range []func(*settings) error{ss.parseLimits, ss.parseNetwork, ss.parseBudget, ss.parseKeys, ss.parseAPI, ss.checkDevMode} {
		if err := step(set); err != nil {
			return ss, set.locate(err)
		}
	}
	return ss, nil
}

// parseLimits reads the durations and counts that bound the server's work.
func (ss *serveSettings) parseLimits(set *settings) error {
	var err error
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"timestamp-window", &ss.opts.TimestampWindow}, {"deadline", &ss.opts.Deadline},
		{"reload-debounce", &ss.watch.Debounce}, {"reload-poll", &ss.watch.PollInterval}} {
		if *d.to, err = time.ParseDuration(set.get(d.name)); err != nil {
			return fmt.Errorf("--%s: %v", d.name, err)
		}
	}
	if ss.opts.SessionTTL, err = engine.ParseDuration(set.get("session-ttl")); err != nil {
		return fmt.Errorf("--session-ttl: %v", err)
	}
	if ss.opts.SessionTTL > engine.MaxSessionTTL {
		return fmt.Errorf("--session-ttl: %s is more than %s, the longest a user's state is kept", engine.FormatDuration(ss.opts.SessionTTL), engine.FormatDuration(engine.MaxSessionTTL))
	}
	if ss.opts.TimestampWindow == 0 {
		ss.opts.TimestampWindow = -1 // 0 turns the check off here; the server reads 0 as the default
	}
	if ss.opts.BodyLimit, err = strconv.ParseInt(set.get("body-limit"), 10, 64); err != nil || ss.opts.BodyLimit <= 0 {
		return fmt.Errorf("--body-limit %q: give a number of bytes", set.get("body-limit"))
	}
	for _, n := range []struct {
		name string
		to   *int
	}{{"max-conns", &ss.maxConns}, {"max-inflight", &ss.opts.MaxInflight},
		{"retry-entries", &ss.opts.RetryEntries}, {"replay-entries", &ss.opts.ReplayEntries},
		{"user-entries", &ss.opts.UserEntries}} {
		if *n.to, err = strconv.Atoi(set.get(n.name)); err != nil || *n.to <= 0 {
			return fmt.Errorf("--%s %q: give a whole number above 0", n.name, set.get(n.name))
		}
	}
	return nil
}

// parseNetwork reads who is trusted: the proxies, and who may reload.
func (ss *serveSettings) parseNetwork(set *settings) error {
	var err error
	if ss.opts.TrustedProxies, err = parseCIDRs(set.get("trusted-proxies")); err != nil {
		return fmt.Errorf("--trusted-proxies: %v", err)
	}
	if !loopback(ss.adminListen) && ss.opts.AdminToken == "" {
		return fmt.Errorf("--admin-listen %s is not a loopback address: set --admin-token too, so that only its holder can reload the rules", ss.adminListen)
	}
	return nil
}

// parseBudget reads a rule's budget per push, and the shutdown timeout.
func (ss *serveSettings) parseBudget(set *settings) error {
	var err error
	if ss.budget, err = budgetSettings(set); err != nil {
		return err
	}
	// The rules stop at --push-time; below --deadline, nothing of them runs
	// on once the push is answered.
	if ss.opts.Deadline > 0 && ss.budget.Time >= ss.opts.Deadline {
		return fmt.Errorf("--push-time %s is not below --deadline %s: the rules must stop before the push is answered, so give a shorter --push-time", ss.budget.Time, ss.opts.Deadline)
	}
	if ss.shutdownTimeout, err = time.ParseDuration(set.get("shutdown-timeout")); err != nil {
		return fmt.Errorf("--shutdown-timeout: %v", err)
	}
	return nil
}

// addBudgetSettings declares the rules' limits, which serve holds the
// rules to and explain shows them under.
func addBudgetSettings(set *settings) {
	set.add("rule-work", strconv.FormatInt(engine.DefaultBudget.Work, 10), "units of work one rule may do for one push (see \"Limits of a rule\" in the README)")
	set.add("rule-memory", strconv.FormatInt(engine.DefaultBudget.Memory, 10), "bytes of strings and lists one rule may build for one push")
	set.add("push-time", engine.DefaultBudget.Time.String(), "how long the rules tried for one push may take together")
}

// budgetSettings reads the limits addBudgetSettings declares.
func budgetSettings(set *settings) (engine.Budget, error) {
	var b engine.Budget
	var err error
	for _, limit := range []struct {
		name string
		to   *int64
	}{{"rule-work", &b.Work}, {"rule-memory", &b.Memory}} {
		if *limit.to, err = strconv.ParseInt(set.get(limit.name), 10, 64); err != nil || *limit.to <= 0 {
			return b, fmt.Errorf("--%s %q: give a whole number above 0", limit.name, set.get(limit.name))
		}
	}
	if b.Time, err = time.ParseDuration(set.get("push-time")); err != nil || b.Time <= 0 {
		return b, fmt.Errorf("--push-time %q: give a duration above 0, such as 500ms", set.get("push-time"))
	}
	return b, nil
}

// parseKeys reads the EncodingAESKeys.
func (ss *serveSettings) parseKeys(set *settings) error {
	var err error
	for _, k := range []struct {
		name string
		to   **wxcrypto.Key
	}{{"aes-key", &ss.opts.AESKey}, {"aes-key-previous", &ss.opts.PreviousAESKey}} {
		if v := set.get(k.name); v != "" {
			if *k.to, err = wxcrypto.ParseKey(v); err != nil {
				return fmt.Errorf("--%s: %v", k.name, err) // ParseKey never repeats the key
			}
		}
	}
	return nil
}

// parseAPI reads how to reach WeChat's API. The AppID and AppSecret are
// needed only by rules that send through it; which rules do is checked once
// they are loaded (server.CheckAPI).
func (ss *serveSettings) parseAPI(set *settings) error {
	secret, appID := set.get("appsecret"), ss.opts.AppID
	switch {
	case secret == "":
		return nil
	case appID == "":
		return errors.New("--appsecret needs --appid (WXREPLY_APPID), the AppID it belongs to (admin panel: 设置与开发 → 基本配置)")
	}
	api, err := apiClient(set, appID, secret)
	if err != nil {
		return err
	}
	api.Logger = ss.opts.Logger
	ss.api = api
	return nil
}

// apiClient is the client of WeChat's API that the settings api-base,
// token-endpoint and api-timeout describe, for serve, menu and import.
func apiClient(set *settings, appID, secret string) (*wxapi.Client, error) {
	base := set.get("api-base")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--api-base %q: want an http:// or https:// address", base)
	}
	ep, err := wxapi.ParseTokenEndpoint(set.get("token-endpoint"))
	if err != nil {
		return nil, fmt.Errorf("--token-endpoint: %v", err)
	}
	timeout, err := time.ParseDuration(set.get("api-timeout"))
	if err != nil || timeout <= 0 {
		return nil, fmt.Errorf("--api-timeout %q: want a duration such as 3s", set.get("api-timeout"))
	}
	return &wxapi.Client{AppID: appID, Secret: secret, BaseURL: base, TokenEndpoint: ep, Timeout: timeout}, nil
}

// checkDevMode turns development mode on when no token is given, where it
// is safe: plaintext, on loopback.
func (ss *serveSettings) checkDevMode(set *settings) error {
	ss.devMode = ss.opts.Token == ""
	switch {
	case ss.opts.Token == devToken && !loopback(ss.listen):
		return fmt.Errorf("--token %s is development mode's token, which anyone can read: give the account's own to listen on %s", devToken, ss.listen)
	case !ss.devMode:
		return nil
	case set.isGiven("token"):
		return errors.New("--token is empty: give the account's token, or leave it out entirely for development mode")
	case ss.opts.Mode != server.ModePlain || ss.opts.AESKey != nil:
		return fmt.Errorf("--token is required with --mode %s or --aes-key: development mode is plaintext only", ss.opts.Mode)
	case !loopback(ss.listen):
		return fmt.Errorf("--token is required to listen on %s: development mode, with its public token, listens on loopback only", ss.listen)
	}
	ss.opts.Token = devToken
	return nil
}

// runUntilSignalled serves with ss until ctx ends (SIGINT, SIGTERM) or a listener
// fails, reloading the rules on each value of hup, then shuts down. An
// error means wxreply did not start or stopped on a failure.
func runUntilSignalled(ctx context.Context, ss serveSettings, hup <-chan os.Signal, stdout io.Writer) error {
	logger := ss.opts.Logger
	dir := rulesDir(ss.rules)
	res, err := loadRules(dir)
	if err != nil {
		return fmt.Errorf("rules not loaded, not starting:\n%v", err)
	}
	for _, w := range res.Warnings {
		logger.Warn(w.Warning())
	}
	// Rules that send through the customer-service API need it, at start
	// and at each reload.
	checkAPI := func(rs *engine.RuleSet) error {
		if err := server.CheckAPI(rs, ss.api != nil); err != nil {
			return err
		}
		return checkBackendSecret(rs, ss.backendSecret)
	}
	if err := checkAPI(res.RuleSet); err != nil {
		return fmt.Errorf("rules not loaded, not starting: %w", err)
	}
	ss.watch.Check = checkAPI
	eng := engine.New(res.RuleSet, nil)
	eng.SetBudget(ss.budget)
	// Loading the rules makes garbage many times their size (YAML nodes,
	// the trial runs of each rule); given back now, it is not held until
	// the runtime's scavenger gets to it.
	debug.FreeOSMemory()
	var watcher *rules.Watcher
	if dir != "" {
		watcher = rules.NewWatcher(dir, eng, res, ss.watch)
		ss.opts.Watcher = watcher
	} else {
		logger.Info("answering with the examples built into wxreply; give --rules DIR for rules that reload when edited")
	}
	if ss.redisURL != "" {
		// A Redis that does not answer yet is no reason not to start: the
		// store serves from memory and logs it, until Redis answers.
		st, err := store.OpenRedis(ctx, ss.redisURL, store.RedisOptions{Prefix: ss.redisPrefix, Logger: logger,
			Fallback: store.NewMemory(store.MemoryOptions{RetryEntries: ss.opts.RetryEntries, UserEntries: ss.opts.UserEntries})})
		if err != nil {
			return fmt.Errorf("--redis: %w", err)
		}
		defer st.Close()
		ss.opts.Store = st
		if ss.api != nil {
			// One access_token for every instance, refreshed by one.
			ss.api.TokenStore = st
		}
	}
	if ss.opts.Registry == nil {
		ss.opts.Registry = prometheus.NewRegistry()
	}
	var sender *outbox.Outbox
	if ss.api != nil {
		sender = outbox.New(ss.api, outbox.Options{Logger: logger, Registry: ss.opts.Registry})
		ss.opts.Sender = sender
		// Backend rules need the API for late answers (CheckAPI), so the
		// backend client comes with it.
		ss.opts.Backend = &backend.Client{Secret: []byte(ss.backendSecret)}
		logger.Info("customer-service API ready", "appid", ss.api.AppID, "api", ss.api.BaseURL)
	}
	srv, err := server.New(ss.opts, eng)
	if err != nil {
		return fmt.Errorf("--%v", err)
	}
	srv.MountAdminPage(adminPage(ss, srv, eng, watcher, dir))

	ln, err := net.Listen("tcp", ss.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	adminLn, err := net.Listen("tcp", ss.adminListen)
	if err != nil {
		return fmt.Errorf("--admin-listen: %v", err)
	}
	defer adminLn.Close()
	url := "http://" + ln.Addr().String() + ss.opts.Path
	adminURL := "http://" + adminLn.Addr().String()
	// The development notes come before the "serving" line, which scripts
	// and tests wait for.
	if ss.devMode {
		logger.Warn("development mode: no --token given, so the token is " + devToken + "; never point a real account here")
		self := selfCommand()
		fmt.Fprintf(stdout, "wxreply is answering on %s with %d rules.\nTry it from another terminal:\n\n  %s send --url %s --text hello\n  %s send --url %s --event subscribe\n\nor in a browser on this machine: %s/ shows the rules, their hits, and what a message would get.\n\n",
			url, len(res.RuleSet.Rules()), self, url, self, url, adminURL)
	}
	logger.Info("wxreply serving", "url", url, "admin", adminURL, "mode", srv.Mode(), "rules", len(res.RuleSet.Rules()), "rules_version", res.Version, "rule_files", len(res.Files))

	errorLog := slog.NewLogLogger(ss.logHandler, slog.LevelWarn)
	limited, adminLimited := connlimit.New(ln, ss.maxConns), connlimit.New(adminLn, adminMaxConns)
	registerConnMetrics(ss.opts.Registry, map[string]*connlimit.Listener{"callback": limited, "admin": adminLimited})
	hs := newHTTPServer(srv.Handler(), errorLog, limited)
	admin := newHTTPServer(srv.AdminHandler(), errorLog, adminLimited)
	served := make(chan error, 2)
	go func() { served <- hs.Serve(limited) }()
	go func() { served <- admin.Serve(adminLimited) }()
	watched, err := watchUntil(ctx, logger, watcher, hup, served)
	if err != nil {
		return err
	}
	if code := shutdown(logger, srv, []*http.Server{hs, admin}, sender, watched, ss.shutdownTimeout); code != exitOK {
		return exitError{code}
	}
	return nil
}

// watchUntil runs the watcher (when the rules can reload) and serves
// SIGHUP's reloads until ctx ends or a listener fails (served). The
// returned channel closes once the watcher and any reload have ended.
func watchUntil(ctx context.Context, logger *slog.Logger, watcher *rules.Watcher, hup <-chan os.Signal, served <-chan error) (<-chan struct{}, error) {
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	// The watcher, and SIGHUP's reloads in a goroutine of their own, so
	// that a slow reload never keeps a SIGTERM waiting; SIGHUPs during a
	// reload make one more. reloading counts both.
	var reloading sync.WaitGroup
	reloads := make(chan struct{}, 1)
	if w := watcher; w != nil {
		reloading.Go(func() {
			if err := w.Run(watchCtx); err != nil {
				logger.Error("rules will not reload when edited", "error", err.Error())
			}
		})
		reloading.Go(func() {
			for range reloads {
				w.Reload(rules.TriggerSignal) // logs its outcome
			}
		})
	}
	for running := true; running; {
		select {
		case err := <-served:
			return nil, err
		case <-hup:
			if watcher == nil {
				logger.Warn("SIGHUP: the built-in examples cannot be reloaded")
				continue
			}
			select {
			case reloads <- struct{}{}:
			default: // one is already due
			}
		case <-ctx.Done():
			running = false
		}
	}
	stopWatching()
	close(reloads)
	watched := make(chan struct{})
	go func() {
		reloading.Wait()
		close(watched)
	}()
	return watched, nil
}

// shutdown stops serving within timeout, whatever is running. The
// listeners close at once; requests in flight may finish until shortly
// before the timeout, when the server answers every push still in flight
// "success" (Server.Stop), so that WeChat gets an answer rather than a cut
// connection. A reload still running is not waited for past the timeout:
// it swaps the rules in one step or not at all, so exiting during one
// leaves nothing half-applied.
//
// The customer-service messages still waiting (sender, nil without the
// API) are sent once the pushes are answered, until the timeout; what is
// left then is counted and logged as dropped.
func shutdown(logger *slog.Logger, srv *server.Server, servers []*http.Server, sender *outbox.Outbox, watched <-chan struct{}, timeout time.Duration) int {
	logger.Info("shutting down: finishing requests in flight", "timeout", timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Time enough to write the answers before the timeout.
	answerAll := time.AfterFunc(timeout-min(timeout/5, time.Second), srv.Stop)
	defer answerAll.Stop()
	// All at once: the admin listener answers probes and scrapes while the
	// callback drains.
	shut := make(chan error, len(servers))
	for _, h := range servers {
		go func() { shut <- h.Shutdown(ctx) }()
	}
	code := exitOK
	for range servers {
		if err := <-shut; err != nil && !errors.Is(err, http.ErrServerClosed) {
			code = exitFailure
		}
	}
	if code != exitOK {
		// Only requests other than pushes can still run (a reload over
		// the admin listener): cut them.
		for _, h := range servers {
			h.Close()
		}
		logger.Error("shutdown: requests still running after the timeout were cut", "timeout", timeout.String())
	}
	// A backend's late answer goes out through the sender: the calls
	// come before it closes. At the timeout's margin (answerAll), the
	// calls still running are cut, counted and logged.
	srv.WaitBackends(ctx)
	if sender != nil {
		// After the pushes, which may still queue messages; Close logs
		// what it drops.
		sender.Close(ctx)
	}
	// A reload done by now is no warning, though ctx may have ended too.
	select {
	case <-watched:
	default:
		select {
		case <-watched:
		case <-ctx.Done():
			logger.Warn("shutdown: a rule reload is still running; exiting without it, the rules in use are unchanged")
		}
	}
	logger.Info("stopped")
	return code
}

// defaultMaxConns bounds the callback listener's connections: WeChat
// opens a few; each costs some 10 KB (buffers, goroutine) while its headers
// are read, so a thousand stay within 10–20 MB. At the cap, a connection
// doing nothing is closed to make room (connlimit).
const defaultMaxConns = 1024

// adminPage is the admin page for the rules of dir, or for the examples
// built into the binary when dir is "".
func adminPage(ss serveSettings, srv *server.Server, eng *engine.Engine, watcher *rules.Watcher, dir string) *admin.Page {
	opts := admin.Options{Engine: eng, Stats: srv.PushStats, Account: ss.opts.Account, Mode: string(srv.Mode()),
		Token: ss.opts.AdminToken, Logger: ss.opts.Logger, Guesses: srv.AdminGuesses()}
	if watcher != nil {
		opts.Reloader, opts.Dir = watcher, filepath.ToSlash(dir)
	} else {
		opts.FS, opts.Dir = examples.Rules(), defaultRulesDir
	}
	return admin.New(opts)
}

// adminMaxConns bounds the admin listener's: probes, scrapes and an
// operator's reloads need few.
const adminMaxConns = 64

// maxHeaderBytes is small: WeChat's requests carry a few hundred bytes of
// headers, and every connection may hold this much while its headers are
// read (net/http adds 4 KB of slack).
const maxHeaderBytes = 8 << 10

// newHTTPServer is an http.Server with the limits both listeners share,
// serving ln's connections.
func newHTTPServer(h http.Handler, errorLog *log.Logger, ln *connlimit.Listener) *http.Server {
	return &http.Server{
		Handler:           h,
		ConnState:         ln.ConnState,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          errorLog,
	}
}

// registerConnMetrics reports the listeners' connections, read at scrape
// time.
func registerConnMetrics(reg *prometheus.Registry, listeners map[string]*connlimit.Listener) {
	for name, l := range listeners {
		labels := prometheus.Labels{"listener": name}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wxreply_connections_open", ConstLabels: labels,
			Help: "Connections open on the listener; at --max-conns (64 for admin) one doing nothing is closed for each new one, or the new one waits.",
		}, func() float64 { open, _ := l.Stats(); return float64(open) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "wxreply_connections_evicted_total", ConstLabels: labels,
			Help: "Connections closed at the cap to make room for a new one: idle between requests, or silent for a second after connecting.",
		}, func() float64 { _, evicted := l.Stats(); return float64(evicted) }))
	}
}

// parseCIDRs reads a comma-separated list of networks; a bare address is a
// network of one.
func parseCIDRs(list string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			ip := net.ParseIP(part)
			if ip == nil {
				return nil, fmt.Errorf("%q is neither an address nor a CIDR such as 10.0.0.0/8", part)
			}
			bits := 8 * len(ip.To4())
			if bits == 0 {
				bits = 128
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8: %w", part, err)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// loopback reports whether the listen address is on this machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// selfCommand is how to run this wxreply again from another terminal: go
// run . when it was started so, its name when that is what the PATH finds,
// else its path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "wxreply"
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ."
	}
	if found, err := exec.LookPath(filepath.Base(exe)); err == nil {
		if same, err := filepath.EvalSymlinks(found); err == nil && same == exe {
			return filepath.Base(exe)
		}
	}
	return exe
}

// checkBackendSecret returns an error naming, with their positions, the
// rules of rs that call a backend when there is no secret to sign the
// requests with: each call would fail.
func checkBackendSecret(rs *engine.RuleSet, secret string) error {
	if secret != "" {
		return nil
	}
	var b strings.Builder
	n := 0
	for _, r := range rs.Rules() {
		if r.Backend == nil {
			continue
		}
		if n++; n <= 10 {
			fmt.Fprintf(&b, "\n\t%s: rule %q (backend)", r.Source, r.ID)
		}
	}
	if n == 0 {
		return nil
	}
	if n > 10 {
		fmt.Fprintf(&b, "\n\t... and %d more", n-10)
	}
	return fmt.Errorf("rules call a backend, whose requests are signed with --backend-secret (WXREPLY_BACKEND_SECRET): give it, the key your backend checks X-Wxreply-Signature with; the rules:%s", b.String())
}

// The watcher is what the server reloads with and reports on.
var _ server.Reloader = (*rules.Watcher)(nil)
