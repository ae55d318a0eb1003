// Package outbox sends the messages that follow a passive reply through
// WeChat's customer-service API: the replies after the first of a rule with
// pick: all, and a backend's answers that come too late for the passive
// reply.
//
// Each user has one ordered queue, so that the messages of a push arrive in
// order and after those of the user's earlier push; a bounded set of workers
// serves the queues, one message of a user at a time. Everything is bounded:
// the users with a queue, the messages in each, and the workers. Send never
// blocks the push that calls it: a message that does not fit is dropped,
// counted and logged.
//
// WeChat allows a few messages per push (5 after a user's message, 3 after an
// event). A refusal, 45015 (the user's window has passed, or the user has
// unfollowed) or 45047 (too many), is the same for the rest of that push's
// messages: they are dropped and counted, never retried. Close delivers what
// it can until its context ends and counts the rest as dropped: no message
// vanishes without a count and a log line. Log lines name the rule, never the
// message's text nor anything the user sent.
package outbox

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server/wxapi"
)

// API is what the outbox sends through: a *wxapi.Client.
type API interface {
	CustomSend(ctx context.Context, toUser string, r *engine.Reply) error
	Typing(ctx context.Context, toUser, command string) error
}

var _ API = (*wxapi.Client)(nil)

// Defaults for Options.
const (
	// DefaultUsers bounds the users with messages waiting: a burst of
	// pushes from this many users at once is far beyond one account's.
	DefaultUsers = 10000
	// DefaultPerUser bounds one user's waiting messages: WeChat takes 5
	// per push, so 20 is a few pushes' worth.
	DefaultPerUser = 20
	// DefaultWorkers is how many messages are sent at once.
	DefaultWorkers = 8
)

// The outcomes of wxreply_customer_messages_total.
const (
	Sent             = "sent"
	RefusedWindow    = "refused_window"
	RefusedLimit     = "refused_limit"
	Failed           = "failed"
	DroppedQueueFull = "dropped_queue_full"
	DroppedShutdown  = "dropped_shutdown"
)

// Outcomes lists every outcome, in the order the metric's help gives them.
var Outcomes = []string{Sent, RefusedWindow, RefusedLimit, Failed, DroppedQueueFull, DroppedShutdown}

// Options adjust an Outbox; zero values mean the defaults.
type Options struct {
	Users, PerUser, Workers int
	// Logger gets a line per refusal, failure and drop; slog.Default when nil.
	Logger *slog.Logger
	// Registry gets the outbox's metrics; none when nil.
	Registry prometheus.Registerer
}

// Push is what one push has to send to its user, in order.
type Push struct {
	// ToUser is the user's OpenID (the push's FromUserName).
	ToUser string
	// Rule is the id of the rule that answered, for logs and metrics.
	Rule    string
	Replies []*engine.Reply
}

// job is one message of a push, or a typing indicator.
type job struct {
	push   *batch
	reply  *engine.Reply
	typing string // wxapi.Typing or CancelTyping; reply is nil then
}

// batch is one push's messages; a refusal stops the rest of them.
type batch struct {
	rule    string
	toUser  string
	stopped string // the refusal's outcome, once refused
}

// queue is one user's waiting jobs. A user's queue is in ready, or being
// served by a worker (busy), whenever it holds jobs.
type queue struct {
	jobs []job
	busy bool
}

// Outbox sends pushes' messages through the API, in order per user.
type Outbox struct {
	api  API
	opts Options
	log  *slog.Logger

	messages *prometheus.CounterVec
	depth    prometheus.Gauge
	latency  prometheus.Histogram

	mu     sync.Mutex
	queues map[string]*queue
	queued int  // jobs in all queues
	closed bool // Close was called: Send drops
	// drained is closed when, after Close, the last queue is gone.
	drained chan struct{}
	ready   chan string
	workers sync.WaitGroup
	// sending ends when Close's context does: sends in flight stop.
	sending context.Context
	cancel  context.CancelFunc
}

