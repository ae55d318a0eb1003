package engine_test

import (
	"testing"

	"github.com/wxreply/wxreply/engine"
)

func TestParseBackendURL(t *testing.T) {
	u, err := engine.ParseBackendURL("https://api.example.com/wechat?key=k1")
	if err != nil || u.Host != "api.example.com" || u.RawQuery != "key=k1" {
		t.Fatalf("ParseBackendURL = %v, %v", u, err)
	}
	for _, raw := range []string{"ftp://x", "api.example.com/wechat", "https://", "http://%zz", ""} {
		want := `"` + raw + `" is not an http:// or https:// URL`
		if u, err := engine.ParseBackendURL(raw); u != nil || err == nil || err.Error() != want {
			t.Errorf("%q: ParseBackendURL = %v, %v; want %s", raw, u, err, want)
		}
	}
}
