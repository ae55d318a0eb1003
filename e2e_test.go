//go:build !windows

// End-to-end tests: they build the real wxreply binary once, start
// `wxreply serve` as a subprocess on a free port, and talk to it with
// `wxreply send`, as a user would from two terminals. They check what no
// in-process test can: flag, environment and config-file precedence in a
// real process, the exit codes and stderr of a refused start, and a graceful
// exit on SIGTERM.
//
// They are skipped with -short. Run them alone with
//
//	go test -race -run E2E -v .
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// wxreplyBin is the binary TestMain builds; empty under -short.
var wxreplyBin string

// repoRoot is the working directory of the tests: the module root, where
// examples/rules and server/testdata are.
var repoRoot string

const (
	startTimeout = 15 * time.Second // until the "wxreply serving" line
	stopTimeout  = 5 * time.Second  // from SIGTERM to exit
	runTimeout   = 30 * time.Second // one `wxreply send`, `check`, ...
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	if repoRoot, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "wxreply-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "wxreply")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build failed: %v\n%s", err, out)
			return 1
		}
		wxreplyBin = bin
	}
	return m.Run()
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() || wxreplyBin == "" {
		t.Skip("end-to-end test: skipped with -short")
	}
}

// cleanEnv is this process's environment without any WXREPLY_ variable, so
// that a developer's settings never leak into a test, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WXREPLY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// logBuffer collects a subprocess's output; waiters learn of each write.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next write
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return n, err
}

// snapshot returns the output so far and a channel closed at the next write.
func (l *logBuffer) snapshot() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String(), l.changed
}

func (l *logBuffer) String() string {
	s, _ := l.snapshot()
	return s
}

// proc is a running `wxreply serve`.
type proc struct {
	args           []string
	stdout, stderr *logBuffer
	done           chan struct{} // closed when the process has exited
	err            error         // cmd.Wait's result, set before done closes
	cancel         context.CancelFunc
	process        *os.Process
	// secrets are the token and keys it was given; its output must never
	// contain them (G13).
	secrets []string
	// admin is the admin listener's URL, once waitServing has seen it.
	admin string
}

// launch starts wxreply with args in dir ("" means the module root), with
// the environment cleaned of WXREPLY_ variables plus env. The process is
// killed at the end of the test if still running.
func launch(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	if dir == "" {
		dir = repoRoot
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, wxreplyBin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env...)
	p := &proc{args: args, stdout: newLogBuffer(), stderr: newLogBuffer(), done: make(chan struct{}), cancel: cancel}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.WaitDelay = stopTimeout
	for i, a := range args {
		if i+1 < len(args) && args[i+1] != "" && (a == "--token" || a == "--aes-key" || a == "--aes-key-previous") {
			p.secrets = append(p.secrets, args[i+1])
		}
	}
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); (k == "WXREPLY_TOKEN" || strings.HasPrefix(k, "WXREPLY_AES_KEY")) && v != "" {
			p.secrets = append(p.secrets, v)
		}
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start wxreply %v: %v", args, err)
	}
	p.process = cmd.Process
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the code the process exited with, -1 if it was killed.
func (p *proc) exitCode() int {
	<-p.done
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	default:
		return -1
	}
}

func (p *proc) output() string {
	return fmt.Sprintf("wxreply %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(p.args, " "), p.stdout, p.stderr)
}

var servingLine = regexp.MustCompile(`msg="wxreply serving" url=(\S+) admin=(\S+)`)

// waitServing waits for the "wxreply serving" log line and returns its URL,
// or "" when the process exited first. The admin listener's URL is in
// p.admin then.
func (p *proc) waitServing(t *testing.T) string {
	t.Helper()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		out, changed := p.stderr.snapshot()
		if m := servingLine.FindStringSubmatch(out); m != nil {
			p.admin = m[2]
			return m[1]
		}
		select {
		case <-changed:
		case <-p.done:
			if m := servingLine.FindStringSubmatch(p.stderr.String()); m != nil {
				p.admin = m[2]
				return m[1]
			}
			return ""
		case <-deadline.C:
			t.Fatalf("no \"wxreply serving\" line within %s\n%s", startTimeout, p.output())
		}
	}
}

