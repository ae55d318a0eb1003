package server

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/fifo"
	"github.com/wxreply/wxreply/internal/heapcost"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

// TestReplayCache: a query is a replay only with another body, within its
// time; the cache holds at most its cap, oldest out first, and expired
// queries go as new ones come.
func TestReplayCache(t *testing.T) {
	now := time.Unix(1718170000, 0)
	c := newReplayCache(10*time.Minute, 2)
	q := func(i int) fifo.Key { return queryKey(wxcrypto.Sign("token", strconv.Itoa(i), "nonce")) }
	steps := []struct {
		query    int
		body     string
		after    time.Duration
		replayed bool
	}{
		{1, "a", 0, false},
		{1, "a", 0, false}, // WeChat's retry
		{1, "b", 0, true},  // another body
		{2, "a", 0, false},
		{3, "a", 0, false}, // the cap: query 1 goes
		{1, "b", 0, false}, // forgotten, so taken afresh (and 2 goes)
		{3, "b", 0, true},
		{3, "b", 10 * time.Minute, false}, // expired
	}
	for i, st := range steps {
		now = now.Add(st.after)
		if got, _ := c.seen(q(st.query), []byte(st.body), now); got != st.replayed {
			t.Errorf("step %d: query %d with %q: replayed %v, want %v", i, st.query, st.body, got, st.replayed)
		}
	}
	if n, ev := c.stats(); n != 1 || ev != 2 {
		t.Errorf("%d entries, %d evicted; want 1 and 2", n, ev)
	}
}

// TestReplayCacheEntryCost measures what replayCache's doc comment says an
// entry costs.
func TestReplayCacheEntryCost(t *testing.T) {
	const n = 50_000
	var c *replayCache
	now := time.Now()
	cost := heapcost.PerEntry(n, func(n int) {
		c = newReplayCache(10*time.Minute, n)
		for i := range n {
			ts := strconv.Itoa(1718170000 + i)
			c.seen(queryKey(wxcrypto.Sign("token", ts, ts)), []byte("<xml>...</xml>"), now)
		}
	})
	runtime.KeepAlive(c)
	t.Logf("replayCache: %.0f bytes an entry", cost)
	if cost > 55 {
		t.Errorf("an entry costs %.0f bytes; replayCache's doc says about 42", cost)
	}
}
