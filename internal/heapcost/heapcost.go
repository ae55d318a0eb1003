// Package heapcost measures what an entry of a cache costs on the heap, for
// the tests that hold the figures in doc comments and the README to the
// code.
package heapcost

import "runtime"

// PerEntry fills a fresh cache with n entries through fill and returns the
// heap bytes each one costs. The caller keeps the cache alive until after.
func PerEntry(n int, fill func(n int)) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill(n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
