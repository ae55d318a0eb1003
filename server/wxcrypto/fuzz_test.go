package wxcrypto_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/wxreply/wxreply/server/wxcrypto"
)

// FuzzDecrypt feeds arbitrary <Encrypt> text to Decrypt. Decrypt must never
// panic, must return either a message or an error, and every error must be
// one of the four sentinels: a stray "decrypt_failed" would mean a failure
// path nobody classified.
func FuzzDecrypt(f *testing.F) {
	for _, v := range decryptVectors {
		f.Add(v.encrypt)
		f.Add(v.encrypt[:len(v.encrypt)/2])
	}
	for _, v := range encryptVectors {
		f.Add(v.encrypt)
	}
	f.Add("")
	f.Add("====")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 33)))
	k := mustParseKey(f, sampleKey)
	f.Fuzz(func(t *testing.T, encrypt string) {
		// Random text rarely decodes to whole AES blocks; also try the
		// input as raw ciphertext so the padding and length checks see
		// fuzzed bytes too.
		for _, enc := range []string{encrypt, base64.StdEncoding.EncodeToString([]byte(encrypt))} {
			msg, err := k.Decrypt(enc, sampleAppID)
			if err != nil {
				if msg != nil {
					t.Fatalf("Decrypt returned %q with error %v", msg, err)
				}
				if r := wxcrypto.Reason(err); r == "decrypt_failed" {
					t.Fatalf("unclassified error: %v", err)
				}
				continue
			}
			if msg == nil {
				t.Fatal("Decrypt returned neither a message nor an error")
			}
		}
	})
}

// FuzzDecryptPlaintext encrypts fuzzed bytes raw (after zero-filling them to
// whole AES blocks), so that the checks after decryption, which a fuzzer
// cannot reach through AES, see arbitrary paddings and length fields.
func FuzzDecryptPlaintext(f *testing.F) {
	f.Add(pkcs7(plaintext(5, "hello"+sampleAppID)))
	f.Add(pkcs7(plaintext(0xFFFFFFFF, "hello"+sampleAppID)))
	f.Add(pkcs7(plaintext(0, sampleAppID)))
	f.Add(pkcs7([]byte("short")))
	f.Add(bytes.Repeat([]byte{32}, 64))
	f.Add(make([]byte, 48))
	f.Fuzz(func(t *testing.T, pt []byte) {
		if len(pt) > 1<<16 {
			return
		}
		pt = append(pt, make([]byte, (16-len(pt)%16)%16)...)
		k := mustParseKey(t, sampleKey)
		msg, err := k.Decrypt(encryptRaw(t, sampleKey, pt), sampleAppID)
		if err != nil {
			if msg != nil || wxcrypto.Reason(err) == "decrypt_failed" {
				t.Fatalf("Decrypt = %q, %v", msg, err)
			}
			return
		}
		// A success must be the layout Encrypt produces, except that a
		// ciphertext of an odd number of 16-byte blocks is accepted (as
		// the official samples do) though Encrypt never makes one.
		body := plaintext(uint32(len(msg)), string(msg)+sampleAppID)
		pad := len(pt) - len(body)
		if len(pt) < 32 || pad < 1 || pad > 32 {
			t.Fatalf("accepted a %d-byte plaintext as a %d-byte message", len(pt), len(msg))
		}
		want := append(body, bytes.Repeat([]byte{byte(pad)}, pad)...)
		if !bytes.Equal(pt[16:], want[16:]) {
			t.Fatalf("accepted %x as %q", pt, msg)
		}
	})
}

// FuzzRoundTrip checks that Decrypt inverts Encrypt for any message up to
// 4 KiB and any AppID, and that the AppID check is exact.
func FuzzRoundTrip(f *testing.F) {
	for _, v := range decryptVectors {
		f.Add([]byte(v.msg), v.appID, []byte(v.random))
	}
	for _, v := range encryptVectors {
		f.Add([]byte(v.msg), v.appID, []byte(v.random))
	}
	f.Add([]byte{}, "", []byte(nil))
	f.Add(bytes.Repeat([]byte{0}, 26), sampleAppID, []byte("0123456789abcdef")) // exactly 64 before padding
	keys := []*wxcrypto.Key{mustParseKey(f, sampleKey), mustParseKey(f, docsKey)}
	f.Fuzz(func(t *testing.T, msg []byte, appID string, random []byte) {
		if len(msg) > 4096 {
			return
		}
		if len(random) != 16 {
			random = nil // draw it from crypto/rand
		}
		k := keys[len(appID)%len(keys)]
		enc, err := k.Encrypt(msg, appID, random)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		ct, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("Encrypt returned bad base64: %v", err)
		}
		if want := (20+len(msg)+len(appID))/32*32 + 32; len(ct) != want {
			t.Fatalf("ciphertext is %d bytes, want %d", len(ct), want)
		}
		got, err := k.Decrypt(enc, appID)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("Decrypt = %q, want %q", got, msg)
		}
		if _, err := k.Decrypt(enc, appID+"x"); !errors.Is(err, wxcrypto.ErrAppIDMismatch) {
			t.Fatalf("Decrypt with another AppID: %v, want ErrAppIDMismatch", err)
		}
	})
}

// FuzzVerify checks Verify against Sign: the right signature verifies in
// any argument order, and any other string does not.
func FuzzVerify(f *testing.F) {
	f.Add("f464b24fc39322e44b38aa78f5edd27bd1441696", docsToken, "1714036504", "1514711492")
	f.Add("F464B24FC39322E44B38AA78F5EDD27BD1441696", docsToken, "1714036504", "1514711492")
	f.Add("899cf89e464efb63f54ddac96b0a0a235f53aa78", docsToken, "1714037059", "486452656")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, signature, token, timestamp, nonce string) {
		want := wxcrypto.Sign(token, timestamp, nonce)
		if !wxcrypto.Verify(want, nonce, token, timestamp) {
			t.Fatalf("Sign's own signature %s does not verify", want)
		}
		if got := wxcrypto.Verify(signature, token, timestamp, nonce); got != (signature == want) {
			t.Fatalf("Verify(%q) = %v, Sign = %s", signature, got, want)
		}
	})
}
