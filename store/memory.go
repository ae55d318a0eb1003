package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxreply/wxreply/internal/fifo"
	"github.com/wxreply/wxreply/server/wxapi"
)

// DefaultRetryTTL is how long a push is remembered. WeChat retries three
// times, 5 s apart; a minute is ample and keeps the store small.
const DefaultRetryTTL = time.Minute

// DefaultRetryEntries caps a Memory's retries: at DefaultRetryTTL it
// remembers every push of a steady 80 a second, while WeChat's retries,
// which come within 15 s, stay covered up to 330 a second (a busy account
// gets tens). See Memory for what an entry costs: about 1.5 MB at the cap.
const DefaultRetryEntries = 5_000

// DefaultRetryReplyBytes is what a retry's reply may take on average in a
// Memory whose RetryBytes is not set: the replies' bytes are capped at
// RetryEntries times this. It is a short text reply (some 230 bytes) with
// its record's 20, so that the cap in entries is what binds until replies
// grow longer; at the default caps the replies take at most 1.3 MB. Past
// it, the oldest replies still needed go, and their retries are answered
// "success": a larger cap would cost every busy process its megabytes for
// the rare retry of a long reply.
const DefaultRetryReplyBytes = 256

// DefaultUserEntries caps the users a Memory keeps state for. See Memory for
// what a user costs.
const DefaultUserEntries = 100_000

// DefaultUserBytes caps the bytes of a Memory's session values, all users
// together: some 335 bytes for each of the default cap of users, or 1,000
// users who each keep the most a session may hold (engine.MaxSessionNames
// values of engine.MaxSessionValueBytes). Past it the user changed longest
// ago goes first.
const DefaultUserBytes = 32 << 20

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
	// RetryBytes caps the bytes of the replies remembered, 20 bytes a reply
	// included; 0 means RetryEntries × DefaultRetryReplyBytes.
	RetryBytes int
	// UserEntries caps the users whose state is kept; 0 means
	// DefaultUserEntries.
	UserEntries int
	// UserBytes caps the bytes of the users' session values, names
	// included: a stranger's text may go into one (set: {said: "{{
	// .Content }}"}); 0 means DefaultUserBytes.
	UserBytes int
	// Now is the clock of the retries; nil means time.Now. (Users' state
	// runs on the times the caller passes.)
	Now func() time.Time
}

// Memory is a Store inside one process: enough for one instance, and the
// fallback of a Redis store while Redis is down.
//
// It holds at most its cap of pushes, and of the bytes of their replies:
// when full, a new push evicts the oldest (a retry of an evicted push is
// answered afresh, not refused), and a new reply overwrites the replies
// kept longest. A push whose reply is overwritten stays remembered, and its
// retries are answered "success": answering one afresh would do again what
// the push did (a cooldown, a session's step, messages sent, a backend
// called). Expired pushes are dropped as new ones come, oldest
// first, so their count follows the traffic of the last TTL. A push costs
// about 50 bytes, and its reply 20 bytes more than its length in a ring
// that doubles as the replies of the pushes remembered fill it, up to its
// cap (measured by
// TestMemoryRetryEntryCost: about 90 bytes a push answered "success"; a
// short text reply is some 230 bytes more). None of it holds a pointer, so
// the garbage collector never scans it. The default caps bound the retries
// near 0.5 MB plus 1.3 MB of replies.
//
// It holds the state of at most its cap of users: when full, the user
// changed longest ago is dropped. A user whose state has all expired is
// dropped when next loaded, or when it reaches the head of that order. A user
// with two session values and a cooldown costs about 300 bytes (measured by
// TestMemoryUserCost), so the default cap bounds users near 30 MB; their
// session values, which a stranger's text may fill, are capped apart
// (DefaultUserBytes).
type Memory struct {
	maxUsers     int
	maxUserBytes int
	now          func() time.Time

	// secret keys the hash that names a push (see retryKey).
	secret [32]byte

	mu       sync.Mutex
	retries  *fifo.Set[retryEntry]
	replies  replyRing
	waiting  map[fifo.Key]*retryWaiter // the retries waiting for their first delivery's reply
	users    map[string]*memoryUser
	oldest   *memoryUser // the user changed longest ago; newest is its prev
	usersOut uint64
	// repliesOut counts the replies forgotten to make room, their pushes
	// kept.
	repliesOut uint64
	userBytes  int // of all the users' session values (memoryUser.size)

	// The access_token and its lock, as wxapi's own memory store keeps
	// them.
	wxapi.MemoryTokenStore
}

