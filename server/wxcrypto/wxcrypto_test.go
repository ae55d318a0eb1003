package wxcrypto_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/server/wxcrypto"
)

func mustParseKey(tb testing.TB, encodingAESKey string) *wxcrypto.Key {
	tb.Helper()
	k, err := wxcrypto.ParseKey(encodingAESKey)
	if err != nil {
		tb.Fatalf("ParseKey: %v", err)
	}
	return k
}

func TestSign(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"3a url verification", []string{docsToken, "1714036504", "1514711492"}, "f464b24fc39322e44b38aa78f5edd27bd1441696"},
		{"3b plaintext post", []string{docsToken, "1714037059", "486452656"}, "899cf89e464efb63f54ddac96b0a0a235f53aa78"},
	}
	for _, v := range decryptVectors {
		if v.signature != "" {
			tests = append(tests, struct {
				name  string
				parts []string
				want  string
			}{v.name + " signature", []string{v.token, v.timestamp, v.nonce}, v.signature})
		}
		tests = append(tests, struct {
			name  string
			parts []string
			want  string
		}{v.name + " msg_signature", []string{v.token, v.timestamp, v.nonce, v.encrypt}, v.msgSignature})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wxcrypto.Sign(tt.parts...); got != tt.want {
				t.Errorf("Sign(%q) = %s, want %s", tt.parts, got, tt.want)
			}
			if !wxcrypto.Verify(tt.want, tt.parts...) {
				t.Errorf("Verify(%s, %q) = false, want true", tt.want, tt.parts)
			}
			// Order must not matter: WeChat sorts.
			rev := slices.Clone(tt.parts)
			slices.Reverse(rev)
			if !wxcrypto.Verify(tt.want, rev...) {
				t.Errorf("Verify(%s, %q) = false with reversed parts", tt.want, rev)
			}
		})
	}
}

func TestSignKeepsCallerOrder(t *testing.T) {
	parts := []string{"c", "a", "b"}
	wxcrypto.Sign(parts...)
	wxcrypto.Verify("x", parts...)
	if want := []string{"c", "a", "b"}; !slices.Equal(parts, want) {
		t.Errorf("parts = %q after Sign, want %q", parts, want)
	}
}

func TestVerifyRejects(t *testing.T) {
	// Vector 1's URL: msg_signature over token, timestamp, nonce, Encrypt.
	v := decryptVectors[0]
	parts := []string{v.token, v.timestamp, v.nonce, v.encrypt}
	good := v.msgSignature
	tests := []struct {
		name, signature string
		parts           []string
	}{
		{"last hex changed", "5d197aaffba7e9b25a30732f161a50dee96bd5fb", parts},
		{"uppercase hex", strings.ToUpper(good), parts},
		{"truncated to 39", good[:39], parts},
		{"extra character", good + "0", parts},
		{"leading space", " " + good, parts},
		{"trailing space", good + " ", parts},
		{"empty", "", parts},
		{"random hex", "0123456789abcdef0123456789abcdef01234567", parts},
		{"other token", good, []string{"spamtest2", v.timestamp, v.nonce, v.encrypt}},
		{"3-part signature instead", wxcrypto.Sign(v.token, v.timestamp, v.nonce), parts},
		{"empty signature of nothing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if wxcrypto.Verify(tt.signature, tt.parts...) {
				t.Errorf("Verify(%q, ...) = true, want false", tt.signature)
			}
		})
	}
	if !wxcrypto.Verify(good, parts...) {
		t.Fatal("the unmodified signature does not verify")
	}
}

