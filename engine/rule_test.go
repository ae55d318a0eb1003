package engine_test

import (
	"testing"

	"github.com/wxreply/wxreply/engine"
)

func TestBackendAddress(t *testing.T) {
	b := &engine.Backend{URL: "https://api.example.com/wechat?key=k1"}
	if err := b.ParseURL(); err != nil {
		t.Fatal(err)
	}
	first, err := b.Address()
	if err != nil || first.Host != "api.example.com" || first.RawQuery != "key=k1" {
		t.Fatalf("Address() = %v, %v", first, err)
	}
	if again, _ := b.Address(); again != first {
		t.Errorf("Address() parsed the URL again after ParseURL")
	}

	// A literal is parsed when asked, and checked as ParseURL checks.
	literal := &engine.Backend{URL: "http://127.0.0.1:9/order"}
	if u, err := literal.Address(); err != nil || u.Path != "/order" {
		t.Errorf("literal: Address() = %v, %v", u, err)
	}
	for _, raw := range []string{"ftp://x", "api.example.com/wechat", "https://", "http://%zz", ""} {
		b := &engine.Backend{URL: raw}
		want := `"` + raw + `" is not an http:// or https:// URL`
		if err := b.ParseURL(); err == nil || err.Error() != want {
			t.Errorf("%q: ParseURL() = %v; want %s", raw, err, want)
		}
		if u, err := b.Address(); u != nil || err == nil {
			t.Errorf("%q: Address() = %v, %v; want an error", raw, u, err)
		}
	}
}
