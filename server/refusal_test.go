package server

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/wxreply/wxreply/server/wxcrypto"
)

// TestEveryRefusalHasAStatus: every reason the code refuses with is in
// refusalStatus, the decryption reasons too.
func TestEveryRefusalHasAStatus(t *testing.T) {
	reasons := map[string]bool{}
	for _, err := range []error{wxcrypto.ErrBadCiphertext, wxcrypto.ErrBadPadding, wxcrypto.ErrBadLength,
		wxcrypto.ErrAppIDMismatch, errors.New("other")} {
		reasons[wxcrypto.Reason(err)] = true
	}
	files, _ := filepath.Glob("*.go")
	refuseCall := regexp.MustCompile(`refuse\("([a-z_]+)"`)
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range refuseCall.FindAllSubmatch(src, -1) {
			reasons[string(m[1])] = true
		}
	}
	if len(reasons) < 20 {
		t.Fatalf("found %d reasons; the search is broken", len(reasons))
	}
	for reason := range reasons {
		if _, ok := refusalStatus[reason]; !ok {
			t.Errorf("refuse(%q): no status in refusalStatus", reason)
		}
	}
}
