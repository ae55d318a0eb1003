package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server/wxcrypto"
	"github.com/wxreply/wxreply/store"
)

// TestMaxInflightSheds is S06 of /work/shared/reliability.md: with every
// turn taken, an authentic push is answered "success" after the shed wait,
// counted in wxreply_pushes_shed_total and logged as outcome=shed, while
// /healthz and /readyz still answer; once a turn is free, pushes are
// matched again.
func TestMaxInflightSheds(t *testing.T) {
	res, err := rules.Load("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	now := time.Unix(1718170200, 0)
	s, err := New(Options{Token: "t", MaxInflight: 2, ShedWait: time.Millisecond,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&log, nil))}, engine.New(res.RuleSet, nil))
	if err != nil {
		t.Fatal(err)
	}
	push, err := os.ReadFile("testdata/fixtures/text.xml")
	if err != nil {
		t.Fatal(err)
	}
	nonce := 0
	post := func() *httptest.ResponseRecorder {
		nonce++
		ts, n := strconv.FormatInt(now.Unix(), 10), strconv.Itoa(nonce)
		q := "timestamp=" + ts + "&nonce=" + n + "&signature=" + wxcrypto.Sign("t", ts, n)
		// A MsgId of its own, so that no push is a retry of another.
		body := bytes.Replace(push, []byte("7382914650123456701"), []byte("73829146501234567"+strconv.Itoa(10+nonce)), 1)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(body)))
		return rec
	}
	get := func(h http.Handler, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}

	// Two pushes being matched: every turn is taken.
	s.inflight <- struct{}{}
	s.inflight <- struct{}{}
	if rec := post(); rec.Code != http.StatusOK || rec.Body.String() != "success" {
		t.Errorf("with every turn taken: %d %q, want 200 success", rec.Code, rec.Body)
	}
	for _, h := range []http.Handler{s.Handler(), s.AdminHandler()} {
		for _, path := range []string{"/healthz", "/readyz"} {
			if rec := get(h, path); rec.Code != http.StatusOK {
				t.Errorf("GET %s with every turn taken: %d", path, rec.Code)
			}
		}
	}
	metrics, _ := io.ReadAll(get(s.AdminHandler(), "/metrics").Body)
	for _, want := range []string{"wxreply_pushes_shed_total 1\n", `outcome="shed"} 1`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(log.String(), "outcome=shed") {
		t.Errorf("the shed push is not logged as one:\n%s", log.String())
	}

	// A turn comes free: the next push is matched.
	<-s.inflight
	if rec := post(); !bytes.Contains(rec.Body.Bytes(), []byte("You said: ")) {
		t.Errorf("with a turn free: %d %q, want the text-echo rule's reply", rec.Code, rec.Body)
	}
	if n := len(s.inflight); n != 1 {
		t.Errorf("%d turns taken after the push, want 1 (its own given back)", n)
	}
}

// waitingStore is a store.Memory that reports each Wait as it begins.
type waitingStore struct {
	*store.Memory
	waiting chan string
}

func (w waitingStore) Wait(ctx context.Context, key string) ([]byte, error) {
	w.waiting <- key
	return w.Memory.Wait(ctx, key)
}

// TestStopAnswersPushesInFlight: a push held in flight (here a retry waiting
// for a first delivery that never ends, with an hour's deadline) is answered
// "success" as soon as the server is stopped, and so is a push after Stop:
// a shutdown answers pushes rather than cutting them.
func TestStopAnswersPushesInFlight(t *testing.T) {
	res, err := rules.Load("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	ws := waitingStore{store.NewMemory(store.MemoryOptions{RetryTTL: time.Hour}), make(chan string, 1)}
	var log syncbuf.Buffer
	now := time.Unix(1718170200, 0)
	s, err := New(Options{Token: "t", Store: ws, Deadline: time.Hour,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&log, nil))}, engine.New(res.RuleSet, nil))
	if err != nil {
		t.Fatal(err)
	}
	push, err := os.ReadFile("testdata/fixtures/text.xml")
	if err != nil {
		t.Fatal(err)
	}
	post := func(nonce string) *httptest.ResponseRecorder {
		ts := strconv.FormatInt(now.Unix(), 10)
		q := "timestamp=" + ts + "&nonce=" + nonce + "&signature=" + wxcrypto.Sign("t", ts, nonce)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q, bytes.NewReader(push)))
		return rec
	}
	fields, err := DecodeFields(bytes.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := engine.NewEvent(fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The first delivery, never answered.
	if ok, _ := ws.Claim(t.Context(), dedupeKey(ev)); !ok {
		t.Fatal("claim")
	}
	answered := make(chan *httptest.ResponseRecorder)
	go func() { answered <- post("1") }()
	<-ws.waiting // the retry waits for the first delivery
	s.Stop()
	if rec := <-answered; rec.Code != http.StatusOK || rec.Body.String() != "success" {
		t.Errorf("the push in flight at Stop: %d %q, want 200 success", rec.Code, rec.Body)
	}

	// After Stop, a new push is answered at once too, by no rule.
	push = bytes.Replace(push, []byte("7382914650123456701"), []byte("7382914650123456702"), 1)
	if rec := post("2"); rec.Code != http.StatusOK || rec.Body.String() != "success" {
		t.Errorf("a push after Stop: %d %q, want 200 success", rec.Code, rec.Body)
	}
	if !strings.Contains(log.String(), "outcome=shutdown") {
		t.Errorf("no push logged with outcome=shutdown:\n%s", log.String())
	}
}
