//go:build !windows

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wxreply/wxreply/server/backend"
)

// The account of the e2e fakeapi: a secret of the test's own, so that any
// output holding it is a leak (fakeapi never echoes a secret it is given).
const (
	e2eAPIAppID  = "wxe2esend000000000"
	e2eAPISecret = "e2e-AppSecret-9f8e7d6c5b4a"
)

// e2eAllRules answers "hello" with three messages, and a click with five.
const e2eAllRules = `rules:
  - id: hello-all
    keywords: [hello]
    pick: all
    replies:
      - text: "one"
      - text: "two"
      - news: [{title: "three", url: "https://example.com/3"}]
  - id: click-five
    event: CLICK
    event_key: FIVE
    pick: all
    replies:
      - text: "c1"
      - text: "c2"
      - text: "c3"
      - text: "c4"
      - text: "c5"
  - id: any-text
    msgtype: text
    priority: -1
    reply: { text: "plain" }
`

var fakeAPILine = regexp.MustCompile(`faked, on (http://\S+) for`)

// startFakeAPI starts `wxreply fakeapi` on a free port and returns it and
// its URL.
func startFakeAPI(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	p := launch(t, "", []string{"WXREPLY_FAKEAPI_APPSECRET=" + e2eAPISecret},
		append([]string{"fakeapi", "--listen", "127.0.0.1:0", "--appid", e2eAPIAppID}, args...)...)
	waitFor(t, p, p.stdout, "See what it sent a user")
	m := fakeAPILine.FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no URL in fakeapi's output\n%s", p.output())
	}
	t.Cleanup(func() {
		p.process.Signal(syscall.SIGTERM)
		<-p.done
		if strings.Contains(p.stdout.String()+p.stderr.String(), e2eAPISecret) {
			t.Errorf("fakeapi printed the AppSecret\n%s", p.output())
		}
	})
	return p, m[1]
}

// startSendingServe starts serve on dir, sending through the fakeapi at api.
func startSendingServe(t *testing.T, dir, api string, args ...string) *e2eServer {
	t.Helper()
	s := startServeIn(t, "", []string{"WXREPLY_APPSECRET=" + e2eAPISecret},
		append([]string{"--rules", dir, "--appid", e2eAPIAppID, "--api-base", api}, args...)...)
	s.secrets = append(s.secrets, e2eAPISecret) // checked when the test ends
	return s
}

