package wxcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

const (
	// padBlock is the PKCS#7 block size. WeChat pads to 32 bytes, not to
	// AES's 16: the samples' PKCS7Encoder uses block_size = 32.
	padBlock = 32

	// randomLen and lenLen are the sizes of the random prefix and of the
	// big-endian length field in front of the message.
	randomLen = 16
	lenLen    = 4
	headerLen = randomLen + lenLen

	// minCiphertext is the smallest ciphertext WeChat's padding can
	// produce: one 32-byte padding block.
	minCiphertext = padBlock
)

// Decrypt decrypts encrypt, the text of a push's <Encrypt> element, and
// returns the message inside: the push's XML in compatible and safe mode.
// The message must be addressed to appID, compared byte for byte.
//
// Check the push's msg_signature with [Verify] first. Decrypt validates every
// length and padding byte, so it fails with an error wrapping one of
// [ErrBadCiphertext], [ErrBadPadding], [ErrBadLength] or [ErrAppIDMismatch]
// rather than panic, whatever encrypt holds. (The one other error is for a
// Key that did not come from [ParseKey].) Errors never include key
// material or decrypted bytes.
//
// The returned slice is the caller's; it may be empty if the sender
// encrypted an empty message.
func (k *Key) Decrypt(encrypt, appID string) ([]byte, error) {
	s, err := k.state()
	if err != nil {
		return nil, err
	}
	// The base64 decoder skips CR and LF anywhere in its input; WeChat
	// never sends them, so treat them as the corruption they are.
	if strings.ContainsAny(encrypt, "\r\n") {
		return nil, fmt.Errorf("%w: not base64: contains a line break", ErrBadCiphertext)
	}
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		// A CorruptInputError names only an offset, never the input.
		return nil, fmt.Errorf("%w: not base64: %v", ErrBadCiphertext, err)
	}
	// CryptBlocks panics on a partial block, so the length is checked
	// here, before it runs.
	switch {
	case len(ct) == 0:
		return nil, fmt.Errorf("%w: empty", ErrBadCiphertext)
	case len(ct) < minCiphertext || len(ct)%aes.BlockSize != 0:
		return nil, fmt.Errorf("%w: %d bytes, want a multiple of %d and at least %d", ErrBadCiphertext, len(ct), aes.BlockSize, minCiphertext)
	}
	pt := ct // decrypt in place: ct is ours, fresh from DecodeString
	cipher.NewCBCDecrypter(s.block, s.iv[:]).CryptBlocks(pt, ct)

	// Strict PKCS#7. The official samples instead treat an out-of-range
	// pad as 0 and keep going; with the signature already checked, a bad
	// pad means a wrong key or a broken sender, and reporting it is kinder
	// than a misleading appid_mismatch.
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > padBlock {
		return nil, fmt.Errorf("%w: pad byte %d out of range 1..%d", ErrBadPadding, pad, padBlock)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: the last %d bytes are not all %d", ErrBadPadding, pad, pad)
		}
	}
	pt = pt[:len(pt)-pad]

	if len(pt) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes of plaintext, want at least %d", ErrBadLength, len(pt), headerLen)
	}
	// Compare as uint64: on a 32-bit platform int(n) of a hostile
	// 0xFFFFFFFF would be negative and slip past an int comparison.
	n := binary.BigEndian.Uint32(pt[randomLen:headerLen])
	rest := pt[headerLen:]
	if uint64(n) > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: length field says %d bytes, only %d follow", ErrBadLength, n, len(rest))
	}
	if string(rest[n:]) != appID {
		return nil, fmt.Errorf("%w: message is for a %d-byte AppID, not %q", ErrAppIDMismatch, len(rest)-int(n), appID)
	}
	// Cap the capacity so that a caller's append cannot scribble over
	// the AppID bytes that follow in the same array.
	return rest[:n:n], nil
}

// Encrypt encrypts msg for appID and returns the text for an <Encrypt>
// element.
//
// random is the 16-byte prefix WeChat puts in front of every message. Pass
// nil to draw it from crypto/rand, as a server should; a fixed prefix exists
// for reproducing test vectors. Any other length is an error.
func (k *Key) Encrypt(msg []byte, appID string, random []byte) (string, error) {
	s, err := k.state()
	if err != nil {
		return "", err
	}
	if random != nil && len(random) != randomLen {
		return "", fmt.Errorf("wxcrypto: random prefix must be %d bytes or nil, got %d", randomLen, len(random))
	}
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("wxcrypto: message of %d bytes does not fit the 32-bit length field", len(msg))
	}

	n := headerLen + len(msg) + len(appID)
	pad := padBlock - n%padBlock // 1..32: an aligned text gets a whole block
	buf := make([]byte, n+pad)
	if random == nil {
		rand.Read(buf[:randomLen]) // never fails since Go 1.24
	} else {
		copy(buf, random)
	}
	binary.BigEndian.PutUint32(buf[randomLen:headerLen], uint32(len(msg)))
	copy(buf[headerLen:], msg)
	copy(buf[headerLen+len(msg):], appID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(s.block, s.iv[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// SignedReply encrypts msg, a passive reply's XML, for appID and signs it,
// returning the values of the encrypted reply envelope's <Encrypt> and
// <MsgSignature> elements. timestamp and nonce are the envelope's
// <TimeStamp> and <Nonce>, which the signature covers: the current time and
// the request's nonce are the usual choice. random is as for [Key.Encrypt].
func SignedReply(token string, k *Key, msg []byte, appID, timestamp, nonce string, random []byte) (encrypt, msgSignature string, err error) {
	encrypt, err = k.Encrypt(msg, appID, random)
	if err != nil {
		return "", "", err
	}
	return encrypt, Sign(token, timestamp, nonce, encrypt), nil
}
