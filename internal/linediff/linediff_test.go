package linediff_test

import (
	"strings"
	"testing"

	"github.com/wxreply/wxreply/internal/linediff"
)

func TestText(t *testing.T) {
	got := linediff.Text("a\nb\nc", "a\nB\nc\nd")
	want := " a\n-b\n+B\n c\n+d\n"
	if got != want {
		t.Errorf("Text:\n%s\nwant:\n%s", got, want)
	}
}

// Unified writes what diff -u writes for the same files, after its header.
func TestUnified(t *testing.T) {
	a := strings.Fields("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15")
	b := strings.Fields("1 2 three 4 5 6 7 8 9 10 11 12 13 15 16")
	want := `--- a
+++ b
@@ -1,6 +1,6 @@
 1
 2
-3
+three
 4
 5
 6
@@ -11,5 +11,5 @@
 11
 12
 13
-14
 15
+16
`
	if got := linediff.Unified("a", a, "b", b); got != want {
		t.Errorf("Unified:\n%s\nwant:\n%s", got, want)
	}
	if got, want := linediff.Unified("none", nil, "b", []string{"x"}), "--- none\n+++ b\n@@ -0,0 +1 @@\n+x\n"; got != want {
		t.Errorf("Unified from nothing:\n%s\nwant:\n%s", got, want)
	}
	if got := linediff.Unified("a", a, "a", a); got != "" {
		t.Errorf("Unified of the same lines = %q, want \"\"", got)
	}
}
