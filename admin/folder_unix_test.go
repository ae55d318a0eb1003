//go:build unix

package admin_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRulesPageSkipsFIFO: a FIFO named like a rule file, which a read would
// wait on forever, is passed over as a reload passes it over; the page
// still lists the folder's rules.
func TestRulesPageSkipsFIFO(t *testing.T) {
	f := newFixture(t, false)
	if err := syscall.Mkfifo(filepath.Join(f.dir, "zz-pipe.yaml"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- f.do(local(http.MethodGet, "/rules", nil)) }()
	select {
	case rec := <-done:
		// old-promo is disabled: only a read of the folder finds it.
		if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `id="rule-old-promo"`) || strings.Contains(body, `class="flash bad"`) {
			t.Errorf("GET /rules: %d, without the folder's disabled rule or with an error:\n%.500s", rec.Code, rec.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GET /rules waits on the FIFO")
	}
}
