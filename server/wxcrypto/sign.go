package wxcrypto

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
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
	var sig [signatureLen]byte
	sign(&sig, parts)
	return string(sig[:])
}

// signatureLen is the length of a signature: SHA-1 in hex.
const signatureLen = 2 * sha1.Size

// sign writes the signature over parts into sig. For a callback's few
// short parts it allocates nothing: Verify runs on every request.
func sign(sig *[signatureLen]byte, parts []string) {
	// Sort a copy: callers pass their own slices with parts... and would
	// not expect a signature check to reorder them.
	sorted := append(make([]string, 0, 4), parts...)
	slices.Sort(sorted)
	size := 0
	for _, p := range sorted {
		size += len(p)
	}
	msg := make([]byte, 0, 256)
	if size > cap(msg) {
		msg = make([]byte, 0, size) // safe mode's msg_signature covers the ciphertext
	}
	for _, p := range sorted {
		msg = append(msg, p...)
	}
	sum := sha1.Sum(msg)
	hex.Encode(sig[:], sum[:])
}

// Verify reports whether signature equals Sign(parts...). An empty signature
// never verifies.
//
// The comparison takes time independent of where the two values differ, so
// the response time does not tell a forger how many leading characters were
// right (only whether the length is a signature's). Hex digits must be
// lowercase, as WeChat sends them.
func Verify(signature string, parts ...string) bool {
	if len(signature) != signatureLen {
		return false
	}
	var got, want [signatureLen]byte
	copy(got[:], signature)
	sign(&want, parts)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
