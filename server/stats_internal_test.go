package server

import (
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

// TestRuleHitsAcrossReloads: a rule's first hit, counted while a reload
// drops the rule, never leaves its entry holding the dropped series. When
// the rule comes back, its hits show in /metrics again.
func TestRuleHitsAcrossReloads(t *testing.T) {
	hits, eng, scrape, with, without := newHitsFixture(t)
	shown := func() float64 {
		var m dto.Metric
		if err := hits.CounterVec.WithLabelValues("r").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	now := time.Now()
	// The race needs a hit and a scrape after a reload at the same moment:
	// try it many times.
	for i := range 50_000 {
		var wg sync.WaitGroup
		wg.Go(func() { hits.WithLabelValues("r").Count(now) })
		wg.Go(func() { eng.Swap(without); scrape.sync() })
		wg.Wait()
		eng.Swap(with)
		scrape.sync()
		before := shown()
		hits.WithLabelValues("r").Count(now)
		if after := shown(); after != before+1 {
			t.Fatalf("round %d: a hit of the re-added rule shows as %v → %v in /metrics", i, before, after)
		}
		eng.Swap(without)
		scrape.sync()
		eng.Swap(with)
		scrape.sync()
	}
}

// TestLateHitOfRemovedRule: a push matched by the set before a reload that
// counts its rule's hit after the swap makes the removed rule's series
// again; the next scrape drops it.
func TestLateHitOfRemovedRule(t *testing.T) {
	hits, eng, scrape, _, without := newHitsFixture(t)
	eng.Swap(without)
	scrape.sync()
	hits.WithLabelValues("r").Count(time.Now()) // the late hit
	scrape.sync()
	if got := seriesOf(t, scrape); len(got) != 1 || got[0] != "a" {
		t.Errorf("series after the late hit and a scrape: %v, want [a]", got)
	}
}

// seriesOf lists the rule label of each series c collects.
func seriesOf(t *testing.T, c prometheus.Collector) []string {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var ids []string
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		for _, l := range pb.GetLabel() {
			ids = append(ids, l.GetValue())
		}
	}
	return ids
}

// newHitsFixture is wxreply_rule_hits_total over an engine answering with,
// which has the rules a and r; without has a alone. The series of with's
// rules are made, as the first scrape makes them.
func newHitsFixture(t *testing.T) (hits *hitVec, eng *engine.Engine, scrape *ruleHits, with, without *engine.RuleSet) {
	t.Helper()
	const kept = "rules:\n  - id: a\n    msgtype: text\n    reply: { text: a }\n"
	with, without = loadRuleSet(t, kept+"  - id: r\n    msgtype: image\n    reply: { text: r }\n"), loadRuleSet(t, kept)
	hits = &hitVec{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hits"}, []string{"rule"})}
	eng = engine.New(with, nil)
	scrape = &ruleHits{hits: hits, eng: eng}
	scrape.sync()
	return hits, eng, scrape, with, without
}

// loadRuleSet loads src as the one file of a rule folder.
func loadRuleSet(t *testing.T, src string) *engine.RuleSet {
	t.Helper()
	res, err := rules.LoadFS(fstest.MapFS{"r.yaml": {Data: []byte(src)}}, "rules")
	if err != nil {
		t.Fatal(err)
	}
	return res.RuleSet
}

// TestLabelsKeepNoPush: the label values a push's series is made with are
// the known names' own strings, not slices of the push, whose whole body
// a series would otherwise keep for good.
func TestLabelsKeepNoPush(t *testing.T) {
	body := "<xml><MsgType>event</MsgType><Event>CLICK</Event>" + strings.Repeat(" ", 4096) + "</xml>"
	slice := func(v string) string { i := strings.Index(body, ">"+v+"<") + 1; return body[i : i+len(v)] }
	ev := &engine.Event{MsgType: slice("event"), Event: slice("CLICK")}
	start := uintptr(unsafe.Pointer(unsafe.StringData(body)))
	for _, label := range []string{msgTypeLabel(ev), eventLabel(ev)} {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(label))); p >= start && p < start+uintptr(len(body)) {
			t.Errorf("the label %q is a slice of the push", label)
		}
	}
}