func TestDecryptVectors(t *testing.T) {
	for _, v := range decryptVectors {
		t.Run(v.name, func(t *testing.T) {
			if !wxcrypto.Verify(v.msgSignature, v.token, v.timestamp, v.nonce, v.encrypt) {
				t.Fatalf("msg_signature %s does not verify", v.msgSignature)
			}
			if v.signature != "" && !wxcrypto.Verify(v.signature, v.token, v.timestamp, v.nonce) {
				t.Errorf("signature %s does not verify", v.signature)
			}
			k := mustParseKey(t, v.key)
			msg, err := k.Decrypt(v.encrypt, v.appID)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(msg) != v.msg {
				t.Errorf("Decrypt = %q, want %q", msg, v.msg)
			}
			ct, _ := base64.StdEncoding.DecodeString(v.encrypt)
			if len(ct) != v.ciphertextLen {
				t.Errorf("ciphertext is %d bytes, want %d", len(ct), v.ciphertextLen)
			}
			if got := 16 + 4 + len(msg) + len(v.appID); got != v.plaintextLen {
				t.Errorf("unpadded plaintext is %d bytes, want %d", got, v.plaintextLen)
			}
			// Re-encrypting with the recovered prefix must give the
			// original back, byte for byte.
			enc, err := k.Encrypt(msg, v.appID, []byte(v.random))
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if enc != v.encrypt {
				t.Errorf("re-encrypted = %s\nwant %s", enc, v.encrypt)
			}
		})
	}
}

func TestEncryptVectors(t *testing.T) {
	for _, v := range encryptVectors {
		t.Run(v.name, func(t *testing.T) {
			k := mustParseKey(t, v.key)
			enc, err := k.Encrypt([]byte(v.msg), v.appID, []byte(v.random))
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if enc != v.encrypt {
				t.Errorf("Encrypt = %s\nwant %s", enc, v.encrypt)
			}
			msg, err := k.Decrypt(v.encrypt, v.appID)
			if err != nil || string(msg) != v.msg {
				t.Errorf("Decrypt = %q, %v; want %q", msg, err, v.msg)
			}
			if v.msgSignature == "" {
				return
			}
			enc, sig, err := wxcrypto.SignedReply(v.token, k, []byte(v.msg), v.appID, v.timestamp, v.nonce, []byte(v.random))
			if err != nil {
				t.Fatalf("SignedReply: %v", err)
			}
			if enc != v.encrypt || sig != v.msgSignature {
				t.Errorf("SignedReply = %s, %s\nwant %s, %s", enc, sig, v.encrypt, v.msgSignature)
			}
		})
	}
}

func TestEncryptRandomPrefix(t *testing.T) {
	k := mustParseKey(t, sampleKey)
	msg := []byte("<xml>hi</xml>")
	for _, random := range [][]byte{{}, make([]byte, 15), make([]byte, 17)} {
		if _, err := k.Encrypt(msg, sampleAppID, random); err == nil {
			t.Errorf("Encrypt with a %d-byte random prefix succeeded, want an error", len(random))
		}
		if _, _, err := wxcrypto.SignedReply(sampleToken, k, msg, sampleAppID, "1", "2", random); err == nil {
			t.Errorf("SignedReply with a %d-byte random prefix succeeded, want an error", len(random))
		}
	}
	// nil draws a fresh prefix each time.
	a, err1 := k.Encrypt(msg, sampleAppID, nil)
	b, err2 := k.Encrypt(msg, sampleAppID, nil)
	if err1 != nil || err2 != nil {
		t.Fatalf("Encrypt: %v, %v", err1, err2)
	}
	if a == b {
		t.Error("two encryptions with a nil random prefix are identical")
	}
	for _, enc := range []string{a, b} {
		if got, err := k.Decrypt(enc, sampleAppID); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("Decrypt = %q, %v; want %q", got, err, msg)
		}
	}
}

