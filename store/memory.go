package store

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/wxreply/wxreply/internal/fifo"
	"github.com/wxreply/wxreply/server/wxapi"
)

// DefaultRetryTTL is how long a push is remembered. WeChat retries three
// times, 5 s apart; a minute is ample and keeps the store small.
const DefaultRetryTTL = time.Minute

// DefaultRetryEntries caps a Memory's retries: at DefaultRetryTTL it
// remembers every push of a steady 330 a second, while WeChat's retries,
// which come within 15 s, stay covered up to 1,300 a second. See Memory for
// what an entry costs.
const DefaultRetryEntries = 20_000

// DefaultUserEntries caps the users a Memory keeps state for. See Memory for
// what a user costs.
const DefaultUserEntries = 100_000

// DefaultSessionTTL is how long a session lives after a change whose
// SessionTTL is not positive.
const DefaultSessionTTL = 30 * time.Minute

// MemoryOptions sizes a Memory.
type MemoryOptions struct {
	// RetryTTL is how long a claimed push is remembered; 0 means
	// DefaultRetryTTL.
	RetryTTL time.Duration
	// RetryEntries caps the pushes remembered; 0 means DefaultRetryEntries.
	RetryEntries int
	// UserEntries caps the users whose state is kept; 0 means
	// DefaultUserEntries.
	UserEntries int
	// Now is the clock of the retries; nil means time.Now. (Users' state
	// runs on the times the caller passes.)
	Now func() time.Time
}

// Memory is a Store inside one process: enough for one instance, and the
// fallback of a Redis store while Redis is down.
//
// It holds at most its cap of pushes: when full, a new push evicts the
// oldest (a retry of an evicted push is answered afresh, not refused).
// Expired pushes are dropped as new ones come, oldest first, so memory
// follows the traffic of the last TTL. A push costs about 200 bytes plus the
// reply's length (measured by TestMemoryRetryEntryCost: 192 bytes with a
// "success" answer and a key of WeChat's usual ids; a short text reply is
// some 450 bytes more), so the default cap holds the retries near 4 MB of
// "success" answers, or 13 MB of short text replies.
//
// It holds the state of at most its cap of users: when full, the user
// changed longest ago is dropped. A user whose state has all expired is
// dropped when next loaded, or when it reaches the head of that order. A user
// with two session values and a cooldown costs about 740 bytes (measured by
// TestMemoryUserCost), so the default cap bounds users near 75 MB.
type Memory struct {
	retryTTL int64 // nanoseconds
	maxRetry int
	maxUsers int
	now      func() time.Time

	mu       sync.Mutex
	entries  map[string]*memoryEntry
	order    fifo.Queue[string]
	evicted  uint64
	users    map[string]*memoryUser
	oldest   *memoryUser // the user changed longest ago; newest is its prev
	usersOut uint64

	// The access_token and its lock, as wxapi's own memory store keeps
	// them.
	wxapi.MemoryTokenStore
}

var _ Store = (*Memory)(nil)

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

// memoryUser is one user's state, in a ring ordered by last change.
type memoryUser struct {
	key          string
	session      map[string]string
	sessionUntil int64            // Unix nanoseconds
	cooldowns    map[string]int64 // rule ID → Unix nanoseconds
	prev, next   *memoryUser
}

// until is when the last of u's state expires.
func (u *memoryUser) until() int64 {
	t := u.sessionUntil
	for _, c := range u.cooldowns {
		t = max(t, c)
	}
	return t
}

// NewMemory returns an empty Memory sized by opts.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.RetryTTL <= 0 {
		opts.RetryTTL = DefaultRetryTTL
	}
	if opts.RetryEntries <= 0 {
		opts.RetryEntries = DefaultRetryEntries
	}
	if opts.UserEntries <= 0 {
		opts.UserEntries = DefaultUserEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Memory{
		retryTTL: int64(opts.RetryTTL), maxRetry: opts.RetryEntries, maxUsers: opts.UserEntries, now: opts.Now,
		entries: map[string]*memoryEntry{}, users: map[string]*memoryUser{},
	}
}

// Claim implements Retries.
func (s *Memory) Claim(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixNano()
	s.expire(now)
	if e, ok := s.entries[key]; ok && now < e.expires {
		return false, nil
	}
	for len(s.entries) >= s.maxRetry && s.order.Len() > 0 {
		s.drop(s.order.Peek(), true)
		s.order.Pop()
	}
	e := &memoryEntry{expires: now + s.retryTTL}
	s.entries[key] = e
	s.order.Push(key, e.expires)
	return true, nil
}

// expire drops the entries whose time is up. They all live equally long, so
// they are the oldest, at the head of the order.
func (s *Memory) expire(now int64) {
	for s.order.Len() > 0 {
		it := s.order.Peek()
		if now < it.Expires {
			return
		}
		s.drop(it, false)
		s.order.Pop()
	}
}

