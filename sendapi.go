package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

// sentWatch reads, from a wxreply fakeapi, the customer-service messages
// sent to one user after a point: what followed a push's passive reply.
type sentWatch struct {
	base, user string
	after      int64
}

// sentAnswer is the fake's GET /-/sent answer.
type sentAnswer struct {
	Messages []wxapitest.Sent `json:"messages"`
	LastSeq  int64            `json:"last_seq"`
}

// watchSent notes the fake's last message, so that only those sent after
// it are printed.
func watchSent(ctx context.Context, base, user string) (*sentWatch, error) {
	w := &sentWatch{base: strings.TrimSuffix(base, "/"), user: user}
	a, err := w.get(ctx)
	if err != nil {
		return nil, err
	}
	w.after = a.LastSeq
	return w, nil
}

func (w *sentWatch) get(ctx context.Context) (*sentAnswer, error) {
	q := url.Values{"touser": {w.user}, "after": {fmt.Sprint(w.after)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base+wxapitest.SentPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: is wxreply fakeapi running there?", err)
	}
	defer resp.Body.Close()
	var a sentAnswer
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s%s: HTTP %s: is it a wxreply fakeapi?", w.base, wxapitest.SentPath, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&a); err != nil {
		return nil, fmt.Errorf("%s%s: %v: is it a wxreply fakeapi?", w.base, wxapitest.SentPath, err)
	}
	return &a, nil
}

// print waits up to wait for messages, and a second after each, then prints
// them in order.
func (w *sentWatch) print(ctx context.Context, out io.Writer, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	var msgs []wxapitest.Sent
	quiet := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && (len(msgs) == 0 || time.Now().Before(quiet)) {
		a, err := w.get(ctx)
		if err != nil {
			return err
		}
		if len(a.Messages) > len(msgs) {
			msgs, quiet = a.Messages, time.Now().Add(time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(msgs) == 0 {
		fmt.Fprintf(out, "then through the customer-service API: nothing within %s\n", wait)
		return nil
	}
	fmt.Fprintf(out, "then through the customer-service API, %d:\n", len(msgs))
	for i, m := range msgs {
		fmt.Fprintf(out, "%d. %s", i+1, describeSent(m))
	}
	return nil
}

// describeSent shows a message as a reply is shown: its kind, then its
// fields.
func describeSent(m wxapitest.Sent) string {
	var msg map[string]json.RawMessage
	json.Unmarshal(m.Message, &msg)
	var fields map[string]any
	json.Unmarshal(msg[m.Kind], &fields)
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", m.Kind)
	if arts, ok := fields["articles"].([]any); ok {
		for _, a := range arts {
			if art, ok := a.(map[string]any); ok {
				writeFields(&b, art, "   - ", "     ")
			}
		}
		return b.String()
	}
	if c, ok := fields["content"].(string); ok && len(fields) == 1 {
		for _, line := range strings.Split(c, "\n") {
			fmt.Fprintf(&b, "   %s\n", line)
		}
		return b.String()
	}
	writeFields(&b, fields, "   ", "   ")
	return b.String()
}

func writeFields(b *strings.Builder, fields map[string]any, first, rest string) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	prefix := first
	for _, k := range keys {
		fmt.Fprintf(b, "%s%s: %v\n", prefix, k, fields[k])
		prefix = rest
	}
}
