package rules_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wxreply/wxreply/rules"
)

// A list given something else is named in the file's words, not Go's.
func TestListWording(t *testing.T) {
	for src, want := range map[string]string{
		"rules: {a: b}\n": `rules/shop.yaml:1:8: want a list of rules, got a mapping`,
		"rules:\n  - id: r\n    when: 'true'\n    replies: {text: x}\n": `rules/shop.yaml:4:14: rule "r": want a list of replies, got a mapping`,
	} {
		_, err := rules.LoadFS(fstest.MapFS{"shop.yaml": {Data: []byte(src)}}, "rules")
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: got %v, want %s", src, err, want)
		}
	}
}