// waitFor waits until buf contains want.
func waitFor(t *testing.T, p *proc, buf *logBuffer, want string) {
	t.Helper()
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for {
		out, changed := buf.snapshot()
		if strings.Contains(out, want) {
			return
		}
		select {
		case <-changed:
		case <-p.done:
			if !strings.Contains(buf.String(), want) {
				t.Fatalf("exited without printing %q\n%s", want, p.output())
			}
			return
		case <-deadline.C:
			t.Fatalf("no %q within %s\n%s", want, startTimeout, p.output())
		}
	}
}

// logCountGrows reports whether buf comes to hold more than n of line
// within a second: an info line reaches the log within its flush interval.
func logCountGrows(buf *logBuffer, line string, n int) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Count(buf.String(), line) > n {
			return true
		}
	}
	return false
}

// stop sends SIGTERM and checks for a graceful exit: code 0 within
// stopTimeout and the "stopped" log line.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.exited() {
		t.Errorf("wxreply serve exited before it was told to stop (exit %d)\n%s", p.exitCode(), p.output())
		return
	}
	if err := p.process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.cancel()
		<-p.done
		t.Errorf("wxreply serve did not exit within %s of SIGTERM; killed\n%s", stopTimeout, p.output())
		return
	}
	if code := p.exitCode(); code != 0 {
		t.Errorf("wxreply serve exited %d after SIGTERM, want 0\n%s", code, p.output())
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("no \"stopped\" log line after SIGTERM\n%s", p.output())
	}
}

// e2eServer is a `wxreply serve` that answers on URL.
type e2eServer struct {
	*proc
	URL string
}

// startServe starts `wxreply serve --listen 127.0.0.1:0 --admin-listen
// 127.0.0.1:0 ARGS` in the module
// root and waits until it serves. At the end of the test it is stopped with
// SIGTERM and must exit 0, and its output must not contain the token or keys
// it was given.
func startServe(t *testing.T, env []string, args ...string) *e2eServer {
	t.Helper()
	return startServeIn(t, "", env, args...)
}

func startServeIn(t *testing.T, dir string, env []string, args ...string) *e2eServer {
	t.Helper()
	p := launch(t, dir, env, append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, args...)...)
	url := p.waitServing(t)
	if url == "" {
		t.Fatalf("wxreply serve exited %d before serving\n%s", p.exitCode(), p.output())
	}
	t.Cleanup(func() {
		p.stop(t)
		out := p.stdout.String() + p.stderr.String()
		for _, s := range p.secrets {
			if strings.Contains(out, s) {
				t.Errorf("the server's output contains the secret %q\n%s", s, p.output())
			}
		}
	})
	return &e2eServer{proc: p, URL: url}
}

// result is the outcome of one short wxreply command.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("wxreply %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// wx runs a wxreply command that ends by itself (send, check, ...) in the
// module root, with a clean environment plus env.
func wx(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, wxreplyBin, args...)
	cmd.Dir = repoRoot
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("wxreply %v did not finish within %s\n%s", args, runTimeout, r)
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("wxreply %v: %v", args, err)
	}
	return r
}

// send runs `wxreply send --url s.URL ARGS`.
func (s *e2eServer) send(t *testing.T, args ...string) result {
	t.Helper()
	return wx(t, nil, append([]string{"send", "--url", s.URL}, args...)...)
}

// sendCase is one `wxreply send` and what it must print.
type sendCase struct {
	name      string
	args      []string
	fail      bool     // a non-zero exit is expected
	stdoutHas []string // substrings of stdout
	stdoutNot []string
	stderrHas []string
}

// runSends runs cases against s in parallel subtests.
func runSends(t *testing.T, s *e2eServer, cases []sendCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.send(t, tc.args...)
			if tc.fail != (r.code != 0) {
				t.Errorf("want failure %v, got\n%s", tc.fail, r)
				return
			}
			for _, want := range tc.stdoutHas {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q\n%s", want, r)
				}
			}
			for _, not := range tc.stdoutNot {
				if strings.Contains(r.stdout, not) {
					t.Errorf("stdout contains %q\n%s", not, r)
				}
			}
			for _, want := range tc.stderrHas {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q\n%s", want, r)
				}
			}
		})
	}
}

// Replies of the bundled examples (examples/rules).
const (
	menuMediaID  = "PtYgjmUhBel31iEl2hpChYgCfrL1spNxnyVmihA_2O7" // keywords.yaml, menu-board
	cupSleeve    = "凭这条消息"                                       // 00-shop.yaml, welcome-cup-sleeve
	openingHours = "Opening hours: every day 08:00–20:00"        // menu-clicks.yaml, menu-opening-hours
	voiceWeather = "天气我说不准"                                      // media.yaml, voice-weather
)

