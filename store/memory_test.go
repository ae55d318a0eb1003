package store

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/heapcost"
)

func TestMemoryRetries(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1718170000, 0)
	s := NewMemory(MemoryOptions{RetryTTL: time.Minute, Now: func() time.Time { return now }})

	if ok, _ := s.Claim(ctx, "msg:1"); !ok {
		t.Fatal("a new key was not claimed")
	}
	if ok, _ := s.Claim(ctx, "msg:1"); ok {
		t.Fatal("a retry claimed the key again")
	}

	// A retry that arrives while the first delivery is answered waits for it.
	var wg sync.WaitGroup
	var got []byte
	wg.Add(1)
	go func() {
		defer wg.Done()
		got, _ = s.Wait(ctx, "msg:1")
	}()
	// Finish only once the retry waits (it has made the entry's channel),
	// so that the waiting, not the finished entry, is what is tested.
	for waiting := false; !waiting; {
		s.mu.Lock()
		waiting = s.waiting[s.retryKey("msg:1")] != nil
		s.mu.Unlock()
		runtime.Gosched()
	}
	s.Finish(ctx, "msg:1", []byte("reply-1"))
	wg.Wait()
	if string(got) != "reply-1" {
		t.Errorf("Wait = %q, want reply-1", got)
	}
	s.Finish(ctx, "msg:1", []byte("again")) // a second Finish changes nothing
	if got, _ := s.Wait(ctx, "msg:1"); string(got) != "reply-1" {
		t.Errorf("after a second Finish, Wait = %q", got)
	}

	// Waiting gives up with the context.
	s.Claim(ctx, "msg:2")
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	if _, err := s.Wait(short, "msg:2"); err == nil {
		t.Error("Wait on an unfinished key returned before its context ended")
	}

	// After the TTL the key is forgotten, and swept.
	now = now.Add(time.Minute)
	if ok, _ := s.Claim(ctx, "msg:1"); !ok {
		t.Error("a key was not forgotten after its TTL")
	}
	if n := s.Stats().Retries; n != 1 {
		t.Errorf("%d keys remembered after the sweep, want 1", n)
	}
}

// TestMemoryRetryBounds: the store never holds more than its cap, evicts
// the oldest push first, drops expired pushes as new ones come (not in a
// periodic sweep), and releases a retry waiting on a push evicted unanswered.
func TestMemoryRetryBounds(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1718170000, 0)
	s := NewMemory(MemoryOptions{RetryTTL: time.Minute, RetryEntries: 3, Now: func() time.Time { return now }})
	claim := func(key string) bool {
		t.Helper()
		ok, err := s.Claim(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}

	for _, k := range []string{"a", "b", "c"} {
		claim(k)
		s.Finish(ctx, k, []byte("reply-"+k))
	}
	claim("d") // evicts "a", the oldest
	tests := []struct {
		key     string
		isRetry bool
	}{{"b", true}, {"c", true}, {"d", true}}
	for _, tt := range tests {
		if got := !claim(tt.key); got != tt.isRetry {
			t.Errorf("%s: retry %v, want %v", tt.key, got, tt.isRetry)
		}
	}
	if n, ev := s.Stats().Retries, s.Stats().RetryEvictions; n != 3 || ev != 1 {
		t.Errorf("Len %d, Evicted %d; want 3 and 1", n, ev)
	}
	if !claim("a") { // forgotten: answered afresh (and "b" goes)
		t.Error("the evicted push is still remembered")
	}

	// A retry waiting on a push evicted before it was answered is released
	// with no reply.
	claim("slow")
	got := make(chan []byte)
	go func() {
		r, _ := s.Wait(ctx, "slow")
		got <- r
	}()
	for _, k := range []string{"e", "f", "g"} {
		claim(k)
	}
	if r := <-got; r != nil {
		t.Errorf("the waiting retry got %q, want no reply", r)
	}

	// Expired pushes go at the next claim: one new push leaves one entry.
	now = now.Add(time.Minute)
	claim("h")
	if n := s.Stats().Retries; n != 1 {
		t.Errorf("%d entries a TTL later, want 1", n)
	}
	if ev := s.Stats().RetryEvictions; ev != 6 {
		t.Errorf("Evicted %d, want 6 (expired ones are not evictions)", ev)
	}
}

