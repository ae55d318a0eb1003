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

// MemoryStore is a Store inside one process.
type MemoryStore struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*memoryEntry
	sweep   time.Time
}

type memoryEntry struct {
	done    chan struct{} // closed by Finish
	reply   []byte
	expires time.Time
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a Store that forgets a key ttl after it is claimed.
func NewMemoryStore(ttl time.Duration) *MemoryStore {
	if ttl <= 0 {
		ttl = DefaultDedupeTTL
	}
	return &MemoryStore{ttl: ttl, now: time.Now, entries: map[string]*memoryEntry{}}
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.expire(now)
	if e, ok := s.entries[key]; ok && now.Before(e.expires) {
		return false, nil
	}
	s.entries[key] = &memoryEntry{done: make(chan struct{}), expires: now.Add(s.ttl)}
	return true, nil
}

// Finish implements Store.
func (s *MemoryStore) Finish(_ context.Context, key string, reply []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return nil // expired while being answered: nobody waits for it
	}
	select {
	case <-e.done:
	default:
		e.reply = reply
		close(e.done)
	}
	return nil
}

// Wait implements Store.
func (s *MemoryStore) Wait(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	e, ok := s.entries[key]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	select {
	case <-e.done:
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

// expire drops old entries, at most once per TTL so that Claim stays cheap.
func (s *MemoryStore) expire(now time.Time) {
	if now.Before(s.sweep) {
		return
	}
	for k, e := range s.entries {
		if !now.Before(e.expires) {
			delete(s.entries, k)
		}
	}
	s.sweep = now.Add(s.ttl)
}
