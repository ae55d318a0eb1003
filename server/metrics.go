package server

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wxreply/wxreply/engine"
)

// metrics are the server's Prometheus series, all named wxreply_*.
type metrics struct {
	requests   *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	ruleHits   *prometheus.CounterVec
	ruleErrors *prometheus.CounterVec
	duration   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, eng *engine.Engine) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_requests_total",
			Help: "Authenticated pushes from WeChat, by MsgType, Event and outcome (replied, no_rule, retry, deadline, error).",
		}, []string{"msgtype", "event", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_requests_rejected_total",
			Help: "Requests refused before the rules saw them, by reason.",
		}, []string{"reason"}),
		ruleHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_rule_hits_total",
			Help: "Pushes answered, by the id of the rule that answered.",
		}, []string{"rule"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxreply_rule_errors_total",
			Help: "Rules skipped because their condition or reply failed at run time, by rule id.",
		}, []string{"rule"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wxreply_request_duration_seconds",
			Help:    "Time to answer an authenticated push. WeChat gives up after 5 s.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 4, 5},
		}),
	}
	reg.MustRegister(m.requests, m.rejected, m.ruleHits, m.ruleErrors, m.duration,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wxreply_rules_loaded",
			Help: "Rules in the rule set now answering.",
		}, func() float64 { return float64(len(eng.RuleSet().Rules())) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Label values come from the request, so they are kept to WeChat's known
// names to bound the number of series.
func msgTypeLabel(ev *engine.Event) string {
	if slices.Contains(engine.MsgTypes, ev.MsgType) {
		return ev.MsgType
	}
	return "other"
}

func eventLabel(ev *engine.Event) string {
	switch {
	case ev.MsgType != "event":
		return ""
	case slices.Contains(engine.Events, ev.Event):
		return ev.Event
	}
	return "other"
}
