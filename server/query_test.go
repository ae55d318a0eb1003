package server

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseQuery: for any raw query, parseQuery reads WeChat's parameters
// as url.ParseQuery does (the reading it replaced), and refuses exactly the
// queries that give one of them twice.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"signature=abc&timestamp=1718170001&nonce=42",
		"signature=abc&timestamp=1&nonce=2&encrypt_type=aes&msg_signature=def",
		"echostr=hello%20world&signature=a+b",
		"signature=a&signature=b",
		"signature=a&sig%6Eature=b",
		"signature=a;b&timestamp=1",
		"nonce=%zz&nonce=ok",
		"%zz=1&nonce",
		"&&nonce=&=x&timestamp",
		"echostr=%E4%BD%A0&other=1&other=2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Count(raw, "&") >= 1000 {
			return // url.ParseQuery reads none of a query with too many pairs
		}
		got, err := parseQuery(raw)
		values, _ := url.ParseQuery(raw)
		repeated := false
		for _, name := range []string{"signature", "timestamp", "nonce", "msg_signature", "encrypt_type", "echostr"} {
			repeated = repeated || len(values[name]) > 1
		}
		var r *refusal
		if repeated {
			if !errors.As(err, &r) || r.reason != "repeated_param" {
				t.Fatalf("parseQuery(%q) = %v, want a repeated_param refusal", raw, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("parseQuery(%q): %v", raw, err)
		}
		want := query{
			signature: values.Get("signature"), timestamp: values.Get("timestamp"), nonce: values.Get("nonce"),
			msgSignature: values.Get("msg_signature"), encryptType: values.Get("encrypt_type"), echostr: values.Get("echostr"),
		}
		if got != want {
			t.Fatalf("parseQuery(%q) = %+v, url.ParseQuery reads %+v", raw, got, want)
		}
	})
}
