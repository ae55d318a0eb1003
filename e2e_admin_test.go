package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestE2EAdminPage: `wxreply serve` serves the admin page on the admin
// listener, for a rule folder and for the examples built into the binary.
func TestE2EAdminPage(t *testing.T) {
	skipShort(t)
	t.Parallel()
	get := func(t *testing.T, url string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
		}
		return string(body)
	}
	for _, tc := range []struct {
		name, dir string
		loaded    string
	}{
		{"the examples folder", "", "Reload now"},
		{"the examples built in", t.TempDir(), "the examples built into wxreply: they do not reload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServeIn(t, tc.dir, nil)
			if page := get(t, s.admin+"/"); !strings.Contains(page, tc.loaded) {
				t.Errorf("the overview does not say %q:\n%s", tc.loaded, page)
			}
			if page := get(t, s.admin+"/rules"); !strings.Contains(page, `class="rule disabled" id="rule-mid-autumn-mooncakes"`) {
				t.Errorf("the rules page does not show the disabled rule greyed:\n%s", page)
			}
			if page := get(t, s.admin+"/try?text=wifi"); !strings.Contains(page, `id="answer-rule">wifi</code>`) {
				t.Errorf("a try of wifi is not answered by the rule wifi:\n%s", page)
			}
			// The admin listener's own routes are still its own.
			if page := get(t, s.admin+"/metrics"); !strings.Contains(page, "wxreply_rule_hits_total") {
				t.Errorf("/metrics lost to the page:\n%s", page)
			}
		})
	}
}
