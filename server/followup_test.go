package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/backend"
	"github.com/wxreply/wxreply/server/outbox"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

const (
	followAppID  = "wx7f3e2d1c0b9a8f7e"
	followSecret = "follow-secret-0123456789abcdef01234"
	followUser   = "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A" // textPushFields' sender
)

const followRules = `
rules:
  - id: hello-all
    keywords: [hello]
    pick: all
    replies:
      - text: "one"
      - text: "two"
      - news: [{title: "three", url: "https://example.com/3?a=1&b=2"}, {title: "not sent"}]
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
  - id: order
    keywords: [order]
    backend: { url: "https://backend.example/order", timeout: 3s, passive_wait: 300ms }
    reply: { text: "Looking it up…" }
    on_error: { text: "Sorry, try later." }
`

// followServer answers followRules and sends through a fake WeChat API.
type followServer struct {
	*testServer
	fake   *wxapitest.Server
	outbox *outbox.Outbox
	reg    *prometheus.Registry
	logs   *syncbuf.Buffer
}

func newFollowServer(t *testing.T, backend server.Backend) *followServer {
	t.Helper()
	return newFollowServerWith(t, followRules, backend)
}

func newFollowServerWith(t *testing.T, src string, backend server.Backend) *followServer {
	t.Helper()
	rs := loadRules(t, "follow.yaml", src)
	fs := &followServer{fake: wxapitest.NewServer(t, followAppID, followSecret), reg: prometheus.NewRegistry(), logs: &syncbuf.Buffer{}}
	logger := slog.New(slog.NewTextHandler(fs.logs, nil))
	fs.outbox = outbox.New(&wxapi.Client{AppID: followAppID, Secret: followSecret, BaseURL: fs.fake.URL},
		outbox.Options{Registry: fs.reg, Logger: logger})
	t.Cleanup(func() { fs.outbox.Close(context.Background()) })
	fs.testServer = &testServer{log: &bytes.Buffer{}, clock: testNow}
	var err error
	fs.Server, err = server.New(server.Options{Token: testToken, Now: func() time.Time { return testNow },
		Logger: logger, Registry: fs.reg, Sender: fs.outbox, Backend: backend}, engine.New(rs, nil))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// sent closes the outbox (delivering everything) and returns what the fake
// got for the user, as JSON.
func (fs *followServer) sent(t *testing.T) []string {
	t.Helper()
	if err := fs.outbox.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range fs.fake.Sent(followUser) {
		out = append(out, string(m.Message))
	}
	return out
}

func (fs *followServer) count(t *testing.T, name, label string) float64 {
	t.Helper()
	mfs, err := fs.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == label {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

func TestReplyAllSendsTheRestInOrder(t *testing.T) {
	fs := newFollowServer(t, nil)
	push := pushXML("Content", "<![CDATA[hello there]]>")
	rec := fs.post(push)
	if !strings.Contains(rec.Body.String(), "<Content><![CDATA[one]]></Content>") {
		t.Fatalf("passive reply %s, want the first reply", rec.Body)
	}
	// WeChat's retry gets the same passive reply and sends nothing again.
	if again := fs.post(push); again.Body.String() != rec.Body.String() {
		t.Errorf("retry answered %s", again.Body)
	}
	want := []string{
		`{"msgtype":"text","text":{"content":"two"},"touser":"` + followUser + `"}`,
		`{"msgtype":"news","news":{"articles":[{"title":"three","url":"https://example.com/3?a=1&b=2"}]},"touser":"` + followUser + `"}`,
	}
	if got := fs.sent(t); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("sent\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := fs.count(t, "wxreply_customer_messages_total", "sent"); n != 2 {
		t.Errorf("%v counted sent, want 2", n)
	}
	if strings.Contains(fs.logs.String(), followSecret) {
		t.Errorf("the log holds the AppSecret")
	}
}

func TestClickOfFiveStopsAtTheLimit(t *testing.T) {
	fs := newFollowServer(t, nil)
	fs.fake.SendLimit = 3
	rec := fs.post(pushXML("MsgType", "<![CDATA[event]]>", "Content", "-", "MsgId", "-", "Event", "<![CDATA[CLICK]]>", "EventKey", "<![CDATA[FIVE]]>"))
	if !strings.Contains(rec.Body.String(), "<Content><![CDATA[c1]]></Content>") {
		t.Fatalf("passive reply %s, want c1", rec.Body)
	}
	got := fs.sent(t)
	if len(got) != 3 || !strings.Contains(got[2], `"c4"`) {
		t.Errorf("sent %v, want c2, c3, c4", got)
	}
	if n := fs.fake.Calls(wxapitest.CustomSendPath); n != 4 {
		t.Errorf("%d calls to custom/send, want 4: the 4th refused with 45047, no retry", n)
	}
	if n := fs.count(t, "wxreply_customer_messages_total", "refused_limit"); n != 1 {
		t.Errorf("%v counted refused_limit, want 1", n)
	}
	if !strings.Contains(fs.logs.String(), "rule=click-five") {
		t.Errorf("the refusal is not logged with the rule:\n%s", fs.logs)
	}
}

// backendFunc is a Backend made of a function.
type backendFunc func(ctx context.Context, b *engine.Backend, ruleID string, ev *engine.Event) ([]*engine.Reply, error)

func (f backendFunc) Call(ctx context.Context, b *engine.Backend, ruleID string, ev *engine.Event) ([]*engine.Reply, error) {
	return f(ctx, b, ruleID, ev)
}

func answering(after time.Duration, err error, texts ...string) backendFunc {
	return func(ctx context.Context, _ *engine.Backend, _ string, _ *engine.Event) ([]*engine.Reply, error) {
		select {
		case <-time.After(after):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var out []*engine.Reply
		for _, s := range texts {
			out = append(out, engine.NewReply(engine.KindText, map[string]string{"text": s}))
		}
		return out, err
	}
}

func TestBackend(t *testing.T) {
	order := pushXML("Content", "<![CDATA[order 42]]>")
	t.Run("in time: passive", func(t *testing.T) {
		fs := newFollowServer(t, answering(10*time.Millisecond, nil, "Order 42 ships today.", "Anything else?"))
		rec := fs.post(order)
		if !strings.Contains(rec.Body.String(), "Order 42 ships today.") {
			t.Fatalf("passive reply %s", rec.Body)
		}
		if got := fs.sent(t); len(got) != 1 || !strings.Contains(got[0], "Anything else?") {
			t.Errorf("sent %v, want the second reply", got)
		}
		if n := fs.count(t, "wxreply_backend_requests_total", "passive"); n != 1 {
			t.Errorf("%v passive backend calls counted", n)
		}
	})
	t.Run("late: the rule's reply now, the answer later", func(t *testing.T) {
		// The backend answers only once the push has been answered: the
		// push cannot have waited for it.
		release := make(chan struct{})
		fs := newFollowServer(t, backendFunc(func(ctx context.Context, b *engine.Backend, rule string, ev *engine.Event) ([]*engine.Reply, error) {
			<-release
			return answering(0, nil, "Order 42 ships today.")(ctx, b, rule, ev)
		}))
		rec := fs.post(order)
		close(release)
		if !strings.Contains(rec.Body.String(), "Looking it up…") {
			t.Fatalf("passive reply %s, want the rule's reply", rec.Body)
		}
		deadline := time.Now().Add(3 * time.Second)
		for len(fs.fake.Sent(followUser)) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := fs.sent(t); len(got) != 1 || !strings.Contains(got[0], "Order 42 ships today.") {
			t.Errorf("sent %v, want the backend's answer", got)
		}
		if n := fs.fake.Calls(wxapitest.CustomTypingPath); n != 1 {
			t.Errorf("%d typing calls, want 1 while waiting", n)
		}
		if n := fs.count(t, "wxreply_backend_requests_total", "late"); n != 1 {
			t.Errorf("%v late backend calls counted", n)
		}
	})
	t.Run("late, then the server stops: the call is cut", func(t *testing.T) {
		ended := make(chan struct{})
		fs := newFollowServer(t, backendFunc(func(ctx context.Context, _ *engine.Backend, _ string, _ *engine.Event) ([]*engine.Reply, error) {
			<-ctx.Done() // its timeout is 3 s
			close(ended)
			return nil, ctx.Err()
		}))
		if rec := fs.post(order); !strings.Contains(rec.Body.String(), "Looking it up…") {
			t.Fatalf("passive reply %s, want the rule's reply", rec.Body)
		}
		fs.Stop()
		select {
		case <-ended:
		case <-time.After(2 * time.Second):
			t.Fatal("the backend call ran on after the server stopped")
		}
	})
	t.Run("one user's calls in flight are capped, not everyone's", func(t *testing.T) {
		release := make(chan struct{})
		fs := newFollowServer(t, backendFunc(func(ctx context.Context, b *engine.Backend, rule string, ev *engine.Event) ([]*engine.Reply, error) {
			<-release
			return nil, nil
		}))
		defer close(release)
		for i := range server.MaxBackendCallsPerUser {
			if rec := fs.post(pushXML("Content", "<![CDATA[order 42]]>", "MsgId", fmt.Sprint(100+i))); !strings.Contains(rec.Body.String(), "Looking it up…") {
				t.Fatalf("call %d of the user: %s, want the rule's reply while the backend works", i+1, rec.Body)
			}
		}
		if rec := fs.post(pushXML("Content", "<![CDATA[order 42]]>", "MsgId", "200")); !strings.Contains(rec.Body.String(), "Sorry, try later.") {
			t.Errorf("a call past the user's share: %s, want on_error", rec.Body)
		}
		other := pushXML("Content", "<![CDATA[order 42]]>", "MsgId", "300", "FromUserName", "<![CDATA[oAnotherUser0000000000000001]]>")
		if rec := fs.post(other); !strings.Contains(rec.Body.String(), "Looking it up…") {
			t.Errorf("another user's call: %s, want the rule's reply", rec.Body)
		}
		if n := fs.count(t, "wxreply_backend_requests_total", "busy"); n != 1 {
			t.Errorf("%v busy backend calls counted, want 1", n)
		}
	})
	t.Run("error: on_error", func(t *testing.T) {
		fs := newFollowServer(t, answering(0, errors.New("backend https://backend.example/order: HTTP 500")))
		rec := fs.post(order)
		if !strings.Contains(rec.Body.String(), "Sorry, try later.") {
			t.Fatalf("passive reply %s, want on_error", rec.Body)
		}
		if got := fs.sent(t); len(got) != 0 {
			t.Errorf("sent %v, want nothing", got)
		}
		// Not a *backend.Error: counted as the client counts such, unreachable.
		if n := fs.count(t, "wxreply_backend_requests_total", "unreachable"); n != 1 {
			t.Errorf("%v failed backend calls counted", n)
		}
		if !strings.Contains(fs.logs.String(), "rule=order") {
			t.Errorf("the failure is not logged with the rule:\n%s", fs.logs)
		}
	})
}

// TestWithoutAPI: a server built without a Sender (and without CheckAPI)
// answers passively and logs what it could not send, late answers too.
func TestWithoutAPI(t *testing.T) {
	rs := loadRules(t, "follow.yaml", followRules)
	logs := &syncbuf.Buffer{}
	// The backend answers only once the push has been answered.
	release := make(chan struct{})
	late := backendFunc(func(ctx context.Context, b *engine.Backend, rule string, ev *engine.Event) ([]*engine.Reply, error) {
		<-release
		return answering(0, nil, "Order 42 ships today.")(ctx, b, rule, ev)
	})
	ts := &testServer{log: &bytes.Buffer{}, clock: testNow}
	var err error
	ts.Server, err = server.New(server.Options{Token: testToken, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Backend: late}, engine.New(rs, nil))
	if err != nil {
		t.Fatal(err)
	}
	if rec := ts.post(pushXML("Content", "<![CDATA[hello there]]>")); !strings.Contains(rec.Body.String(), "<Content><![CDATA[one]]></Content>") {
		t.Fatalf("passive reply %s, want the first reply", rec.Body)
	}
	if rec := ts.post(pushXML("Content", "<![CDATA[order 42]]>", "MsgId", "2")); !strings.Contains(rec.Body.String(), "Looking it up…") {
		t.Fatalf("passive reply %s, want the rule's reply", rec.Body)
	}
	close(release)
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(logs.String(), "rule=order dropped=1") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{"messages not sent: the server has no access to WeChat's API\" rule=hello-all dropped=2", "rule=order dropped=1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

func TestCheckAPI(t *testing.T) {
	rs := loadRules(t, "follow.yaml", followRules)
	if err := server.CheckAPI(rs, true); err != nil {
		t.Errorf("with the API: %v", err)
	}
	err := server.CheckAPI(rs, false)
	if !errors.Is(err, server.ErrNeedsAPI) {
		t.Fatalf("without the API: %v", err)
	}
	for _, want := range []string{"follow.yaml:3:5: rule \"hello-all\" (pick: all)", "rule \"click-five\"", "rule \"order\" (backend)", "--appsecret"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestBackendClient: the server with the real backend client, against a
// backend on httptest that verifies each request's signature.
func TestBackendClient(t *testing.T) {
	secret := []byte("backend-secret-for-the-test-0123")
	release := make(chan struct{})
	var verified atomic.Int32
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := backend.Verify(secret, r, backend.DefaultMaxAge, time.Now())
		if err != nil {
			t.Errorf("the backend could not verify the request: %v", err)
			http.Error(w, "unsigned", http.StatusUnauthorized)
			return
		}
		verified.Add(1)
		var push map[string]any
		json.Unmarshal(body, &push)
		switch r.URL.Path {
		case "/fast":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `[{"text": "Order `+fmt.Sprint(push["Content"])+` ships today."}, {"text": "Anything else?"}]`)
		case "/slow":
			<-release
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"text": "Booked for 7 pm."}`)
		default:
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	defer be.Close()
	defer close(release)
	src := strings.ReplaceAll(`
rules:
  - id: fast
    keywords: [order]
    backend: { url: "BE/fast", passive_wait: 2s }
  - id: slow
    keywords: [book]
    backend: { url: "BE/slow", passive_wait: 200ms }
    reply: { text: "Booking…" }
  - id: broken
    keywords: [broken]
    backend: { url: "BE/fail" }
    on_error: { text: "Sorry, try later." }
`, "BE", be.URL)
	fs := newFollowServerWith(t, src, &backend.Client{Secret: secret})
	passive := func(content, msgID string) string {
		rec := fs.post(pushXML("Content", "<![CDATA["+content+"]]>", "MsgId", msgID))
		_, after, _ := strings.Cut(rec.Body.String(), "<Content><![CDATA[")
		text, _, _ := strings.Cut(after, "]]></Content>")
		return text
	}
	if got := passive("order", "1"); got != "Order order ships today." {
		t.Errorf("in time: passive %q", got)
	}
	if got := passive("broken", "2"); got != "Sorry, try later." {
		t.Errorf("a 500: passive %q, want on_error", got)
	}
	if got := passive("book", "3"); got != "Booking…" {
		t.Errorf("late: passive %q, want the rule's reply", got)
	}
	release <- struct{}{}
	deadline := time.Now().Add(5 * time.Second)
	for len(fs.fake.Sent(followUser)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := fs.sent(t)
	if len(got) != 2 || !strings.Contains(got[0], "Anything else?") || !strings.Contains(got[1], "Booked for 7 pm.") {
		t.Errorf("sent %v, want the fast answer's second reply, then the late answer", got)
	}
	if verified.Load() != 3 {
		t.Errorf("%d requests verified, want 3", verified.Load())
	}
	for outcome, want := range map[string]float64{"passive": 1, "late": 1, "status": 1} {
		if n := fs.count(t, "wxreply_backend_requests_total", outcome); n != want {
			t.Errorf("%s: %v counted, want %v", outcome, n, want)
		}
	}
}
