package backend

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a signed request.
const (
	TimestampHeader = "X-Wxreply-Timestamp"
	SignatureHeader = "X-Wxreply-Signature"
)

// signaturePrefix names the MAC, so that another can follow without a
// change of header.
const signaturePrefix = "sha256="

// DefaultMaxAge is how old a request Verify accepts when given no maxAge:
// enough for a slow network and clocks a little apart, short enough that a
// captured request is soon useless.
const DefaultMaxAge = 5 * time.Minute

// MaxRequestBytes bounds the body Verify reads. A push is at most 64 KiB of
// XML by default, and its JSON is about as long.
const MaxRequestBytes = 1 << 20

// Errors of Verify, for a backend to answer them (401, say) and count them.
var (
	ErrUnsigned     = errors.New("not signed")
	ErrBadSignature = errors.New("bad signature")
	ErrExpired      = errors.New("timestamp too old or too far ahead")
)

// Sign returns the value of the X-Wxreply-Signature header for a request
// with the given X-Wxreply-Timestamp value and body:
//
//	sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// The timestamp is signed so that an old request cannot be sent again with a
// fresh one; the dot keeps "12"+"3{...}" from signing like "123"+"{...}".
func Sign(secret []byte, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks that r comes from wxreply with this secret and is at most
// maxAge old (DefaultMaxAge when maxAge is 0 or less) at now, and returns
// its body. It also puts the body back in r.Body, so the handler may read it
// again. A body over MaxRequestBytes is refused unread.
//
// A timestamp more than maxAge ahead of now is refused too: it would let a
// request be replayed for longer. Within maxAge a captured request can still
// be sent again; a backend for which a second delivery matters should also
// remember the MsgId (or FromUserName and CreateTime, for events) it has
// answered.
//
// The error wraps ErrUnsigned, ErrBadSignature or ErrExpired when the
// request is refused for its headers or its signature.
func Verify(secret []byte, r *http.Request, maxAge time.Duration, now time.Time) ([]byte, error) {
	if len(secret) == 0 {
		return nil, errors.New("verify: the secret is empty: give the backend the secret wxreply serve has in --backend-secret")
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	ts, sig := r.Header.Get(TimestampHeader), r.Header.Get(SignatureHeader)
	if ts == "" || sig == "" {
		return nil, fmt.Errorf("%w: the request has no %s or %s header", ErrUnsigned, TimestampHeader, SignatureHeader)
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %.20q is not Unix seconds", ErrUnsigned, TimestampHeader, ts)
	}
	// Compare the timestamp with the bounds rather than its age with maxAge:
	// now minus a timestamp from a hostile header can overflow.
	max := int64(maxAge / time.Second)
	if unix < now.Unix()-max || unix > now.Unix()+max {
		return nil, fmt.Errorf("%w: the request was signed at %d, and it is %d now; at most %s apart is accepted: if it was not replayed, check both clocks (NTP)",
			ErrExpired, unix, now.Unix(), maxAge)
	}
	hexSum, ok := strings.CutPrefix(sig, signaturePrefix)
	if !ok {
		return nil, fmt.Errorf("%w: %s does not start with %q", ErrBadSignature, SignatureHeader, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrBadSignature, SignatureHeader)
	}
	if r.Body == nil {
		r.Body = http.NoBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("verify: reading the body: %w", err)
	}
	if len(body) > MaxRequestBytes {
		return nil, fmt.Errorf("verify: the body is over %d bytes; wxreply sends far less", MaxRequestBytes)
	}
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return nil, fmt.Errorf("%w: it does not match the body: is the secret the one wxreply serve has in --backend-secret?", ErrBadSignature)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}
