package store

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchStore runs the operations of a push: a claim and a finish, and a
// load and a save of the user.
func benchStore(b *testing.B, s Store) {
	ctx := context.Background()
	reply := []byte("<xml><ToUserName><![CDATA[oWx7Tb2LkQ9mZr5pYc3N00000001]]></ToUserName><Content><![CDATA[Welcome!]]></Content></xml>")
	// The keys go on from run to run (-count runs a sub-benchmark again on
	// the same store): a key claimed before would be a retry.
	i := 0
	b.Run("claim_finish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			key := retryKeyOf(i)
			i++
			if ok, err := s.Claim(ctx, key); !ok || err != nil {
				b.Fatal(ok, err)
			}
			if err := s.Finish(ctx, key, reply); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("load_save_user", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		i := 0
		for b.Loop() {
			user := userKeyOf(i % 1000)
			i++
			if _, err := s.LoadUser(ctx, user, now); err != nil {
				b.Fatal(err)
			}
			if err := s.SaveUser(ctx, user, typicalChange(now)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreMemory(b *testing.B) {
	benchStore(b, NewMemory(MemoryOptions{}))
}

func BenchmarkStoreRedis(b *testing.B) {
	benchStore(b, openTestRedis(b, testPrefix(), RedisOptions{}))
}

// TestRedisMemoryPerUser measures what a user costs in Redis (the README's
// figure): INFO memory before and after 10,000 users with two session
// values and a cooldown, under a prefix as long as the default (and not the
// default: the test deletes its keys after).
func TestRedisMemoryPerUser(t *testing.T) {
	if testing.Short() {
		t.Skip("fills Redis with 10,000 users")
	}
	const n = 10_000
	const prefix = "wxrtest:"
	r := openTestRedis(t, prefix, RedisOptions{})
	ctx := t.Context()
	if keys := r.client.Keys(ctx, prefix+"*").Val(); len(keys) > 0 {
		t.Fatalf("the Redis at WXREPLY_TEST_REDIS holds keys under %s already: another run of this test?", prefix)
	}
	used := func() int64 {
		t.Helper()
		info := r.client.Info(ctx, "memory").Val()
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}
		t.Fatal("no used_memory in INFO memory")
		return 0
	}
	before := used()
	now := time.Now()
	for i := range n {
		if err := r.SaveUser(ctx, userKeyOf(i), typicalChange(now)); err != nil {
			t.Fatal(err)
		}
	}
	after := used()
	per := float64(after-before) / n
	t.Logf("Redis: %.0f bytes a user with two session values and a cooldown (used_memory %d → %d for %d users)", per, before, after, n)
	if per > 400 {
		t.Errorf("a user costs %.0f bytes in Redis; the README says about 270", per)
	}
}