func TestParseKey(t *testing.T) {
	// The sample key's last character has non-zero unused bits, so a
	// strict decoder refuses it; ParseKey must not.
	if _, err := base64.StdEncoding.Strict().DecodeString(sampleKey + "="); err == nil {
		t.Error("the strict decoder accepts the sample key; the lenient decoding is no longer needed")
	}
	for _, key := range []string{sampleKey, docsKey, strings.Repeat("z", 43), "0123456789012345678901234567890123456789012"} {
		if _, err := wxcrypto.ParseKey(key); err != nil {
			t.Errorf("ParseKey(%q): %v", key, err)
		}
	}

	tests := []struct {
		name, key, want string
	}{
		{"empty", "", "empty"},
		{"5 chars", "abcde", "must be 43 characters, got 5"},
		{"42 chars", sampleKey[:42], "must be 43 characters, got 42"},
		{"44 chars", sampleKey + "H", "must be 43 characters, got 44"},
		{"with padding", sampleKey + "=", "position 44"},
		{"dash", "abcdefghij-lmnopqrstuvwxyz0123456789ABCDEFG", "position 11"},
		{"underscore", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF_", "position 43"},
		{"equals", "abcdefghijklmnopqrstuvwxyz0123456789ABCDE=G", "position 42"},
		{"plus", "+bcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "position 1"},
		{"slash", "abcdefghijklmnopqrstuvwxyz/123456789ABCDEFG", "position 27"},
		{"space", "abcdefghijklmnopqrstuvwxyz 123456789ABCDEFG", "position 27"},
		{"trailing newline", sampleKey + "\n", "position 44"},
		{"non-ascii", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFé", "position 43"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := wxcrypto.ParseKey(tt.key)
			if err == nil {
				t.Fatalf("ParseKey succeeded, want an error containing %q", tt.want)
			}
			if k != nil {
				t.Errorf("ParseKey returned a key with its error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "EncodingAESKey") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to name EncodingAESKey and contain %q", msg, tt.want)
			}
			if tt.key != "" && strings.Contains(msg, tt.key) {
				t.Errorf("error %q contains the key", msg)
			}
		})
	}
}

func TestKeyNeverPrints(t *testing.T) {
	for _, text := range []string{sampleKey, "0123456789012345678901234567890123456789012"} {
		raw, _ := base64.StdEncoding.DecodeString(text + "=")
		k := mustParseKey(t, text)
		var logs bytes.Buffer
		slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", k, "value", *k)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", k, "value", *k)
		outputs := map[string]string{
			"verbs":   fmt.Sprintf("%v %+v %#v %s %q %x %X %d", k, k, k, k, k, k, k, k),
			"values":  fmt.Sprintf("%v %+v %#v %s %x %d", *k, *k, *k, *k, *k, *k),
			"methods": k.String() + k.GoString(),
			// fmt cannot call Format on an unexported field: it reflects.
			"field": fmt.Sprintf("%v %+v %#v %#v", struct{ k wxcrypto.Key }{*k}, struct{ k wxcrypto.Key }{*k},
				struct{ k wxcrypto.Key }{*k}, struct{ k *wxcrypto.Key }{k}),
			"slog": logs.String(),
		}
		forbidden := []string{
			text,
			text[:16],
			string(raw[:8]),
			hex.EncodeToString(raw[:8]),
			strings.ToUpper(hex.EncodeToString(raw[:8])),
			strings.Trim(fmt.Sprint(raw[:6]), "[]"), // decimal bytes, as %v prints a []byte
			fmt.Sprintf("%#v", raw[:4])[len("[]byte{"):],
		}
		for name, out := range outputs {
			for _, f := range forbidden {
				if strings.Contains(out, f) {
					t.Errorf("%s output %q contains key material %q", name, out, f)
				}
			}
		}
		if got := fmt.Sprintf("%v|%#v|%s", k, k, *k); got != "wxcrypto.Key(redacted)|wxcrypto.Key(redacted)|wxcrypto.Key(redacted)" {
			t.Errorf("printed key = %q", got)
		}
	}
}

func TestDecryptAppIDMismatch(t *testing.T) {
	v := decryptVectors[0]
	k := mustParseKey(t, v.key)
	for _, appID := range []string{
		"wx0000000000000000",
		v.appID + "\x00",
		"",
		v.appID[:len(v.appID)-1],
		strings.ToUpper(v.appID),
		" " + v.appID,
	} {
		t.Run(fmt.Sprintf("%q", appID), func(t *testing.T) {
			msg, err := k.Decrypt(v.encrypt, appID)
			if !errors.Is(err, wxcrypto.ErrAppIDMismatch) || msg != nil {
				t.Fatalf("Decrypt = %q, %v; want ErrAppIDMismatch", msg, err)
			}
			if r := wxcrypto.Reason(err); r != "appid_mismatch" {
				t.Errorf("Reason = %q, want appid_mismatch", r)
			}
			if strings.Contains(err.Error(), v.appID) && !strings.Contains(appID, v.appID) {
				t.Errorf("error %q shows the message's AppID", err)
			}
		})
	}
}