// New starts an Outbox sending through api.
func New(api API, opts Options) *Outbox {
	if opts.Users <= 0 {
		opts.Users = DefaultUsers
	}
	if opts.PerUser <= 0 {
		opts.PerUser = DefaultPerUser
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	o := &Outbox{
		api: api, opts: opts, log: opts.Logger,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_customer_messages_total",
			Help: "Messages after the passive reply, by outcome: sent through the customer-service API; refused_window (45015: the user's 48-hour window has passed, or they unfollowed) and refused_limit (45047: too many for the push), with the rest of the push's messages; failed (another error); dropped_queue_full; dropped_shutdown (still waiting when the shutdown timeout ended).",
		}, []string{"outcome"}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxreply_customer_queue_messages",
			Help: "Messages waiting to be sent through the customer-service API, all users together.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wxreply_customer_send_duration_seconds",
			Help:    "Time of one call to the customer-service API, access_token included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		queues: map[string]*queue{},
		// A user is in ready at most once, so it never fills.
		ready: make(chan string, opts.Users),
	}
	for _, outcome := range Outcomes {
		o.messages.WithLabelValues(outcome) // every outcome shows from the start, at 0
	}
	if opts.Registry != nil {
		opts.Registry.MustRegister(o.messages, o.depth, o.latency)
	}
	o.sending, o.cancel = context.WithCancel(context.Background())
	for range opts.Workers {
		o.workers.Go(o.work)
	}
	return o
}

// Send queues p's replies for its user, after the messages already waiting
// for them. It never blocks: what does not fit (more users than Users, a
// queue of PerUser messages) is dropped, counted and logged. It returns how
// many replies were queued.
func (o *Outbox) Send(p Push) int {
	if len(p.Replies) == 0 {
		return 0
	}
	b := &batch{rule: p.Rule, toUser: p.ToUser}
	jobs := make([]job, len(p.Replies))
	for i, r := range p.Replies {
		jobs[i] = job{push: b, reply: r}
	}
	return o.enqueue(b, jobs)
}

// Typing queues a typing indicator for toUser (wxapi.Typing or
// CancelTyping), in order with the user's messages: shown while a late
// answer is awaited. It is never counted as a message; a full queue drops
// it silently, since it only decorates the wait.
func (o *Outbox) Typing(toUser, rule, command string) {
	b := &batch{rule: rule, toUser: toUser}
	o.enqueue(b, []job{{push: b, typing: command}})
}

func (o *Outbox) enqueue(b *batch, jobs []job) int {
	// A push's strings are slices of its whole body (the server reads
	// them so): what waits in the queue keeps its own copy of the user's.
	b.toUser = strings.Clone(b.toUser)
	o.mu.Lock()
	q := o.queues[b.toUser]
	reason := ""
	switch {
	case o.closed:
		reason = DroppedShutdown
	case q == nil && len(o.queues) >= o.opts.Users:
		reason = DroppedQueueFull
	}
	fit := 0
	if reason == "" {
		if q == nil {
			q = &queue{}
			o.queues[b.toUser] = q
		}
		fit = min(len(jobs), o.opts.PerUser-len(q.jobs))
		wasEmpty := len(q.jobs) == 0
		q.jobs = append(q.jobs, jobs[:fit]...)
		o.queued += fit
		o.depth.Set(float64(o.queued))
		if wasEmpty && fit > 0 && !q.busy {
			o.ready <- b.toUser
		}
		if fit == 0 && len(q.jobs) == 0 && !q.busy {
			o.forget(b.toUser)
		}
		if fit < len(jobs) {
			reason = DroppedQueueFull
		}
	}
	o.mu.Unlock()
	if rest := countMessages(jobs[fit:]); rest > 0 {
		o.messages.WithLabelValues(reason).Add(float64(rest))
		o.log.Warn("customer-service messages dropped: "+dropWhy(reason), "rule", b.rule, "outcome", reason, "dropped", rest)
	}
	return countMessages(jobs[:fit])
}

func dropWhy(reason string) string {
	if reason == DroppedShutdown {
		return "the server is shutting down"
	}
	return "the queue is full (too many users or messages waiting)"
}

// countMessages counts the jobs that are messages, not typing.
func countMessages(jobs []job) int {
	n := 0
	for _, j := range jobs {
		if j.reply != nil {
			n++
		}
	}
	return n
}

