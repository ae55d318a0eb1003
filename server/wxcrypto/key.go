package wxcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// encodingAESKeyLen is the length of an EncodingAESKey: 43 base64 characters
// carry 258 bits, of which the first 256 are the AES-256 key.
const encodingAESKeyLen = 43

// redacted is what every printed form of a Key shows.
const redacted = "wxcrypto.Key(redacted)"

// A Key is a parsed EncodingAESKey, ready to encrypt and decrypt. Create one
// with [ParseKey]; the zero Key is not usable. A Key is safe for concurrent
// use.
//
// A Key never prints its secret: fmt's verbs (including %#v), String,
// GoString and log/slog all show "wxcrypto.Key(redacted)".
type Key struct {
	// The secret sits behind a pointer so that even when a Key is printed
	// as an unexported field of some other struct, where fmt cannot call
	// Format and falls back to reflection, all it can show is an address.
	s *keyState
}

type keyState struct {
	block cipher.Block
	iv    [aes.BlockSize]byte // WeChat uses the first 16 key bytes as the IV
}

// ParseKey parses an EncodingAESKey, the 43 characters of [A-Za-z0-9]
// configured beside the Token on WeChat's platform.
//
// The key is decoded as standard base64 after appending "=". The decoding
// is deliberately lenient about the unused low bits of the last character:
// they are usually non-zero, and a strict decoder rejects even the key of
// Tencent's own samples.
//
// Errors describe what is wrong with the key but never include it.
func ParseKey(encodingAESKey string) (*Key, error) {
	if encodingAESKey == "" {
		return nil, errors.New("wxcrypto: EncodingAESKey is empty")
	}
	// Check characters before the length so that the length reported
	// below counts characters exactly, and so that '+', '/' and '=', which
	// base64 would accept, are refused: WeChat never generates them.
	for i := 0; i < len(encodingAESKey); i++ {
		if !isAlnum(encodingAESKey[i]) {
			return nil, fmt.Errorf("wxcrypto: EncodingAESKey must contain only A-Z, a-z and 0-9, found another character at position %d", i+1)
		}
	}
	if len(encodingAESKey) != encodingAESKeyLen {
		return nil, fmt.Errorf("wxcrypto: EncodingAESKey must be %d characters, got %d", encodingAESKeyLen, len(encodingAESKey))
	}
	raw, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(raw) != 32 {
		// Unreachable for 43 alphanumerics; kept so a future change to the
		// checks above cannot produce a short key. err is not wrapped: its
		// text is harmless today, but nothing here needs it.
		return nil, errors.New("wxcrypto: EncodingAESKey is not valid base64")
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("wxcrypto: EncodingAESKey: %w", err)
	}
	s := &keyState{block: block}
	copy(s.iv[:], raw)
	clear(raw)
	return &Key{s: s}, nil
}

func isAlnum(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// state returns k's secret, or an error if k did not come from ParseKey.
func (k *Key) state() (*keyState, error) {
	if k == nil || k.s == nil {
		return nil, errors.New("wxcrypto: use of a Key not made by ParseKey")
	}
	return k.s, nil
}

// String returns "wxcrypto.Key(redacted)".
func (Key) String() string { return redacted }

// GoString returns "wxcrypto.Key(redacted)", for %#v.
func (Key) GoString() string { return redacted }

// Format writes "wxcrypto.Key(redacted)" for every verb, so that no verb or
// flag (%x, %d, %+v...) reaches the fields.
func (Key) Format(f fmt.State, verb rune) { io.WriteString(f, redacted) }

// LogValue returns "wxcrypto.Key(redacted)", so log/slog handlers, which do
// not all go through fmt, print the same.
func (Key) LogValue() slog.Value { return slog.StringValue(redacted) }
