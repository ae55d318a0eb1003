package backend_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/server/backend"
)

// signed returns a request as wxreply sends it, signed at the given time.
func signed(key []byte, at time.Time, body string) *http.Request {
	r := httptest.NewRequest("POST", "/wechat", strings.NewReader(body))
	ts := strconv.FormatInt(at.Unix(), 10)
	r.Header.Set(backend.TimestampHeader, ts)
	r.Header.Set(backend.SignatureHeader, backend.Sign(key, ts, []byte(body)))
	return r
}

func TestVerify(t *testing.T) {
	const body = `{"Content":"order 42","rule":"order"}`
	tests := []struct {
		name    string
		request func() *http.Request
		want    error  // nil: accepted
		text    string // in the error's text
	}{
		{"signed now", func() *http.Request { return signed(secret, now, body) }, nil, ""},
		{"signed 4 minutes ago", func() *http.Request { return signed(secret, now.Add(-4*time.Minute), body) }, nil, ""},
		{"no headers", func() *http.Request { return httptest.NewRequest("POST", "/", strings.NewReader(body)) },
			backend.ErrUnsigned, "no X-Wxreply-Timestamp or X-Wxreply-Signature header"},
		{"timestamp not a number", func() *http.Request {
			r := signed(secret, now, body)
			r.Header.Set(backend.TimestampHeader, "yesterday")
			return r
		}, backend.ErrUnsigned, `X-Wxreply-Timestamp "yesterday" is not Unix seconds`},
		{"replayed after 6 minutes", func() *http.Request { return signed(secret, now.Add(-6*time.Minute), body) },
			backend.ErrExpired, "the request was signed at 1699999640, and it is 1700000000 now; at most 5m0s apart is accepted: if it was not replayed, check both clocks (NTP)"},
		{"6 minutes ahead", func() *http.Request { return signed(secret, now.Add(6*time.Minute), body) },
			backend.ErrExpired, "signed at 1700000360"},
		{"another secret", func() *http.Request { return signed([]byte("other"), now, body) },
			backend.ErrBadSignature, "is the secret the one wxreply serve has in --backend-secret?"},
		{"body changed", func() *http.Request {
			r := signed(secret, now, body)
			r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "42", "43", 1)))
			return r
		}, backend.ErrBadSignature, "it does not match the body"},
		{"timestamp changed", func() *http.Request {
			r := signed(secret, now.Add(-time.Minute), body)
			r.Header.Set(backend.TimestampHeader, strconv.FormatInt(now.Unix(), 10))
			return r
		}, backend.ErrBadSignature, "it does not match the body"},
		{"no sha256=", func() *http.Request {
			r := signed(secret, now, body)
			r.Header.Set(backend.SignatureHeader, strings.TrimPrefix(r.Header.Get(backend.SignatureHeader), "sha256="))
			return r
		}, backend.ErrBadSignature, `does not start with "sha256="`},
		{"not hex", func() *http.Request {
			r := signed(secret, now, body)
			r.Header.Set(backend.SignatureHeader, "sha256=zz")
			return r
		}, backend.ErrBadSignature, "is not hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.request()
			got, err := backend.Verify(secret, r, 5*time.Minute, now)
			if tt.want == nil {
				if err != nil || string(got) != body {
					t.Fatalf("Verify = %q, %v; want the body", got, err)
				}
				again, _ := io.ReadAll(r.Body)
				if string(again) != body {
					t.Errorf("r.Body after Verify = %q; want the body again", again)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Verify: %v; want %v with %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestVerifyBounds(t *testing.T) {
	big := strings.Repeat("a", backend.MaxRequestBytes+1)
	if _, err := backend.Verify(secret, signed(secret, now, big), 0, now); err == nil || !strings.Contains(err.Error(), "over 1048576 bytes") {
		t.Errorf("a body over MaxRequestBytes: %v; want it refused", err)
	}
	if _, err := backend.Verify(nil, signed(nil, now, "{}"), 0, now); err == nil || !strings.Contains(err.Error(), "the secret is empty") {
		t.Errorf("an empty secret: %v; want it refused, even for a request signed with it", err)
	}
	// maxAge 0 is DefaultMaxAge.
	if _, err := backend.Verify(secret, signed(secret, now.Add(-backend.DefaultMaxAge-time.Second), "{}"), 0, now); !errors.Is(err, backend.ErrExpired) {
		t.Errorf("older than DefaultMaxAge with maxAge 0: %v; want ErrExpired", err)
	}
	// Timestamps whose age overflows an int64 are refused too: now minus
	// the second one is exactly -1<<63, which is its own negation.
	for _, ts := range []string{"-9223372036854775808", "-9223372035154775808", "9223372036854775807"} {
		r := signed(secret, now, "{}")
		r.Header.Set(backend.TimestampHeader, ts)
		if _, err := backend.Verify(secret, r, time.Minute, now); !errors.Is(err, backend.ErrExpired) {
			t.Errorf("timestamp %s: %v; want ErrExpired", ts, err)
		}
	}
}
