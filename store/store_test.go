package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/redistest"
	"github.com/wxreply/wxreply/server/wxapi"
)

// Both stores implement wxapi's token store, locks and all.
var (
	_ wxapi.TokenStore = (*Memory)(nil)
	_ wxapi.TokenStore = (*Redis)(nil)
)

// testPrefix is a key prefix no other test uses.
func testPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "wxreply-test-" + hex.EncodeToString(b[:]) + ":"
}

// openTestRedis opens a Redis store under prefix, closed, and its keys
// deleted, when the test ends.
func openTestRedis(tb testing.TB, prefix string, opts RedisOptions) *Redis {
	tb.Helper()
	return openRedisAt(tb, redistest.URL(tb), prefix, opts)
}

// openRedisAt is openTestRedis for the Redis at url.
func openRedisAt(tb testing.TB, url, prefix string, opts RedisOptions) *Redis {
	tb.Helper()
	opts.Prefix = prefix
	if opts.Timeout == 0 {
		// Not the 200 ms default: these tests are about the answers, and a
		// busy machine running the race detector can take a second.
		opts.Timeout = 5 * time.Second
	}
	r, err := OpenRedis(context.Background(), url, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		if keys, err := r.client.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			r.client.Del(ctx, keys...)
		}
		r.Close()
	})
	// A busy machine may miss the first ping's timeout; the probe tries
	// again every ProbeInterval.
	for deadline := time.Now().Add(5 * time.Second); r.Health().Degraded && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if h := r.Health(); h.Degraded {
		tb.Fatalf("Redis at WXREPLY_TEST_REDIS does not answer: %s", h.LastError)
	}
	return r
}

// stores are the implementations the conformance suite runs against: each
// makes a fresh, empty store with the retry TTL given.
var stores = []struct {
	name string
	open func(tb testing.TB, retryTTL time.Duration) Store
}{
	{"Memory", func(tb testing.TB, retryTTL time.Duration) Store {
		return NewMemory(MemoryOptions{RetryTTL: retryTTL})
	}},
	{"Redis", func(tb testing.TB, retryTTL time.Duration) Store {
		return openTestRedis(tb, testPrefix(), RedisOptions{RetryTTL: retryTTL})
	}},
}

// forEachStore runs test against each implementation.
func forEachStore(t *testing.T, retryTTL time.Duration, test func(t *testing.T, s Store)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := st.open(t, retryTTL)
			test(t, s)
			// The suite is about the store's answers, not about Redis
			// failing: a store that degraded answered from memory.
			if h := s.Health(); h.Degraded || h.LastError != "" {
				t.Errorf("the store degraded during the test: %s", h.LastError)
			}
		})
	}
}