// drop forgets the entry an item of the order names, unless the key was
// claimed again since (a clock that went back). evict says the entry goes
// before its time, to make room. Retries waiting for an entry that goes
// unanswered are released: with no reply, they answer "success".
func (s *Memory) drop(it fifo.Item[string], evict bool) {
	e, ok := s.entries[it.Key]
	if !ok || e.expires != it.Expires {
		return
	}
	delete(s.entries, it.Key)
	if evict {
		s.evicted++
	}
	e.release()
}

// Finish implements Retries.
func (s *Memory) Finish(_ context.Context, key string, reply []byte) error {
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

// Wait implements Retries.
func (s *Memory) Wait(ctx context.Context, key string) ([]byte, error) {
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

// LoadUser implements Users. The maps it returns are the caller's own.
func (s *Memory) LoadUser(_ context.Context, user string, now time.Time) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[user]
	if u == nil {
		return User{}, nil
	}
	t := now.UnixNano()
	if u.until() <= t {
		s.unlink(u)
		return User{}, nil
	}
	var out User
	if t < u.sessionUntil && len(u.session) > 0 {
		out.Session = maps.Clone(u.session)
	}
	for rule, until := range u.cooldowns {
		if t < until {
			if out.Cooldowns == nil {
				out.Cooldowns = map[string]time.Time{}
			}
			out.Cooldowns[rule] = time.Unix(0, until)
		}
	}
	return out, nil
}

// SaveUser implements Users.
func (s *Memory) SaveUser(_ context.Context, user string, c UserChange) error {
	if c.Empty() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := c.Now.UnixNano()
	u := s.users[user]
	if u == nil {
		for len(s.users) >= s.maxUsers && s.oldest != nil {
			s.unlink(s.oldest)
			s.usersOut++
		}
		u = &memoryUser{key: user}
		s.users[user] = u
	} else {
		s.unlink(u)
		s.users[user] = u
	}
	s.link(u)
	if len(c.Set) > 0 || len(c.Unset) > 0 {
		if u.sessionUntil <= t {
			u.session = nil // the old session ended: its values go
		}
		for _, name := range c.Unset {
			delete(u.session, name)
		}
		if len(c.Set) > 0 && u.session == nil {
			u.session = make(map[string]string, len(c.Set))
		}
		maps.Copy(u.session, c.Set)
		u.sessionUntil = t + int64(sessionTTL(c.SessionTTL))
	}
	for rule, until := range u.cooldowns {
		if until <= t {
			delete(u.cooldowns, rule)
		}
	}
	if c.CooldownRule != "" {
		if u.cooldowns == nil {
			u.cooldowns = map[string]int64{}
		}
		u.cooldowns[c.CooldownRule] = c.CooldownUntil.UnixNano()
	}
	// Users expired at the head of the order go with this change: memory
	// follows the users of the last session TTL, not the cap, when the
	// order by change is also the order by expiry (one session TTL).
	for s.oldest != nil && s.oldest != u && s.oldest.until() <= t {
		s.unlink(s.oldest)
	}
	return nil
}

func sessionTTL(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultSessionTTL
	}
	return d
}

// link puts u at the end of the order, as the user changed last.
func (s *Memory) link(u *memoryUser) {
	if s.oldest == nil {
		u.prev, u.next = u, u
		s.oldest = u
		return
	}
	newest := s.oldest.prev
	u.prev, u.next = newest, s.oldest
	newest.next = u
	s.oldest.prev = u
}

// unlink takes u out of the order and the map.
func (s *Memory) unlink(u *memoryUser) {
	delete(s.users, u.key)
	if u.next == u {
		s.oldest = nil
	} else {
		u.prev.next, u.next.prev = u.next, u.prev
		if s.oldest == u {
			s.oldest = u.next
		}
	}
	u.prev, u.next = nil, nil
}

// Health implements Store: memory never fails.
func (s *Memory) Health() Health { return Health{Backend: "memory"} }

// Degraded implements Store: memory never fails.
func (s *Memory) Degraded() bool { return false }

// Close implements Store; there is nothing to release.
func (s *Memory) Close() error { return nil }

// MemoryStats is how full a Memory is.
type MemoryStats struct {
	// Retries is how many pushes are remembered, and RetryEvictions how
	// many were forgotten before their TTL to make room.
	Retries        int
	RetryEvictions uint64
	// Users is how many users' state is kept, and UserEvictions how many
	// users were dropped, with state still running, to make room.
	Users         int
	UserEvictions uint64
}

// Stats says how full s is.
func (s *Memory) Stats() MemoryStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return MemoryStats{Retries: len(s.entries), RetryEvictions: s.evicted, Users: len(s.users), UserEvictions: s.usersOut}
}
