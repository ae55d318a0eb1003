//go:build !windows

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/redistest"
	"github.com/wxreply/wxreply/server"
)

// Several instances sharing one Redis, as behind a load balancer: the tests
// of "Running several instances" in the README. They need a Redis:
// WXREPLY_TEST_REDIS (redis://127.0.0.1:PORT/DB), which .ci/run starts; the
// outage test starts its own redis-server.

const e2eToken = "e2e-redis-token"

// startInstances starts n servers on the bundled examples, sharing the Redis
// at url under a prefix of the test's own.
func startInstances(t *testing.T, n int, url string, extra ...string) []*e2eServer {
	t.Helper()
	prefix := fmt.Sprintf("wxreply-e2e-%s-%d:", t.Name(), time.Now().UnixNano())
	var out []*e2eServer
	for range n {
		args := append([]string{"--token", e2eToken, "--redis", url, "--redis-prefix", prefix}, extra...)
		out = append(out, startServe(t, nil, args...))
	}
	return out
}

// pushText is a text push from user, as WeChat sends it.
func pushText(user, content string, msgID int64) []byte {
	return fmt.Appendf(nil, "<xml><ToUserName><![CDATA[gh_e2e_account]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>",
		user, time.Now().Unix(), content, msgID)
}

var e2eMsgIDs struct {
	sync.Mutex
	n int64
}

func nextMsgID() int64 {
	e2eMsgIDs.Lock()
	defer e2eMsgIDs.Unlock()
	if e2eMsgIDs.n == 0 {
		e2eMsgIDs.n = time.Now().UnixNano() / 1000
	}
	e2eMsgIDs.n++
	return e2eMsgIDs.n
}

// post sends push to s and returns the server's response; it fails the test
// on an error or a status other than 200.
func (s *e2eServer) post(t *testing.T, push []byte) *server.Response {
	t.Helper()
	c := &server.Client{URL: s.URL, Token: e2eToken}
	resp, err := c.Send(context.Background(), push)
	if err != nil {
		t.Fatalf("push to %s: %v\n%s", s.URL, err, s.output())
	}
	return resp
}

// say sends a text from user to s and returns the reply's text, or
// "success".
func (s *e2eServer) say(t *testing.T, user, content string) string {
	t.Helper()
	resp := s.post(t, pushText(user, content, nextMsgID()))
	if resp.Reply == nil {
		return "success"
	}
	return resp.Reply.Text()
}

// hits is the sum of wxreply_rule_hits_total{rule} over servers.
func hits(t *testing.T, rule string, servers ...*e2eServer) float64 {
	t.Helper()
	sum := 0.0
	for _, s := range servers {
		if v := s.metric(t, `wxreply_rule_hits_total{rule="`+rule+`"}`); v > 0 {
			sum += v
		}
	}
	return sum
}

// TestE2ERedisRetryOnAnotherInstance: WeChat's retry of a push, landing on
// another instance, gets the first reply's bytes, and the rule answers once.
func TestE2ERedisRetryOnAnotherInstance(t *testing.T) {
	skipShort(t)
	url := redistest.URL(t)
	t.Parallel()
	s := startInstances(t, 2, url)
	push := pushText("oRetryUser0000000000000000001", "hello", nextMsgID())
	first := s[0].post(t, push)
	retry := s[1].post(t, push)
	if first.Reply == nil || string(retry.Raw) != string(first.Raw) {
		t.Fatalf("the retry on B got\n%s\nthe first delivery on A\n%s", retry.Raw, first.Raw)
	}
	if retry.Outcome != "retry" {
		t.Errorf("B answered with outcome %q, want retry", retry.Outcome)
	}
	if n := hits(t, "greeting", s...); n != 1 {
		t.Errorf("greeting answered %v times across A and B, want 1", n)
	}
}

