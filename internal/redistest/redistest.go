// Package redistest gives tests the Redis they run against: the one at
// WXREPLY_TEST_REDIS, which .ci/run starts. Without it a test skips with a
// message that says how to run it, except in CI (CI=true), where a missing
// Redis is a broken set-up and the test fails.
package redistest

import (
	"os"
	"testing"
)

// URL is WXREPLY_TEST_REDIS, or a skip (a failure under CI) without it.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("WXREPLY_TEST_REDIS")
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("WXREPLY_TEST_REDIS is not set, and CI=true: .ci/run starts a redis-server and sets it; set it to redis://127.0.0.1:PORT/0")
		}
		tb.Skip("no Redis to test against: run redis-server and set WXREPLY_TEST_REDIS=redis://127.0.0.1:6379/0 (tests write keys under prefixes of their own)")
	}
	return u
}