// A safe-mode account: the EncodingAESKey and AppID of WeChat's sample.
const (
	aesKey      = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	aesKeyNew   = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrq9876543"
	aesKeyOther = "0123456789abcdefghijABCDEFGHIJ0123456789xyz"
	appID       = "wx2c2769f8efd9abc2"
)

func TestE2EPlain(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "e2e-plain-Qm7xT2"
	s := startServe(t, nil, "--token", token, "--rules", "examples/rules")
	tok := []string{"--token", token}
	runSends(t, s, []sendCase{
		{name: "menu keyword", args: append(tok, "--text", "菜单"),
			stdoutHas: []string{"image:\n", "media_id: " + menuMediaID}},
		{name: "subscribe from the cup sleeve", args: append(tok, "--event", "subscribe", "--scene", "100023"),
			stdoutHas: []string{"text:\n", cupSleeve}},
		{name: "opening hours button", args: append(tok, "--event", "CLICK", "--key", "MENU_OPENING_HOURS"),
			stdoutHas: []string{"text:\n", openingHours}},
		{name: "no rule matches", args: append(tok, "--event", "unsubscribe"),
			stdoutHas: []string{"no reply"}},
		{name: "verify", args: append(tok, "--verify"),
			stdoutHas: []string{"URL verification passed"}},
		{name: "raw", args: append(tok, "--raw", "--text", "菜单"),
			stdoutHas: []string{"<xml>", "<MsgType><![CDATA[image]]></MsgType>", menuMediaID}, stdoutNot: []string{"image:\n"}},
		{name: "voice fixture", args: append(tok, "--file", "server/testdata/fixtures/voice_recognition.xml"),
			stdoutHas: []string{"text:\n", voiceWeather}},
		{name: "wrong token", args: []string{"--token", "not-" + token, "--text", "菜单"},
			fail: true, stderrHas: []string{"refused: 403 Forbidden (do --token"}},
		{name: "wrong token verify", args: []string{"--token", "not-" + token, "--verify"},
			fail: true, stderrHas: []string{"refused: 403 Forbidden (do --token"}},
		{name: "wrong path", args: append(tok, "--url", strings.TrimSuffix(s.URL, "/wechat")+"/weixin", "--text", "菜单"),
			fail: true, stderrHas: []string{"refused: 404 Not Found (is --url the callback's address?"}},
		{name: "encrypted push to a plain server", args: append(tok, "--aes-key", aesKey, "--appid", appID, "--text", "菜单"),
			fail: true, stderrHas: []string{"refused"}},
	})
}

func TestE2ESafe(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "spamtest"
	s := startServe(t, nil, "--mode", "safe", "--aes-key", aesKey, "--appid", appID, "--token", token)
	sealed := []string{"--token", token, "--aes-key", aesKey, "--appid", appID}
	runSends(t, s, []sendCase{
		{name: "sealed menu keyword", args: append(sealed, "--text", "菜单"),
			stdoutHas: []string{"image:\n", "media_id: " + menuMediaID}},
		{name: "sealed subscribe", args: append(sealed, "--event", "subscribe", "--scene", "100023"),
			stdoutHas: []string{"text:\n", cupSleeve}},
		{name: "sealed voice fixture", args: append(sealed, "--file", "server/testdata/fixtures/voice_recognition.xml"),
			stdoutHas: []string{voiceWeather}},
		// The reply on the wire is encrypted: the plaintext is not in it.
		{name: "raw reply is encrypted", args: append(sealed, "--raw", "--text", "菜单"),
			stdoutHas: []string{"<Encrypt>", "<MsgSignature>"}, stdoutNot: []string{menuMediaID}},
		{name: "verify", args: append(sealed, "--verify"),
			stdoutHas: []string{"URL verification passed"}},
		{name: "plaintext refused", args: []string{"--token", token, "--text", "菜单"},
			fail: true, stderrHas: []string{"refused"}},
		{name: "another key refused", args: []string{"--token", token, "--aes-key", aesKeyOther, "--appid", appID, "--text", "菜单"},
			fail: true, stderrHas: []string{"refused"}},
		{name: "another appid refused", args: []string{"--token", token, "--aes-key", aesKey, "--appid", "wx0000000000000000", "--text", "菜单"},
			fail: true, stderrHas: []string{"refused"}},
		{name: "wrong token refused", args: []string{"--token", "not-" + token, "--aes-key", aesKey, "--appid", appID, "--text", "菜单"},
			fail: true, stderrHas: []string{"refused"}},
	})
}

