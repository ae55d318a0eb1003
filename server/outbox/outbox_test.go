package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/server/outbox"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

const (
	appID  = "wx0b1c2d3e4f5a6b7c"
	secret = "outbox-secret-0123456789abcdef012345"
)

func texts(prefix string, n int) []*engine.Reply {
	out := make([]*engine.Reply, n)
	for i := range out {
		out[i] = engine.NewReply(engine.KindText, map[string]string{"text": fmt.Sprintf("%s-%d", prefix, i+1)})
	}
	return out
}

// counts reads wxreply_customer_messages_total by outcome.
func counts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "wxreply_customer_messages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

// newFake is the fake API and an outbox sending to it.
func newFake(t *testing.T, opts outbox.Options) (*wxapitest.Server, *outbox.Outbox, *prometheus.Registry, *syncbuf.Buffer) {
	t.Helper()
	fake := wxapitest.NewServer(t, appID, secret)
	fake.SendLimit = 100
	reg := prometheus.NewRegistry()
	logs := &syncbuf.Buffer{}
	opts.Registry = reg
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	ob := outbox.New(&wxapi.Client{AppID: appID, Secret: secret, BaseURL: fake.URL}, opts)
	t.Cleanup(func() { ob.Close(context.Background()) })
	return fake, ob, reg, logs
}

// contents are the texts the fake got for user, in order.
func contents(fake *wxapitest.Server, user string) []string {
	var out []string
	for _, m := range fake.Sent(user) {
		var msg struct {
			Text struct{ Content string } `json:"text"`
		}
		json.Unmarshal(m.Message, &msg)
		out = append(out, msg.Text.Content)
	}
	return out
}

func TestOrderPerUser(t *testing.T) {
	fake, ob, reg, _ := newFake(t, outbox.Options{Workers: 4})
	users := []string{"oAlice", "oBob", "oCarol"}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			for p := range 3 {
				if n := ob.Send(outbox.Push{ToUser: u, Rule: "r", Replies: texts(fmt.Sprintf("%s-push%d", u, p), 4)}); n != 4 {
					t.Errorf("queued %d of 4", n)
				}
			}
		})
	}
	wg.Wait()
	if err := ob.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		var want []string
		for p := range 3 {
			for i := range 4 {
				want = append(want, fmt.Sprintf("%s-push%d-%d", u, p, i+1))
			}
		}
		if got := contents(fake, u); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s got\n%v\nwant\n%v", u, got, want)
		}
	}
	if c := counts(t, reg); c[outbox.Sent] != 36 {
		t.Errorf("counts %v, want 36 sent", c)
	}
}

func TestRefusalStopsThePush(t *testing.T) {
	fake, ob, reg, logs := newFake(t, outbox.Options{})
	fake.SendLimit = 3
	ob.Send(outbox.Push{ToUser: "oClicker", Rule: "click-five", Replies: texts("secret text", 5)})
	fake.CloseWindow("oGone")
	ob.Send(outbox.Push{ToUser: "oGone", Rule: "gone", Replies: texts("x", 2)})
	if err := ob.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := contents(fake, "oClicker"); len(got) != 3 || got[2] != "secret text-3" {
		t.Errorf("sent %v, want the first 3", got)
	}
	// The 4th is refused; the 5th is never tried, and no call was retried.
	if calls := fake.Calls(wxapitest.CustomSendPath); calls != 4+1 {
		t.Errorf("%d calls to custom/send, want 5 (4 for the click, 1 for the closed window)", calls)
	}
	want := map[string]float64{outbox.Sent: 3, outbox.RefusedLimit: 2, outbox.RefusedWindow: 2,
		outbox.Failed: 0, outbox.DroppedQueueFull: 0, outbox.DroppedShutdown: 0}
	if c := counts(t, reg); fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("counts %v, want %v", c, want)
	}
	out := logs.String()
	for _, want := range []string{"rule=click-five", "outcome=refused_limit", "rule=gone", "outcome=refused_window"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, never := range []string{"secret text", secret, "oClicker"} {
		if strings.Contains(out, never) {
			t.Errorf("log holds %q:\n%s", never, out)
		}
	}
}

