package engine

import (
	"strings"
	"testing"
)

// TestAutomatonHitsAsManyAsKeywords: keywords that end inside one another
// (a, aa, aaa, ...) are each reported once for a text that holds them all,
// so a push's hits grow with the keywords, not with their square.
func TestAutomatonHitsAsManyAsKeywords(t *testing.T) {
	const n = 3000
	a := newAutomatonBuilder()
	for i := range n {
		a.add(strings.Repeat("a", i+1), int32(i))
	}
	a.add("ba", n) // ends where "a" does, by another path
	a.build()
	for _, tc := range []struct {
		text string
		want int
	}{
		{strings.Repeat("a", n), n},
		{strings.Repeat("a", 10), 10},
		{"xba", 2}, // "ba" and "a"
		{"bab", 2}, // "a" reached again through "ba": not twice
		{"bbbb", 0},
	} {
		seen := make([]uint64, (a.states()+63)/64)
		got := a.match(nil, tc.text, seen)
		if len(got) != tc.want {
			t.Errorf("%.12q: %d hits, want %d", tc.text, len(got), tc.want)
		}
		once := map[int32]bool{}
		for _, p := range got {
			if once[p] {
				t.Errorf("%.12q: rule %d reported twice", tc.text, p)
			}
			once[p] = true
		}
	}
}
