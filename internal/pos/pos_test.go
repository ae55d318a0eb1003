package pos_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/internal/pos"
)

func TestPos(t *testing.T) {
	for _, tt := range []struct {
		p    pos.Pos
		want string
	}{
		{pos.Pos{File: "rules/shop.yaml", Line: 12, Col: 5}, "rules/shop.yaml:12:5"},
		{pos.Pos{File: "rules/shop.yaml", Line: 12}, "rules/shop.yaml:12"},
		{pos.Pos{File: "rules/shop.yaml"}, "rules/shop.yaml"},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	a, b := pos.Pos{File: "a.yaml", Line: 9, Col: 1}, pos.Pos{File: "a.yaml", Line: 10, Col: 1}
	if a.Compare(b) >= 0 || b.Compare(a) <= 0 || a.Compare(a) != 0 || a.Compare(pos.Pos{File: "b.yaml", Line: 1}) >= 0 {
		t.Errorf("Compare does not order %v before %v before b.yaml", a, b)
	}
}

// TestPosInLogs: a position reads file:line:col in text and JSON logs alike.
func TestPosInLogs(t *testing.T) {
	p := pos.Pos{File: "shop.yaml", Line: 3, Col: 5}
	var text, js strings.Builder
	slog.New(slog.NewTextHandler(&text, nil)).Info("x", "source", p)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("x", "source", p)
	if !strings.Contains(text.String(), "source=shop.yaml:3:5") {
		t.Errorf("text log: %s", text.String())
	}
	var line struct{ Source string }
	if err := json.Unmarshal([]byte(js.String()), &line); err != nil || line.Source != "shop.yaml:3:5" {
		t.Errorf("JSON log: %s (%v)", js.String(), err)
	}
}
