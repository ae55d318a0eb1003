package backend_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/backend"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json with the requests sent")

var secret = []byte("s3cret")

// now is the clock of every test Client, so requests are the same each run.
var now = time.Unix(1700000000, 0)

var textPush = map[string]string{
	"ToUserName":   "gh_account",
	"FromUserName": "oUser123",
	"CreateTime":   "1700000000",
	"MsgType":      "text",
	"Content":      "order 42",
	"MsgId":        "9223372036854775807",
}

var clickPush = map[string]string{
	"ToUserName":   "gh_account",
	"FromUserName": "oUser123",
	"CreateTime":   "1700000000",
	"MsgType":      "event",
	"Event":        "CLICK",
	"EventKey":     "MY_ORDERS",
}

// picsPush has WeChat's nested groups: a list of <item>s inside a group.
var picsPush = map[string]string{
	"ToUserName":                             "gh_account",
	"FromUserName":                           "oUser123",
	"CreateTime":                             "1700000000",
	"MsgType":                                "event",
	"Event":                                  "pic_weixin",
	"EventKey":                               "SEND_PICS",
	"SendPicsInfo/Count":                     "2",
	"SendPicsInfo/PicList/item[0]/PicMd5Sum": "1b5f7c23b5bf75682a53e7b6d163e185",
	"SendPicsInfo/PicList/item[1]/PicMd5Sum": "b8e9f1f3a7c3f4e0cd2a4b6a6e1d7f02",
}