func TestStoreRetries(t *testing.T) {
	forEachStore(t, time.Minute, func(t *testing.T, s Store) {
		ctx := t.Context()
		if ok, err := s.Claim(ctx, "msg\x001"); !ok || err != nil {
			t.Fatalf("a new key: Claim = %v, %v; want true", ok, err)
		}
		if ok, err := s.Claim(ctx, "msg\x001"); ok || err != nil {
			t.Fatalf("a retry: Claim = %v, %v; want false", ok, err)
		}
		// A retry that comes while the first delivery is answered waits.
		got := make(chan []byte, 1)
		go func() {
			r, err := s.Wait(ctx, "msg\x001")
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		select {
		case r := <-got:
			t.Fatalf("Wait returned %q before Finish", r)
		case <-time.After(60 * time.Millisecond):
		}
		if err := s.Finish(ctx, "msg\x001", []byte("<xml>first</xml>")); err != nil {
			t.Fatal(err)
		}
		if r := <-got; string(r) != "<xml>first</xml>" {
			t.Errorf("the waiting retry got %q", r)
		}
		s.Finish(ctx, "msg\x001", []byte("again")) // changes nothing
		if r, _ := s.Wait(ctx, "msg\x001"); string(r) != "<xml>first</xml>" {
			t.Errorf("after a second Finish, Wait = %q", r)
		}

		// Answered with nothing is not "still being answered".
		s.Claim(ctx, "msg\x00empty")
		s.Finish(ctx, "msg\x00empty", nil)
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if r, err := s.Wait(short, "msg\x00empty"); err != nil || len(r) != 0 {
			t.Errorf("a push answered with nothing: Wait = %q, %v; want no bytes at once", r, err)
		}

		// An unknown key has no reply, and Wait does not wait for it.
		if r, err := s.Wait(ctx, "msg\x00unknown"); r != nil || err != nil {
			t.Errorf("an unknown key: Wait = %q, %v", r, err)
		}

		// Waiting gives up with the context.
		s.Claim(ctx, "msg\x00slow")
		short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := s.Wait(short, "msg\x00slow"); err == nil {
			t.Error("Wait on an unanswered key returned before its context ended")
		}
	})
}

func TestStoreRetryTTL(t *testing.T) {
	forEachStore(t, 200*time.Millisecond, func(t *testing.T, s Store) {
		ctx := t.Context()
		s.Claim(ctx, "msg\x001")
		time.Sleep(300 * time.Millisecond)
		if ok, _ := s.Claim(ctx, "msg\x001"); !ok {
			t.Error("a key was not forgotten after its TTL")
		}
	})
}

func TestStoreUsers(t *testing.T) {
	forEachStore(t, 0, func(t *testing.T, s Store) {
		ctx := t.Context()
		// The users' clock is the caller's: a day long past, so that the
		// store cannot lean on its own.
		now := time.Date(2024, 6, 12, 9, 0, 0, 0, time.UTC)
		user := UserKey("gh_5e8a1c2f9b3d", "oWx7Tb2LkQ9mZr5pYc3N00000001")
		load := func(at time.Duration) User {
			t.Helper()
			u, err := s.LoadUser(ctx, user, now.Add(at))
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		save := func(c UserChange) {
			t.Helper()
			if err := s.SaveUser(ctx, user, c); err != nil {
				t.Fatal(err)
			}
		}
		if u := load(0); u.Session != nil || u.Cooldowns != nil {
			t.Fatalf("a user never seen: %+v", u)
		}
		save(UserChange{Now: now, Set: map[string]string{"step": "ask-phone", "lang": "zh"}, SessionTTL: 10 * time.Minute})
		wantSession(t, load(time.Minute), map[string]string{"step": "ask-phone", "lang": "zh"})

		// Unset drops, Set sets, and a name in both is set; the change
		// renews the whole session.
		save(UserChange{Now: now.Add(8 * time.Minute), Set: map[string]string{"step": "done", "lang": "en"}, Unset: []string{"lang", "phone"}, SessionTTL: 10 * time.Minute})
		wantSession(t, load(9*time.Minute), map[string]string{"step": "done", "lang": "en"})
		save(UserChange{Now: now.Add(9 * time.Minute), Unset: []string{"lang"}, SessionTTL: 10 * time.Minute})
		wantSession(t, load(17*time.Minute), map[string]string{"step": "done"})
		// The session ends 10 minutes after its last change.
		wantSession(t, load(19*time.Minute), nil)

		// A session that ended leaves nothing to the next.
		save(UserChange{Now: now.Add(20 * time.Minute), Set: map[string]string{"lang": "zh"}, SessionTTL: time.Minute})
		wantSession(t, load(20*time.Minute), map[string]string{"lang": "zh"})

		// Cooldowns run out each at its own time, and leave the session be.
		save(UserChange{Now: now.Add(20 * time.Minute), CooldownRule: "welcome", CooldownUntil: now.Add(30 * time.Minute)})
		save(UserChange{Now: now.Add(20 * time.Minute), CooldownRule: "coupon", CooldownUntil: now.Add(25 * time.Minute)})
		u := load(20*time.Minute + 30*time.Second)
		wantSession(t, u, map[string]string{"lang": "zh"})
		wantCooldowns(t, u, map[string]time.Time{"welcome": now.Add(30 * time.Minute), "coupon": now.Add(25 * time.Minute)})
		wantCooldowns(t, load(26*time.Minute), map[string]time.Time{"welcome": now.Add(30 * time.Minute)})
		u = load(31 * time.Minute)
		wantCooldowns(t, u, nil)
		wantSession(t, u, nil)

		// An empty change changes nothing, and a session TTL of 0 is
		// DefaultSessionTTL.
		save(UserChange{Now: now})
		save(UserChange{Now: now.Add(40 * time.Minute), Set: map[string]string{"a": "1"}})
		u = load(41 * time.Minute)
		wantSession(t, u, map[string]string{"a": "1"})
		u.Session["a"] = "changed" // the maps returned are the caller's
		wantSession(t, load(40*time.Minute+DefaultSessionTTL-time.Second), map[string]string{"a": "1"})
		wantSession(t, load(40*time.Minute+DefaultSessionTTL), nil)

		// Users are apart.
		other := UserKey("gh_5e8a1c2f9b3d", "oWx7Tb2LkQ9mZr5pYc3N00000002")
		if u, _ := s.LoadUser(ctx, other, now.Add(40*time.Minute)); u.Session != nil {
			t.Errorf("another user sees %v", u.Session)
		}
	})
}

func wantSession(t *testing.T, u User, want map[string]string) {
	t.Helper()
	if !maps.Equal(u.Session, want) || (want == nil) != (u.Session == nil) {
		t.Errorf("session %v, want %v", u.Session, want)
	}
}

func wantCooldowns(t *testing.T, u User, want map[string]time.Time) {
	t.Helper()
	if !maps.EqualFunc(u.Cooldowns, want, time.Time.Equal) || (want == nil) != (u.Cooldowns == nil) {
		t.Errorf("cooldowns %v, want %v", u.Cooldowns, want)
	}
}

func TestStoreTokens(t *testing.T) {
	forEachStore(t, 0, func(t *testing.T, s Store) {
		ctx := t.Context()
		const appID = "wx2c2769f8efd9abc2"
		if _, ok, err := s.Get(ctx, appID); ok || err != nil {
			t.Fatalf("a token before any: %v, %v", ok, err)
		}
		tok := wxapi.Token{Value: "token-1", ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Millisecond)}
		if err := s.Set(ctx, appID, tok); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Get(ctx, appID); !ok || err != nil || got.Value != tok.Value || !got.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Fatalf("Get = %v, %v, %v; want %v", got, ok, err, tok)
		}
		if deleted, err := s.CompareAndDelete(ctx, appID, "token-0"); deleted || err != nil {
			t.Errorf("deleting an older token: %v, %v; want false (token-1 stays)", deleted, err)
		}
		if deleted, err := s.CompareAndDelete(ctx, appID, "token-1"); !deleted || err != nil {
			t.Errorf("deleting the token: %v, %v; want true", deleted, err)
		}
		if _, ok, _ := s.Get(ctx, appID); ok {
			t.Error("the token is still there after CompareAndDelete")
		}
	})
}

