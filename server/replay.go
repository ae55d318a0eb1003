package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"

	"github.com/wxreply/wxreply/internal/fifo"
)

// DefaultReplayEntries caps the queries the server remembers to refuse a
// replay. At the default timestamp window (remembered for twice that, 10
// minutes) it covers a steady 80 pushes a second (a busy account gets
// tens); past it the oldest query is forgotten first, and a query is
// remembered for less than the window. See replayCache for what an entry
// costs: about 2 MB at the cap.
const DefaultReplayEntries = 50_000

// replayCache remembers, for each signed query seen within the timestamp
// window, a hash of the body that came with it. WeChat signs the query only
// (token, timestamp, nonce), so whoever sees one signed query could post any
// body with it until the timestamp goes stale; WeChat's own retry of a push
// sends the same query with the same body.
//
// An entry is a slot of a fifo.Set, with no pointer: 16 bytes of query hash,
// 8 of body hash, 8 of expiry, and its share of the index: about 42 bytes
// whatever the query and body (measured by TestReplayCacheEntryCost), so
// the default cap bounds the cache near 2.1 MB, which the garbage collector
// never scans.
//
// Queries are kept by 128 bits of their signature, which is already a hash
// of the query (see queryKey). Only WeChat makes signed queries, so no one
// can choose two that collide, and the chance that two of the default cap's
// 50,000 do is under 10^-29.
//
// Bodies are kept as 64 bits of a hash keyed by a secret of the process
// (see bodySum). To pass another body as WeChat's retry, a replay would need
// the same 64 bits as a body it did not choose: a second preimage, some 2^64
// tries, and without the secret each try is a request sent within the
// window. Unkeyed, 64 bits would let anyone find two bodies with one hash
// offline (a birthday search, 2^32 tries) and send both with each signed
// query seen; the secret makes that search need the server too. So 128 bits
// would cost 8 more bytes an entry for no more safety.
type replayCache struct {
	secret [32]byte

	mu      sync.Mutex
	entries *fifo.Set[uint64] // query hash → body hash
}

func newReplayCache(ttl time.Duration, maxEntries int) *replayCache {
	if maxEntries <= 0 {
		maxEntries = DefaultReplayEntries
	}
	c := &replayCache{entries: fifo.NewSet[uint64](ttl, maxEntries, nil)}
	rand.Read(c.secret[:])
	return c
}

// bodySum is 64 bits of SHA-256(secret, SHA-256(body)): the body is hashed
// once, where it is, and the secret goes into a second hash of 64 bytes, so
// that the body is not copied next to it.
func (c *replayCache) bodySum(body []byte) uint64 {
	var b [64]byte
	copy(b[:32], c.secret[:])
	inner := sha256.Sum256(body)
	copy(b[32:], inner[:])
	sum := sha256.Sum256(b[:])
	return binary.LittleEndian.Uint64(sum[:8])
}

// queryKey names a signed query by the first 128 bits of its signature,
// which checkQuery has verified: SHA-1 over the token, timestamp and nonce,
// in lowercase hex. Within one token it names the query as well as another
// hash of the query would, for nothing.
func queryKey(signature string) (k fifo.Key) {
	hex.Decode(k[:], []byte(signature[:2*len(k)]))
	return k
}

// seen records the query with the body and reports whether the query came
// before with another body (replayed), or how long ago it first came with
// this one (0 the first time). The same query with the same body is
// WeChat's retry, or a copy of it.
func (c *replayCache) seen(query fifo.Key, body []byte, now time.Time) (replayed bool, since time.Duration) {
	sum := c.bodySum(body)
	c.mu.Lock()
	defer c.mu.Unlock()
	v, added := c.entries.Add(query, now.UnixNano())
	if !added {
		if *v != sum {
			return true, 0
		}
		first, _ := c.entries.AddedAt(query)
		return false, time.Duration(now.UnixNano() - first)
	}
	*v = sum
	return false, 0
}

func (c *replayCache) stats() (entries int, evicted uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries.Len(), c.entries.Evictions()
}