func event(t testing.TB, fields map[string]string) *engine.Event {
	t.Helper()
	ev, err := engine.NewEvent(fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func client() *backend.Client {
	return &backend.Client{Secret: secret, Now: func() time.Time { return now }}
}

func within(url string, d time.Duration) *engine.Backend {
	return &engine.Backend{URL: url, Timeout: d, PassiveWait: time.Second}
}

// answering is a backend that answers every request with status and body.
func answering(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, c *backend.Client, url string) ([]*engine.Reply, error) {
	t.Helper()
	return c.Call(context.Background(), within(url, 5*time.Second), "order", event(t, textPush))
}

func TestCallOneReply(t *testing.T) {
	srv := answering(t, http.StatusOK, `{"text": "Order 42 ships today"}`)
	replies, err := call(t, client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].Kind != engine.KindText || replies[0].Text() != "Order 42 ships today" {
		t.Errorf("replies = %v; want one text, Order 42 ships today", replies)
	}
}

func TestCallList(t *testing.T) {
	srv := answering(t, http.StatusOK, `[
		{"text": "Your orders:"},
		{"image": {"media_id": "MEDIA1"}},
		{"news": [{"title": "Order 42", "url": "https://shop.example/42"}, {"title": "Order 43", "description": null}]},
		{"transfer_customer_service": {}}
	]`)
	replies, err := call(t, client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := []*engine.Reply{
		engine.NewReply(engine.KindText, map[string]string{"text": "Your orders:"}),
		engine.NewReply(engine.KindImage, map[string]string{"media_id": "MEDIA1"}),
		engine.NewReply(engine.KindNews, nil,
			map[string]string{"title": "Order 42", "url": "https://shop.example/42"},
			map[string]string{"title": "Order 43"}),
		engine.NewReply(engine.KindTransferService, nil),
	}
	if got, want := show(replies), show(want); got != want {
		t.Errorf("replies:\n%s\nwant:\n%s", got, want)
	}
}

func show(replies []*engine.Reply) string {
	var b strings.Builder
	for _, r := range replies {
		b.WriteString(r.String())
	}
	return b.String()
}

func TestCallNothing(t *testing.T) {
	for name, answer := range map[string]struct {
		status int
		body   string
	}{
		"204":         {http.StatusNoContent, ""},
		"empty list":  {http.StatusOK, "[]\n"},
		"empty body":  {http.StatusOK, ""},
		"202 nothing": {http.StatusAccepted, ""},
	} {
		t.Run(name, func(t *testing.T) {
			srv := answering(t, answer.status, answer.body)
			replies, err := call(t, client(), srv.URL)
			if err != nil || len(replies) != 0 {
				t.Errorf("Call = %v, %v; want no replies, no error", replies, err)
			}
		})
	}
}

func TestCallStatus(t *testing.T) {
	srv := answering(t, http.StatusInternalServerError, "database down\n")
	_, err := call(t, client(), srv.URL+"/orders?key=hidden#x")
	var e *backend.Error
	if !errors.As(err, &e) || e.Outcome != backend.Status || e.StatusCode != 500 || backend.OutcomeOf(err) != backend.Status {
		t.Fatalf("err = %#v; want a Status error with 500", err)
	}
	want := fmt.Sprintf(`rule "order": backend %s/orders: answered 500 Internal Server Error: "database down": see the backend's logs; it must answer 2xx with replies, or 204 for none`, srv.URL)
	if err.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", err, want)
	}
}

func TestCallRedirect(t *testing.T) {
	other := answering(t, http.StatusOK, `{"text": "from elsewhere"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL, http.StatusTemporaryRedirect)
		case "/found":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusTemporaryRedirect)
		case "/moved":
			http.Redirect(w, r, "/final", http.StatusPermanentRedirect)
		case "/keyed":
			http.Redirect(w, r, "/final?key=SECRET-KEY-1", http.StatusMovedPermanently)
		case "/final":
			if _, err := backend.Verify(secret, r, time.Hour, now); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			io.WriteString(w, `{"text": "final"}`)
		}
	}))
	t.Cleanup(srv.Close)

	replies, err := call(t, client(), srv.URL+"/moved")
	if err != nil || len(replies) != 1 || replies[0].Text() != "final" {
		t.Errorf("308 on the same host: %v, %v; want the final answer, signed body kept", replies, err)
	}
	for _, path := range []string{"/away", "/found", "/loop", "/keyed"} {
		_, err := call(t, client(), srv.URL+path)
		var e *backend.Error
		if !errors.As(err, &e) || e.Outcome != backend.Status || e.Location == "" || !strings.Contains(err.Error(), "set backend.url to the final address") {
			t.Errorf("%s: err = %v; want a Status error naming the redirect", path, err)
		}
		// A key in the address goes to no log.
		if err != nil && strings.Contains(err.Error(), "SECRET-KEY-1") {
			t.Errorf("%s: the error shows the redirect's query: %v", path, err)
		}
	}

	// From https to http, on the same host (ports 443 and 80, which a URL
	// leaves out): the signed push would go in the clear.
	var plain atomic.Bool
	plainSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plain.Store(true) }))
	t.Cleanup(plainSrv.Close)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://api.example.com/plain", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(tlsSrv.Close)
	transport := tlsSrv.Client().Transport.(*http.Transport).Clone()
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		to := plainSrv.Listener.Addr().String()
		if addr == "api.example.com:443" {
			to = tlsSrv.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, to)
	}
	c := client()
	c.HTTP = &http.Client{Transport: transport}
	_, err = call(t, c, "https://api.example.com/down")
	var e *backend.Error
	if !errors.As(err, &e) || e.Outcome != backend.Status || plain.Load() {
		t.Errorf("307 from https to http: err = %v, sent in the clear: %v; want a Status error, nothing sent", err, plain.Load())
	}
}

// TestCallLargeHeaders: a backend's headers are held to 16 KiB, as its body
// is to its cap: a backend stalling after megabytes of headers would hold
// them for each call in flight.
func TestCallLargeHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 40 {
			w.Header().Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("x", 1000))
		}
		io.WriteString(w, `{"text": "hi"}`)
	}))
	t.Cleanup(srv.Close)
	if replies, err := call(t, client(), srv.URL); err == nil {
		t.Errorf("40 KB of headers: %v, want an error", replies)
	}
}

// waitGoroutines waits until no more goroutines run than before, or fails
// after a deadline: the transport's connection goroutines end a little
// after the call returns.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the call:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCallTimeout(t *testing.T) {
	for name, handler := range map[string]http.HandlerFunc{
		// Each reads the request first: the server notices a closed
		// connection, and cancels r.Context(), only once it has.
		"no headers": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		},
		"a slow body": func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"text": "`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		},
	} {
		t.Run(name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			srv := httptest.NewServer(handler)
			transport := &http.Transport{}
			c := client()
			c.HTTP = &http.Client{Transport: transport}

			start := time.Now()
			_, err := c.Call(context.Background(), within(srv.URL, 200*time.Millisecond), "order", event(t, textPush))
			elapsed := time.Since(start)

			var e *backend.Error
			if !errors.As(err, &e) || e.Outcome != backend.Timeout {
				t.Fatalf("err = %v; want a Timeout error", err)
			}
			if elapsed > 2*time.Second {
				t.Errorf("the call returned after %s; the timeout is 200ms", elapsed)
			}
			want := fmt.Sprintf(`rule "order": backend %s: no answer within 200ms: make the backend answer sooner, or raise the rule's backend.timeout`, srv.URL)
			if err.Error() != want {
				t.Errorf("error:\n%s\nwant:\n%s", err, want)
			}
			// Close waits for the handler, which ends only when the
			// call has closed its connection.
			srv.Close()
			transport.CloseIdleConnections()
			waitGoroutines(t, before)
		})
	}
}