// TestE2ERedisStateSharedAcrossInstances: a cooldown started through A holds
// on B, and a three-step conversation alternating A, B, A completes.
func TestE2ERedisStateSharedAcrossInstances(t *testing.T) {
	skipShort(t)
	url := redistest.URL(t)
	t.Parallel()
	s := startInstances(t, 2, url)
	a, b := s[0], s[1]

	const chatty = "oChattyUser00000000000000002"
	if got := a.say(t, chatty, "asdfgh"); !strings.HasPrefix(got, "抱歉") {
		t.Fatalf("A: the fallback did not answer: %q", got)
	}
	if got := b.say(t, chatty, "qwerty"); got != "success" {
		t.Errorf("B answered %q during the fallback's cooldown started through A, want success (no reply)", got)
	}

	const booker = "oBookingUser0000000000000003"
	steps := []struct {
		on         *e2eServer
		says, want string
	}{
		{a, "book", "How many people?"},
		{b, "2", "2 people. What time?"},
		{a, "19:30", "Booked: 2 people at 19:30"},
	}
	for i, st := range steps {
		if got := st.on.say(t, booker, st.says); !strings.Contains(got, st.want) {
			t.Fatalf("step %d: %q answered %q, want it to contain %q", i+1, st.says, got, st.want)
		}
	}
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// redisServer is a redis-server of the test's own, which it stops and
// starts again.
type redisServer struct {
	port int
	cmd  *exec.Cmd
	dir  string
}

func startRedis(t *testing.T, port int, dir string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed: .ci/run installs it")
		}
		t.Skip("needs redis-server on PATH (apt-get install redis-server)")
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{port: port, cmd: cmd, dir: dir}
	t.Cleanup(r.stop)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	if r.cmd.ProcessState == nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// TestE2ERedisOutage: Redis stopped for 10 s while two instances take
// traffic. Every push is answered 200 within 4.5 s (WeChat waits 5), and
// once Redis is back the instances share state again.
func TestE2ERedisOutage(t *testing.T) {
	skipShort(t)
	t.Parallel()
	port := freePort(t)
	dir := t.TempDir()
	redis := startRedis(t, port, dir)
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	s := startInstances(t, 2, url)

	type outcome struct {
		status  int
		err     error
		latency time.Duration
	}
	var mu sync.Mutex
	var results []outcome
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &server.Client{URL: s[w%2].URL, Token: e2eToken}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				user := fmt.Sprintf("oOutageUser%02d%015d", w, i%50)
				start := time.Now()
				resp, err := c.Send(context.Background(), pushText(user, "hello", nextMsgID()))
				o := outcome{err: err, latency: time.Since(start)}
				if resp != nil {
					o.status = resp.Status
				}
				mu.Lock()
				results = append(results, o)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	redis.stop()
	time.Sleep(10 * time.Second)
	startRedis(t, port, dir) // stopped by its cleanup, as the first one is
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	if len(results) < 100 {
		t.Fatalf("only %d pushes sent during the outage test", len(results))
	}
	var failed int
	var slowest time.Duration
	for _, o := range results {
		slowest = max(slowest, o.latency)
		if o.err != nil || o.status != 200 {
			failed++
			if failed <= 3 {
				t.Errorf("push answered %d, %v", o.status, o.err)
			}
		}
	}
	t.Logf("%d pushes, %d not 200, slowest %s", len(results), failed, slowest)
	if failed > 0 {
		t.Errorf("%d of %d pushes were not answered 200", failed, len(results))
	}
	if slowest > 4500*time.Millisecond {
		t.Errorf("the slowest push took %s, more than 4.5 s", slowest)
	}
	// Only the first failure is counted: the store then turns degraded and
	// serves from memory untried. Which operation meets Redis gone first
	// (a claim, a session's load or save, a finish) is the race's to say.
	for _, inst := range s {
		if v := inst.metricSum(t, "wxreply_store_errors_total"); v <= 0 {
			t.Errorf("%s counted no store errors during the outage", inst.URL)
		}
	}

	// Back to sharing: wait until both instances use Redis again, then a
	// cooldown started through A holds on B.
	deadline := time.Now().Add(10 * time.Second)
	for s[0].metric(t, "wxreply_store_degraded")+s[1].metric(t, "wxreply_store_degraded") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the instances still use their local stores 10 s after Redis came back\n%s\n%s", s[0].output(), s[1].output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	const chatty = "oAfterOutage0000000000000004"
	if got := s[0].say(t, chatty, "asdfgh"); !strings.HasPrefix(got, "抱歉") {
		t.Fatalf("A: the fallback did not answer: %q", got)
	}
	if got := s[1].say(t, chatty, "qwerty"); got != "success" {
		t.Errorf("after the outage, B answered %q during a cooldown started through A", got)
	}
	// The outage is logged once per change of state, not once per push.
	for _, inst := range s {
		if n := strings.Count(inst.stderr.String(), "keeping state in this process's memory"); n < 1 || n > 3 {
			t.Errorf("%s logged %d lines about the store going down, want one per outage\n%s", inst.URL, n, inst.output())
		}
	}
}
