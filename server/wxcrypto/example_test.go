package wxcrypto_test

import (
	"fmt"

	"github.com/wxreply/wxreply/server/wxcrypto"
)

// A safe-mode push from the official docs: check msg_signature over the
// query's timestamp and nonce and the body's <Encrypt>, then decrypt.
func ExampleKey_Decrypt() {
	const (
		token          = "AAAAA"
		encodingAESKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		appID          = "wxba5fad812f8e6fb9"

		// From the URL and the body.
		timestamp    = "1714112445"
		nonce        = "415670741"
		msgSignature = "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"
		encrypt      = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
	)
	key, err := wxcrypto.ParseKey(encodingAESKey)
	if err != nil {
		fmt.Println(err)
		return
	}
	if !wxcrypto.Verify(msgSignature, token, timestamp, nonce, encrypt) {
		fmt.Println("bad msg_signature")
		return
	}
	msg, err := key.Decrypt(encrypt, appID)
	if err != nil {
		fmt.Println(wxcrypto.Reason(err))
		return
	}
	fmt.Printf("%s\n", msg)
	fmt.Println(key)
	// Output:
	// {"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}
	// wxcrypto.Key(redacted)
}

// The encrypted reply of the official docs. A server passes nil for the
// random prefix; the docs' fixed one reproduces their values.
func ExampleSignedReply() {
	key, err := wxcrypto.ParseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	if err != nil {
		fmt.Println(err)
		return
	}
	reply := []byte(`{"demo_resp":"good luck"}`)
	encrypt, msgSignature, err := wxcrypto.SignedReply("AAAAA", key, reply, "wxba5fad812f8e6fb9",
		"1713424427", "415670741", []byte("707722b803182950"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("Encrypt:     ", encrypt)
	fmt.Println("MsgSignature:", msgSignature)
	// Output:
	// Encrypt:      ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==
	// MsgSignature: 1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1
}
