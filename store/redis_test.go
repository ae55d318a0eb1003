package store

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/redistest"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

// TestRedisRetryAcrossInstances: a retry that reaches another instance
// waits there for the first delivery's reply, and gets the same bytes.
func TestRedisRetryAcrossInstances(t *testing.T) {
	prefix := testPrefix()
	a := openTestRedis(t, prefix, RedisOptions{})
	b := openTestRedis(t, prefix, RedisOptions{})
	ctx := t.Context()
	key := retryKeyOf(1)
	if ok, err := a.Claim(ctx, key); !ok || err != nil {
		t.Fatalf("first delivery on a: %v, %v", ok, err)
	}
	if ok, err := b.Claim(ctx, key); ok || err != nil {
		t.Fatalf("the retry on b claimed the push: %v, %v", ok, err)
	}
	got := make(chan []byte, 1)
	go func() {
		r, err := b.Wait(ctx, key)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	time.Sleep(80 * time.Millisecond)
	a.Finish(ctx, key, []byte("<xml>first</xml>"))
	select {
	case r := <-got:
		if string(r) != "<xml>first</xml>" {
			t.Errorf("b's retry got %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b's retry is still waiting after a answered")
	}
	if a.Health().Errors["wait"] != 0 || b.Health().Degraded {
		t.Errorf("health after a plain run: %+v", b.Health())
	}
}

// TestRedisUserExpires: a user's hash lives as long as the latest of its
// times, so Redis forgets users by itself; a change is one round trip.
func TestRedisUserExpires(t *testing.T) {
	r := openTestRedis(t, testPrefix(), RedisOptions{})
	ctx := t.Context()
	now := time.Date(2024, 6, 12, 9, 0, 0, 0, time.UTC)
	user := userKeyOf(1)
	r.SaveUser(ctx, user, UserChange{Now: now, Set: map[string]string{"step": "1"}, SessionTTL: 10 * time.Minute})
	r.SaveUser(ctx, user, UserChange{Now: now, CooldownRule: "welcome", CooldownUntil: now.Add(time.Hour)})
	ttl := r.client.PTTL(ctx, r.prefix+"user:"+user).Val()
	if ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("the user lives %s; want the cooldown's hour", ttl)
	}
	r.SaveUser(ctx, user, UserChange{Now: now, CooldownRule: "welcome", CooldownUntil: now.Add(time.Second)})
	ttl = r.client.PTTL(ctx, r.prefix+"user:"+user).Val()
	if ttl < 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("the user lives %s; want the session's 10 minutes", ttl)
	}
	// Everything ran out: the hash goes at the next change.
	r.SaveUser(ctx, user, UserChange{Now: now.Add(time.Hour), CooldownRule: "x", CooldownUntil: now.Add(time.Hour)})
	if n := r.client.Exists(ctx, r.prefix+"user:"+user).Val(); n != 0 {
		t.Errorf("a user whose state ran out is still in Redis")
	}
}

