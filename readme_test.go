package main

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
)

// TestREADMEServeSettings: every setting of serve has its row in the
// README's table, with its environment variable and config-file key.
func TestREADMEServeSettings(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	set := serveFlags(fs)
	for _, name := range set.order {
		if name == "config" {
			continue
		}
		row := "| `--" + name + "` | `" + envName(name) + "` | `" + strings.ReplaceAll(name, "-", "_") + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md has no row %s", row)
		}
	}
}
