package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server/backend"
	"github.com/wxreply/wxreply/server/outbox"
	"github.com/wxreply/wxreply/server/wxapi"
)

// Sender queues the messages that follow a push's passive reply, for the
// customer-service API: an *outbox.Outbox. Neither method may block.
type Sender interface {
	Send(outbox.Push) int
	Typing(toUser, rule, command string)
}

var _ Sender = (*outbox.Outbox)(nil)

// noAPI is the Sender of a server without access to the API. Start-up and
// reloads refuse the rules that would send (CheckAPI), so it sends only
// for a server built without that check; what it gets is logged as
// dropped, here rather than in every caller as a check for a nil Sender.
type noAPI struct{ log *slog.Logger }

func (n noAPI) Send(p outbox.Push) int {
	n.log.Error("customer-service messages not sent: the server has no access to WeChat's API", "rule", p.Rule, "dropped", len(p.Replies))
	return 0
}

// Typing shows nothing: the indicator only decorates the wait.
func (noAPI) Typing(toUser, rule, command string) {}

// Backend calls a rule's backend with a push, and returns its replies (none
// for a 204): a *backend.Client. ctx bounds the call.
type Backend interface {
	Call(ctx context.Context, b *engine.Backend, ruleID string, ev *engine.Event) ([]*engine.Reply, error)
}

// DefaultMaxBackendCalls bounds the backend calls in flight: each holds a
// goroutine and a connection for up to its rule's timeout.
const DefaultMaxBackendCalls = 256

// needsAPI lists the rules of rs that send through WeChat's
// customer-service API, and so need the AppID and AppSecret: pick: all with
// more than one reply, and rules with a backend.
func needsAPI(rs *engine.RuleSet) []*engine.Rule {
	var out []*engine.Rule
	for _, r := range rs.Rules() {
		if r.Backend != nil || (r.Pick == engine.PickAll && len(r.Replies) > 1) {
			out = append(out, r)
		}
	}
	return out
}

// ErrNeedsAPI is the error of a rule set that sends through the
// customer-service API to a server that has no access to it.
var ErrNeedsAPI = errors.New("rules send through WeChat's customer-service API, which needs --appid and --appsecret")

// CheckAPI returns an error naming, with their positions, the rules of rs
// that need the API, when the server has none (hasAPI false); nil
// otherwise. At most 10 rules are named.
func CheckAPI(rs *engine.RuleSet, hasAPI bool) error {
	rules := needsAPI(rs)
	if hasAPI || len(rules) == 0 {
		return nil
	}
	var b strings.Builder
	for i, r := range rules {
		if i == 10 {
			fmt.Fprintf(&b, "\n\t... and %d more", len(rules)-i)
			break
		}
		why := "pick: all"
		if r.Backend != nil {
			why = "backend"
		}
		fmt.Fprintf(&b, "\n\t%s: rule %q (%s)", r.Source, r.ID, why)
	}
	return fmt.Errorf("%w (give both, or set WXREPLY_APPID and WXREPLY_APPSECRET); the rules:%s", ErrNeedsAPI, b.String())
}

// followUp hands what comes after the passive reply to the sender: the
// replies after the first of pick: all, and a backend's answer. The passive
// reply waits for nothing but a backend's answer, for at most its
// passive_wait and never past the push's deadline. It returns the decision
// whose Reply is the passive reply.
func (s *Server) followUp(ctx context.Context, ev *engine.Event, d engine.Decision, start time.Time) engine.Decision {
	if d.Rule == nil {
		return d
	}
	if d.Rule.Backend != nil {
		d = s.askBackend(ctx, ev, d, start)
	}
	s.sendLater(ev, d.Rule.ID, d.More)
	return d
}

// sendLater queues replies for the push's sender, in order.
func (s *Server) sendLater(ev *engine.Event, rule string, replies []*engine.Reply) {
	if len(replies) == 0 {
		return
	}
	s.opts.Sender.Send(outbox.Push{ToUser: ev.FromUserName, Rule: rule, Replies: replies})
}

// backendResult is what a backend call came back with.
type backendResult struct {
	replies []*engine.Reply
	err     error
}

