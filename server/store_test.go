package server

import (
	"context"
	"sync"
	"testing"
	"time"
)

var _ Store = (*MemoryStore)(nil)

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore(time.Minute)
	now := time.Unix(1718170000, 0)
	s.now = func() time.Time { return now }

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
	if n := s.Len(); n != 1 {
		t.Errorf("%d keys remembered after the sweep, want 1", n)
	}
}
