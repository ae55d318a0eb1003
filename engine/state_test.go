package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// survey is a two-step conversation and a catch-all with a cooldown.
func survey(t *testing.T) *engine.RuleSet {
	t.Helper()
	return engine.NewRuleSet([]*engine.Rule{
		{
			ID: "start", Keywords: mustKeywords(t, engine.MatchEqual, "survey"),
			Set:     []engine.SessionSet{{Name: "step", Value: mustTemplate(t, "rating")}, {Name: "asked", Value: mustTemplate(t, "{{ .Content }}")}},
			Replies: textReplies(t, "Rate us from 1 to 5"),
		},
		{
			ID: "rating", When: mustCondition(t, `Session.step == "rating" && Content matches "^[1-5]$"`, nil),
			Unset:      []string{"step"},
			SessionTTL: 10 * time.Minute,
			Set:        []engine.SessionSet{{Name: "rating", Value: mustTemplate(t, "{{ .Content }}")}},
			Replies:    textReplies(t, "Thanks for {{ .Content }}; you were at {{ .Session.step }}"),
		},
		{
			ID: "fallback", Cooldown: time.Hour,
			Replies: textReplies(t, "We answer within a day{{ if .Session.rating }} (you rated {{ .Session.rating }}){{ end }}"),
		},
	}, nil, "v1")
}

func TestRuleSet_Match_session(t *testing.T) {
	rs := survey(t)
	if got := strings.Join(rs.SessionNames(), ","); got != "asked,rating,step" {
		t.Errorf("SessionNames() = %s, want asked,rating,step", got)
	}
	if !rs.UsesState() {
		t.Error("UsesState() = false for rules with set and cooldown")
	}

	d := rs.Match(textMsg(t, "survey"), engine.MatchOptions{Now: testNow})
	if ruleID(d) != "start" || d.Change == nil || d.Change.Set["step"] != "rating" || d.Change.Set["asked"] != "survey" {
		t.Fatalf("survey: rule %s, change %+v; want start setting step=rating, asked=survey", ruleID(d), d.Change)
	}

	// The next push sees the session; the reply renders with the values
	// it matched with, before unset applies.
	d = rs.Match(textMsg(t, "4"), engine.MatchOptions{Now: testNow, Session: d.Change.Set})
	if ruleID(d) != "rating" || replyText(d) != "Thanks for 4; you were at rating" {
		t.Fatalf("4 with step=rating: rule %s, reply %q", ruleID(d), replyText(d))
	}
	if c := d.Change; c.Set["rating"] != "4" || len(c.Unset) != 1 || c.Unset[0] != "step" || c.SessionTTL != 10*time.Minute || c.Cooldown != 0 {
		t.Errorf("rating's change = %+v", c)
	}

	// Without the session, "4" is not a rating: a name never stored
	// reads "", so the condition is false, not an error.
	d = rs.Match(textMsg(t, "4"), engine.MatchOptions{Now: testNow})
	if ruleID(d) != "fallback" || len(d.Errors) > 0 {
		t.Fatalf("4 without a session: rule %s, errors %v; want fallback", ruleID(d), d.Errors)
	}
	if replyText(d) != "We answer within a day" {
		t.Errorf("fallback without a rating = %q", replyText(d))
	}
	if d.Change == nil || d.Change.Cooldown != time.Hour {
		t.Errorf("fallback's change = %+v, want a cooldown of 1h", d.Change)
	}
}

func TestRuleSet_Match_cooldown(t *testing.T) {
	rs := survey(t)
	cooling := map[string]time.Time{"fallback": testNow.Add(time.Minute)}
	d := rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow, Cooldowns: cooling})
	if d.Rule != nil {
		t.Fatalf("fallback answered while cooling down: %q", replyText(d))
	}
	// Once the cooldown is over, the rule answers again.
	d = rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow.Add(time.Minute), Cooldowns: cooling})
	if ruleID(d) != "fallback" {
		t.Fatalf("after the cooldown: rule %s, want fallback", ruleID(d))
	}
	// explain says why a rule cooling down did not answer.
	d = rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow, Cooldowns: cooling, Explain: true})
	last := d.Trace[len(d.Trace)-1]
	want := "cooldown: the rule answered this user less than 1h ago; it may again from 2024-06-12 13:27:41"
	if last.Rule.ID != "fallback" || last.Reason != want {
		t.Errorf("explain: %s: %q; want fallback: %q", last.Rule.ID, last.Reason, want)
	}
}

func TestRuleSet_Match_sessionValueCapped(t *testing.T) {
	long := strings.Repeat("长", engine.MaxSessionValueBytes) // 3 bytes each
	d := engine.NewRuleSet([]*engine.Rule{{
		ID: "keep", Set: []engine.SessionSet{{Name: "said", Value: mustTemplate(t, "{{ .Content }}")}}, Replies: textReplies(t, "ok"),
	}}, nil, "v").Match(textMsg(t, long), engine.MatchOptions{Now: testNow})
	got := d.Change.Set["said"]
	if len(got) > engine.MaxSessionValueBytes || !strings.HasPrefix(long, got) || len(got) < engine.MaxSessionValueBytes-3 {
		t.Errorf("a long value is stored as %d bytes, want it cut to at most %d on a character boundary", len(got), engine.MaxSessionValueBytes)
	}
}

func TestCondition_CheckSession(t *testing.T) {
	c := mustCondition(t, `Session.stpe == "2"`, nil)
	err := c.CheckSession([]string{"step"})
	if err == nil || !strings.Contains(err.Error(), "no rule sets Session.stpe: did you mean Session.step?") {
		t.Errorf("CheckSession = %v", err)
	}
	if err := c.CheckSession([]string{"stpe"}); err != nil {
		t.Errorf("CheckSession of a set name = %v", err)
	}
	if err := mustCondition(t, `Session[Content] == ""`, nil).CheckSession(nil); err != nil {
		t.Errorf("CheckSession of a computed name = %v, want nil: it cannot be told", err)
	}
}

func TestRuleSet_Match_backendAndPickAll(t *testing.T) {
	onError := engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": mustTemplate(t, "Sorry {{ .Content }}")})
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "order", Keywords: mustKeywords(t, engine.MatchPrefix, "order"),
			Backend: &engine.Backend{URL: "http://127.0.0.1:9/", Timeout: time.Second, PassiveWait: time.Second}, OnError: onError},
		{ID: "all", Keywords: mustKeywords(t, engine.MatchEqual, "all"), Pick: engine.PickAll,
			Replies: textReplies(t, "one", "two {{ .Content }}", "three")},
	}, nil, "v1")
	d := rs.Match(textMsg(t, "order 42"), engine.MatchOptions{Now: testNow})
	if ruleID(d) != "order" || d.Reply != nil || d.OnError == nil || d.OnError.Text() != "Sorry order 42" {
		t.Errorf("backend rule: %s, reply %v, on_error %v; want order, no reply, on_error rendered", ruleID(d), d.Reply, d.OnError)
	}
	d = rs.Match(textMsg(t, "all"), engine.MatchOptions{Now: testNow, Rand: func(int) int { t.Error("pick: all drew at random"); return 0 }})
	if replyText(d) != "one" || len(d.More) != 2 || d.More[0].Text() != "two all" || d.More[1].Text() != "three" {
		t.Errorf("pick: all: reply %q, more %v", replyText(d), d.More)
	}
}
