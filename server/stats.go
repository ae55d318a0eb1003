package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// PushStats is what the server has answered since it started, for the
// admin page: the same counts as /metrics, plus what a counter cannot say
// (when each rule last answered, and the pushes of each recent minute).
type PushStats struct {
	// Started is when the server was made.
	Started time.Time
	// Outcomes counts the authentic pushes by outcome, as the outcome label
	// of wxreply_requests_total: replied, no_rule, retry, shed, ...
	Outcomes map[string]uint64
	// PerMinute counts the pushes of each of the last PushMinutes minutes,
	// oldest first; the last is the minute now running.
	PerMinute []uint64
	// Rules holds, by rule id, the pushes each rule answered and when it
	// last did; a rule that never answered is not in it.
	Rules map[string]RuleStats
}

// RuleStats is what one rule answered since the server started.
type RuleStats struct {
	Hits    uint64
	LastHit time.Time
}

// PushMinutes is how many minutes PushStats.PerMinute covers.
const PushMinutes = 60

// PushStats reports what the server has answered since it started. It is
// read from the counters the push path keeps anyway, at the time of the
// call: it costs the pushes nothing.
func (s *Server) PushStats() PushStats {
	m := s.metrics
	st := PushStats{
		Started:   m.started,
		Outcomes:  map[string]uint64{},
		PerMinute: m.requests.perMinute(s.opts.Now()),
		Rules:     map[string]RuleStats{},
	}
	collect(m.requests, func(labels map[string]string, n uint64) { st.Outcomes[labels["outcome"]] += n })
	collect(m.ruleHits, func(labels map[string]string, n uint64) {
		if n == 0 {
			return // a series made for a rule that never answered
		}
		id := labels["rule"]
		var last time.Time
		if h, ok := m.ruleHits.rules.Load(id); ok {
			last = time.Unix(0, h.(*ruleHit).last.Load())
		}
		st.Rules[id] = RuleStats{Hits: n, LastHit: last}
	})
	return st
}

// collect reads each counter of c with its labels.
func collect(c prometheus.Collector, each func(labels map[string]string, n uint64)) {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	for metric := range ch {
		var pb dto.Metric
		if metric.Write(&pb) != nil || pb.GetCounter() == nil {
			continue
		}
		labels := map[string]string{}
		for _, l := range pb.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		each(labels, uint64(pb.GetCounter().GetValue()))
	}
}

// hitVec is wxreply_rule_hits_total that also keeps, for each rule, when it
// last answered, for the admin page (the hits are the counter's). A rule's
// entry holds its series too, so that an answered push finds both with one
// lookup of the rule's id, instead of the counter vector hashing the label
// again.
type hitVec struct {
	*prometheus.CounterVec
	rules sync.Map // rule id → *ruleHit

	// mu is held to make a rule's entry and to drop it with its series,
	// so that an entry never holds a series already dropped: its hits
	// would go to a counter /metrics no longer shows.
	mu sync.Mutex
}

type ruleHit struct {
	counter prometheus.Counter // the rule's series
	last    atomic.Int64       // Unix nanoseconds
}

// Count counts a hit by a push answered at now: the push's own time,
// which it has, rather than another reading of the clock.
func (h *ruleHit) Count(now time.Time) {
	h.counter.Inc()
	h.last.Store(now.UnixNano())
}

// WithLabelValues returns the counter of the rule with that id. A hit
// counted while a reload drops the rule's series may be lost with it.
func (v *hitVec) WithLabelValues(id string) *ruleHit {
	if h, ok := v.rules.Load(id); ok {
		return h.(*ruleHit)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, ok := v.rules.Load(id); ok {
		return h.(*ruleHit)
	}
	h := &ruleHit{counter: v.CounterVec.WithLabelValues(id)}
	v.rules.Store(id, h)
	return h
}

// drop removes the series of a rule no longer answering, and its entry.
func (v *hitVec) drop(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.CounterVec.DeleteLabelValues(id)
	v.rules.Delete(id)
}

// pushVec is wxreply_requests_total that also counts the pushes of each of
// the last PushMinutes minutes, for the admin page's pushes per minute: a
// rate Prometheus would compute, for whoever has no Prometheus.
type pushVec struct {
	*prometheus.CounterVec
	minutes [PushMinutes]minuteCount // by Unix minute modulo PushMinutes

	// series holds each series once made, by its labels: a lookup of
	// three strings, where the counter vector would check and hash them
	// again for every push. The labels come from closed lists, so it stays
	// small.
	series sync.Map // pushLabels → prometheus.Counter
}

type pushLabels struct{ msgType, event, outcome string }

type minuteCount struct {
	minute atomic.Int64 // the Unix minute counted in n
	n      atomic.Uint64
}

// pushCounter is one series of wxreply_requests_total, counting the push in
// its minute too.
type pushCounter struct {
	counter prometheus.Counter
	v       *pushVec
}

// Count counts a push answered at now.
func (c pushCounter) Count(now time.Time) {
	c.counter.Inc()
	c.v.count(now)
}

// With returns the counter of the pushes with those labels.
func (v *pushVec) With(msgType, event, outcome string) pushCounter {
	labels := pushLabels{msgType, event, outcome}
	c, ok := v.series.Load(labels)
	if !ok {
		c, _ = v.series.LoadOrStore(labels, v.CounterVec.WithLabelValues(msgType, event, outcome))
	}
	return pushCounter{counter: c.(prometheus.Counter), v: v}
}

// count adds a push in the minute of now. The slot of a minute gone by is
// taken over by the first push of the new one; a push counted by another
// goroutine in that instant may be lost, which a rate shown to people can
// bear better than pushes waiting on a lock.
func (v *pushVec) count(now time.Time) {
	minute := now.Unix() / 60
	slot := &v.minutes[minute%PushMinutes]
	if old := slot.minute.Load(); old != minute && slot.minute.CompareAndSwap(old, minute) {
		slot.n.Store(0)
	}
	slot.n.Add(1)
}

// perMinute lists the pushes of the last PushMinutes minutes up to now,
// oldest first.
func (v *pushVec) perMinute(now time.Time) []uint64 {
	out := make([]uint64, PushMinutes)
	current := now.Unix() / 60
	for i := range out {
		minute := current - int64(PushMinutes-1-i)
		if minute < 0 {
			continue
		}
		slot := &v.minutes[minute%PushMinutes]
		if slot.minute.Load() == minute {
			out[i] = slot.n.Load()
		}
	}
	return out
}
