package wxcrypto

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"slices"
)

// Sign returns WeChat's signature over parts: the lowercase hex SHA-1 of the
// parts sorted as byte strings and concatenated with no separator.
//
// A callback's signature is Sign(token, timestamp, nonce); in compatible and
// safe mode its msg_signature is Sign(token, timestamp, nonce, Encrypt). The
// order of the arguments does not matter, and the caller's slice is not
// modified.
func Sign(parts ...string) string {
	// Sort a copy: callers pass their own slices with parts... and would
	// not expect a signature check to reorder them.
	sorted := slices.Clone(parts)
	slices.Sort(sorted)
	h := sha1.New()
	for _, p := range sorted {
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Verify reports whether signature equals Sign(parts...). An empty signature
// never verifies.
//
// The comparison takes time independent of where the two values differ, so
// the response time does not tell a forger how many leading characters were
// right. Hex digits must be lowercase, as WeChat sends them.
func Verify(signature string, parts ...string) bool {
	if signature == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(signature), []byte(Sign(parts...))) == 1
}
