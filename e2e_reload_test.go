//go:build !windows

// End-to-end tests of hot reload, in the shape of Prometheus' reload test:
// the real binary on a temporary rule folder, the folder edited valid →
// invalid → valid, and after each step the reply `wxreply send` gets, the
// wxreply_rules_last_reload_successful metric and /readyz. They reuse the
// helpers of e2e_test.go and are skipped with -short.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

// reloadWait bounds every wait for a reload: debounces here are 100 ms.
const reloadWait = 10 * time.Second

// e2eRules is version n of a rule folder: any text gets "v{n} {n}".
func e2eRules(n int) string {
	return fmt.Sprintf("vars:\n  v: \"%d\"\nrules:\n  - id: any-text\n    msgtype: text\n    reply: { text: \"v%d {{ .Vars.v }}\" }\n", n, n)
}

// e2eBadRules has mistakes at 3:5 and 6:11.
const e2eBadRules = `rules:
  - id: broken
    wehn: Content == "x"
    reply: { text: hi }
  - id: worse
    when: Evnt == "x"
    reply: { text: hi }
`

// saveRules replaces dir/shop.yaml by a rename, as an editor saves.
func saveRules(t *testing.T, dir, src string) {
	t.Helper()
	tmp := filepath.Join(dir, ".shop.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
}

// adminURL is the admin listener's URL of path, for /metrics and /readyz.
func (s *e2eServer) adminURL(t *testing.T, path string) string {
	t.Helper()
	u, err := url.Parse(s.admin)
	if err != nil || s.admin == "" {
		t.Fatalf("no admin URL %q: %v", s.admin, err)
	}
	u.Path, u.RawQuery = path, ""
	return u.String()
}

func (s *e2eServer) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get(s.adminURL(t, path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, body)
	}
	return string(body)
}

