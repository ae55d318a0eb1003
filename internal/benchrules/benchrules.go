// Package benchrules writes the rule folder the benchmarks load: rules
// shaped as the peer bench's gen-rules.py writes them, so that a benchmark
// in process and a load run against a real server measure the same rules.
package benchrules

import (
	"fmt"
	"strings"
)

// File is a rule file of n rules: a quarter each of contains-keywords,
// CLICK event keys (KEY_1, KEY_5, ...), expr conditions and
// equal-keywords, and a last rule, "hello", answering the text "hello"
// with "Hello " and the sender.
func File(n int) string {
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
