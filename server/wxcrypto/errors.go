package wxcrypto

import "errors"

// Errors returned, wrapped with context, by [Key.Decrypt]. Test for them with
// errors.Is; [Reason] turns them into short labels for metrics and logs.
//
// With a wrong key, Decrypt usually fails with ErrBadPadding and occasionally
// with ErrBadLength or ErrAppIDMismatch: the three cannot be told apart from
// a forged or corrupted message, so callers should treat them alike.
var (
	// ErrBadCiphertext means the Encrypt text is not standard base64 (with
	// padding and no line breaks) or decodes to a length AES-CBC cannot hold:
	// empty, shorter than 32 bytes or not a multiple of 16.
	ErrBadCiphertext = errors.New("wxcrypto: bad ciphertext")

	// ErrBadPadding means the decrypted text does not end in valid PKCS#7
	// padding to 32 bytes.
	ErrBadPadding = errors.New("wxcrypto: bad padding")

	// ErrBadLength means the unpadded plaintext is too short for the random
	// prefix and length field, or its length field claims more bytes than
	// follow it.
	ErrBadLength = errors.New("wxcrypto: bad message length")

	// ErrAppIDMismatch means the message decrypted cleanly but is addressed
	// to another AppID than the one given.
	ErrAppIDMismatch = errors.New("wxcrypto: appid mismatch")
)

// Reason returns a short, stable label for err, meant for a metric label or
// a log field: "bad_ciphertext", "bad_padding", "bad_length" or
// "appid_mismatch" for the errors above (wrapped or not), "decrypt_failed"
// for any other error, and "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrBadCiphertext):
		return "bad_ciphertext"
	case errors.Is(err, ErrBadPadding):
		return "bad_padding"
	case errors.Is(err, ErrBadLength):
		return "bad_length"
	case errors.Is(err, ErrAppIDMismatch):
		return "appid_mismatch"
	default:
		return "decrypt_failed"
	}
}