func TestDecryptBadCiphertext(t *testing.T) {
	v := decryptVectors[0]
	k := mustParseKey(t, v.key)
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	urlSafe := strings.NewReplacer("+", "-", "/", "_").Replace(v.encrypt)
	if urlSafe == v.encrypt {
		t.Fatal("vector 1 has no + or /; pick another for the URL-safe case")
	}
	tests := []struct{ name, encrypt string }{
		{"empty", ""},
		{"bad characters", "!!!!" + v.encrypt[4:]},
		{"url-safe alphabet", urlSafe},
		{"embedded newline", v.encrypt[:64] + "\n" + v.encrypt[64:]},
		{"embedded CRLF", v.encrypt[:64] + "\r\n" + v.encrypt[64:]},
		{"trailing newline", v.encrypt + "\n"},
		{"embedded space", v.encrypt[:64] + " " + v.encrypt[64:]},
		{"padding removed", strings.TrimRight(v.encrypt, "=")},
		{"extra padding", v.encrypt + "="},
		{"truncated", v.encrypt[:len(v.encrypt)-5]},
		{"only padding", "===="},
		{"16 bytes", b64(16)},
		{"31 bytes", b64(31)},
		{"33 bytes", b64(33)},
		{"319 bytes", b64(319)},
		{"1 byte", b64(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := k.Decrypt(tt.encrypt, v.appID)
			if !errors.Is(err, wxcrypto.ErrBadCiphertext) || msg != nil {
				t.Fatalf("Decrypt = %q, %v; want ErrBadCiphertext", msg, err)
			}
			if r := wxcrypto.Reason(err); r != "bad_ciphertext" {
				t.Errorf("Reason = %q, want bad_ciphertext", r)
			}
		})
	}
}

// encryptRaw encrypts plaintext, whose length must be a multiple of 16, with
// no padding of its own, so that tests can hand Decrypt broken plaintexts.
func encryptRaw(tb testing.TB, encodingAESKey string, plaintext []byte) string {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		tb.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	ct := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(ct, plaintext)
	return base64.StdEncoding.EncodeToString(ct)
}

// plaintext builds random(16) ‖ uint32be(msgLen) ‖ body; body is the
// message and AppID, and the caller adds the padding.
func plaintext(msgLen uint32, body string) []byte {
	b := []byte("0123456789abcdef")
	b = binary.BigEndian.AppendUint32(b, msgLen)
	return append(b, body...)
}

// pkcs7 pads b to a multiple of 32 the way WeChat does.
func pkcs7(b []byte) []byte {
	n := 32 - len(b)%32
	return append(b, bytes.Repeat([]byte{byte(n)}, n)...)
}

func TestDecryptConstructed(t *testing.T) {
	const appID = sampleAppID
	const secret = "SECRET<xml>"
	tests := []struct {
		name      string
		plaintext []byte
		want      error // nil: success with msg
		msg       string
	}{
		{"sanity", pkcs7(plaintext(uint32(len(secret)), secret+appID)), nil, secret},
		{"full block of padding", pkcs7(plaintext(26, "abcdefghijklmnopqrstuvwxyz"+appID)), nil, "abcdefghijklmnopqrstuvwxyz"}, // 20+26+18 = 64
		{"empty message", pkcs7(plaintext(0, appID)), nil, ""},
		{"pad byte 0", append(plaintext(uint32(len(secret)), secret+appID), make([]byte, 64-20-len(secret)-len(appID))...), wxcrypto.ErrBadPadding, ""},
		{"pad 33", append(plaintext(0, appID), bytes.Repeat([]byte{33}, 64-20-len(appID))...), wxcrypto.ErrBadPadding, ""},
		{"pad 255", append(plaintext(0, appID), bytes.Repeat([]byte{255}, 64-20-len(appID))...), wxcrypto.ErrBadPadding, ""},
		{"inconsistent pad", func() []byte {
			b := pkcs7(plaintext(uint32(len(secret)), secret+appID+"abcdef")) // 55 bytes + 9 of pad
			b[len(b)-2] = 5
			b[len(b)-1] = 5
			b[len(b)-3] = 4
			return b
		}(), wxcrypto.ErrBadPadding, ""},
		{"msg_len 0xFFFFFFFF", pkcs7(plaintext(0xFFFFFFFF, secret+appID)), wxcrypto.ErrBadLength, ""},
		{"msg_len 0x80000000", pkcs7(plaintext(0x80000000, secret+appID)), wxcrypto.ErrBadLength, ""},
		{"msg_len len+1", pkcs7(plaintext(uint32(len(secret)+len(appID)+1), secret+appID)), wxcrypto.ErrBadLength, ""},
		{"plaintext 19 bytes", pkcs7([]byte("0123456789abcdef\x00\x00\x00")), wxcrypto.ErrBadLength, ""},
		{"plaintext 0 bytes", bytes.Repeat([]byte{32}, 32), wxcrypto.ErrBadLength, ""},
		{"msg_len eats the appid", pkcs7(plaintext(uint32(len(secret)+len(appID)), secret+appID)), wxcrypto.ErrAppIDMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := mustParseKey(t, sampleKey)
			msg, err := k.Decrypt(encryptRaw(t, sampleKey, tt.plaintext), appID)
			if tt.want == nil {
				if err != nil || string(msg) != tt.msg {
					t.Fatalf("Decrypt = %q, %v; want %q", msg, err, tt.msg)
				}
				return
			}
			if !errors.Is(err, tt.want) || msg != nil {
				t.Fatalf("Decrypt = %q, %v; want %v", msg, err, tt.want)
			}
			if got, want := wxcrypto.Reason(err), wxcrypto.Reason(tt.want); got != want {
				t.Errorf("Reason = %q, want %q", got, want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q shows plaintext", err)
			}
		})
	}
}