// TestCallCallerDeadline: a caller's deadline sooner than the rule's
// timeout ends the call, and the error gives that bound.
func TestCallCallerDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := client().Call(ctx, within(srv.URL, time.Minute), "order", event(t, textPush))
	var e *backend.Error
	if !errors.As(err, &e) || e.Outcome != backend.Timeout || e.Timeout <= 0 || e.Timeout > 100*time.Millisecond {
		t.Errorf("err = %#v; want a Timeout of at most the caller's 100ms", err)
	}
}

// TestCallHTTPTimeout: a bound of the Client's own http.Client is a
// timeout too, and says which.
func TestCallHTTPTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := client()
	c.HTTP = &http.Client{Timeout: 50 * time.Millisecond}
	_, err := c.Call(context.Background(), within(srv.URL, time.Minute), "order", event(t, textPush))
	if backend.OutcomeOf(err) != backend.Timeout || !strings.Contains(err.Error(), "Client.Timeout exceeded") {
		t.Errorf("err = %v; want a Timeout naming the HTTP client's", err)
	}
}

func TestCallCanceled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := client().Call(ctx, within(srv.URL, time.Minute), "order", event(t, textPush))
	if backend.OutcomeOf(err) != backend.Canceled {
		t.Errorf("err = %v; want a Canceled error", err)
	}
}

func TestCallHugeBody(t *testing.T) {
	huge := `{"text": "` + strings.Repeat("a", 1<<20) + `"}`
	srv := answering(t, http.StatusOK, huge)
	_, err := call(t, client(), srv.URL)
	want := fmt.Sprintf(`rule "order": backend %s: invalid answer: the answer is over 64 KiB; six replies fit in far less: send the text itself, not a page around it`, srv.URL)
	if backend.OutcomeOf(err) != backend.Invalid || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}

	c := client()
	c.MaxResponseBytes = 4 << 10
	small := answering(t, http.StatusOK, `{"text": "`+strings.Repeat("a", 5000)+`"}`)
	if _, err := call(t, c, small.URL); err == nil || !strings.Contains(err.Error(), "over 4 KiB") {
		t.Errorf("MaxResponseBytes 4 KiB, 5000-byte answer: err = %v; want over 4 KiB", err)
	}
}

func TestCallInvalid(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not JSON", `<html>oops</html>`, `not JSON: invalid character '<' looking for beginning of value`},
		{"two values", `{"text": "a"} {"text": "b"}`, `not JSON: more than one JSON value`},
		{"a kind twice", `{"text": "a", "text": "b"}`, `"text" appears twice in one object: which one should be sent?`},
		{"a field twice", `[{"text": "a"}, {"image": {"media_id": "A", "media_id": "B"}}]`, `"media_id" appears twice in one object: which one should be sent?`},
		{"a string", `"hello"`, `want a reply ({"text": "…"}) or a list of replies, got text`},
		{"null", `null`, `want a reply ({"text": "…"}) or a list of replies, got null`},
		{"too many", `[{"text":"1"},{"text":"2"},{"text":"3"},{"text":"4"},{"text":"5"},{"text":"6"},{"text":"7"}]`,
			`7 replies: at most 6 are sent (one passive reply and five through the customer-service API)`},
		{"unknown kind", `{"txt": "hello"}`, `the reply: unknown reply kind "txt": did you mean "text"?`},
		{"far from any kind", `{"sticker": "x"}`, `the reply: unknown reply kind "sticker" (known: text, image, voice, video, music, news, transfer_customer_service)`},
		{"no kind", `[{"text": "ok"}, {}]`, `reply 2 of 2: no reply kind: give one of text, image, voice, video, music, news, transfer_customer_service`},
		{"two kinds", `{"text": "a", "image": {"media_id": "M"}}`, `the reply: "image" and "text": a reply has exactly one kind; send a list for several replies`},
		{"not an object", `["hello"]`, `reply 1 of 1: want an object of one reply kind (text, image, voice, video, music, news, transfer_customer_service), got text`},
		{"empty text", `{"text": "  "}`, `the reply: text: the text is empty: answer 204, or [], to send nothing`},
		{"text as a number", `{"text": 42}`, `the reply: text: want text, got a number (42)`},
		{"unknown field", `[{"text": "ok"}, {"image": {"mediaid": "M"}}]`,
			`reply 2 of 2: image: unknown field "mediaid": did you mean "media_id"?; reply 2 of 2: image: media_id is required: the id of a file uploaded with WeChat's media upload API`},
		{"missing required", `{"music": {"title": "Song", "music_url": "https://x/a.mp3"}}`,
			`the reply: music: thumb_media_id is required: the thumbnail: the id of a file uploaded with WeChat's media upload API`},
		{"field not text", `{"video": {"media_id": "M", "title": ["a"]}}`, `the reply: video: title: want text, got a list`},
		{"fields not an object", `{"image": "M"}`, `the reply: image: want an object of media_id, got text`},
		{"news not a list", `{"news": {"title": "T"}}`, `the reply: news: want a list of articles, got an object`},
		{"no articles", `{"news": []}`, `the reply: news: no articles: give 1 to 8`},
		{"too many articles", `{"news": [` + strings.Repeat(`{"title": "T"},`, 8) + `{"title": "T"}]}`,
			`the reply: news: 9 articles: WeChat accepts at most 8`},
		{"article without title", `{"news": [{"title": "T"}, {"url": "https://x"}]}`,
			`the reply: news: article 2: title is required: the article's title`},
		{"many problems", `[{"a": 1}, {"b": 1}, {"c": 1}, {"d": 1}, {"e": 1}, {"f": 1}]`,
			`reply 1 of 6: unknown reply kind "a" (known: text, image, voice, video, music, news, transfer_customer_service); ` +
				`reply 2 of 6: unknown reply kind "b" (known: text, image, voice, video, music, news, transfer_customer_service); ` +
				`reply 3 of 6: unknown reply kind "c" (known: text, image, voice, video, music, news, transfer_customer_service); ` +
				`reply 4 of 6: unknown reply kind "d" (known: text, image, voice, video, music, news, transfer_customer_service); ` +
				`reply 5 of 6: unknown reply kind "e" (known: text, image, voice, video, music, news, transfer_customer_service); and 1 more`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := answering(t, http.StatusOK, tt.body)
			_, err := call(t, client(), srv.URL)
			want := fmt.Sprintf("rule %q: backend %s: invalid answer: %s", "order", srv.URL, tt.want)
			if backend.OutcomeOf(err) != backend.Invalid || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
		})
	}
}

