// Package store owns what wxreply remembers between pushes: the replies to
// pushes WeChat may retry, each user's session values and cooldowns, and the
// access_token. Memory keeps them in one process; Redis shares them between
// every process of an account, so that many instances behind a load balancer
// act as one.
package store

import (
	"context"
	"time"

	"github.com/wxreply/wxreply/server/wxapi"
)

// Store is everything wxreply remembers. Implementations are safe for
// concurrent use.
type Store interface {
	Retries
	Users
	wxapi.TokenStore
	// Health says whether the store works as configured, for /readyz and
	// the metrics.
	Health() Health
	// Degraded is Health().Degraded without the copy of the counts: what a
	// push asks.
	Degraded() bool
	// Close releases the store's connections.
	Close() error
}

// Retries remembers which pushes have been answered, and with what, so that
// WeChat's retries of a push get the first answer instead of a second one.
type Retries interface {
	// Claim marks key as being answered. It reports false when the key was
	// claimed before: the push is a retry.
	Claim(ctx context.Context, key string) (bool, error)
	// Finish stores the bytes key was answered with.
	Finish(ctx context.Context, key string, reply []byte) error
	// Wait returns the bytes key was answered with, waiting while the first
	// delivery is still being answered, until ctx ends. It returns nil when
	// the key is unknown or went unanswered.
	Wait(ctx context.Context, key string) ([]byte, error)
}

// Users keeps each user's session values and cooldowns. A user is named by
// UserKey(account, openID).
type Users interface {
	// LoadUser returns the user's state at now: the session values unless
	// the session has expired, and the cooldowns still running. A user never
	// seen has the zero User.
	LoadUser(ctx context.Context, user string, now time.Time) (User, error)
	// SaveUser applies change to the user's state.
	SaveUser(ctx context.Context, user string, change UserChange) error
}

// User is one user's state as a push sees it.
type User struct {
	// Session holds the values rules set for the user; nil when none.
	Session map[string]string
	// Cooldowns maps the ID of each rule cooling down for the user to the
	// time it may answer the user again.
	Cooldowns map[string]time.Time
}

// UserChange is what a rule's answer changes in a user's state.
type UserChange struct {
	// Now is when the rule answered.
	Now time.Time
	// Set stores values in the session, and Unset drops names from it; a
	// name in both is set.
	Set   map[string]string
	Unset []string
	// SessionTTL is how long the session lives after this change, when Set
	// or Unset is not empty: every change renews the whole session.
	SessionTTL time.Duration
	// CooldownRule, when not empty, is a rule that may not answer the user
	// again before CooldownUntil.
	CooldownRule  string
	CooldownUntil time.Time
}

// Empty reports whether the change changes nothing.
func (c UserChange) Empty() bool {
	return len(c.Set) == 0 && len(c.Unset) == 0 && c.CooldownRule == ""
}

// UserKey names a user of an account (the push's ToUserName) by OpenID.
func UserKey(account, openID string) string { return account + "/" + openID }

// Health is how a store is doing.
type Health struct {
	// Backend is "memory" or "redis".
	Backend string
	// Degraded is true while the shared store fails and this process keeps
	// its state in memory instead; Since is when that began, and LastError
	// the last failure (without secrets: never the Redis password).
	Degraded  bool
	Since     time.Time
	LastError string
	// Errors counts the operations that failed on the shared store and
	// were served from memory instead, by name (claim, finish, wait,
	// load_user, save_user, token_get, token_set, token_delete,
	// token_lock); every name is there, at 0 until one fails. Operations
	// made while degraded go to memory untried and are not counted. Nil
	// for Memory, which does not fail.
	Errors map[string]uint64
}
