package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// DefaultMaxResponseBytes bounds a backend's answer when Client sets no
// bound: six replies of the longest text WeChat delivers fit many times.
const DefaultMaxResponseBytes = 64 << 10

// maxErrorBody bounds how much of a non-2xx answer is read for the error.
const maxErrorBody = 200

// maxRedirects bounds the redirects followed within one host.
const maxRedirects = 3

// Client calls the backends of rules. Set its fields before the first call
// and do not change them after; a Client is safe for concurrent use.
type Client struct {
	// Secret signs every request (X-Wxreply-Signature); a call without
	// one fails, as a backend could not tell wxreply from anyone else.
	Secret []byte
	// HTTP sends the requests; a client with the default transport when
	// nil. Its CheckRedirect runs after the Client's own, which follows
	// only 307 and 308 within the backend's host.
	HTTP *http.Client
	// Now stamps X-Wxreply-Timestamp; time.Now when nil.
	Now func() time.Time
	// MaxResponseBytes bounds an answer; DefaultMaxResponseBytes when 0.
	MaxResponseBytes int64
}

// defaultHTTP is Go's client, but with a backend's headers held to
// maxHeaderBytes: the body is capped by MaxResponseBytes, and Go's 10 MB
// of headers an answer let a backend that stalls after its headers hold
// gigabytes across the calls in flight.
var defaultHTTP = &http.Client{Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = maxHeaderBytes
	return t
}()}

// maxHeaderBytes bounds a backend answer's headers: a few hundred bytes
// are usual.
const maxHeaderBytes = 16 << 10

// Call posts the push ev, answered by the rule ruleID, to the backend b and
// returns its replies: none when it answered 204 or an empty list. The call,
// the answer's body included, takes at most b.Timeout
// (engine.DefaultBackendTimeout when 0), or less when ctx ends sooner.
//
// Every error is an *Error; OutcomeOf says which kind, for counting.
func (c *Client) Call(ctx context.Context, b *engine.Backend, ruleID string, ev *engine.Event) ([]*engine.Reply, error) {
	u, err := engine.ParseBackendURL(b.URL)
	k := &call{rule: ruleID, url: engine.ShownBackendURL(b.URL)}
	if err != nil {
		return nil, k.fail(Unreachable, errors.New("the url must be an http or https address, such as https://api.example.com/wechat: fix the rule's backend.url"))
	}
	if len(c.Secret) == 0 {
		return nil, k.fail(Unreachable, errors.New("no secret to sign the request with: start wxreply serve with --backend-secret"))
	}
	body, err := requestBody(ruleID, ev)
	if err != nil {
		return nil, k.fail(Unreachable, fmt.Errorf("encoding the push as JSON: %w", err))
	}

	timeout := b.Timeout
	if timeout <= 0 {
		timeout = engine.DefaultBackendTimeout
	}
	k.bound = timeout
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		k.bound = time.Until(d).Round(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	k.ctx = ctx

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, k.fail(Unreachable, err)
	}
	timestamp := strconv.FormatInt(c.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "wxreply")
	req.Header.Set(TimestampHeader, timestamp)
	req.Header.Set(SignatureHeader, Sign(c.Secret, timestamp, body))

	resp, err := c.client(u.Scheme, u.Host).Do(req)
	if err != nil {
		return nil, k.ended(err)
	}
	defer resp.Body.Close()
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	return k.answer(resp, limit)
}

// call is one Call under way: what its errors name, and its context.
type call struct {
	rule, url string
	// bound is the time the call was given: the rule's timeout, or the
	// caller's deadline when sooner.
	bound time.Duration
	ctx   context.Context
}

func (k *call) fail(outcome Outcome, err error) *Error {
	return &Error{Outcome: outcome, Rule: k.rule, URL: k.url, Err: err}
}

// ended classifies an error of the transport, which reports a deadline in
// several ways: by the call's context first.
func (k *call) ended(err error) *Error {
	// *url.Error names the whole URL, query included, which may hold a
	// key; the Error names the address without it.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(k.ctx.Err(), context.DeadlineExceeded):
		e := k.fail(Timeout, err)
		e.Timeout = k.bound
		return e
	case k.ctx.Err() != nil:
		return k.fail(Canceled, err)
	case errors.As(err, &ne) && ne.Timeout():
		// A bound of the HTTP client's own (its Timeout, a transport's
		// dial or header timeout) passed first.
		return k.fail(Timeout, err)
	}
	return k.fail(Unreachable, fmt.Errorf("%w: check that the backend runs and that this machine can reach it", err))
}

// answer reads the backend's answer, at most limit bytes of it.
func (k *call) answer(resp *http.Response, limit int64) ([]*engine.Reply, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := k.fail(Status, nil)
		e.StatusCode = resp.StatusCode
		e.Location = resp.Header.Get("Location")
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e.Body = strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?"))
		return nil, e
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, k.ended(fmt.Errorf("reading the answer: %w", err))
	}
	if int64(len(answer)) > limit {
		e := k.fail(Invalid, nil)
		e.Problems = []string{fmt.Sprintf("the answer is over %s; six replies fit in far less: send the text itself, not a page around it", size(limit))}
		return nil, e
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	replies, problems, err := parseAnswer(answer, resp.Header.Get("Content-Type"))
	if len(problems) > 0 {
		e := k.fail(Invalid, err)
		e.Problems = problems
		return nil, e
	}
	return replies, nil
}

// size says n bytes for people: "64 KiB", "1000 bytes".
func size(n int64) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// client is c.HTTP, or the default, with redirects kept to the scheme and
// host of the backend's URL. A redirect to another host could carry the
// signed push to someone the rule does not name, and one from https to
// http would send it in the clear; 301, 302 and 303 would turn the POST
// into a GET without the push.
func (c *Client) client(scheme, host string) *http.Client {
	hc := defaultHTTP
	if c.HTTP != nil {
		hc = c.HTTP
	}
	copied := *hc
	theirs := hc.CheckRedirect
	copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		code := req.Response.StatusCode
		if req.URL.Host != host || req.URL.Scheme != scheme || (code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect) || len(via) > maxRedirects {
			// The 3xx itself becomes the answer, and a Status error.
			return http.ErrUseLastResponse
		}
		if theirs != nil {
			return theirs(req, via)
		}
		return nil
	}
	return &copied
}
