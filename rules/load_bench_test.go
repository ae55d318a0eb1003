package rules_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/rules"
)

// benchRules is a rule file of n rules shaped as the peer bench's
// gen-rules.py writes them: a quarter each of contains-keywords, CLICK event
// keys, expr conditions and equal-keywords, and a last rule answering
// "hello".
func benchRules(n int) string {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n - 1 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "  - id: kw%d\n    msgtype: text\n    keywords: [word%d, 词%d]\n    reply:\n      text: answer %d\n", i, i, i, i)
		case 1:
			fmt.Fprintf(&b, "  - id: click%d\n    event: CLICK\n    event_key: KEY_%d\n    reply:\n      text: click %d\n", i, i, i)
		case 2:
			fmt.Fprintf(&b, "  - id: when%d\n    msgtype: text\n    when: Text == \"exact%d\" || Text startsWith \"pre%d:\"\n    reply:\n      text: when %d\n", i, i, i, i)
		default:
			fmt.Fprintf(&b, "  - id: eq%d\n    msgtype: text\n    match: equal\n    keywords: [menu%d]\n    reply:\n      text: eq %d\n", i, i, i)
		}
	}
	b.WriteString("  - id: hello\n    msgtype: text\n    match: equal\n    keywords: [hello]\n    reply:\n      text: Hello {{ .FromUserName }}\n")
	return b.String()
}

// BenchmarkLoad10000 loads a folder of 10,000 ordinary rules, as start-up
// and every reload that changes a file do; it should take at most a second.
func BenchmarkLoad10000(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(benchRules(10000)), 0o644); err != nil {
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