func TestE2EKeyRotation(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "e2e-rotation-Jd8w"
	s := startServe(t, nil, "--mode", "safe", "--appid", appID, "--token", token,
		"--aes-key", aesKeyNew, "--aes-key-previous", aesKey)
	with := func(key string) []string {
		return []string{"--token", token, "--aes-key", key, "--appid", appID, "--text", "菜单"}
	}
	runSends(t, s, []sendCase{
		{name: "new key", args: with(aesKeyNew), stdoutHas: []string{"media_id: " + menuMediaID}},
		// The reply is sealed with the key the push came with, so a sender
		// still on the old key can open it.
		{name: "previous key", args: with(aesKey), stdoutHas: []string{"media_id: " + menuMediaID}},
		{name: "unknown key", args: with(aesKeyOther), fail: true, stderrHas: []string{"refused"}},
	})
}

func TestE2EDevelopmentMode(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for _, tc := range []struct {
		name, dir string
	}{
		{"in the checkout", ""},
		// Elsewhere the binary answers with the examples built into it.
		{"anywhere", t.TempDir()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServeIn(t, tc.dir, nil)
			// The banner's command runs the binary that printed it.
			waitFor(t, s.proc, s.stdout, wxreplyBin+" send --url "+s.URL+" --text hello\n")
			if err := s.stderr.String(); !strings.Contains(err, "development mode") {
				t.Errorf("no development-mode warning on stderr\n%s", s.output())
			}
			runSends(t, s, []sendCase{
				{name: "default token", args: []string{"--text", "菜单"}, stdoutHas: []string{"media_id: " + menuMediaID}},
				{name: "explicit dev token", args: []string{"--token", "wxreply-dev", "--event", "subscribe", "--scene", "100023"},
					stdoutHas: []string{cupSleeve}},
				{name: "another token", args: []string{"--token", "prod-token", "--text", "菜单"},
					fail: true, stderrHas: []string{"refused"}},
			})
		})
	}
}

// TestE2ESendFresh: two sends of one event in one second are one push and
// its retry to the server; send says so, and with --fresh (the default)
// sends again once the second has turned, so that an edit shows at once.
func TestE2ESendFresh(t *testing.T) {
	skipShort(t)
	t.Parallel()
	s := startServeIn(t, "", nil)
	waitFor(t, s.proc, s.stdout, "--text hello\n")
	retried := "the server took this for WeChat's retry of an earlier push"
	// Without --fresh, the second of a pair in one second is the first
	// push again: the server answers it as a retry (its log says so), and
	// send says so.
	for attempt := range 5 {
		retries := strings.Count(s.stderr.String(), "outcome=retry")
		s.send(t, "--event", "subscribe", "--fresh=false")
		stale := s.send(t, "--event", "subscribe", "--fresh=false")
		if !logCountGrows(s.stderr, "outcome=retry", retries) {
			if attempt == 4 {
				t.Skip("no pair of sends fell within one second")
			}
			continue // the two sends fell in different seconds
		}
		if !strings.Contains(stale.stderr, retried) {
			t.Errorf("send --fresh=false did not say the answer was a retry's\n%s", stale)
		}
		break
	}
	// With --fresh, the second of a pair in one second is taken for a retry
	// by the server (its log says so) and sent again: the user sees a
	// fresh answer and no note.
	for attempt := range 5 {
		retries := strings.Count(s.stderr.String(), "outcome=retry")
		s.send(t, "--event", "subscribe")
		fresh := s.send(t, "--event", "subscribe")
		if !logCountGrows(s.stderr, "outcome=retry", retries) {
			if attempt == 4 {
				t.Skip("no pair of sends fell within one second")
			}
			continue // the two sends fell in different seconds
		}
		if fresh.code != 0 || strings.Contains(fresh.stderr, retried) || !strings.Contains(fresh.stdout, "news:") {
			t.Errorf("send (fresh) answered with a retry's reply\n%s", fresh)
		}
		return
	}
}