var _ Store = (*Memory)(nil)

// retryEntry is a push being answered or answered.
type retryEntry struct {
	reply uint64 // the offset of its reply's record in the replies' ring
	size  uint32 // the reply's length
	state uint32
}

// The states of a retryEntry.
const (
	retryAnswering uint32 = iota
	retryAnswered
	retryEmpty // answered with no bytes, or its reply overwritten: no record
)

// retryWaiter is made by the first retry that waits for a push, and told
// the reply, or nil when the push goes unanswered. Most pushes have no
// retry: they save the channel's 100 bytes.
type retryWaiter struct {
	done  chan struct{}
	reply []byte
}

// memoryUser is one user's state, in a ring ordered by last change.
//
// A user holds a few values and cooldowns: in slices they cost a fraction
// of what maps do, and a user's state is read and changed whole.
type memoryUser struct {
	key          string
	session      []sessionValue
	sessionUntil int64 // Unix nanoseconds
	cooldowns    []cooldown
	prev, next   *memoryUser
}

type sessionValue struct{ name, value string }

type cooldown struct {
	rule  string
	until int64 // Unix nanoseconds
}

// until is when the last of u's state expires.
func (u *memoryUser) until() int64 {
	t := u.sessionUntil
	for _, c := range u.cooldowns {
		t = max(t, c.until)
	}
	return t
}

// size is what u's session values hold, names included.
func (u *memoryUser) size() int {
	n := 0
	for _, v := range u.session {
		n += len(v.name) + len(v.value)
	}
	return n
}

// set stores a session value, in place of the one of that name. The value
// is copied: it may be a slice of what made it (a push's whole body, for a
// value of "{{ .Content }}" cut to its limit), which size would not count.
// A name is a rule file's, shared by every user who has it.
func (u *memoryUser) set(name, value string) {
	value = strings.Clone(value)
	for i := range u.session {
		if u.session[i].name == name {
			u.session[i].value = value
			return
		}
	}
	u.session = append(u.session, sessionValue{name, value})
}

// unset drops a session value.
func (u *memoryUser) unset(name string) {
	u.session = slices.DeleteFunc(u.session, func(v sessionValue) bool { return v.name == name })
}

// coolDown starts or renews the rule's cooldown, and drops those over at t.
func (u *memoryUser) coolDown(rule string, until, t int64) {
	u.cooldowns = slices.DeleteFunc(u.cooldowns, func(c cooldown) bool { return c.until <= t || c.rule == rule })
	if rule != "" {
		u.cooldowns = append(u.cooldowns, cooldown{rule, until})
	}
}