// TestRedisTokenRefreshedOnce: eight processes (eight stores, each with its
// own connections and wxapi.Client) all see the stored token refused at once;
// WeChat's token endpoint is asked exactly once, and all of them go on with
// the new token.
func TestRedisTokenRefreshedOnce(t *testing.T) {
	for _, ep := range []wxapi.TokenEndpoint{wxapi.StableToken, wxapi.ClassicToken} {
		t.Run(string(ep), func(t *testing.T) {
			const appID, secret = "wx2c2769f8efd9abc2", "secret-of-the-test-account"
			fake := wxapitest.NewServer(t, appID, secret)
			// A slow token endpoint keeps the processes waiting together.
			fake.Fail(wxapitest.StableTokenPath, wxapitest.Fault{Delay: 100 * time.Millisecond})
			fake.Fail(wxapitest.TokenPath, wxapitest.Fault{Delay: 100 * time.Millisecond})
			prefix := testPrefix()
			const n = 8
			clients := make([]*wxapi.Client, n)
			for i := range clients {
				s := openTestRedis(t, prefix, RedisOptions{})
				// A long timeout, and so a long-lived lock: on a loaded
				// machine a fetch can outlast the default's 4 s lock.
				clients[i] = &wxapi.Client{AppID: appID, Secret: secret, BaseURL: fake.URL, TokenEndpoint: ep, TokenStore: s, Timeout: 10 * time.Second}
				if i == 0 {
					// The token an earlier run left, which WeChat no
					// longer takes.
					s.Set(t.Context(), appID, wxapi.Token{Value: "old-token", ExpiresAt: time.Now().Add(time.Hour)})
				}
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Go(func() {
					<-start
					if _, err := c.MenuGet(t.Context()); err != nil && !errors.Is(err, wxapi.ErrNoMenu) {
						t.Error(err)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := fake.TokenFetches(); got != 1 {
				t.Errorf("the token endpoint was asked %d times; want 1", got)
			}
			if got := fake.Calls(wxapitest.MenuGetPath); got < n || got > 2*n {
				t.Errorf("menu/get was called %d times; want %d to %d", got, n, 2*n)
			}
		})
	}
}

// proxy stands between a store and Redis, so that a test can take Redis
// away and bring it back on the same address.
type proxy struct {
	tb     testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	mute  bool // accept connections and never answer
}

func newProxy(tb testing.TB, target string) *proxy {
	p := &proxy{tb: tb, target: target}
	p.listen("127.0.0.1:0")
	tb.Cleanup(p.down)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.tb.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			mute := p.mute
			p.mu.Unlock()
			if !mute {
				go p.pipe(c)
			}
		}
	}()
}

func (p *proxy) pipe(c net.Conn) {
	r, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, r)
	p.mu.Unlock()
	go func() { io.Copy(r, c); r.Close() }()
	io.Copy(c, r)
	c.Close()
}

// down closes the listener and every connection: Redis is gone.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// silence cuts the connections and then accepts new ones without ever
// answering: a Redis that hangs.
func (p *proxy) silence() {
	p.down()
	p.mu.Lock()
	p.mute = true
	p.mu.Unlock()
	p.listen(p.addr)
}

// up listens again on the same address, and answers.
func (p *proxy) up() {
	p.down()
	p.mu.Lock()
	p.mute = false
	p.mu.Unlock()
	p.listen(p.addr)
}

// TestRedisDegrades: while Redis is gone, or hangs, each operation is
// answered from memory within the timeout, the failures are counted, and
// the store logs one line when it degrades and one when Redis is back; it
// then shares state through Redis again.
func TestRedisDegrades(t *testing.T) {
	o, err := ParseRedisURL(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, o.Addr)
	url := strings.Replace(redistest.URL(t), o.Addr, p.addr, 1)
	var log syncbuf.Buffer
	// Near the default 200 ms, with room for a busy machine running the
	// race detector.
	const timeout = 300 * time.Millisecond
	r := openRedisAt(t, url, testPrefix(), RedisOptions{Timeout: timeout, ProbeInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	ctx := t.Context()
	now := time.Now()
	user := userKeyOf(7)
	r.SaveUser(ctx, user, UserChange{Now: now, Set: map[string]string{"step": "in-redis"}, SessionTTL: time.Hour})

	var slowest time.Duration
	defer func() { t.Logf("the slowest operation while Redis failed took %s", slowest) }()
	for _, mode := range []struct {
		name string
		take func()
	}{{"gone", p.down}, {"hangs", p.silence}} {
		mode.take()
		// Each operation answers within the timeout, from memory.
		for i, op := range []func() error{
			func() error { _, err := r.Claim(ctx, "msg\x00"+mode.name); return err },
			func() error { return r.Finish(ctx, "msg\x00"+mode.name, []byte("r")) },
			func() error { _, err := r.LoadUser(ctx, user, now); return err },
			func() error {
				return r.SaveUser(ctx, user, UserChange{Now: now, Set: map[string]string{"step": "in-memory"}, SessionTTL: time.Hour})
			},
			func() error { _, _, err := r.Get(ctx, "wx"); return err },
		} {
			start := time.Now()
			if err := op(); err != nil {
				t.Errorf("%s: op %d: %v", mode.name, i, err)
			}
			// The timeout, and slack for a machine so busy (load 15 on two
			// cores, with the race detector) that a goroutine waits half a
			// second for a turn; far below WeChat's 5 s, and go-redis' own
			// 5 s defaults, which is what this guards.
			took := time.Since(start)
			slowest = max(slowest, took)
			if took > timeout+time.Second {
				t.Errorf("%s: op %d took %s; the timeout is %s", mode.name, i, took, timeout)
			}
		}
		h := r.Health()
		if !h.Degraded || h.LastError == "" || h.Errors["claim"] == 0 {
			t.Errorf("%s: health %+v; want degraded with a counted claim error", mode.name, h)
		}
		// While degraded, the fallback keeps this process's state.
		if u, _ := r.LoadUser(ctx, user, now); u.Session["step"] != "in-memory" {
			t.Errorf("%s: session %v from memory; want step in-memory", mode.name, u.Session)
		}
		if ok, _ := r.Claim(ctx, "msg\x00"+mode.name); ok {
			t.Errorf("%s: a retry was claimed again while degraded", mode.name)
		}

		p.up()
		// Back on Redis, once the probe has seen it: the session there is
		// the one before the outage.
		var u User
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if u, _ = r.LoadUser(ctx, user, now); !r.Health().Degraded && u.Session["step"] == "in-redis" {
				break
			}
		}
		if u.Session["step"] != "in-redis" {
			t.Fatalf("%s: session %v 5 s after Redis came back; want Redis' step in-redis (health %+v)", mode.name, u.Session, r.Health())
		}
	}
	// One line per change of state: a failure, then Redis back, and so on
	// (a loaded machine may add a round, never two lines in a row).
	out := log.String()
	t.Logf("the store's log:\n%s", out)
	var states []string
	for line := range strings.Lines(out) {
		switch {
		case strings.Contains(line, "redis failed"), strings.Contains(line, "redis does not answer"):
			states = append(states, "down")
		case strings.Contains(line, "redis answers again"):
			states = append(states, "up")
		}
	}
	if len(states) < 4 || states[len(states)-1] != "up" {
		t.Errorf("state changes logged %v; want down, up, down, up", states)
	}
	for i := 1; i < len(states); i++ {
		if states[i] == states[i-1] {
			t.Errorf("state changes logged %v: %s twice in a row", states, states[i])
			break
		}
	}
}

// TestRedisStartsDegraded: a Redis that does not answer at start is no
// reason not to start; a malformed URL is, and its error hides the password.
func TestRedisStartsDegraded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	var log syncbuf.Buffer
	start := time.Now()
	r, err := OpenRedis(t.Context(), "redis://:s3cret-pw@"+closed+"/0", RedisOptions{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("opening a Redis that is not there took %s", took)
	}
	if h := r.Health(); !h.Degraded {
		t.Errorf("health %+v; want degraded", h)
	}
	if ok, err := r.Claim(t.Context(), "k"); !ok || err != nil {
		t.Errorf("Claim while degraded: %v, %v", ok, err)
	}
	if strings.Count(log.String(), "\n") != 1 || strings.Contains(log.String(), "s3cret") {
		t.Errorf("want one line without the password:\n%s", log.String())
	}

	for _, bad := range []string{"127.0.0.1:6379", "http://127.0.0.1:6379/0", "redis://:s3cret-pw@127.0.0.1:port/0", "redis://:s3cret-pw@127.0.0.1:6379/zero", "redis://:s3cret-pw@/0", "redis://:s3cret pw@127.0.0.1:6379\x7f/0",
		// Forms other clients take: a password in the query, or no scheme.
		"redis://127.0.0.1:6379/0?password=s3cret-pw", "default:s3cret-pw@127.0.0.1:6379"} {
		_, err := OpenRedis(t.Context(), bad, RedisOptions{})
		if err == nil {
			t.Errorf("%q: no error", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "redis://[:password@]host:port/db") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
