package engine_test

import (
	"strings"
	"testing"

	"github.com/wxreply/wxreply/engine"
)

// TestSchema: every place that reads or writes replies loops over
// engine.Schema, so it must be complete and unambiguous.
func TestSchema(t *testing.T) {
	if len(engine.Kinds) != len(engine.Schema) {
		t.Fatalf("Kinds has %d kinds, Schema %d", len(engine.Kinds), len(engine.Schema))
	}
	for i, s := range engine.Schema {
		if engine.Kinds[i] != s.Kind || engine.SchemaOf(s.Kind) != s {
			t.Errorf("kind %d: %q is not found as itself", i, s.Kind)
		}
		if len(s.Fields) == 0 {
			t.Errorf("%s: no fields", s.Kind)
		}
		if s.Shape == engine.ShapeValue && len(s.Fields) != 1 {
			t.Errorf("%s: a value kind has exactly one field, not %d", s.Kind, len(s.Fields))
		}
		if s.Shape == engine.ShapeList && (s.XML == "" || s.CountXML == "" || s.Item == "" || s.MaxItems < 1 || !s.Fields[0].Required) {
			t.Errorf("%s: a list needs its element, its count, its item's name, a limit, and a required first field (it tells items apart)", s.Kind)
		}
		seen := map[string]bool{}
		for _, f := range s.Fields {
			if f.Name == "" || f.XML == "" || f.JSON == "" || f.Doc == "" {
				t.Errorf("%s: field %+v lacks a name", s.Kind, f)
			}
			if seen[f.Name] || seen[f.XML] {
				t.Errorf("%s: %s is given twice", s.Kind, f.Name)
			}
			seen[f.Name], seen[f.XML] = true, true
			if f.Required && f.OmitEmpty {
				t.Errorf("%s.%s: a required field is always written", s.Kind, f.Name)
			}
		}
	}
}

func TestNewReply(t *testing.T) {
	r := engine.NewReply(engine.KindMusic, map[string]string{"thumb_media_id": "TH", "title": "t"})
	if r.Get("thumb_media_id") != "TH" || r.Get("title") != "t" || r.Get("music_url") != "" || r.Get("no_such") != "" {
		t.Errorf("Get: %q", r.Values)
	}
	news := engine.NewReply(engine.KindNews, nil, map[string]string{"title": "a"}, map[string]string{"title": "b", "url": "u"})
	if len(news.Items) != 2 || news.Get("title") != "a" || news.Items[1][3] != "u" {
		t.Errorf("news items: %q", news.Items)
	}
	for _, bad := range []func(){
		func() { engine.NewReply("sticker", nil) },
		func() { engine.NewReply(engine.KindImage, map[string]string{"title": "x"}) },
	} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(p.(string), "engine: ") {
					t.Errorf("NewReply did not panic with a message: %v", p)
				}
			}()
			bad()
		}()
	}
}
