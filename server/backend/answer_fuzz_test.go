package backend

import (
	"strings"
	"testing"

	"github.com/wxreply/wxreply/engine"
)

// FuzzParseAnswer: whatever a backend answers, parseAnswer does not panic,
// and what it accepts is what the server can send: at most MaxReplies
// replies of known kinds, a value for every field of the kind, required
// fields not blank, 1 to MaxItems news articles.
func FuzzParseAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"text": "hi"}`,
		`[{"text": "a"}, {"image": {"media_id": "M"}}]`,
		`{"news": [{"title": "T", "url": null}]}`,
		`{"music": {"thumb_media_id": "T", "title": 1}}`,
		`{"transfer_customer_service": null}`,
		`[]`, `null`, `"x"`, `[[]]`, `{"video": {"media_id": "M", "title": "t"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		replies, problems, _ := parseAnswer(body, "application/json")
		if len(problems) > 0 && replies != nil {
			t.Fatalf("problems %q and replies %v", problems, replies)
		}
		if len(replies) > MaxReplies {
			t.Fatalf("%d replies accepted", len(replies))
		}
		for _, r := range replies {
			s := r.Schema()
			if s == nil {
				t.Fatalf("unknown kind %q accepted", r.Kind)
			}
			items := [][]string{r.Values}
			if s.Shape == engine.ShapeList {
				items = r.Items
				if len(items) == 0 || len(items) > s.MaxItems {
					t.Fatalf("%s with %d items accepted", r.Kind, len(items))
				}
			}
			for _, values := range items {
				if len(values) != len(s.Fields) {
					t.Fatalf("%s with %d values for %d fields", r.Kind, len(values), len(s.Fields))
				}
				for i, field := range s.Fields {
					if field.Required && strings.TrimSpace(values[i]) == "" {
						t.Fatalf("%s accepted without %s", r.Kind, field.Name)
					}
				}
			}
		}
	})
}
