//go:build unix

package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wxreply/wxreply/rules"
)

// TestLoadRefusesWhatIsNotARuleFile is E06 of /work/shared/reliability.md:
// an entry named like a rule file that is no regular file, or is too large,
// is an error naming it, never a hang. Opening a FIFO for reading blocks
// until a writer comes, so the load runs under a hang guard.
func TestLoadRefusesWhatIsNotARuleFile(t *testing.T) {
	const good = "rules:\n  - { id: hi, keywords: [hi], reply: { text: hello } }\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) // makes x.yaml
		want  string                         // the error, after "<dir>/x.yaml: "
	}{
		{"FIFO", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, "x.yaml"), 0o644); err != nil {
				t.Skipf("no FIFO here: %v", err)
			}
		}, "is a named pipe (FIFO), not a regular file: only regular files, or links to them, are read as rules; replace it with a file, or rename it so that its name does not end in .yaml"},
		{"link to a FIFO", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(filepath.Join(dir, ".pipe"), 0o644); err != nil {
				t.Skipf("no FIFO here: %v", err)
			}
			symlink(t, ".pipe", filepath.Join(dir, "x.yaml"))
		}, "is a named pipe (FIFO), not a regular file: only regular files, or links to them, are read as rules; replace it with a file, or rename it so that its name does not end in .yaml"},
		{"link to a device", func(t *testing.T, dir string) {
			symlink(t, os.DevNull, filepath.Join(dir, "x.yaml"))
		}, "is a character device, not a regular file: only regular files, or links to them, are read as rules; replace it with a file, or rename it so that its name does not end in .yaml"},
		{"folder", func(t *testing.T, dir string) {
			if err := os.Mkdir(filepath.Join(dir, "x.yaml"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "is a folder, not a rule file: folders inside the rules folder are not read; rename it so that its name does not end in .yaml"},
		{"dangling link", func(t *testing.T, dir string) {
			symlink(t, "..data/x.yaml", filepath.Join(dir, "x.yaml"))
		}, "is a link to ..data/x.yaml, which does not exist: point it at a rule file, or remove it"},
		{"over the size limit", func(t *testing.T, dir string) {
			// Sparse: the size is all that is looked at.
			if err := os.Truncate(writeTemp(t, dir, "x.yaml", good), rules.MaxFileSize+1); err != nil {
				t.Fatal(err)
			}
		}, "is 8388609 bytes, over the 8 MB limit for a rule file: split its rules across several files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTemp(t, dir, "shop.yaml", good)
			tt.setup(t, dir)
			done := make(chan error, 1)
			go func() {
				_, err := rules.Load(dir)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second): // a hang guard, not a speed limit
				t.Fatal("Load hangs")
			}
			want := filepath.ToSlash(dir) + "/x.yaml: " + tt.want
			if err == nil || err.Error() != want {
				t.Errorf("error:\n%v\nwant:\n%s", err, want)
			}
			var list rules.Errors
			if !errors.As(err, &list) || len(list) != 1 || list[0].Pos.File != filepath.ToSlash(dir)+"/x.yaml" {
				t.Errorf("error %#v: want one rules.Error at x.yaml", err)
			}
		})
	}
}
