package server

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/store"
)

// metrics are the server's Prometheus series, all named wxreply_*.
type metrics struct {
	requests   *pushVec
	rejected   *prometheus.CounterVec
	ruleHits   *hitVec
	ruleErrors *prometheus.CounterVec
	overBudget *prometheus.CounterVec
	truncated  *prometheus.CounterVec
	shed       prometheus.Counter
	duration   prometheus.Histogram
	started    time.Time
	// backend and backendDuration are the calls to rules' backends.
	backend         *prometheus.CounterVec
	backendDuration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, eng *engine.Engine, watcher Reloader, caches cacheCollector, build BuildInfo, now func() time.Time) *metrics {
	m := &metrics{
		requests: &pushVec{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_requests_total",
			Help: "Authenticated pushes from WeChat, by MsgType, Event and outcome (replied, no_rule, retry, deadline, shed, shutdown, error).",
		}, []string{"msgtype", "event", "outcome"})},
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_requests_rejected_total",
			Help: "Requests refused before the rules saw them, by reason.",
		}, []string{"reason"}),
		ruleHits: &hitVec{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_rule_hits_total",
			Help: "Pushes answered, by the id of the rule that answered.",
		}, []string{"rule"})},
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_rule_errors_total",
			Help: "Rules skipped because their condition or reply failed at run time, by rule id.",
		}, []string{"rule"}),
		overBudget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_rule_budget_exceeded_total",
			Help: "Rules skipped because they went over a budget (work, memory or time), by rule id and budget.",
		}, []string{"rule", "budget"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_replies_truncated_total",
			Help: "Text replies cut to the 2048 bytes WeChat delivers, by rule id.",
		}, []string{"rule"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxreply_pushes_shed_total",
			Help: "Authentic pushes answered \"success\" unmatched because --max-inflight pushes were being matched and no turn came within the shed wait.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wxreply_request_duration_seconds",
			Help:    "Time to answer an authenticated push. WeChat gives up after 5 s.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 4, 5},
		}),
		started: now(),
	}
	reg.MustRegister(m.requests, m.rejected, &ruleHits{hits: m.ruleHits, eng: eng}, m.ruleErrors, m.overBudget, m.truncated, m.shed, m.duration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wxreply_rules_loaded",
			Help: "Rules in the rule set now answering.",
		}, func() float64 { return float64(len(eng.RuleSet().Rules())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "wxreply_build_info",
			Help:        "Always 1; its labels say which wxreply this is.",
			ConstLabels: prometheus.Labels{"version": build.Version, "revision": build.Revision, "goversion": build.GoVersion},
		}, func() float64 { return 1 }),
		// The runtime's and the process's series under their usual names
		// (go_goroutines, process_resident_memory_bytes), which stock
		// dashboards look for.
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if watcher != nil {
		reg.MustRegister(reloadCollector{watcher})
	}
	reg.MustRegister(caches)
	m.backend, m.backendDuration = backendMetrics(reg)
	return m
}

// sizedStore is a store that knows how full it is, as store.Memory does.
type sizedStore interface {
	Stats() store.MemoryStats
}

// cacheCollector reports the size of what the server remembers of past
// pushes, read at scrape time: an eviction means a cap was reached. It also
// reports how the store is doing.
type cacheCollector struct {
	retry  store.Store
	replay *replayCache
}

var (
	cacheEntriesDesc = prometheus.NewDesc("wxreply_cache_entries",
		"Entries held in memory, by cache: retry (answered pushes), user (users' sessions and cooldowns) and replay (signed queries seen).", []string{"cache"}, nil)
	cacheEvictionsDesc = prometheus.NewDesc("wxreply_cache_evictions_total",
		"Entries dropped before their time because the cache was full (--retry-entries, --replay-entries, --user-entries, or the bytes kept for replies or for users' session values), by cache.", []string{"cache"}, nil)
	storeErrorsDesc = prometheus.NewDesc("wxreply_store_errors_total",
		"Operations on the shared store (Redis) that failed and were served from this process's memory instead, by operation.", []string{"op"}, nil)
	storeDegradedDesc = prometheus.NewDesc("wxreply_store_degraded",
		"1 while the shared store (Redis) fails and this process keeps its state in memory; 0 otherwise.", nil, nil)
)

func (cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheEntriesDesc
	ch <- cacheEvictionsDesc
	ch <- storeErrorsDesc
	ch <- storeDegradedDesc
}

func (c cacheCollector) Collect(ch chan<- prometheus.Metric) {
	n, evicted := c.replay.stats()
	ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(n), "replay")
	ch <- prometheus.MustNewConstMetric(cacheEvictionsDesc, prometheus.CounterValue, float64(evicted), "replay")
	if s, ok := c.retry.(sizedStore); ok {
		st := s.Stats()
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(st.Retries), "retry")
		ch <- prometheus.MustNewConstMetric(cacheEvictionsDesc, prometheus.CounterValue, float64(st.RetryEvictions), "retry")
		ch <- prometheus.MustNewConstMetric(cacheEntriesDesc, prometheus.GaugeValue, float64(st.Users), "user")
		ch <- prometheus.MustNewConstMetric(cacheEvictionsDesc, prometheus.CounterValue, float64(st.UserEvictions), "user")
	}
	h := c.retry.Health()
	ch <- prometheus.MustNewConstMetric(storeDegradedDesc, prometheus.GaugeValue, boolValue(h.Degraded))
	for op, n := range h.Errors {
		ch <- prometheus.MustNewConstMetric(storeErrorsDesc, prometheus.CounterValue, float64(n), op)
	}
}