// askBackend calls the rule's backend and waits for it up to passive_wait.
// In time, its first reply (or on_error) is the passive reply and the rest
// go later; late, the push gets the rule's reply (or "success"), the user
// sees the typing indicator, and the answer goes through the API when it
// comes.
func (s *Server) askBackend(ctx context.Context, ev *engine.Event, d engine.Decision, start time.Time) engine.Decision {
	b, rule := d.Rule.Backend, d.Rule.ID
	lateReply := d.Reply
	d.Reply, d.More = nil, nil
	if s.opts.Backend == nil {
		s.log.Error("rule has a backend, but the server calls none; answered with on_error", "rule", rule)
		s.countBackend(rule, "error", 0)
		d.Reply = d.OnError
		return d
	}
	user := ev.FromUserName
	if !s.takeCall(user) {
		s.log.Warn("backend not called: too many calls in flight; answered with on_error", "rule", rule, "limit", cap(s.backendCalls), "per_user", MaxBackendCallsPerUser)
		s.countBackend(rule, "busy", 0)
		d.Reply = d.OnError
		return d
	}
	// The token is given back once the answer is handled, passive or
	// late, so that WaitBackends knows when every answer is in the
	// Sender's hands.
	release := func() { s.giveCall(user) }
	done := make(chan backendResult, 1)
	called := time.Now()
	go func() {
		// The call outlives the push, so that a late answer is still sent,
		// but not the server: a stop cuts it.
		cctx, cancel := s.untilStopped(context.WithoutCancel(ctx), b.Timeout)
		defer cancel()
		replies, err := s.opts.Backend.Call(cctx, b, rule, ev)
		done <- backendResult{replies, err}
	}()
	wait := b.PassiveWait
	if left := s.opts.Deadline - s.opts.Now().Sub(start); left < wait {
		wait = max(left, 0)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case r := <-done:
		release()
		if r.err != nil {
			s.backendFailed(rule, r.err, called)
			d.Reply = d.OnError
			return d
		}
		s.countBackend(rule, "passive", time.Since(called))
		if len(r.replies) > 0 {
			d.Reply, d.More = r.replies[0], r.replies[1:]
		}
		return d
	case <-timer.C:
	case <-ctx.Done():
	case <-s.stopping.Done():
	}
	// Late: the push is answered now; the answer follows when it comes.
	s.opts.Sender.Typing(ev.FromUserName, rule, wxapi.Typing)
	onError := d.OnError
	go func() {
		defer release()
		r := <-done
		if r.err != nil {
			s.backendFailed(rule, r.err, called)
			if onError != nil {
				s.sendLater(ev, rule, []*engine.Reply{onError})
			} else {
				s.opts.Sender.Typing(ev.FromUserName, rule, wxapi.CancelTyping)
			}
			return
		}
		s.countBackend(rule, "late", time.Since(called))
		if len(r.replies) == 0 {
			s.opts.Sender.Typing(ev.FromUserName, rule, wxapi.CancelTyping)
		}
		s.sendLater(ev, rule, r.replies)
	}()
	d.Reply = lateReply
	return d
}

// MaxBackendCallsPerUser bounds the backend calls in flight for one
// sender: a user whose messages keep a slow backend busy (up to its
// timeout each) would otherwise take every call of MaxBackendCalls, and
// the backend rules would answer everyone with on_error.
const MaxBackendCallsPerUser = 4

// takeCall takes a token of backendCalls for user, within user's share;
// false when either is spent.
func (s *Server) takeCall(user string) bool {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	if s.callsBy[user] >= MaxBackendCallsPerUser {
		return false
	}
	select {
	case s.backendCalls <- struct{}{}:
	default:
		return false
	}
	s.callsBy[user]++
	return true
}

// giveCall gives back user's token.
func (s *Server) giveCall(user string) {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	<-s.backendCalls
	if s.callsBy[user]--; s.callsBy[user] <= 0 {
		delete(s.callsBy, user)
	}
}

func (s *Server) backendFailed(rule string, err error, called time.Time) {
	// The backend client's kind of failure: timeout, status, invalid, ...
	s.countBackend(rule, string(backend.OutcomeOf(err)), time.Since(called))
	// The backend's error names the rule and the URL, never the push.
	s.log.Warn("backend failed", "rule", rule, "error", err.Error())
}

// countBackend counts a call in wxreply_backend_requests_total and, when it
// was made, its time.
func (s *Server) countBackend(rule, outcome string, took time.Duration) {
	s.metrics.backend.WithLabelValues(rule, outcome).Inc()
	if took > 0 {
		s.metrics.backendDuration.Observe(took.Seconds())
	}
}

// backendMetrics are the series of backend calls.
func backendMetrics(reg prometheus.Registerer) (*prometheus.CounterVec, prometheus.Histogram) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxreply_backend_requests_total",
		Help: "Calls to rules' backends, by rule id and outcome: passive (answered within passive_wait), late (answered after it, sent through the customer-service API); timeout, canceled, unreachable, status (not 2xx), invalid (not replies): failed, and on_error answers; busy (not called: too many calls in flight); error (no backend client).",
	}, []string{"rule", "outcome"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "wxreply_backend_duration_seconds",
		Help:    "Time a rule's backend took to answer, or to fail.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2, 3, 4, 5, 10, 15, 30, 60},
	})
	reg.MustRegister(vec, h)
	return vec, h
}