// metric is the value of a series of /metrics, such as
// `wxreply_rules_reloads_total{result="failure"}`; -1 when it is absent.
func (s *e2eServer) metric(t *testing.T, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(s.get(t, "/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

// metricSum is the sum of every series of the metric family name.
func (s *e2eServer) metricSum(t *testing.T, name string) float64 {
	t.Helper()
	var sum float64
	for _, line := range strings.Split(s.get(t, "/metrics"), "\n") {
		series, v, ok := strings.Cut(line, " ")
		if !ok || (series != name && !strings.HasPrefix(series, name+"{")) {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		sum += f
	}
	return sum
}

func (s *e2eServer) readyz(t *testing.T) map[string]any {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal([]byte(s.get(t, "/readyz")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitMetric waits until series has the value want.
func (s *e2eServer) waitMetric(t *testing.T, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(reloadWait)
	for {
		got := s.metric(t, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after %s, want %v\n%s", series, got, reloadWait, want, s.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantReply checks the reply `wxreply send --text hi` prints.
func (s *e2eServer) wantReply(t *testing.T, token, want string) {
	t.Helper()
	r := s.send(t, "--token", token, "--text", "hi")
	if r.code != 0 || r.stdout != "text:\n  "+want+"\n" {
		t.Errorf("want the reply %q\n%s", want, r)
	}
}

// TestE2EReload edits the rule folder of a running server valid → invalid →
// valid, then deletes and restores the file (R01, R14 of
// /work/shared/reliability.md).
func TestE2EReload(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "e2e-reload-Hq2v"
	const lastOK = "wxreply_rules_last_reload_successful"
	dir := t.TempDir()
	saveRules(t, dir, e2eRules(1))
	s := startServe(t, nil, "--token", token, "--rules", dir, "--reload-debounce", "100ms", "--reload-poll", "1h")

	// Valid.
	s.wantReply(t, token, "v1 1")
	if got := s.metric(t, lastOK); got != 1 {
		t.Errorf("%s = %v at start", lastOK, got)
	}
	if r := s.readyz(t); r["last_reload_successful"] != true || r["last_error"] != nil {
		t.Errorf("/readyz at start: %v", r)
	}

	// Invalid: the old rules keep answering, and it shows.
	saveRules(t, dir, e2eBadRules)
	s.waitMetric(t, lastOK, 0)
	s.wantReply(t, token, "v1 1")
	r := s.readyz(t)
	lastError, _ := r["last_error"].(string)
	for _, pos := range []string{"shop.yaml:3:5: ", "shop.yaml:6:11: "} {
		if !strings.Contains(lastError, pos) {
			t.Errorf("/readyz last_error lacks %s: %v", pos, r)
		}
		waitFor(t, s.proc, s.stderr, `msg="rules not reloaded: `+dir+"/"+pos)
	}
	if r["last_reload_successful"] != false || r["failing_since"] == nil {
		t.Errorf("/readyz after an invalid edit: %v", r)
	}
	if got := s.metric(t, `wxreply_rules_reloads_total{result="failure"}`); got != 1 {
		t.Errorf("%v failed reloads, want 1", got)
	}

	// Valid again.
	saveRules(t, dir, e2eRules(2))
	s.waitMetric(t, lastOK, 1)
	s.wantReply(t, token, "v2 2")
	if r := s.readyz(t); r["last_reload_successful"] != true || r["last_error"] != nil {
		t.Errorf("/readyz after the fix: %v", r)
	}
	// Info lines reach the log within the log's flush interval.
	waitFor(t, s.proc, s.stderr, `msg="rules reloaded" trigger=watch`)

	// The file deleted: the rules stay; restored: reloaded.
	if err := os.Remove(filepath.Join(dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
	s.waitMetric(t, "wxreply_rules_source_missing", 1)
	s.wantReply(t, token, "v2 2")
	if got := s.metric(t, lastOK); got != 0 {
		t.Errorf("%s = %v with the file deleted", lastOK, got)
	}
	if got := s.metric(t, "wxreply_rules_loaded"); got != 1 {
		t.Errorf("wxreply_rules_loaded = %v with the file deleted, want 1", got)
	}
	saveRules(t, dir, e2eRules(3))
	s.waitMetric(t, lastOK, 1)
	s.wantReply(t, token, "v3 3")
	if got := s.metric(t, "wxreply_rules_source_missing"); got != 0 {
		t.Errorf("wxreply_rules_source_missing = %v after the restore", got)
	}
}

// TestE2EReloadSIGHUP: SIGHUP reloads at once. The debounce is 10 s, so a
// reload logged with trigger=sighup before then is the signal's, not the
// watch's.
func TestE2EReloadSIGHUP(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "e2e-sighup-Wc4n"
	dir := t.TempDir()
	saveRules(t, dir, e2eRules(1))
	s := startServe(t, nil, "--token", token, "--rules", dir, "--reload-debounce", "10s", "--reload-poll", "1h")
	// One round trip first: serve installs its SIGHUP handler only after
	// the "wxreply serving" line (TestE2ESIGHUPRightAfterStart).
	s.wantReply(t, token, "v1 1")

	saved := time.Now()
	saveRules(t, dir, e2eRules(2))
	if err := s.process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s.proc, s.stderr, `msg="rules reloaded" trigger=sighup`)
	if took := time.Since(saved); took >= 10*time.Second {
		t.Fatalf("the SIGHUP reload took %s: the watch may have done it", took)
	}
	s.wantReply(t, token, "v2 2")

	// Nothing changed: skipped by checksum.
	if err := s.process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitMetric(t, `wxreply_rules_reloads_total{result="unchanged"}`, 1)
	if n := strings.Count(s.stderr.String(), `msg="rules reloaded"`); n != 1 {
		t.Errorf("%d reloads logged, want 1\n%s", n, s.output())
	}

	// An invalid edit: logged with its positions, the old rules answer.
	saveRules(t, dir, e2eBadRules)
	if err := s.process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s.proc, s.stderr, `msg="rules not reloaded: `+dir+`/shop.yaml:3:5: `)
	waitFor(t, s.proc, s.stderr, `msg="rules not reloaded: `+dir+`/shop.yaml:6:11: `)
	if !strings.Contains(s.stderr.String(), `trigger=sighup`+"\n") {
		t.Errorf("the failure is not logged with trigger=sighup\n%s", s.output())
	}
	s.wantReply(t, token, "v2 2")
	if got := s.metric(t, "wxreply_rules_last_reload_successful"); got != 0 {
		t.Errorf("wxreply_rules_last_reload_successful = %v after an invalid SIGHUP reload", got)
	}
}

// TestE2ESIGHUPRightAfterStart: a SIGHUP that arrives as soon as the server
// says it is serving (a supervisor's reload right after a start) must reload
// or be ignored, never kill the process, whose default action for SIGHUP is
// to exit.
func TestE2ESIGHUPRightAfterStart(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	saveRules(t, dir, e2eRules(1))
	for i := range 10 {
		p := launch(t, "", nil, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--rules", dir, "--reload-debounce", "10s")
		url := p.waitServing(t)
		if url == "" {
			t.Fatalf("start %d: not serving\n%s", i, p.output())
		}
		if err := p.process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		s := &e2eServer{proc: p, URL: url}
		r := s.send(t, "--text", "hi")
		if p.exited() || r.code != 0 {
			t.Fatalf("start %d: a SIGHUP right after \"wxreply serving\" killed the server (%v)\n%s", i, p.err, p.output())
		}
		p.stop(t)
	}
}

// TestE2EAdminListener is E04 of /work/shared/reliability.md through the
// binary: the callback listener answers the callback, /healthz and a bare
// /readyz; metrics, details and reload are on the admin listener only.
func TestE2EAdminListener(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	saveRules(t, dir, e2eRules(1))
	s := startServe(t, nil, "--token", "e2e-admin-Tq3", "--rules", dir, "--reload-debounce", "10s")
	callback, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, base, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s%s: %v", method, base, path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	base := "http://" + callback.Host
	tests := []struct {
		method, base, path string
		status             int
		has                string
	}{
		{http.MethodGet, base, "/healthz", http.StatusOK, "ok"},
		{http.MethodGet, base, "/readyz", http.StatusOK, "ready\n"},
		{http.MethodGet, base, "/metrics", http.StatusNotFound, ""},
		{http.MethodPost, base, "/-/reload", http.StatusNotFound, ""},
		{http.MethodGet, s.admin, "/metrics", http.StatusOK, "wxreply_rules_loaded 1\n"},
		{http.MethodGet, s.admin, "/readyz", http.StatusOK, `"rules_version":`},
		{http.MethodPost, s.admin, "/-/reload", http.StatusOK, "unchanged: version "},
	}
	for _, tt := range tests {
		code, body := do(tt.method, tt.base, tt.path)
		if code != tt.status || !strings.Contains(body, tt.has) {
			t.Errorf("%s %s%s: %d %q, want %d with %q", tt.method, tt.base, tt.path, code, body, tt.status, tt.has)
		}
		if tt.base == base && strings.Contains(body, "rules") {
			t.Errorf("%s %s on the callback listener tells about the rules: %q", tt.method, tt.path, body)
		}
	}

	// Headers beyond 8 KB (and net/http's 4 KB of slack) are refused on both.
	for _, b := range []string{base, s.admin} {
		req, _ := http.NewRequest(http.MethodGet, b+"/healthz", nil)
		req.Header.Set("X-Pad", strings.Repeat("a", 16<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("16 KB of headers to %s: %d, want 431", b, resp.StatusCode)
		}
	}
}

// TestE2EShutdownDuringSlowReload is E05 of /work/shared/reliability.md:
// SIGTERM while a reload runs that takes several seconds (600 rules, each
// checked against sample pushes near its work budget) exits within
// --shutdown-timeout + 1 s, with exit 0, the "stopped" line, and the reload
// abandoned: the rules in use stay as they were.
func TestE2EShutdownDuringSlowReload(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const timeout = time.Second
	dir := t.TempDir()
	saveRules(t, dir, e2eRules(1))
	// Not startServe: this test sends the SIGTERM and checks the exit.
	p := launch(t, "", nil, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--token", "e2e-slow-Pq8",
		"--rules", dir, "--reload-debounce", "10s", "--reload-poll", "1h", "--shutdown-timeout", timeout.String())
	s := &e2eServer{proc: p, URL: p.waitServing(t)}
	s.wantReply(t, "e2e-slow-Pq8", "v1 1")

	var slow strings.Builder
	slow.WriteString("rules:\n")
	// Some 10 s of loading: far longer than the bound below, which leaves
	// room for a busy machine.
	for i := range 1500 {
		fmt.Fprintf(&slow, "  - id: slow%d\n    msgtype: text\n    when: 'len(filter(1..30000, # %% 3 == %d)) > 0'\n    reply: { text: slow }\n", i, i%3)
	}
	saveRules(t, dir, slow.String())
	if err := s.process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The reload takes seconds; this only lets it begin.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := s.process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(timeout + 3*time.Second):
		t.Fatalf("still running %s after SIGTERM with --shutdown-timeout %s\n%s", time.Since(start), timeout, s.output())
	}
	if code := s.exitCode(); code != 0 || !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("exit %d, want 0 and the \"stopped\" line\n%s", code, s.output())
	}
	if out := s.stderr.String(); !strings.Contains(out, "a rule reload is still running") || strings.Contains(out, "rules reloaded") {
		t.Errorf("the reload was not abandoned as it ran\n%s", s.output())
	}
}

// TestE2EShutdownFinishesRequestsInFlight is U14 of
// /work/shared/reliability.md through the binary: a push whose body is
// still arriving at SIGTERM is answered with its reply, new connections are
// refused, and the process exits 0.
func TestE2EShutdownFinishesRequestsInFlight(t *testing.T) {
	skipShort(t)
	t.Parallel()
	const token = "e2e-inflight-Zr5"
	dir := t.TempDir()
	saveRules(t, dir, e2eRules(1))
	p := launch(t, "", nil, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--token", token,
		"--rules", dir, "--shutdown-timeout", "5s")
	target, err := url.Parse(p.waitServing(t))
	if err != nil || target.Host == "" {
		t.Fatalf("not serving: %v\n%s", err, p.output())
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "4242"
	body := server.EncodeFields(map[string]string{"ToUserName": "gh_e2e", "FromUserName": "o_e2e", "CreateTime": ts,
		"MsgType": "text", "Content": "hi", "MsgId": "7000000000000000042"})
	conn, err := net.Dial("tcp", target.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(reloadWait))
	// Expect: 100-continue: the server says "100 Continue" when the handler
	// starts reading the body, so the request is surely in flight.
	fmt.Fprintf(conn, "POST %s?signature=%s&timestamp=%s&nonce=%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		target.Path, wxcrypto.Sign(token, ts, nonce), ts, nonce, target.Host, len(body))
	r := bufio.NewReader(conn)
	if cont, err := http.ReadResponse(r, nil); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue: %v %v\n%s", cont, err, p.output())
	}
	half := len(body) / 2
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}

	if err := p.process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes while the push is in flight.
	for deadline := time.Now().Add(reloadWait); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", target.Host, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("new connections still accepted %s after SIGTERM\n%s", reloadWait, p.output())
		}
	}
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("the push in flight got no answer: %v\n%s", err, p.output())
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if r, err := server.ParseReply(reply); resp.StatusCode != http.StatusOK || err != nil || r == nil || r.Text() != "v1 1" {
		t.Errorf("the push in flight: %d %q, want 200 with \"v1 1\"", resp.StatusCode, reply)
	}
	select {
	case <-p.done:
	case <-time.After(reloadWait):
		t.Fatalf("still running after the push was answered\n%s", p.output())
	}
	if code := p.exitCode(); code != 0 || !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("exit %d, want 0 and the \"stopped\" line\n%s", code, p.output())
	}
}