func TestE2ESettingsPrecedence(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	config := filepath.Join(dir, "wxreply.yaml")
	if err := os.WriteFile(config, []byte("token: fromfile\nrules: examples/rules\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	safeConfig := filepath.Join(dir, "safe.yaml")
	safe := "token: fromsafefile\nmode: safe\naes_key: " + aesKey + "\nappid: " + appID + "\nshutdown_timeout: 2s\n"
	if err := os.WriteFile(safeConfig, []byte(safe), 0o600); err != nil {
		t.Fatal(err)
	}
	text := []string{"--text", "菜单"}
	ok := []string{"media_id: " + menuMediaID}
	tests := []struct {
		name  string
		env   []string
		args  []string
		sends []sendCase
	}{
		{"flag beats env and file", []string{"WXREPLY_TOKEN=fromenv"}, []string{"--config", config, "--token", "fromflag"}, []sendCase{
			{name: "fromflag", args: append([]string{"--token", "fromflag"}, text...), stdoutHas: ok},
			{name: "fromenv", args: append([]string{"--token", "fromenv"}, text...), fail: true, stderrHas: []string{"refused"}},
			{name: "fromfile", args: append([]string{"--token", "fromfile"}, text...), fail: true, stderrHas: []string{"refused"}},
		}},
		{"env beats file", []string{"WXREPLY_TOKEN=fromenv"}, []string{"--config", config}, []sendCase{
			{name: "fromenv", args: append([]string{"--token", "fromenv"}, text...), stdoutHas: ok},
			{name: "fromfile", args: append([]string{"--token", "fromfile"}, text...), fail: true, stderrHas: []string{"refused"}},
		}},
		{"file alone", nil, []string{"--config", config}, []sendCase{
			{name: "fromfile", args: append([]string{"--token", "fromfile"}, text...), stdoutHas: ok},
			{name: "fromenv", args: append([]string{"--token", "fromenv"}, text...), fail: true, stderrHas: []string{"refused"}},
			// A token from the file is not development mode.
			{name: "dev token", args: text, fail: true, stderrHas: []string{"refused"}},
		}},
		{"file named by WXREPLY_CONFIG", []string{"WXREPLY_CONFIG=" + config}, nil, []sendCase{
			{name: "fromfile", args: append([]string{"--token", "fromfile"}, text...), stdoutHas: ok},
		}},
		{"safe mode from the file, with_underscores", nil, []string{"--config", safeConfig}, []sendCase{
			{name: "sealed", args: append([]string{"--token", "fromsafefile", "--aes-key", aesKey, "--appid", appID}, text...), stdoutHas: ok},
			{name: "plaintext", args: append([]string{"--token", "fromsafefile"}, text...), fail: true, stderrHas: []string{"refused"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServe(t, tt.env, tt.args...)
			runSends(t, s, tt.sends)
		})
	}

	t.Run("unknown key in the config file", func(t *testing.T) {
		t.Parallel()
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte("token: x\ntokn: fromfile\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		r := wx(t, nil, "serve", "--listen", "127.0.0.1:0", "--config", bad)
		if r.code != exitUsage || !strings.Contains(r.stderr, `"tokn"`) || strings.Contains(r.stderr, "wxreply serving") {
			t.Errorf("want exit %d and a message naming \"tokn\"\n%s", exitUsage, r)
		}
	})
}

// TestE2EBadStaticConfig is C11 of /work/shared/reliability.md: a bad static
// setting refuses to start, with exit ≠ 0 and a clear message naming the
// setting, never its value.
func TestE2EBadStaticConfig(t *testing.T) {
	skipShort(t)
	t.Parallel()
	// Recognizable values, so that a leak is easy to see.
	const (
		token       = "c11-TOKEN-Vx9q"
		key42       = "LEAKCANARYkey42charsLEAKCANARYkey42charsAB"
		keyDash     = "LEAKCANARY-key43charsLEAKCANARYkey43chars12"
		keyFromEnv  = "ENVCANARYkey42charsENVCANARYkey42charsABCD"
		keyFromFile = "FILECANARYkey42charsFILECANARYkey42charsAB"
	)
	if len(key42) != 42 || len(keyDash) != 43 || len(keyFromEnv) != 42 || len(keyFromFile) != 42 {
		t.Fatal("test keys have the wrong lengths")
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.yaml")
	if err := os.WriteFile(keyFile, []byte("aes_key: "+keyFromFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	brokenField := writeRuleFile(t, "shop.yaml", `rules:
  - id: welcome
    event: subscribe
    wehn: Event == "subscribe"
    reply: { text: hi }
`)
	brokenExpr := writeRuleFile(t, "shop.yaml", `rules:
  - id: welcome
    event: subscribe
    when: Scene == 
    reply: { text: hi }
`)
	brokenYAML := writeRuleFile(t, "shop.yaml", "rules:\n  - id: welcome\n    reply: { text: hi\n")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })

	tests := []struct {
		name    string
		env     []string
		args    []string
		names   []string // the message names these
		match   string   // a regexp the message matches
		secrets []string // never in the output
		lines   int      // the number of lines on stderr; 0 means any
	}{
		{name: "aes-key of 42 characters", args: []string{"--aes-key", key42},
			names: []string{"--aes-key", "43"}, secrets: []string{key42, "LEAKCANARY"}, lines: 1},
		{name: "aes-key with a '-'", args: []string{"--aes-key", keyDash},
			names: []string{"--aes-key"}, secrets: []string{keyDash, "LEAKCANARY"}, lines: 1},
		{name: "aes-key-previous bad", args: []string{"--mode", "safe", "--appid", appID, "--aes-key", aesKey, "--aes-key-previous", key42},
			names: []string{"--aes-key-previous"}, secrets: []string{aesKey, key42, "LEAKCANARY"}, lines: 1},
		{name: "aes-key from the environment", env: []string{"WXREPLY_AES_KEY=" + keyFromEnv},
			names: []string{"aes-key"}, secrets: []string{keyFromEnv, "ENVCANARY"}, lines: 1},
		{name: "aes-key from the config file", args: []string{"--config", keyFile},
			names: []string{"aes-key"}, secrets: []string{keyFromFile, "FILECANARY"}, lines: 1},
		{name: "safe mode without aes-key", args: []string{"--mode", "safe", "--appid", appID},
			names: []string{"aes-key"}, lines: 1},
		{name: "compat mode without aes-key", args: []string{"--mode", "compat", "--appid", appID},
			names: []string{"aes-key"}, lines: 1},
		{name: "safe mode without appid", args: []string{"--mode", "safe", "--aes-key", aesKey},
			names: []string{"appid"}, secrets: []string{aesKey}, lines: 1},
		{name: "mode bogus", args: []string{"--mode", "bogus"},
			names: []string{"--mode", "plain, compat or safe"}, lines: 1},
		{name: "log-format bogus", args: []string{"--log-format", "xml"},
			names: []string{"--log-format"}, lines: 1},
		{name: "body-limit negative", args: []string{"--body-limit", "-1"},
			names: []string{"--body-limit"}, lines: 1},
		{name: "admin listener beyond loopback without a token", args: []string{"--admin-listen", "0.0.0.0:0"},
			names: []string{"--admin-listen", "--admin-token"}, lines: 1},
		{name: "trusted-proxies bogus", args: []string{"--trusted-proxies", "10.0.0.0/8,proxy.local"},
			names: []string{"--trusted-proxies", "proxy.local"}, lines: 1},
		{name: "max-conns zero", args: []string{"--max-conns", "0"},
			names: []string{"--max-conns"}, lines: 1},
		{name: "max-inflight negative", args: []string{"--max-inflight", "-4"},
			names: []string{"--max-inflight"}, lines: 1},
		{name: "retry-entries zero", args: []string{"--retry-entries", "0"},
			names: []string{"--retry-entries"}, lines: 1},
		{name: "replay-entries not a number", args: []string{"--replay-entries", "many"},
			names: []string{"--replay-entries"}, lines: 1},
		{name: "session-ttl without a unit", args: []string{"--session-ttl", "30"},
			names: []string{"--session-ttl", "not a duration"}, lines: 1},
		{name: "session-ttl of years", args: []string{"--session-ttl", "3650d"},
			names: []string{"--session-ttl", "more than 30d"}, lines: 1},
		{name: "user-entries zero", args: []string{"--user-entries", "0"},
			names: []string{"--user-entries"}, lines: 1},
		{name: "deadline not a duration", args: []string{"--deadline", "soon"},
			names: []string{"--deadline"}, lines: 1},
		{name: "rule-work zero", args: []string{"--rule-work", "0"},
			names: []string{"--rule-work"}, lines: 1},
		{name: "rule-memory not a number", args: []string{"--rule-memory", "1MB"},
			names: []string{"--rule-memory"}, lines: 1},
		{name: "push-time not below the deadline", args: []string{"--push-time", "5s", "--deadline", "4s"},
			names: []string{"--push-time 5s", "--deadline 4s"}, lines: 1},
		{name: "listen address in use", args: []string{"--listen", busy.Addr().String()},
			names: []string{busy.Addr().String()}, lines: 1},
		{name: "rules folder missing", args: []string{"--rules", filepath.Join(dir, "nope")},
			names: []string{"rules", filepath.Join(dir, "nope")}},
		{name: "rules: unknown field", args: []string{"--rules", brokenField},
			match: `shop\.yaml:4:5: .*"wehn"`},
		{name: "rules: bad expression", args: []string{"--rules", brokenExpr},
			match: `shop\.yaml:\d+:\d+: .*welcome`},
		{name: "rules: YAML syntax error", args: []string{"--rules", brokenYAML},
			match: `shop\.yaml:\d+(:\d+)?: `},
		// C11: an empty token. Without one wxreply runs in development mode,
		// with the public token wxreply-dev, which is right for a bare
		// `wxreply serve` but not when safe mode and a real EncodingAESKey
		// say a real account is configured.
		{name: "safe mode without a token", args: []string{"--token", "", "--mode", "safe", "--aes-key", aesKey, "--appid", appID},
			names: []string{"token"}, secrets: []string{aesKey}, lines: 1},
		// The development token, published in the README, given by hand
		// to a server other machines reach.
		{name: "the development token off loopback", args: []string{"--token", "wxreply-dev", "--listen", "0.0.0.0:0"},
			names: []string{"--token wxreply-dev", "0.0.0.0:0"}, lines: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--token", token}, tt.args...)
			p := launch(t, "", tt.env, args...)
			if url := p.waitServing(t); url != "" {
				p.stop(t)
				t.Fatalf("started serving at %s; want a refusal\n%s", url, p.output())
			}
			code, stderr := p.exitCode(), p.stderr.String()
			if code == 0 || code == -1 {
				t.Errorf("exit %d, want a failure code\n%s", code, p.output())
			}
			if out := p.stdout.String(); out != "" {
				t.Errorf("stdout not empty\n%s", p.output())
			}
			if !strings.HasPrefix(stderr, "wxreply serve: ") {
				t.Errorf("stderr does not start with \"wxreply serve: \"\n%s", p.output())
			}
			if n := strings.Count(strings.TrimSuffix(stderr, "\n"), "\n") + 1; tt.lines != 0 && n != tt.lines {
				t.Errorf("%d lines on stderr, want %d\n%s", n, tt.lines, p.output())
			}
			for _, name := range tt.names {
				if !strings.Contains(stderr, name) {
					t.Errorf("stderr does not name %q\n%s", name, p.output())
				}
			}
			if tt.match != "" && !regexp.MustCompile(tt.match).MatchString(stderr) {
				t.Errorf("stderr does not match %s\n%s", tt.match, p.output())
			}
			for _, s := range append(tt.secrets, token) {
				if strings.Contains(p.stdout.String()+stderr, s) {
					t.Errorf("the output contains the secret %q\n%s", s, p.output())
				}
			}
		})
	}
}

// writeRuleFile makes a rule folder holding one file.
func writeRuleFile(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestE2ECommands(t *testing.T) {
	skipShort(t)
	t.Parallel()
	rulesOK := regexp.MustCompile(`^\d+ rules OK\n$`)
	tests := []struct {
		name   string
		args   []string
		stdout *regexp.Regexp
	}{
		{"check", []string{"check"}, rulesOK},
		{"check examples", []string{"check", "examples/rules"}, rulesOK},
		{"version", []string{"version"}, regexp.MustCompile(`^wxreply \S+( [0-9a-f]{12}(\+dirty)?)? go1\.\S+\n$`)},
		{"explain", []string{"explain", "--text", "菜单"}, regexp.MustCompile(`(?m)^rule: menu-board \(`)},
		{"help", []string{"help"}, regexp.MustCompile(`^$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := wx(t, nil, tt.args...)
			if r.code != exitOK || !tt.stdout.MatchString(r.stdout) {
				t.Errorf("want exit 0 and stdout matching %s\n%s", tt.stdout, r)
			}
		})
	}
	t.Run("no command", func(t *testing.T) {
		t.Parallel()
		if r := wx(t, nil); r.code != exitUsage || !strings.Contains(r.stderr, "Usage: wxreply COMMAND") {
			t.Errorf("want exit %d and the usage\n%s", exitUsage, r)
		}
	})
}