// reloadCollector reports the rule watcher's status, read at scrape time.
type reloadCollector struct{ w Reloader }

var (
	reloadSuccessfulDesc = prometheus.NewDesc("wxreply_rules_last_reload_successful",
		"1 if the last reload of the rule files succeeded; 0 while invalid or missing files leave older rules answering.", nil, nil)
	reloadTimestampDesc = prometheus.NewDesc("wxreply_rules_last_reload_success_timestamp_seconds",
		"When the rules answering now were loaded.", nil, nil)
	reloadsDesc = prometheus.NewDesc("wxreply_rules_reloads_total",
		"Reloads of the rule folder by result: success, failure, or unchanged (no rule file changed).", []string{"result"}, nil)
	sourceMissingDesc = prometheus.NewDesc("wxreply_rules_source_missing",
		"1 while the rule folder, or every rule file in it, is gone; the last rules keep answering.", nil, nil)
	shrunkDesc = prometheus.NewDesc("wxreply_rules_shrunk_total",
		"Reloads applied although they dropped more than half of the enabled rules at once; /readyz shows the warning until the rules next change.", nil, nil)
)

func (reloadCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessfulDesc
	ch <- reloadTimestampDesc
	ch <- reloadsDesc
	ch <- sourceMissingDesc
	ch <- shrunkDesc
}

func (c reloadCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.w.Status()
	ch <- prometheus.MustNewConstMetric(reloadSuccessfulDesc, prometheus.GaugeValue, boolValue(st.LastReloadSuccessful))
	ch <- prometheus.MustNewConstMetric(reloadTimestampDesc, prometheus.GaugeValue, float64(st.LastSuccess.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(sourceMissingDesc, prometheus.GaugeValue, boolValue(st.SourceMissing))
	ch <- prometheus.MustNewConstMetric(shrunkDesc, prometheus.CounterValue, float64(st.Shrunk))
	for result, n := range st.Reloads {
		ch <- prometheus.MustNewConstMetric(reloadsDesc, prometheus.CounterValue, float64(n), result)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Label values come from the request, so they are kept to WeChat's known
// names to bound the number of series. The name returned is the list's own
// string, never the push's: a series keeps its labels for good, and a
// push's fields are slices of its whole body.
func msgTypeLabel(ev *engine.Event) string {
	return knownLabel(engine.MsgTypes, ev.MsgType)
}

func eventLabel(ev *engine.Event) string {
	if ev.MsgType != "event" {
		return ""
	}
	return knownLabel(engine.Events, ev.Event)
}

// knownLabel is names' own string equal to v, or "other".
func knownLabel(names []string, v string) string {
	if i := slices.Index(names, v); i >= 0 {
		return names[i]
	}
	return "other"
}

// BuildInfo says which wxreply is running, for wxreply_build_info.
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// ruleHits is wxreply_rule_hits_total with a series for every rule of the
// set now answering, 0 until it answers, so that a rule that never answers
// can be found; the series of a rule a reload removed goes with it.
type ruleHits struct {
	hits *hitVec
	eng  *engine.Engine

	mu     sync.Mutex
	synced *engine.RuleSet // the set whose rules have series
	ids    map[string]bool // its rules' ids
}

func (h *ruleHits) Describe(ch chan<- *prometheus.Desc) { h.hits.Describe(ch) }

func (h *ruleHits) Collect(ch chan<- prometheus.Metric) {
	h.sync()
	h.hits.Collect(ch)
}

// sync adds a series for each rule of the set now answering and drops those
// of rules no longer in it. A push matched by an older set may count its
// rule's hit after the swap, making the series again; each scrape drops
// such series as well.
func (h *ruleHits) sync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rs := h.eng.RuleSet(); rs != h.synced {
		ids := make(map[string]bool, len(rs.Rules()))
		for _, r := range rs.Rules() {
			ids[r.ID] = true
			h.hits.CounterVec.WithLabelValues(r.ID)
		}
		if h.synced != nil {
			for _, r := range h.synced.Rules() {
				if !ids[r.ID] {
					h.hits.drop(r.ID)
				}
			}
		}
		h.synced, h.ids = rs, ids
	}
	if h.eng.RuleSet() != h.synced {
		return // reloaded meanwhile: its new rules' first hits are kept, for the next scrape to sort
	}
	h.hits.rules.Range(func(id, _ any) bool {
		if !h.ids[id.(string)] {
			h.hits.drop(id.(string))
		}
		return true
	})
}
