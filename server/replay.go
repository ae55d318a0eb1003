package server

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/wxreply/wxreply/internal/fifo"
)

// DefaultReplayEntries caps the queries the server remembers to refuse a
// replay. At the default timestamp window (remembered for twice that, 10
// minutes) it covers a steady 160 pushes a second; past it the oldest query
// is forgotten first. See replayCache for what an entry costs.
const DefaultReplayEntries = 100_000

// replayCache remembers, for each signed query seen within the timestamp
// window, a hash of the body that came with it. WeChat signs the query only
// (token, timestamp, nonce), so whoever sees one signed query could post any
// body with it until the timestamp goes stale; WeChat's own retry of a push
// sends the same query with the same body.
//
// Keys and bodies are kept as SHA-256 hashes cut to 128 bits (finding
// another body with the same one takes some 2^128 tries): an entry costs
// about 100 bytes whatever the query and body (measured by
// TestReplayCacheEntryCost), so the default cap bounds the cache near 10 MB.
type replayCache struct {
	ttl int64 // nanoseconds
	max int

	mu      sync.Mutex
	entries map[hash128]replayEntry
	order   fifo.Queue[hash128]
	evicted uint64
}

// hash128 is the first half of a SHA-256.
type hash128 [16]byte

func sum128(b []byte) (h hash128) {
	sum := sha256.Sum256(b)
	copy(h[:], sum[:])
	return h
}

type replayEntry struct {
	body    hash128
	expires int64 // Unix nanoseconds
}

func newReplayCache(ttl time.Duration, maxEntries int) *replayCache {
	if maxEntries <= 0 {
		maxEntries = DefaultReplayEntries
	}
	return &replayCache{ttl: int64(ttl), max: maxEntries, entries: map[hash128]replayEntry{}}
}

// queryKey names a signed query. NUL cannot occur in a decoded query value
// that passed the signature check, so the parts cannot run into each other.
func queryKey(timestamp, nonce, signature string) hash128 {
	b := make([]byte, 0, 128) // on the stack, for WeChat's lengths
	b = append(append(b, timestamp...), 0)
	b = append(append(b, nonce...), 0)
	return sum128(append(b, signature...))
}

// seen records the query with the body and reports whether the query came
// before with another body: a replay. The same query with the same body is
// WeChat's retry, and not one.
func (c *replayCache) seen(query hash128, body []byte, now time.Time) (replayed bool) {
	sum := sum128(body)
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.order.Len() > 0 && t >= c.order.Peek().Expires {
		c.drop(c.order.Peek(), false)
		c.order.Pop()
	}
	if e, ok := c.entries[query]; ok && t < e.expires {
		return e.body != sum
	}
	for len(c.entries) >= c.max && c.order.Len() > 0 {
		c.drop(c.order.Peek(), true)
		c.order.Pop()
	}
	c.entries[query] = replayEntry{body: sum, expires: t + c.ttl}
	c.order.Push(query, t+c.ttl)
	return false
}

// drop forgets the query an item of the order names, unless it was recorded
// again since (a clock that went back); evict says before its time.
func (c *replayCache) drop(it fifo.Item[hash128], evict bool) {
	if e, ok := c.entries[it.Key]; ok && e.expires == it.Expires {
		delete(c.entries, it.Key)
		if evict {
			c.evicted++
		}
	}
}

func (c *replayCache) stats() (entries int, evicted uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.evicted
}