func TestStoreLock(t *testing.T) {
	forEachStore(t, 0, func(t *testing.T, s Store) {
		ctx := t.Context()
		unlock, err := s.Lock(ctx, "wx2c2769f8efd9abc2", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := s.Lock(short, "wx2c2769f8efd9abc2", time.Minute); err == nil {
			t.Fatal("a held lock was taken again")
		}
		if u, err := s.Lock(ctx, "another", time.Minute); err != nil {
			t.Errorf("another key's lock: %v", err)
		} else {
			u()
		}
		// A waiter takes the lock as soon as it is released.
		took := make(chan time.Time, 1)
		go func() {
			u, err := s.Lock(ctx, "wx2c2769f8efd9abc2", time.Minute)
			if err != nil {
				t.Error(err)
			}
			took <- time.Now()
			u()
		}()
		time.Sleep(50 * time.Millisecond)
		released := time.Now()
		unlock()
		unlock() // twice is harmless
		select {
		case at := <-took:
			if at.Before(released) {
				t.Error("the waiter took the lock before it was released")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the waiter did not get the released lock")
		}

		// A lock its holder never releases runs out by its ttl. Its ttl
		// starts within the first Lock call, so the clock starts before it:
		// started after it, a reply that reaches this goroutine late would
		// eat into the wait measured.
		start := time.Now()
		if _, err := s.Lock(ctx, "forgotten", 150*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		u, err := s.Lock(ctx, "forgotten", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		u()
		if waited := time.Since(start); waited < 100*time.Millisecond || waited > 2*time.Second {
			t.Errorf("a forgotten 150ms lock was taken after %s", waited)
		}
	})
}

// TestStoreLockExcludes: of many callers, one holds the lock at a time.
func TestStoreLockExcludes(t *testing.T) {
	forEachStore(t, 0, func(t *testing.T, s Store) {
		var mu sync.Mutex
		holders, most := 0, 0
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 3 {
					unlock, err := s.Lock(t.Context(), "k", time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					holders++
					most = max(most, holders)
					mu.Unlock()
					time.Sleep(2 * time.Millisecond)
					mu.Lock()
					holders--
					mu.Unlock()
					unlock()
				}
			})
		}
		wg.Wait()
		if most != 1 {
			t.Errorf("%d callers held the lock at once", most)
		}
	})
}

func TestStoreHealth(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			// (openTestRedis has waited until Redis answers: a Redis store
			// just opened is not degraded by construction.)
			h := st.open(t, 0).Health()
			if want := map[string]string{"Memory": "memory", "Redis": "redis"}[st.name]; h.Backend != want {
				t.Errorf("Backend %q, want %q", h.Backend, want)
			}
		})
	}
}