func TestCallNotJSONNamesContentType(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html>Welcome to nginx!</html>")
	}))
	t.Cleanup(srv.Close)
	_, err := call(t, client(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), `not JSON (Content-Type "text/html; charset=utf-8")`) {
		t.Errorf("err = %v; want it to name the Content-Type", err)
	}
}

func TestCallUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := srv.URL
	srv.Close()
	_, err := call(t, client(), closed+"/orders?key=hidden")
	if backend.OutcomeOf(err) != backend.Unreachable || !strings.Contains(err.Error(), "connection refused: check that the backend runs") || strings.Contains(err.Error(), "hidden") {
		t.Errorf("closed server: err = %v; want Unreachable, without the query", err)
	}

	open := answering(t, http.StatusOK, `{"text": "hi"}`)
	_, err = call(t, &backend.Client{}, open.URL)
	if backend.OutcomeOf(err) != backend.Unreachable || !strings.Contains(err.Error(), "start wxreply serve with --backend-secret") {
		t.Errorf("no secret: err = %v; want Unreachable, saying to give --backend-secret", err)
	}
	_, err = call(t, client(), "ftp://user:pass@example.com/?key=hidden")
	if backend.OutcomeOf(err) != backend.Unreachable || !strings.Contains(err.Error(), `backend ftp://example.com/: the url must be`) || !strings.Contains(err.Error(), "fix the rule's backend.url") {
		t.Errorf("ftp URL: err = %v; want Unreachable, naming the URL without its user and query, saying to fix the url", err)
	}
	_, err = call(t, client(), "http://%zz")
	if !strings.Contains(err.Error(), `backend "http://%zz": the url must be`) {
		t.Errorf("unparsable URL: err = %v; want it quoted", err)
	}
}

func TestOutcomeOf(t *testing.T) {
	if got := backend.OutcomeOf(nil); got != backend.OK {
		t.Errorf("OutcomeOf(nil) = %s", got)
	}
	if got := backend.OutcomeOf(fmt.Errorf("push: %w", &backend.Error{Outcome: backend.Timeout})); got != backend.Timeout {
		t.Errorf("OutcomeOf(wrapped Timeout) = %s", got)
	}
	if got := backend.OutcomeOf(errors.New("other")); got != backend.Unreachable {
		t.Errorf("OutcomeOf(other error) = %s", got)
	}
}

// recorder is a backend that keeps the last request it got and answers
// nothing.
type recorder struct {
	mu     sync.Mutex
	header http.Header
	body   []byte
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.header, rec.body = r.Header.Clone(), body
	rec.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rec *recorder) last() (http.Header, []byte) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.header, rec.body
}

