package text_test

import (
	"strings"
	"testing"

	"github.com/wxreply/wxreply/internal/text"
)

func TestText(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{text.Plural(0, "rule", "rules"), "rules"},
		{text.Plural(1, "rule", "rules"), "rule"},
		{text.Plural(2, "rule", "rules"), "rules"},
		{text.Article("image"), "an"},
		{text.Article("Event"), "an"},
		{text.Article("click"), "a"},
		{text.Article(""), "a"},
		{text.Indent("a\nb\n", "  "), "  a\n  b\n"},
		{text.Indent("a", "> "), "> a\n"},
		{text.Indent("", "  "), "  \n"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"when", "event", "event_key", "reply"}
	for s, want := range map[string]string{"wehn": "when", "evnt": "event", "event_kye": "event_key", "priority": ""} {
		if got := text.Suggest(s, known); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestUnknown(t *testing.T) {
	for _, tt := range []struct {
		name  string
		known []string
		want  string
	}{
		{"wehn", []string{"when", "reply"}, `unknown field "wehn": did you mean "when"?`},
		{"sticker", []string{"text", "image"}, `unknown field "sticker" (known: text, image)`},
		{"sticker", nil, `unknown field "sticker"`},
		{strings.Repeat("x", 50), []string{"a"}, `unknown field "` + strings.Repeat("x", 40) + `" (known: a)`},
	} {
		if got := text.Unknown("field", tt.name, tt.known); got != tt.want {
			t.Errorf("Unknown(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
}
