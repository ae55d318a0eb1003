// Package connlimit bounds the connections a listener serves at once. At
// the cap it makes room for a new connection by closing one that is doing
// nothing: idle between requests, or open without a request for longer
// than a client needs to send one. Only when every connection is busy does
// a new one wait.
//
// netutil.LimitListener waits at the cap whatever the connections do, so
// anyone could hold every slot with idle keep-alive connections, a request
// each a minute, and keep WeChat's pushes waiting in the kernel's queue
// until WeChat gives up.
package connlimit

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// NewGrace is how long a new connection may send nothing and still keep
// its place at the cap: a client sends its request as soon as it has
// connected.
const NewGrace = time.Second

// Listener is a net.Listener of at most Max connections. Its ConnState must
// be the http.Server's ConnState: it is how the listener tells the busy
// connections from the ones doing nothing.
type Listener struct {
	net.Listener
	max int
	now func() time.Time

	mu      sync.Mutex
	freed   *sync.Cond // a connection closed or went idle, or the listener closed
	conns   map[*conn]struct{}
	evicted uint64      // connections closed to make room
	done    bool        // the listener is closed
	wake    *time.Timer // wakes a waiting Accept when a grace ends
}

// New returns ln limited to max connections at once.
func New(ln net.Listener, max int) *Listener {
	l := &Listener{Listener: ln, max: max, now: time.Now, conns: map[*conn]struct{}{}}
	l.freed = sync.NewCond(&l.mu)
	return l
}

// conn is a connection the listener counts.
type conn struct {
	net.Conn
	l    *Listener
	once sync.Once
	// Guarded by l.mu.
	busy  bool      // serving a request
	since time.Time // when it went idle, or connected
	idle  bool      // between requests (not just connected)
}

// Accept accepts a connection and, at the cap, closes the connection that
// has done nothing longest to make room for it, or waits until one closes
// or goes idle.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.conns) >= l.max {
		if l.done {
			c.Close()
			return nil, net.ErrClosed
		}
		victim, wait := l.doingNothing()
		if victim != nil {
			delete(l.conns, victim)
			l.evicted++
			// Closing under the lock is safe: victim.Close finds it gone.
			victim.Conn.Close()
			continue
		}
		if wait > 0 && l.wake == nil {
			// A new connection's grace ends without anything to say so.
			l.wake = time.AfterFunc(wait, func() {
				l.mu.Lock()
				l.wake = nil
				l.freed.Broadcast()
				l.mu.Unlock()
			})
		}
		l.freed.Wait()
	}
	tc := &conn{Conn: c, l: l, since: l.now()}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// doingNothing is the connection to close: the one connected longest
// without a request past NewGrace, else the one idle longest (a client
// that sent nothing is more likely a stranger than one between requests).
// When there is none, wait is how long until a new connection's grace
// ends, or 0 when every connection is busy.
func (l *Listener) doingNothing() (victim *conn, wait time.Duration) {
	now := l.now()
	var silent, idle *conn
	for c := range l.conns {
		switch {
		case c.busy:
		case c.idle:
			if idle == nil || c.since.Before(idle.since) {
				idle = c
			}
		case now.Sub(c.since) < NewGrace:
			if left := NewGrace - now.Sub(c.since); wait == 0 || left < wait {
				wait = left
			}
		default:
			if silent == nil || c.since.Before(silent.since) {
				silent = c
			}
		}
	}
	if silent != nil {
		return silent, 0
	}
	return idle, wait
}

// ConnState is the http.Server's ConnState hook.
func (l *Listener) ConnState(nc net.Conn, state http.ConnState) {
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateActive:
		c.busy = true
	case http.StateIdle:
		c.busy, c.idle, c.since = false, true, l.now()
		l.freed.Broadcast()
	case http.StateHijacked, http.StateClosed:
		l.forget(c)
	}
}

// forget stops counting c. Guarded by l.mu.
func (l *Listener) forget(c *conn) {
	if _, ok := l.conns[c]; ok {
		delete(l.conns, c)
		l.freed.Broadcast()
	}
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.forget(c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// Close closes the listener, and ends an Accept waiting at the cap.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.done = true
	l.freed.Broadcast()
	l.mu.Unlock()
	return l.Listener.Close()
}

// Stats says how many connections are open, and how many were closed to
// make room for new ones.
func (l *Listener) Stats() (open int, evicted uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns), l.evicted
}
