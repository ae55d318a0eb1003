package connlimit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// server serves h on a loopback listener limited to max connections, with
// a clock the test moves.
type server struct {
	l     *Listener
	addr  string
	mu    sync.Mutex
	clock time.Time
}

func serve(t *testing.T, max int, h http.Handler) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{l: New(ln, max), addr: ln.Addr().String(), clock: time.Unix(1718170000, 0)}
	s.l.now = func() time.Time {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.clock
	}
	hs := &http.Server{Handler: h, ConnState: s.l.ConnState}
	go hs.Serve(s.l)
	t.Cleanup(func() { hs.Close() })
	return s
}

// waitIdle waits until the server has seen n connections go idle: it
// learns it after the client has its answer.
func (s *server) waitIdle(t *testing.T, n int) {
	t.Helper()
	waitFor(t, func() bool {
		s.l.mu.Lock()
		defer s.l.mu.Unlock()
		idle := 0
		for c := range s.l.conns {
			if c.idle && !c.busy {
				idle++
			}
		}
		return idle == n
	})
}

func (s *server) advance(d time.Duration) {
	s.mu.Lock()
	s.clock = s.clock.Add(d)
	s.mu.Unlock()
}

// client is one connection, kept alive between its requests.
type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{Conn: c, r: bufio.NewReader(c)}
}

// send writes a request.
func (c *client) send(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
}

// answer reads the response to the request sent, failing the test after
// wait (so that a broken limiter fails rather than hangs).
func (c *client) answer(wait time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func (c *client) roundTrip(t *testing.T) {
	t.Helper()
	c.send(t)
	if body, err := c.answer(10 * time.Second); err != nil || body != "ok" {
		t.Fatalf("answer %q, %v; want ok", body, err)
	}
}

// closedByServer reports whether the server has closed c.
func (c *client) closedByServer() bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.r.ReadByte()
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

// TestIdleMakesRoom: at the cap, idle keep-alive connections are closed to
// make room, the one idle longest first; a stranger holding every slot
// with them does not keep a new client out.
func TestIdleMakesRoom(t *testing.T) {
	s := serve(t, 3, ok)
	held := make([]*client, 3)
	for i := range held {
		held[i] = dial(t, s.addr)
		held[i].roundTrip(t)
		s.waitIdle(t, i+1)
		s.advance(time.Second)
	}
	// The third has been idle longest now.
	for _, i := range []int{1, 0} {
		held[i].roundTrip(t)
		s.waitIdle(t, 3)
		s.advance(time.Second)
	}

	newcomer := dial(t, s.addr)
	newcomer.roundTrip(t)
	if !held[2].closedByServer() {
		t.Error("the connection idle longest is still open")
	}
	held[0].roundTrip(t) // the others keep theirs
	if open, evicted := s.l.Stats(); open != 3 || evicted != 1 {
		t.Errorf("Stats() = %d open, %d evicted; want 3 and 1", open, evicted)
	}
}

// TestBusyWait: connections serving a request are never closed to make
// room; a new one waits for one of them to finish.
func TestBusyWait(t *testing.T) {
	release := make(chan struct{})
	s := serve(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "ok")
	}))
	busy := []*client{dial(t, s.addr), dial(t, s.addr)}
	for _, c := range busy {
		c.send(t)
	}
	waitFor(t, func() bool {
		s.l.mu.Lock()
		defer s.l.mu.Unlock()
		n := 0
		for c := range s.l.conns {
			if c.busy {
				n++
			}
		}
		return n == 2
	})
	s.advance(time.Hour)
	newcomer := dial(t, s.addr)
	newcomer.send(t)
	if body, err := newcomer.answer(300 * time.Millisecond); err == nil {
		t.Fatalf("answered %q while every connection was busy", body)
	}
	close(release)
	for _, c := range busy {
		if body, err := c.answer(10 * time.Second); err != nil || body != "ok" {
			t.Errorf("a busy connection: %q, %v; want ok", body, err)
		}
	}
	if body, err := newcomer.answer(10 * time.Second); err != nil || body != "ok" {
		t.Errorf("the newcomer, once a connection was idle: %q, %v; want ok", body, err)
	}
	if _, evicted := s.l.Stats(); evicted != 1 {
		t.Errorf("%d connections closed to make room, want 1 (one went idle)", evicted)
	}
}

// TestSilentNewcomers: a connection that sends no request keeps its place
// for NewGrace, then may be closed to make room.
func TestSilentNewcomers(t *testing.T) {
	s := serve(t, 2, ok)
	silent := []*client{dial(t, s.addr), dial(t, s.addr)}
	waitFor(t, func() bool { open, _ := s.l.Stats(); return open == 2 })

	newcomer := dial(t, s.addr)
	newcomer.send(t)
	if body, err := newcomer.answer(300 * time.Millisecond); err == nil {
		t.Fatalf("answered %q: a silent connection within its grace was closed", body)
	}
	// Nothing happens on the connections: the timer Accept set for the end
	// of the grace wakes it.
	s.advance(NewGrace)
	if body, err := newcomer.answer(10 * time.Second); err != nil || body != "ok" {
		t.Fatalf("the newcomer after the grace: %q, %v; want ok", body, err)
	}
	if !silent[0].closedByServer() && !silent[1].closedByServer() {
		t.Error("no silent connection was closed")
	}
}

// TestSilentBeforeIdle: a connection that never sent a request is closed
// before one idle between requests, even one idle longer.
func TestSilentBeforeIdle(t *testing.T) {
	s := serve(t, 2, ok)
	between := dial(t, s.addr)
	between.roundTrip(t)
	s.waitIdle(t, 1)
	silent := dial(t, s.addr)
	waitFor(t, func() bool { open, _ := s.l.Stats(); return open == 2 })
	s.advance(time.Hour)

	dial(t, s.addr).roundTrip(t)
	if !silent.closedByServer() {
		t.Error("the silent connection is still open")
	}
	between.roundTrip(t)
}

// TestCloseEndsWaitingAccept: closing the listener ends an Accept waiting at
// the cap, so that a server shuts down.
func TestCloseEndsWaitingAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(ln, 1)
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	first, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	// Busy, the first is never closed to make room, and no timer wakes
	// the Accept that waits for it: only Close may.
	l.ConnState(first, http.StateActive)
	accepted := make(chan error)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	// Nothing tells when Accept waits; a Close before it does passes too.
	time.Sleep(100 * time.Millisecond)
	l.Close()
	select {
	case err := <-accepted:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waits 10 s after Close")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkConnState: what the listener adds to a request on a kept-alive
// connection, its two state changes.
func BenchmarkConnState(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l := New(ln, 1024)
	defer l.Close()
	c := &conn{l: l, since: time.Now()}
	for range 64 {
		l.conns[&conn{l: l}] = struct{}{}
	}
	l.conns[c] = struct{}{}
	b.ReportAllocs()
	for b.Loop() {
		l.ConnState(c, http.StateActive)
		l.ConnState(c, http.StateIdle)
	}
}
