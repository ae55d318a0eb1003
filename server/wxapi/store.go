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
// the store is shared (Redis, later). Keys are AppIDs. Implementations must be
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
}

// MemoryTokenStore is a TokenStore in the process's memory: enough for one
// instance. Its zero value is ready to use.
type MemoryTokenStore struct {
	mu     sync.Mutex
	tokens map[string]Token
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