// sentTo is what the fakeapi at api sent user.
func sentTo(t *testing.T, api, user string) []json.RawMessage {
	t.Helper()
	resp, err := http.Get(api + "/-/sent?touser=" + user)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Messages []struct {
			Message json.RawMessage `json:"message"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	for _, m := range a.Messages {
		out = append(out, m.Message)
	}
	return out
}

// TestE2EReplyAll: through real processes, a text answered by a rule of
// three is one passive reply and two messages through the API, in order,
// to the sender; send --api prints them, and fakeapi logs each call.
func TestE2EReplyAll(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	saveRules(t, dir, e2eAllRules)
	// WeChat's limit after an event, as a developer sets it to try it.
	fake, api := startFakeAPI(t, "--send-limit", "3", "--send-window", "1m")
	s := startSendingServe(t, dir, api)
	const user = "oE2EReplyAll000000000000001"
	r := s.send(t, "--text", "hello", "--from", user, "--api", api)
	want := "text:\n  one\nthen through the customer-service API, 2:\n1. text:\n   two\n2. news:\n   - title: three\n     url: https://example.com/3\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("want\n%s\ngot\n%s", want, r)
	}
	msgs := sentTo(t, api, user)
	if len(msgs) != 2 || string(msgs[0]) != `{"msgtype":"text","text":{"content":"two"},"touser":"`+user+`"}` {
		t.Errorf("the fake got %s", msgs)
	}
	waitFor(t, fake, fake.stdout, `/cgi-bin/message/custom/send     to `+user+` news "three" → ok`)

	// A click of five: c1 passive, c2 to c4 sent, and the 4th message
	// through the API (c5) refused with 45047 and counted.
	r = s.send(t, "--event", "CLICK", "--key", "FIVE", "--from", "oE2EClick", "--api", api, "--api-wait", "2s")
	if r.code != 0 || !strings.Contains(r.stdout, "then through the customer-service API, 3:") || !strings.Contains(r.stdout, "3. text:\n   c4\n") {
		t.Errorf("the click:\n%s", r)
	}
	s.waitMetric(t, `wxreply_customer_messages_total{outcome="refused_limit"}`, 1)
	if got := s.metric(t, `wxreply_customer_messages_total{outcome="sent"}`); got != 5 {
		t.Errorf("sent = %v, want 5 (2 + 3)", got)
	}
	waitFor(t, s.proc, s.stderr, `rule=click-five outcome=refused_limit`)
}

// TestE2ESIGTERMDeliversQueued: messages queued when SIGTERM comes are
// sent before the process exits (or would be counted as dropped).
func TestE2ESIGTERMDeliversQueued(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	saveRules(t, dir, e2eAllRules)
	_, api := startFakeAPI(t)
	// Started by hand: the test stops it itself.
	p := launch(t, "", []string{"WXREPLY_APPSECRET=" + e2eAPISecret}, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--rules", dir, "--appid", e2eAPIAppID, "--api-base", api, "--shutdown-timeout", "3s")
	s := &e2eServer{proc: p, URL: p.waitServing(t)}
	const user = "oE2ESigterm0000000000000001"
	r := s.send(t, "--text", "hello", "--from", user)
	if r.code != 0 || r.stdout != "text:\n  one\n" {
		t.Fatalf("send:\n%s", r)
	}
	if err := s.process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		t.Fatalf("no exit within %s of SIGTERM\n%s", stopTimeout, s.output())
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit %d\n%s", code, s.output())
	}
	got := len(sentTo(t, api, user))
	dropped := strings.Contains(s.stderr.String(), "customer-service messages dropped")
	if got != 2 && !dropped {
		t.Errorf("%d of 2 messages sent and none logged as dropped\n%s", got, s.output())
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") || strings.Contains(s.output(), e2eAPISecret) {
		t.Errorf("no stopped line, or the AppSecret in the output\n%s", s.output())
	}
}

// TestE2EFolderNeedsAPI: rules that send through the API stop the start
// without --appsecret, naming them; at reload they are refused and the
// rules before keep answering.
func TestE2EFolderNeedsAPI(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dir := t.TempDir()
	saveRules(t, dir, e2eAllRules)
	r := wx(t, nil, "serve", "--rules", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	for _, want := range []string{"needs --appid and --appsecret", dir + `/shop.yaml:2:5: rule "hello-all" (pick: all)`, `shop.yaml:9:5: rule "click-five"`} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("want exit 1 and %q\n%s", want, r)
		}
	}
	// --appid without the AppSecret is not the API either.
	if r := wx(t, nil, "serve", "--rules", dir, "--appid", e2eAPIAppID, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"); r.code != 1 {
		t.Errorf("started with --appid alone\n%s", r)
	}

	saveRules(t, dir, e2eRules(1))
	s := startServe(t, nil, "--rules", dir, "--reload-debounce", "10s", "--reload-poll", "1h")
	s.wantReply(t, devToken, "v1 1")
	saveRules(t, dir, e2eAllRules)
	if err := s.process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, s.proc, s.stderr, `rules not reloaded: rules send through WeChat's customer-service API`)
	waitFor(t, s.proc, s.stderr, `shop.yaml:2:5: rule \"hello-all\" (pick: all)`)
	s.wantReply(t, devToken, "v1 1")
	if got := s.metric(t, "wxreply_rules_last_reload_successful"); got != 0 {
		t.Errorf("wxreply_rules_last_reload_successful = %v after a refused reload", got)
	}
}

// TestE2EBackendInTimeAndLate: through real processes, with the issue's
// timings and the default passive_wait (3 s): a backend that answers in
// 1 s gives the passive reply; one that answers in 8 s leaves the push the
// rule's reply at once, and its answer follows through the API. The
// backend verifies every request's signature.
func TestE2EBackendInTimeAndLate(t *testing.T) {
	skipShort(t)
	t.Parallel()
	secret := "e2e-backend-secret-0123456789"
	var verified atomic.Int32
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := backend.Verify([]byte(secret), r, backend.DefaultMaxAge, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		verified.Add(1)
		var push struct{ Content string }
		json.Unmarshal(body, &push)
		delay := time.Second
		if push.Content == "order 8" {
			delay = 8 * time.Second
		}
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"text": "%s ships today."}`, push.Content)
	}))
	t.Cleanup(be.Close)

	dir := t.TempDir()
	saveRules(t, dir, `rules:
  - id: order
    keywords: [order]
    match: prefix
    backend: {url: "`+be.URL+`/order"}
    reply: {text: "Looking it up…"}
`)
	_, api := startFakeAPI(t)
	s := startSendingServe(t, dir, api, "--backend-secret", secret)

	start := time.Now()
	r := s.send(t, "--text", "order 1", "--from", "oE2EBackendFast", "--api", api, "--api-wait", "1s")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "text:\n  order 1 ships today.\n") || time.Since(start) > 4500*time.Millisecond {
		t.Errorf("a backend answering in 1 s: want its answer as the passive reply\n%s", r)
	}

	start = time.Now()
	r = s.send(t, "--text", "order 8", "--from", "oE2EBackendSlow", "--api", api, "--api-wait", "9s")
	took := time.Since(start)
	want := "text:\n  Looking it up…\nthen through the customer-service API, 1:\n1. text:\n   order 8 ships today.\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("a backend answering in 8 s: want\n%s\ngot\n%s", want, r)
	}
	if took < 7*time.Second {
		t.Errorf("send returned after %s: the late answer cannot have come yet", took)
	}
	if n := verified.Load(); n != 2 {
		t.Errorf("the backend verified %d requests, want 2", n)
	}
	s.waitMetric(t, `wxreply_backend_requests_total{outcome="passive",rule="order"}`, 1)
	s.waitMetric(t, `wxreply_backend_requests_total{outcome="late",rule="order"}`, 1)
}

// TestE2ESIGTERMWaitsForBackends: a backend's late answer in flight when
// SIGTERM comes is sent before the process exits, within the shutdown
// timeout; one that would come after it is cut, counted and logged as
// canceled, and its on_error sent instead.
func TestE2ESIGTERMWaitsForBackends(t *testing.T) {
	skipShort(t)
	t.Parallel()
	secret := "e2e-backend-secret-0123456789"
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read first: the server notices a closed connection, and cancels
		// r.Context(), only once it has.
		io.Copy(io.Discard, r.Body)
		delay := time.Second
		if r.URL.Path == "/slow" {
			delay = time.Minute
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"text": "It ships today."}`)
	}))
	t.Cleanup(be.Close)
	dir := t.TempDir()
	saveRules(t, dir, `rules:
  - id: order
    keywords: [order]
    backend: {url: "`+be.URL+`/order", passive_wait: 200ms}
    reply: {text: "Looking it up…"}
  - id: slow
    keywords: [slow]
    backend: {url: "`+be.URL+`/slow", passive_wait: 200ms, timeout: 2m}
    reply: {text: "Looking it up…"}
    on_error: {text: "Sorry, try again later."}
`)
	_, api := startFakeAPI(t)
	p := launch(t, "", []string{"WXREPLY_APPSECRET=" + e2eAPISecret}, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--rules", dir, "--appid", e2eAPIAppID, "--api-base", api, "--backend-secret", secret, "--shutdown-timeout", "4s")
	s := &e2eServer{proc: p, URL: p.waitServing(t)}
	const orderer, waiter = "oE2ESigtermBackend000000001", "oE2ESigtermBackend000000002"
	for user, text := range map[string]string{orderer: "order", waiter: "slow"} {
		if r := s.send(t, "--text", text, "--from", user); r.code != 0 || r.stdout != "text:\n  Looking it up…\n" {
			t.Fatalf("send %s:\n%s", text, r)
		}
	}
	if err := s.process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(4*time.Second + stopTimeout):
		t.Fatalf("no exit within the shutdown timeout and %s of SIGTERM\n%s", stopTimeout, s.output())
	}
	if code := s.exitCode(); code != 0 {
		t.Errorf("exit %d\n%s", code, s.output())
	}
	if got := sentTo(t, api, orderer); len(got) != 1 || !strings.Contains(string(got[0]), "It ships today.") {
		t.Errorf("the late answer in flight at SIGTERM: sent %s, want it\n%s", got, s.output())
	}
	if got := sentTo(t, api, waiter); len(got) != 1 || !strings.Contains(string(got[0]), "Sorry, try again later.") {
		t.Errorf("the call cut at the timeout: sent %s, want its on_error\n%s", got, s.output())
	}
	if !strings.Contains(s.stderr.String(), `msg="backend failed" rule=slow`) || !strings.Contains(s.stderr.String(), "canceled") {
		t.Errorf("the cut call was not logged as canceled\n%s", s.output())
	}
}