// NewMemory returns an empty Memory sized by opts.
func NewMemory(opts MemoryOptions) *Memory {
	if opts.RetryTTL <= 0 {
		opts.RetryTTL = DefaultRetryTTL
	}
	if opts.RetryEntries <= 0 {
		opts.RetryEntries = DefaultRetryEntries
	}
	if opts.RetryBytes <= 0 {
		opts.RetryBytes = opts.RetryEntries * DefaultRetryReplyBytes
	}
	if opts.UserEntries <= 0 {
		opts.UserEntries = DefaultUserEntries
	}
	if opts.UserBytes <= 0 {
		opts.UserBytes = DefaultUserBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Memory{
		maxUsers: opts.UserEntries, maxUserBytes: opts.UserBytes, now: opts.Now,
		replies: newReplyRing(opts.RetryBytes), waiting: map[fifo.Key]*retryWaiter{}, users: map[string]*memoryUser{},
	}
	s.retries = fifo.NewSet(opts.RetryTTL, opts.RetryEntries, s.dropRetry)
	rand.Read(s.secret[:])
	return s
}

// retryKey names a push by 128 bits of SHA-256(secret, key): 16 bytes
// instead of a string of some 70, and hashes no one can choose, as the
// index of a fifo.Set needs, though the key's parts come from the push. Two
// pushes with one name would share a reply; by chance that takes some 2^64
// pushes, and to anyone who does not know the secret, as many tries
// against the server.
func (s *Memory) retryKey(key string) fifo.Key {
	b := make([]byte, 0, 160) // on the stack, for WeChat's lengths
	b = append(append(b, s.secret[:]...), key...)
	sum := sha256.Sum256(b)
	return fifo.Key(sum[:16])
}

// Claim implements Retries.
func (s *Memory) Claim(_ context.Context, key string) (bool, error) {
	k := s.retryKey(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, added := s.retries.Add(k, s.now().UnixNano())
	return added, nil
}

// dropRetry is called with each push that goes: retries waiting for one
// that goes unanswered are released, and with no reply, they answer
// "success".
func (s *Memory) dropRetry(k fifo.Key, e *retryEntry, _ bool) {
	if e.state == retryAnswering {
		s.wake(k, nil)
	}
}

// replyNeeded reports whether the reply at off is still its push's: the
// push is remembered, and not claimed again since with the same key.
func (s *Memory) replyNeeded(k fifo.Key, off uint64) bool {
	e, ok := s.retries.Get(k)
	return ok && e.state == retryAnswered && e.reply == off
}

// dropReply is called with each reply still needed that the replies' ring
// overwrites: its push is left with no reply.
func (s *Memory) dropReply(k fifo.Key, off uint64) {
	if s.replyNeeded(k, off) {
		e, _ := s.retries.Get(k)
		e.state = retryEmpty
		s.repliesOut++
	}
}

// wake hands reply to the retries waiting for k.
func (s *Memory) wake(k fifo.Key, reply []byte) {
	if w := s.waiting[k]; w != nil {
		w.reply = reply
		close(w.done)
		delete(s.waiting, k)
	}
}

// Finish implements Retries.
func (s *Memory) Finish(_ context.Context, key string, reply []byte) error {
	k := s.retryKey(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.retries.Get(k)
	if !ok || e.state != retryAnswering {
		return nil // expired or evicted while being answered, or answered before
	}
	s.wake(k, reply)
	if len(reply) == 0 {
		e.state = retryEmpty
		return nil
	}
	// Overwriting older replies evicts their pushes, not this one, which
	// has no record yet; e stays where it is.
	off, ok := s.replies.add(k, reply, s.replyNeeded, s.dropReply)
	if !ok {
		e.state = retryEmpty // a reply larger than all the replies' room
		s.repliesOut++
		return nil
	}
	e.reply, e.size, e.state = off, uint32(len(reply)), retryAnswered
	return nil
}

// Wait implements Retries.
func (s *Memory) Wait(ctx context.Context, key string) ([]byte, error) {
	k := s.retryKey(key)
	s.mu.Lock()
	e, ok := s.retries.Get(k)
	switch {
	case !ok:
		s.mu.Unlock()
		return nil, nil
	case e.state == retryAnswered:
		reply := s.replies.reply(e.reply, e.size)
		s.mu.Unlock()
		return reply, nil
	case e.state == retryEmpty:
		s.mu.Unlock()
		return nil, nil
	}
	w := s.waiting[k]
	if w == nil {
		w = &retryWaiter{done: make(chan struct{})}
		s.waiting[k] = w
	}
	s.mu.Unlock()
	select {
	case <-w.done:
		return w.reply, nil // written before done was closed
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
		out.Session = make(map[string]string, len(u.session))
		for _, v := range u.session {
			out.Session[v.name] = v.value
		}
	}
	for _, c := range u.cooldowns {
		if t < c.until {
			if out.Cooldowns == nil {
				out.Cooldowns = map[string]time.Time{}
			}
			out.Cooldowns[c.rule] = time.Unix(0, c.until)
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
			s.evictOldest(t)
		}
		u = &memoryUser{key: user}
	} else {
		s.unlink(u)
	}
	if len(c.Set) > 0 || len(c.Unset) > 0 {
		if u.sessionUntil <= t {
			u.session = nil // the old session ended: its values go
		}
		for _, name := range c.Unset {
			u.unset(name)
		}
		for name, value := range c.Set {
			u.set(name, value)
		}
		u.sessionUntil = t + int64(sessionTTL(c.SessionTTL))
	}
	u.coolDown(c.CooldownRule, c.CooldownUntil.UnixNano(), t)
	s.users[user] = u
	s.link(u)
	for s.userBytes > s.maxUserBytes && s.oldest != u {
		s.evictOldest(t)
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

// evictOldest drops the user changed longest ago to make room, and counts
// an eviction when its state was still running at t.
func (s *Memory) evictOldest(t int64) {
	if s.oldest.until() > t {
		s.usersOut++
	}
	s.unlink(s.oldest)
}

// link puts u at the end of the order, as the user changed last.
func (s *Memory) link(u *memoryUser) {
	s.userBytes += u.size()
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
	s.userBytes -= u.size()
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
	// many were forgotten, or had their reply forgotten, before their TTL
	// to make room, for a push or for a reply.
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
	return MemoryStats{Retries: s.retries.Len(), RetryEvictions: s.retries.Evictions() + s.repliesOut, Users: len(s.users), UserEvictions: s.usersOut}
}