// TestMemoryRetryBytes: the replies kept are capped by bytes too: a new
// reply overwrites the replies kept longest, and their pushes stay
// remembered with no reply (a retry is answered "success", not afresh); a
// reply larger than the whole cap is handed to the retries waiting for it,
// and not kept.
func TestMemoryRetryBytes(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1718170000, 0)
	// Room for three replies of 10 bytes, with their 20 bytes of record.
	s := NewMemory(MemoryOptions{RetryTTL: time.Minute, RetryBytes: 3 * 30, Now: func() time.Time { return now }})
	reply := func(k string) []byte { return []byte(fmt.Sprintf("%-10s", "reply-"+k)) }
	claim := func(k string) bool {
		ok, _ := s.Claim(ctx, k)
		return ok
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		claim(k)
	}
	// Answered out of order: the oldest reply is b's, not a's.
	for _, k := range []string{"b", "a", "c"} {
		s.Finish(ctx, k, reply(k))
	}
	s.Finish(ctx, "d", reply("d")) // overwrites b's reply: b goes
	if claim("a") || claim("c") || claim("d") {
		t.Error("a push whose reply was kept is taken afresh")
	}
	for _, k := range []string{"a", "c", "d"} {
		if got, _ := s.Wait(ctx, k); string(got) != string(reply(k)) {
			t.Errorf("Wait(%s) = %q, want %q", k, got, reply(k))
		}
	}
	if st := s.Stats(); st.Retries != 4 || st.RetryEvictions != 1 {
		t.Errorf("Retries %d, RetryEvictions %d; want 4 and 1 (b's reply)", st.Retries, st.RetryEvictions)
	}
	if claim("b") {
		t.Error("the push whose reply was overwritten is taken afresh")
	}
	if got, _ := s.Wait(ctx, "b"); got != nil {
		t.Errorf("Wait(b) = %q, want no reply", got)
	}

	// A reply larger than the cap reaches the retry waiting for it.
	big := bytes.Repeat([]byte("x"), 100)
	claim("big")
	got := make(chan []byte)
	go func() {
		r, _ := s.Wait(ctx, "big")
		got <- r
	}()
	for waiting := false; !waiting; {
		s.mu.Lock()
		waiting = s.waiting[s.retryKey("big")] != nil
		s.mu.Unlock()
		runtime.Gosched()
	}
	s.Finish(ctx, "big", big)
	if r := <-got; !bytes.Equal(r, big) {
		t.Errorf("the waiting retry got %q, want the large reply", r)
	}
	if claim("big") {
		t.Error("the push whose reply was larger than the cap is taken afresh")
	}
	if got, _ := s.Wait(ctx, "big"); got != nil {
		t.Errorf("Wait(big) = %q, want no reply: it was not kept", got)
	}
}

// retryKeyOf is a key as dedupeKey makes it for WeChat's usual ids: the
// account's gh_ id, a 28-character OpenID and a 19-digit MsgId.
func retryKeyOf(i int) string {
	return fmt.Sprintf("msg\x00gh_5e8a1c2f9b3d\x00oWx7Tb2LkQ9mZr5pYc3N%08d\x00%019d", i, 7382914650123456701+i)
}

// success is the server's "no reply" answer, shared by every push it
// answers so.
var success = []byte("success")

// TestMemoryRetryEntryCost measures what Memory's doc comment says a push
// costs, with "success" answers (shared bytes, as the server stores them),
// and fails if it grows well past it.
func TestMemoryRetryEntryCost(t *testing.T) {
	const n = 50_000
	var s *Memory
	cost := heapcost.PerEntry(n, func(n int) {
		s = NewMemory(MemoryOptions{RetryEntries: n})
		for i := range n {
			key := retryKeyOf(i)
			s.Claim(context.Background(), key)
			s.Finish(context.Background(), key, success)
		}
	})
	runtime.KeepAlive(s)
	t.Logf("Memory: %.0f bytes a push with a %d-byte key", cost, len(retryKeyOf(0)))
	if cost > 120 {
		t.Errorf("a push costs %.0f bytes; Memory's doc says about 90", cost)
	}
}

// userKeyOf is a user as the server names one: the account's gh_ id and a
// 28-character OpenID.
func userKeyOf(i int) string {
	return UserKey("gh_5e8a1c2f9b3d", fmt.Sprintf("oWx7Tb2LkQ9mZr5pYc3N%08d", i))
}

// typicalChange is a rule's answer that sets two session values and starts
// a cooldown: what the user costs figures are measured with.
func typicalChange(now time.Time) UserChange {
	return UserChange{Now: now, Set: map[string]string{"step": "ask-phone", "order": "20261129-000123"},
		SessionTTL: 30 * time.Minute, CooldownRule: "welcome", CooldownUntil: now.Add(time.Hour)}
}

