package examples_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/examples"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
	"github.com/wxreply/wxreply/rules/ruletest/ruletesting"
	"github.com/wxreply/wxreply/server"
)

func loadExamples(t *testing.T) *rules.Result {
	t.Helper()
	res, err := rules.LoadFS(examples.Rules(), examples.RulesDir)
	if err != nil {
		t.Fatalf("the examples do not load:\n%v", err)
	}
	return res
}

// TestExamplesAreClean: the example account is what newcomers copy, so it
// loads without a warning and the embedded copy is the checked-in one.
func TestExamplesAreClean(t *testing.T) {
	res := loadExamples(t)
	if len(res.Warnings) > 0 {
		t.Errorf("warnings:\n%v", res.Warnings)
	}
	fromDisk, err := rules.Load("rules")
	if err != nil {
		t.Fatal(err)
	}
	if fromDisk.Version != res.Version {
		t.Errorf("embedded version %s, on disk %s", res.Version, fromDisk.Version)
	}
}

// TestExamplesShowEveryFeature keeps the examples a tour of the rule format.
func TestExamplesShowEveryFeature(t *testing.T) {
	res := loadExamples(t)
	all := res.RuleSet.Rules()
	if len(all) < 15 {
		t.Errorf("%d rules; the examples show at least 15", len(all))
	}
	kinds := map[engine.Kind]bool{}
	modes := map[engine.KeywordMode]bool{}
	var conditions []string
	randomOne := false
	for _, r := range all {
		for _, rt := range r.Replies {
			kinds[rt.Kind] = true
		}
		randomOne = randomOne || len(r.Replies) > 1
		if r.Keywords != nil {
			modes[r.Keywords.Mode()] = true
		}
		if r.When != nil {
			conditions = append(conditions, r.When.Source())
		}
	}
	for _, k := range engine.Kinds {
		if !kinds[k] {
			t.Errorf("no rule replies with %s", k)
		}
	}
	for _, m := range engine.KeywordModes {
		if !modes[m] {
			t.Errorf("no keywords with match: %s", m)
		}
	}
	if !randomOne {
		t.Error("no rule with replies: (one picked at random)")
	}
	for _, uses := range []string{"TimeBetween", "Scene", "DistanceKm", "IsWeekend"} {
		if !slices.ContainsFunc(conditions, func(c string) bool { return strings.Contains(c, uses) }) {
			t.Errorf("no condition uses %s", uses)
		}
	}
}

// TestExamplesAnswerTheFixtures plays WeChat's real-shaped pushes against
// the example account at a fixed time.
func TestExamplesAnswerTheFixtures(t *testing.T) {
	res := loadExamples(t)
	wednesdayMorning := time.Date(2024, 6, 12, 10, 0, 0, 0, engine.DefaultLocation)
	tests := []struct {
		fixture string
		rule    string // "" for no reply
		kind    engine.Kind
	}{
		{"text.xml", "hours-open", engine.KindText},
		{"text_from_article.xml", "fallback-text", engine.KindText},
		{"image.xml", "image-thanks", engine.KindText},
		{"voice.xml", "voice-other", engine.KindText},
		{"voice_recognition.xml", "voice-weather", engine.KindText},
		{"video.xml", "other-media-fallback", engine.KindText},
		{"shortvideo.xml", "other-media-fallback", engine.KindText},
		{"location.xml", "location-nearby", engine.KindText},
		{"link.xml", "other-media-fallback", engine.KindText},
		{"event_subscribe.xml", "welcome", engine.KindNews},
		{"event_subscribe_qrscene.xml", "welcome-cup-sleeve", engine.KindText},
		{"event_scan.xml", "scan-cup-sleeve", engine.KindText},
		{"event_click.xml", "menu-opening-hours", engine.KindText},
		{"event_unsubscribe.xml", "", ""},
		{"event_view.xml", "", ""},
		{"event_templatesendjobfinish.xml", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			f, err := os.Open(filepath.Join("..", "server", "testdata", "fixtures", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fields, err := server.DecodeFields(f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := engine.NewEvent(fields, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := res.RuleSet.Match(ev, engine.MatchOptions{Now: wednesdayMorning, Rand: func(int) int { return 0 }})
			if len(d.Errors) > 0 {
				t.Errorf("rules failed at run time: %v", d.Errors)
			}
			switch {
			case tt.rule == "" && d.Rule != nil:
				t.Errorf("answered by %s; want no reply", d.Rule.ID)
			case tt.rule != "" && d.Rule == nil:
				t.Errorf("no reply; want %s", tt.rule)
			case tt.rule != "" && (d.Rule.ID != tt.rule || d.Reply.Kind != tt.kind):
				t.Errorf("answered by %s with %s; want %s with %s", d.Rule.ID, d.Reply.Kind, tt.rule, tt.kind)
			}
		})
	}
}

// TestExampleRuleTests runs the example account's rule tests
// (rules/*_test.yaml), one subtest per case, as `wxreply test` does: a change
// to the example rules that breaks what a case says fails go test.
//
//	go test ./examples -run 'TestExampleRuleTests/keywords_test.yaml'
func TestExampleRuleTests(t *testing.T) {
	ruletesting.Test(t, "rules")
}

// TestEveryExampleRuleIsTested: each enabled example rule answers at least
// one case, and the copy built into the binary carries the tests too.
func TestEveryExampleRuleIsTested(t *testing.T) {
	rep, err := ruletest.RunFS(io.Discard, ruletest.Options{}, examples.Rules(), examples.RulesDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Files) < 4 || rep.Passed == 0 || rep.Failed > 0 {
		t.Errorf("embedded tests: %d files, %d passed, %d failed", len(rep.Files), rep.Passed, rep.Failed)
	}
	for _, r := range rep.Uncovered {
		t.Errorf("rule %s (%s) answers no case: add one to a *_test.yaml beside it", r.ID, r.Source)
	}
}
