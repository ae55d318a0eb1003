package rules_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wxreply/wxreply/internal/benchrules"
	"github.com/wxreply/wxreply/rules"
)

// BenchmarkLoad10000 loads a folder of 10,000 ordinary rules, as start-up
// and every reload that changes a file do; it should take at most a second.
func BenchmarkLoad10000(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(benchrules.File(10000)), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := rules.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(res.RuleSet.Rules()); n != 10000 {
			b.Fatalf("%d rules loaded, want 10000", n)
		}
	}
}
