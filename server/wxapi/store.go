package wxapi

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Token is an access_token and the time the client stops using it.
type Token struct {
	Value string
	// ExpiresAt is when the client stops using the token: WeChat's expiry
	// less the client's margin, so that a call never carries a token that
	// expires on the way.
	ExpiresAt time.Time
}

// String hides the token's value, so that printing a Token leaks nothing.
func (t Token) String() string {
	return fmt.Sprintf("access_token(%d characters, until %s)", len(t.Value), t.ExpiresAt.Format(time.RFC3339))
}

// LogValue hides the token's value from log/slog.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("length", len(t.Value)), slog.Time("expires_at", t.ExpiresAt))
}

// TokenStore keeps access tokens between calls, and between processes when
// the store is shared (store.Redis). Keys are AppIDs. Implementations must be
// safe for concurrent use.
type TokenStore interface {
	// Get returns the token stored for key; ok is false when there is none.
	// The caller checks ExpiresAt; a store may drop expired tokens itself.
	Get(ctx context.Context, key string) (tok Token, ok bool, err error)
	// Set stores tok for key, replacing any other.
	Set(ctx context.Context, key string, tok Token) error
	// CompareAndDelete deletes the token stored for key only if its value is
	// value, and reports whether it did. A caller whose token was refused
	// drops that token, never a newer one that another caller stored since.
	CompareAndDelete(ctx context.Context, key, value string) (deleted bool, err error)
	// Lock takes the lock named key, waiting while another caller holds
	// it, until ctx ends. A lock not released within ttl is released by
	// itself, so that a caller that dies holding it blocks the others for
	// ttl at most. A Client takes it around each token fetch, so that of
	// all the processes sharing a store only one asks WeChat at a time: a
	// second request to /cgi-bin/token would revoke the first's token.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(), err error)
}

// MemoryTokenStore is a TokenStore in the process's memory: enough for one
// instance. Its zero value is ready to use.
type MemoryTokenStore struct {
	mu     sync.Mutex
	tokens map[string]Token
	locks  map[string]*memoryLock
}

// memoryLock is a held lock: done is closed when it is released.
type memoryLock struct {
	done  chan struct{}
	until time.Time
}

var _ TokenStore = (*MemoryTokenStore)(nil)

// Get implements TokenStore.
func (s *MemoryTokenStore) Get(_ context.Context, key string) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[key]
	return t, ok, nil
}

// Set implements TokenStore.
func (s *MemoryTokenStore) Set(_ context.Context, key string, tok Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil {
		s.tokens = map[string]Token{}
	}
	s.tokens[key] = tok
	return nil
}

// CompareAndDelete implements TokenStore.
func (s *MemoryTokenStore) CompareAndDelete(_ context.Context, key, value string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[key]; ok && t.Value == value {
		delete(s.tokens, key)
		return true, nil
	}
	return false, nil
}

// Lock implements TokenStore, within this process.
func (s *MemoryTokenStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(), error) {
	for {
		s.mu.Lock()
		l := s.locks[key]
		if l == nil || !time.Now().Before(l.until) {
			if l != nil {
				close(l.done) // its holder overran ttl: wake whoever else waits
			}
			mine := &memoryLock{done: make(chan struct{}), until: time.Now().Add(ttl)}
			if s.locks == nil {
				s.locks = map[string]*memoryLock{}
			}
			s.locks[key] = mine
			s.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { s.unlock(key, mine) }) }, nil
		}
		s.mu.Unlock()
		timer := time.NewTimer(time.Until(l.until))
		select {
		case <-l.done:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("waiting for the lock %q: %w", key, ctx.Err())
		}
		timer.Stop()
	}
}

// unlock releases l, unless it ran out and another caller holds key now.
func (s *MemoryTokenStore) unlock(key string, l *memoryLock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[key] == l {
		delete(s.locks, key)
		close(l.done)
	}
}