func TestDecryptResultIsCapped(t *testing.T) {
	v := decryptVectors[1]
	k := mustParseKey(t, v.key)
	msg, err := k.Decrypt(v.encrypt, v.appID)
	if err != nil {
		t.Fatal(err)
	}
	if cap(msg) != len(msg) {
		t.Errorf("cap(msg) = %d, len(msg) = %d: an append would overwrite the bytes after the message", cap(msg), len(msg))
	}
}

func TestDecryptWrongKey(t *testing.T) {
	const keyA = sampleKey
	const keyB = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
	a, b := mustParseKey(t, keyA), mustParseKey(t, keyB)
	reasons := map[string]int{}
	for i := range 2000 {
		msg := []byte(fmt.Sprintf("<xml><Content><![CDATA[SECRET %d]]></Content></xml>", i))
		enc, err := b.Encrypt(msg, sampleAppID, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Decrypt(enc, sampleAppID)
		if err == nil {
			t.Fatalf("decrypting with the wrong key gave %q", got)
		}
		r := wxcrypto.Reason(err)
		if r != "bad_padding" && r != "bad_length" && r != "appid_mismatch" {
			t.Fatalf("Reason = %q (%v), want bad_padding, bad_length or appid_mismatch", r, err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("error %q shows plaintext", err)
		}
		reasons[r]++
	}
	t.Logf("wrong-key reasons over 2000 messages: %v", reasons)
}

func TestUnparsedKey(t *testing.T) {
	for name, k := range map[string]*wxcrypto.Key{"nil": nil, "zero": new(wxcrypto.Key)} {
		t.Run(name, func(t *testing.T) {
			if _, err := k.Decrypt(decryptVectors[0].encrypt, sampleAppID); err == nil {
				t.Error("Decrypt succeeded")
			}
			if _, err := k.Encrypt([]byte("x"), sampleAppID, nil); err == nil {
				t.Error("Encrypt succeeded")
			}
			if _, _, err := wxcrypto.SignedReply(sampleToken, k, []byte("x"), sampleAppID, "1", "2", nil); err == nil {
				t.Error("SignedReply succeeded")
			}
		})
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{wxcrypto.ErrBadCiphertext, "bad_ciphertext"},
		{fmt.Errorf("%w: 33 bytes", wxcrypto.ErrBadCiphertext), "bad_ciphertext"},
		{fmt.Errorf("push: %w", fmt.Errorf("%w: pad 0", wxcrypto.ErrBadPadding)), "bad_padding"},
		{fmt.Errorf("x: %w", wxcrypto.ErrBadLength), "bad_length"},
		{wxcrypto.ErrAppIDMismatch, "appid_mismatch"},
		{errors.New("wxcrypto: bad padding"), "decrypt_failed"}, // same text, different error
		{errors.New("boom"), "decrypt_failed"},
	}
	for _, tt := range tests {
		if got := wxcrypto.Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
