package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkPushCounters compares what a push costs the counters the admin
// page reads with the Prometheus counters alone: a hit and a push counted.
func BenchmarkPushCounters(b *testing.B) {
	hits := &hitVec{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "h"}, []string{"rule"})}
	pushes := &pushVec{CounterVec: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "p"}, []string{"msgtype", "event", "outcome"})}
	b.Run("prometheus only", func(b *testing.B) {
		for b.Loop() {
			hits.CounterVec.WithLabelValues("welcome").Inc()
			pushes.CounterVec.WithLabelValues("text", "", "replied").Inc()
		}
	})
	b.Run("with the admin page's", func(b *testing.B) {
		for b.Loop() {
			now := time.Now()
			hits.WithLabelValues("welcome").Count(now)
			pushes.With("text", "", "replied").Count(now)
		}
	})
	b.Run("with the admin page's, in parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				now := time.Now()
				hits.WithLabelValues("welcome").Count(now)
				pushes.With("text", "", "replied").Count(now)
			}
		})
	})
}