// gated is an API whose sends wait for the test.
type gated struct {
	mu      sync.Mutex
	sent    []string
	release chan struct{}
	delay   time.Duration
}

func (g *gated) CustomSend(ctx context.Context, _ string, r *engine.Reply) error {
	if g.release != nil {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	select {
	case <-time.After(g.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent = append(g.sent, r.Text())
	return nil
}

func (g *gated) Typing(context.Context, string, string) error { return nil }

func TestQueueFull(t *testing.T) {
	api := &gated{release: make(chan struct{})}
	reg := prometheus.NewRegistry()
	logs := &syncbuf.Buffer{}
	ob := outbox.New(api, outbox.Options{Users: 1, PerUser: 2, Workers: 1, Registry: reg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if n := ob.Send(outbox.Push{ToUser: "oA", Rule: "many", Replies: texts("a", 3)}); n != 2 {
		t.Errorf("queued %d, want 2 (PerUser)", n)
	}
	if n := ob.Send(outbox.Push{ToUser: "oB", Rule: "other", Replies: texts("b", 1)}); n != 0 {
		t.Errorf("queued %d for a second user, want 0 (Users is 1)", n)
	}
	close(api.release)
	if err := ob.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, reg); c[outbox.Sent] != 2 || c[outbox.DroppedQueueFull] != 2 {
		t.Errorf("counts %v, want 2 sent and 2 dropped_queue_full", c)
	}
	if !strings.Contains(logs.String(), "rule=many") || !strings.Contains(logs.String(), "rule=other") {
		t.Errorf("the drops are not logged by rule:\n%s", logs.String())
	}
}

func TestCloseCountsWhatIsLeft(t *testing.T) {
	api := &gated{delay: 40 * time.Millisecond}
	reg := prometheus.NewRegistry()
	logs := &syncbuf.Buffer{}
	ob := outbox.New(api, outbox.Options{Workers: 1, Registry: reg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	for _, u := range []string{"oA", "oB"} {
		ob.Send(outbox.Push{ToUser: u, Rule: "slow-" + u, Replies: texts(u, 5)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ob.Close(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %s past its context", took)
	}
	if err == nil {
		t.Error("Close dropped messages and returned no error")
	}
	c := counts(t, reg)
	// 10 sends of 40 ms, one at a time, cannot all fit in 150 ms.
	if c[outbox.DroppedShutdown] < 1 || c[outbox.Sent]+c[outbox.DroppedShutdown] != 10 {
		t.Errorf("counts %v: want every one of the 10 messages sent or dropped_shutdown, some dropped", c)
	}
	if !strings.Contains(logs.String(), "shutdown timeout ended") {
		t.Errorf("the drops are not logged:\n%s", logs.String())
	}
	if n := ob.Send(outbox.Push{ToUser: "oLate", Rule: "late", Replies: texts("l", 2)}); n != 0 {
		t.Errorf("Send after Close queued %d", n)
	}
	if c := counts(t, reg); c[outbox.Sent]+c[outbox.DroppedShutdown] != 12 {
		t.Errorf("counts %v: the 2 sent after Close are not counted", c)
	}
}

func TestCloseDeliversInTime(t *testing.T) {
	api := &gated{delay: 5 * time.Millisecond}
	reg := prometheus.NewRegistry()
	ob := outbox.New(api, outbox.Options{Workers: 2, Registry: reg, Logger: slog.New(slog.DiscardHandler)})
	for _, u := range []string{"oA", "oB", "oC"} {
		ob.Send(outbox.Push{ToUser: u, Rule: "r", Replies: texts(u, 3)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ob.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if c := counts(t, reg); c[outbox.Sent] != 9 || c[outbox.DroppedShutdown] != 0 {
		t.Errorf("counts %v, want all 9 sent", c)
	}
}