// TestMemoryUserCost measures what Memory's doc comment says a user costs,
// and fails if it grows well past it.
func TestMemoryUserCost(t *testing.T) {
	const n = 50_000
	now := time.Unix(1718170000, 0)
	var s *Memory
	cost := heapcost.PerEntry(n, func(n int) {
		s = NewMemory(MemoryOptions{UserEntries: n})
		for i := range n {
			s.SaveUser(context.Background(), userKeyOf(i), typicalChange(now))
		}
	})
	runtime.KeepAlive(s)
	t.Logf("Memory: %.0f bytes a user with two session values and a cooldown", cost)
	if cost > 340 {
		t.Errorf("a user costs %.0f bytes; Memory's doc says about 300", cost)
	}
}

// TestMemoryUserEvictions counts the users dropped at the cap with their
// state still running, and not those whose state had run out.
func TestMemoryUserEvictions(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1718170000, 0)
	cool := func(now time.Time, d time.Duration) UserChange {
		return UserChange{Now: now, CooldownRule: "fallback", CooldownUntil: now.Add(d)}
	}
	s := NewMemory(MemoryOptions{UserEntries: 2})
	s.SaveUser(ctx, userKeyOf(1), cool(t0, time.Minute))
	s.SaveUser(ctx, userKeyOf(2), cool(t0.Add(30*time.Second), time.Hour))
	// The first user's cooldown ran out at t0+1m: making room for a third
	// drops it, but evicts nothing.
	s.SaveUser(ctx, userKeyOf(3), cool(t0.Add(70*time.Second), time.Hour))
	if st := s.Stats(); st.Users != 2 || st.UserEvictions != 0 {
		t.Fatalf("after an expired user made room: %+v, want 2 users and no eviction", st)
	}
	// The second's runs for an hour: making room for a fourth evicts it.
	s.SaveUser(ctx, userKeyOf(4), cool(t0.Add(80*time.Second), time.Hour))
	if st := s.Stats(); st.Users != 2 || st.UserEvictions != 1 {
		t.Fatalf("after a running user made room: %+v, want 2 users and 1 eviction", st)
	}
	if u, _ := s.LoadUser(ctx, userKeyOf(2), t0.Add(90*time.Second)); len(u.Cooldowns) != 0 {
		t.Errorf("the evicted user still has %v", u.Cooldowns)
	}
}

// TestMemoryUserBytes: the session values of all users together stay under
// UserBytes; the users changed longest ago make room.
func TestMemoryUserBytes(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1718170000, 0)
	s := NewMemory(MemoryOptions{UserBytes: 3000})
	said := strings.Repeat("x", 996) // with the name "said", 1,000 bytes
	for i := range 5 {
		s.SaveUser(ctx, userKeyOf(i), UserChange{Now: t0.Add(time.Duration(i) * time.Second), Set: map[string]string{"said": said}, SessionTTL: time.Hour})
	}
	if st := s.Stats(); st.Users != 3 || st.UserEvictions != 2 {
		t.Fatalf("five users of 1,000 bytes under a cap of 3,000: %+v, want 3 users and 2 evictions", st)
	}
	for i, want := range []bool{false, false, true, true, true} {
		u, _ := s.LoadUser(ctx, userKeyOf(i), t0.Add(10*time.Second))
		if got := u.Session["said"] == said; got != want {
			t.Errorf("user %d kept: %v, want %v", i, got, want)
		}
	}
	// A user whose values shrink gives the room back.
	s.SaveUser(ctx, userKeyOf(4), UserChange{Now: t0.Add(20 * time.Second), Unset: []string{"said"}, SessionTTL: time.Hour})
	s.SaveUser(ctx, userKeyOf(5), UserChange{Now: t0.Add(21 * time.Second), Set: map[string]string{"said": said}, SessionTTL: time.Hour})
	if st := s.Stats(); st.UserEvictions != 2 {
		t.Errorf("after a user's values went: %+v, want no more evictions", st)
	}
}

// TestMemoryUserBytesHeld: the cap counts what a user's values hold. A
// value cut from a longer text (a push's whole body, rendered by
// "{{ .Content }}" and cut to its limit) keeps its own bytes alone.
func TestMemoryUserBytesHeld(t *testing.T) {
	const users, kept, body = 1000, 100, 16 << 10
	ctx := context.Background()
	t0 := time.Unix(1718170000, 0)
	var s *Memory
	cost := heapcost.PerEntry(users, func(n int) {
		s = NewMemory(MemoryOptions{})
		for i := range n {
			text := strings.Repeat(string(rune('a'+i%26)), body)
			s.SaveUser(ctx, userKeyOf(i), UserChange{Now: t0, Set: map[string]string{"said": text[:kept]}, SessionTTL: time.Hour})
		}
	})
	runtime.KeepAlive(s)
	t.Logf("a user with a value of %d bytes cut from %d: %.0f bytes", kept, body, cost)
	if cost > 2*1024 {
		t.Errorf("a user with a value of %d bytes costs %.0f bytes: the text it was cut from is kept", kept, cost)
	}
}
