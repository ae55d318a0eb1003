package server

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

// TestRuleHitsAcrossReloads: a rule's first hit, counted while a reload
// drops the rule, never leaves its entry holding the dropped series. When
// the rule comes back, its hits show in /metrics again.
func TestRuleHitsAcrossReloads(t *testing.T) {
	load := func(src string) *engine.RuleSet {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "r.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := rules.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return res.RuleSet
	}
	const kept = "rules:\n  - id: a\n    msgtype: text\n    reply: { text: a }\n"
	with, without := load(kept+"  - id: r\n    msgtype: image\n    reply: { text: r }\n"), load(kept)
	hits := &hitVec{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hits"}, []string{"rule"})}
	eng := engine.New(with, nil)
	scrape := &ruleHits{hits: hits, eng: eng}
	scrape.sync()
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