// work serves ready users until Close, one job at a time, so that a user's
// messages never go out of order and a user with many never holds a
// worker while others wait.
func (o *Outbox) work() {
	for user := range o.ready {
		o.mu.Lock()
		q := o.queues[user]
		if q == nil || len(q.jobs) == 0 {
			// Close emptied it: ready is being drained.
			o.mu.Unlock()
			continue
		}
		j := q.jobs[0]
		q.jobs[0] = job{}
		q.jobs = q.jobs[1:]
		q.busy = true
		o.queued--
		o.depth.Set(float64(o.queued))
		o.mu.Unlock()

		o.do(j)

		o.mu.Lock()
		q.busy = false
		switch {
		case len(q.jobs) == 0:
			o.forget(user)
		case o.closed && o.sending.Err() != nil:
			// Close gave up: the jobs left are counted there.
		default:
			o.ready <- user
		}
		o.mu.Unlock()
	}
}

// forget drops the user's queue, which is empty; the last one gone after
// Close tells Close. o.mu must be held.
func (o *Outbox) forget(user string) {
	delete(o.queues, user)
	if o.closed && len(o.queues) == 0 {
		o.signalDrained()
	}
}

// signalDrained closes o.drained, once. o.mu must be held.
func (o *Outbox) signalDrained() {
	select {
	case <-o.drained:
	default:
		close(o.drained)
	}
}

// do sends one job and counts it.
func (o *Outbox) do(j job) {
	b := j.push
	if j.reply == nil {
		if err := o.api.Typing(o.sending, b.toUser, j.typing); err != nil {
			o.log.Info("typing indicator not shown", "rule", b.rule, "error", err.Error())
		}
		return
	}
	if b.stopped != "" {
		o.messages.WithLabelValues(b.stopped).Inc()
		return
	}
	start := time.Now()
	err := o.api.CustomSend(o.sending, b.toUser, j.reply)
	o.latency.Observe(time.Since(start).Seconds())
	outcome := Sent
	switch {
	case err == nil:
	case errors.Is(err, wxapi.ErrWindowClosed):
		outcome = RefusedWindow
	case errors.Is(err, wxapi.ErrTooMany):
		outcome = RefusedLimit
	case o.sending.Err() != nil:
		outcome = DroppedShutdown
	default:
		outcome = Failed
	}
	o.messages.WithLabelValues(outcome).Inc()
	switch outcome {
	case Sent:
		o.log.Debug("customer-service message sent", "rule", b.rule, "kind", string(j.reply.Kind))
	case RefusedWindow, RefusedLimit:
		// The rest of the push would get the same answer.
		b.stopped = outcome
		o.log.Warn("customer-service message refused; the rest of the push's messages are dropped", "rule", b.rule, "outcome", outcome, "error", err.Error())
	case DroppedShutdown:
		o.log.Warn("customer-service message cut by the shutdown", "rule", b.rule, "outcome", outcome)
	default:
		o.log.Error("customer-service message not sent", "rule", b.rule, "kind", string(j.reply.Kind), "error", err.Error())
	}
}

// Close stops taking messages and sends those waiting until they are all
// sent or ctx ends; then it stops the sends in flight, counts every message
// not sent as dropped_shutdown and logs them by rule. It returns ctx's error
// when messages were dropped.
func (o *Outbox) Close(ctx context.Context) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.drained = make(chan struct{})
	if len(o.queues) == 0 {
		o.signalDrained()
	}
	left := o.queued
	o.mu.Unlock()
	if left > 0 {
		o.log.Info("shutting down: sending the customer-service messages waiting", "messages", left)
	}
	var err error
	select {
	case <-o.drained:
	case <-ctx.Done():
		err = ctx.Err()
	}
	o.cancel() // a send in flight ends now, counted as dropped_shutdown
	o.mu.Lock()
	dropped := map[string]int{}
	for user, q := range o.queues {
		for _, j := range q.jobs {
			if j.reply != nil {
				dropped[j.push.rule]++
			}
		}
		o.queued -= len(q.jobs)
		q.jobs = nil
		if !q.busy {
			o.forget(user)
		}
	}
	o.depth.Set(float64(o.queued))
	close(o.ready)
	o.mu.Unlock()
	o.workers.Wait()
	for rule, n := range dropped {
		o.messages.WithLabelValues(DroppedShutdown).Add(float64(n))
		o.log.Warn("customer-service messages dropped: the shutdown timeout ended before they were sent", "rule", rule, "dropped", n)
	}
	if len(dropped) == 0 {
		return nil
	}
	return err
}