// TestRequestGolden checks the JSON a backend receives against
// testdata/<name>.golden.json (indented there, for people to read).
func TestRequestGolden(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	// A push as the server reads it, so that the paths of its groups are
	// the decoder's.
	scan, err := server.DecodeFields(strings.NewReader(`<xml>
		<ToUserName><![CDATA[gh_account]]></ToUserName>
		<FromUserName><![CDATA[oUser123]]></FromUserName>
		<CreateTime>1700000000</CreateTime>
		<MsgType><![CDATA[event]]></MsgType>
		<Event><![CDATA[scancode_waitmsg]]></Event>
		<EventKey><![CDATA[SCAN_ORDER]]></EventKey>
		<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType><ScanResult><![CDATA[order:42]]></ScanResult></ScanCodeInfo>
	</xml>`))
	if err != nil {
		t.Fatal(err)
	}
	for name, push := range map[string]map[string]string{
		"text":             textPush,
		"click":            clickPush,
		"pic_weixin":       picsPush,
		"scancode_waitmsg": scan,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := client().Call(context.Background(), within(srv.URL, 5*time.Second), "order", event(t, push)); err != nil {
				t.Fatal(err)
			}
			header, body := rec.last()
			for key, want := range map[string]string{
				"Content-Type":          "application/json",
				backend.TimestampHeader: "1700000000",
				backend.SignatureHeader: backend.Sign(secret, "1700000000", body),
			} {
				if got := header.Get(key); got != want {
					t.Errorf("%s: %q; want %q", key, got, want)
				}
			}
			// docs/backend.md shows this request, signed with s3cret.
			if want := "sha256=fd7de30e2ba8d3476ed17abdb4683cb632343b0836fe8c901617bceee8ceded0"; name == "text" && header.Get(backend.SignatureHeader) != want {
				t.Errorf("signature %s; docs/backend.md shows %s", header.Get(backend.SignatureHeader), want)
			}
			var indented bytes.Buffer
			if err := json.Indent(&indented, body, "", "  "); err != nil {
				t.Fatalf("the body is not JSON: %v\n%s", err, body)
			}
			indented.WriteByte('\n')
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, indented.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(indented.Bytes(), want) {
				t.Errorf("request body:\n%s\nwant (%s):\n%s", indented.Bytes(), golden, want)
			}
		})
	}
}

// TestRuleWins: a push cannot pass for another rule with an element of
// its own named rule.
func TestRuleWins(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	push := map[string]string{"rule": "admin"}
	for k, v := range textPush {
		push[k] = v
	}
	if _, err := client().Call(context.Background(), within(srv.URL, 5*time.Second), "order", event(t, push)); err != nil {
		t.Fatal(err)
	}
	_, body := rec.last()
	var got struct{ Rule string }
	if err := json.Unmarshal(body, &got); err != nil || got.Rule != "order" {
		t.Errorf("rule = %q (%v); want order", got.Rule, err)
	}
}

// TestHandWrittenVerifier checks the signature the way a backend in any
// language would, from docs/backend.md alone: HMAC-SHA256 with the secret
// over the timestamp header, a dot and the raw body, in hex after sha256=.
func TestHandWrittenVerifier(t *testing.T) {
	verified := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verified <- func() error {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return err
			}
			ts := r.Header.Get("X-Wxreply-Timestamp")
			if unix, err := strconv.ParseInt(ts, 10, 64); err != nil || unix != now.Unix() {
				return fmt.Errorf("timestamp %q; want %d", ts, now.Unix())
			}
			m := hmac.New(sha256.New, []byte("s3cret"))
			m.Write([]byte(ts + "." + string(body)))
			want := "sha256=" + hex.EncodeToString(m.Sum(nil))
			if got := r.Header.Get("X-Wxreply-Signature"); got != want {
				return fmt.Errorf("signature %q; want %q", got, want)
			}
			return nil
		}()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	if _, err := call(t, client(), srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := <-verified; err != nil {
		t.Error(err)
	}
}

// TestSignKnownAnswer pins Sign to a value computed outside Go, with the
// openssl command docs/backend.md shows:
//
//	printf '%s' '1700000000.{"rule":"order"}' | openssl dgst -sha256 -hmac 's3cret'
func TestSignKnownAnswer(t *testing.T) {
	got := backend.Sign([]byte("s3cret"), "1700000000", []byte(`{"rule":"order"}`))
	want := "sha256=736086e696a73ba5a407ab5c2f67b0fb8c020c815bbf5af01b299204a5a56d1f"
	if got != want {
		t.Errorf("Sign = %s; want %s", got, want)
	}
}
