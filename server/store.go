package server

import (
	"context"
	"sync"
	"time"
)

// Store remembers which pushes have been answered, and with what, so that
// WeChat's retries of a push get the first answer instead of a second one.
// Several instances behind a load balancer share one Store (Redis); one
// instance can use NewMemoryStore.
type Store interface {
	// Claim marks key as being answered. It reports false when the key was
	// claimed before: the push is a retry.
	Claim(ctx context.Context, key string) (bool, error)
	// Finish stores the bytes key was answered with.
	Finish(ctx context.Context, key string, reply []byte) error
	// Wait returns the bytes key was answered with, waiting while the first
	// delivery is still being answered, until ctx ends.
	Wait(ctx context.Context, key string) ([]byte, error)
}

// DefaultDedupeTTL is how long a push is remembered. WeChat retries three
// times, 5 s apart; a minute is ample and keeps the store small.
const DefaultDedupeTTL = time.Minute

// DefaultRetryEntries caps a MemoryStore: at DefaultDedupeTTL it remembers
// every push of a steady 330 a second, while WeChat's retries, which come
// within 15 s, stay covered up to 1,300 a second. See MemoryStore for what
// an entry costs.
const DefaultRetryEntries = 20_000

// MemoryStore is a Store inside one process. It holds at most its cap of
// pushes: when full, a new push evicts the oldest (a retry of an evicted
// push is answered afresh, not refused). Expired pushes are dropped as new
// ones come, oldest first, so memory follows the traffic of the last TTL.
//
// An entry costs about 200 bytes plus the reply's length (measured by
// TestMemoryStoreEntryCost: 192 bytes with a "success" answer and a key of
// WeChat's usual ids; a short text reply is some 450 bytes more), so the
// default cap holds the store near 4 MB of "success" answers, or 13 MB of
// short text replies.
type MemoryStore struct {
	ttl int64 // nanoseconds
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*memoryEntry
	order   fifo[string]
	evicted uint64
}

type memoryEntry struct {
	// done is made by the first retry that waits for the entry, and closed
	// by Finish, or when the entry goes unfinished. Most pushes have no
	// retry: they save the channel's 100 bytes.
	done     chan struct{}
	finished bool
	reply    []byte
	expires  int64 // Unix nanoseconds
}

// release wakes the retries waiting for e; the lock is held.
func (e *memoryEntry) release() {
	if !e.finished && e.done != nil {
		close(e.done)
	}
	e.finished = true
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a Store that forgets a key ttl after it is claimed
// and holds at most maxEntries keys; ttl <= 0 means DefaultDedupeTTL and
// maxEntries <= 0 DefaultRetryEntries.
func NewMemoryStore(ttl time.Duration, maxEntries int) *MemoryStore {
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	if maxEntries <= 0 {
		maxEntries = DefaultRetryEntries
	}
	return &MemoryStore{ttl: int64(ttl), max: maxEntries, now: time.Now, entries: map[string]*memoryEntry{}}
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixNano()
	s.expire(now)
	if e, ok := s.entries[key]; ok && now < e.expires {
		return false, nil
	}
	for len(s.entries) >= s.max && s.order.len() > 0 {
		s.drop(s.order.peek(), true)
		s.order.pop()
	}
	e := &memoryEntry{expires: now + s.ttl}
	s.entries[key] = e
	s.order.push(key, e.expires)
	return true, nil
}

// expire drops the entries whose time is up. They all live equally long, so
// they are the oldest, at the head of the order.
func (s *MemoryStore) expire(now int64) {
	for s.order.len() > 0 {
		it := s.order.peek()
		if now < it.expires {
			return
		}
		s.drop(it, false)
		s.order.pop()
	}
}

// drop forgets the entry an item of the order names, unless the key was
// claimed again since (a clock that went back). evict says the entry goes
// before its time, to make room. Retries waiting for an entry that goes
// unanswered are released: with no reply, they answer "success".
func (s *MemoryStore) drop(it fifoItem[string], evict bool) {
	e, ok := s.entries[it.key]
	if !ok || e.expires != it.expires {
		return
	}
	delete(s.entries, it.key)
	if evict {
		s.evicted++
	}
	e.release()
}

// Finish implements Store.
func (s *MemoryStore) Finish(_ context.Context, key string, reply []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return nil // expired or evicted while being answered: nobody waits for it
	}
	if !e.finished {
		e.reply = reply
		e.release()
	}
	return nil
}

// Wait implements Store.
func (s *MemoryStore) Wait(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	e, ok := s.entries[key]
	switch {
	case !ok:
		s.mu.Unlock()
		return nil, nil
	case e.finished:
		reply := e.reply
		s.mu.Unlock()
		return reply, nil
	}
	if e.done == nil {
		e.done = make(chan struct{})
	}
	done := e.done
	s.mu.Unlock()
	select {
	case <-done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return e.reply, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Len is how many pushes are remembered.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Evicted is how many pushes were forgotten before their TTL to make room.
func (s *MemoryStore) Evicted() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evicted
}
