// Package wxcrypto owns WeChat's callback signatures and the AES message
// encryption of compatible and safe mode: the SHA-1 signature over sorted
// strings that authenticates every callback, and the AES-256-CBC envelope
// (random prefix, length, message, AppID) that carries the body in the
// <Encrypt> element.
//
// It works on strings and bytes only. Reading query parameters, parsing or
// building the XML around <Encrypt>, and deciding which HTTP status a failure
// deserves are the caller's job; the sentinel errors and [Reason] exist so
// the caller can make that decision in one table.
//
// The scheme, as implemented by Tencent's WXBizMsgCrypt samples:
//
//	signature     = hex(sha1(join(sort(token, timestamp, nonce))))
//	msg_signature = hex(sha1(join(sort(token, timestamp, nonce, Encrypt))))
//	AESKey        = base64decode(EncodingAESKey + "="), IV = AESKey[:16]
//	Encrypt       = base64(AES-256-CBC(PKCS#7-32(random16 ‖ uint32be(len(msg)) ‖ msg ‖ appid)))
//
// Always check msg_signature with [Verify] before calling [Key.Decrypt]: the
// signature is what authenticates the ciphertext (CBC alone does not), and
// checking it first keeps unauthenticated input away from the padding checks.
package wxcrypto
