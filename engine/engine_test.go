package engine_test

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// testNow is a Wednesday afternoon in the account's zone.
var testNow = time.Date(2024, 6, 12, 13, 26, 41, 0, engine.DefaultLocation)

func mustEvent(tb testing.TB, fields map[string]string) *engine.Event {
	tb.Helper()
	ev, err := engine.NewEvent(header(fields), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

func textMsg(tb testing.TB, content string) *engine.Event {
	tb.Helper()
	return mustEvent(tb, map[string]string{"MsgType": "text", "MsgId": "1", "Content": content})
}

func eventMsg(tb testing.TB, event, key string) *engine.Event {
	tb.Helper()
	return mustEvent(tb, map[string]string{"MsgType": "event", "Event": event, "EventKey": key})
}

func mustCondition(tb testing.TB, src string, vars map[string]any) *engine.Condition {
	tb.Helper()
	c, err := engine.CompileCondition(src, vars)
	if err != nil {
		tb.Fatalf("CompileCondition(%q): %v", src, err)
	}
	return c
}

func mustKeywords(tb testing.TB, mode engine.KeywordMode, words ...string) *engine.Keywords {
	tb.Helper()
	k, err := engine.NewKeywords(mode, words)
	if err != nil {
		tb.Fatalf("NewKeywords(%q, %q): %v", mode, words, err)
	}
	return k
}

func mustTemplate(tb testing.TB, src string) *engine.Template {
	tb.Helper()
	t, err := engine.CompileTemplate("reply", src)
	if err != nil {
		tb.Fatalf("CompileTemplate(%q): %v", src, err)
	}
	return t
}

// textReplies is one text reply per src: several are alternatives.
func textReplies(tb testing.TB, srcs ...string) []*engine.ReplyTemplate {
	tb.Helper()
	var out []*engine.ReplyTemplate
	for _, src := range srcs {
		out = append(out, engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": mustTemplate(tb, src)}))
	}
	return out
}

// ruleID is the id of the rule that answered, or "" when none did.
func ruleID(d engine.Decision) string {
	if d.Rule == nil {
		return ""
	}
	return d.Rule.ID
}

func replyText(d engine.Decision) string {
	if d.Reply == nil {
		return ""
	}
	return d.Reply.Text()
}

func ids(rules []*engine.Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.ID)
	}
	return out
}

func TestRuleSet_Match_firstMatchWins(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "image", MsgType: "image", Replies: textReplies(t, "nice picture")},
		{ID: "price", Keywords: mustKeywords(t, engine.MatchContains, "价格"), Replies: textReplies(t, "price list")},
		{ID: "price-again", Keywords: mustKeywords(t, engine.MatchContains, "价格"), Replies: textReplies(t, "never")},
		{ID: "fallback", Replies: textReplies(t, "sorry")},
	}, nil, "v1")
	tests := []struct {
		name string
		ev   *engine.Event
		want string
	}{
		{"keyword", textMsg(t, "请问价格多少"), "price"},
		{"msgtype", mustEvent(t, map[string]string{"MsgType": "image", "MediaId": "m"}), "image"},
		{"nothing else", textMsg(t, "hello"), "fallback"},
		{"event", eventMsg(t, "CLICK", "K"), "fallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rs.Match(tt.ev, engine.MatchOptions{Now: testNow})
			if got := ruleID(d); got != tt.want {
				t.Errorf("rule = %q, want %q", got, tt.want)
			}
			if d.Reply == nil || d.Reply.Kind != engine.KindText {
				t.Errorf("Reply = %v, want a text reply", d.Reply)
			}
			if d.Errors != nil || d.Trace != nil {
				t.Errorf("Errors = %v, Trace = %v; want none", d.Errors, d.Trace)
			}
		})
	}
}

func TestNewRuleSet_priority(t *testing.T) {
	hi := func(id string, prio int) *engine.Rule {
		return &engine.Rule{ID: id, Priority: prio, Keywords: mustKeywords(t, engine.MatchContains, "hi"), Replies: textReplies(t, id)}
	}
	rules := []*engine.Rule{
		hi("first-0", 0),
		hi("first-10", 10),
		{ID: "fallback", Priority: -100, Replies: textReplies(t, "fallback")},
		hi("second-10", 10),
		hi("second-0", 0),
		hi("minus-5", -5),
		hi("twenty", 20),
	}
	given := slices.Clone(rules)
	rs := engine.NewRuleSet(rules, nil, "v1")

	want := []string{"twenty", "first-10", "second-10", "first-0", "second-0", "minus-5", "fallback"}
	if got := ids(rs.Rules()); !slices.Equal(got, want) {
		t.Errorf("Rules() = %q, want %q", got, want)
	}
	if !slices.Equal(rules, given) {
		t.Errorf("NewRuleSet reordered the caller's slice: %q", ids(rules))
	}
	if got := ruleID(rs.Match(textMsg(t, "oh hi"), engine.MatchOptions{Now: testNow})); got != "twenty" {
		t.Errorf("Match = %q, want twenty (highest priority)", got)
	}
	if got := ruleID(rs.Match(textMsg(t, "bye"), engine.MatchOptions{Now: testNow})); got != "fallback" {
		t.Errorf("Match = %q, want fallback (lowest priority, the only one left)", got)
	}
}

func TestNewRuleSet_accessors(t *testing.T) {
	vars := map[string]any{"shop": "wxreply 小店"}
	r := &engine.Rule{ID: "a", Replies: textReplies(t, "a")}
	rs := engine.NewRuleSet([]*engine.Rule{r}, vars, "sha256:abc")
	if rs.Version() != "sha256:abc" {
		t.Errorf("Version = %q", rs.Version())
	}
	if rs.Vars()["shop"] != "wxreply 小店" {
		t.Errorf("Vars = %v", rs.Vars())
	}
	if rs.Rule("a") != r || rs.Rule("missing") != nil {
		t.Errorf("Rule(a) = %p, Rule(missing) = %p; want %p, nil", rs.Rule("a"), rs.Rule("missing"), r)
	}
}

func TestRuleSet_Match_keywords(t *testing.T) {
	tests := []struct {
		mode  engine.KeywordMode
		words []string
		text  string
		want  bool
	}{
		{engine.MatchContains, []string{"price"}, "What is the PRICE?", true},
		{engine.MatchContains, []string{"价格"}, "请问价格多少", true},
		{engine.MatchContains, []string{"  Price  "}, "price", true},
		{engine.MatchContains, []string{"price"}, "prize", false},
		{engine.MatchContains, []string{"营业", "地址"}, "店铺地址在哪", true},
		{"", []string{"hi"}, "oh HI there", true},
		{engine.MatchEqual, []string{"hello"}, "  HELLO \n", true},
		{engine.MatchEqual, []string{"hello"}, "hello there", false},
		{engine.MatchEqual, []string{" 你好 "}, "你好", true},
		{engine.MatchEqual, []string{"你好"}, "你好吗", false},
		{engine.MatchEqual, []string{"a", "b"}, "B", true},
		{engine.MatchPrefix, []string{"order"}, "  Order 123", true},
		{engine.MatchPrefix, []string{"order"}, "my order", false},
		{engine.MatchPrefix, []string{"订单"}, "订单查询 123", true},
		{engine.MatchPrefix, []string{"订单"}, "查询订单", false},
		{engine.MatchRegex, []string{`^order\s+\d+$`}, "ORDER 42", true},
		{engine.MatchRegex, []string{`^\d{6}$`}, " 123456 ", true},
		{engine.MatchRegex, []string{`^订单\d+$`}, "订单123", true},
		{engine.MatchRegex, []string{`^\d+$`}, "12a", false},
		{engine.MatchRegex, []string{`^x$`, `退款|退货`}, "我要退货", true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %q on %q", tt.mode, tt.words, tt.text)
		t.Run(name, func(t *testing.T) {
			rs := engine.NewRuleSet([]*engine.Rule{
				{ID: "kw", MsgType: "text", Keywords: mustKeywords(t, tt.mode, tt.words...), Replies: textReplies(t, "yes")},
			}, nil, "")
			d := rs.Match(textMsg(t, tt.text), engine.MatchOptions{Now: testNow})
			if got := d.Rule != nil; got != tt.want {
				t.Errorf("matched = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRuleSet_Match_keywordsReadText(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "weather", Keywords: mustKeywords(t, engine.MatchContains, "天气"), Replies: textReplies(t, "晴")},
	}, nil, "")
	tests := []struct {
		name string
		ev   *engine.Event
		want string
	}{
		{"voice recognition", mustEvent(t, map[string]string{"MsgType": "voice", "Recognition": "明天天气怎么样"}), "weather"},
		{"not a link title", mustEvent(t, map[string]string{"MsgType": "link", "Title": "天气预报"}), ""},
		{"not an event key", eventMsg(t, "CLICK", "天气"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ruleID(rs.Match(tt.ev, engine.MatchOptions{Now: testNow})); got != tt.want {
				t.Errorf("rule = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewKeywords_errors(t *testing.T) {
	_, err := engine.NewKeywords(engine.MatchRegex, []string{`^ok$`, `(unclosed`})
	var kerr *engine.KeywordError
	if !errors.As(err, &kerr) {
		t.Fatalf("NewKeywords(bad regex) = %v, want a *KeywordError", err)
	}
	if kerr.Index != 1 || !strings.Contains(kerr.Error(), "missing closing )") {
		t.Errorf("KeywordError = {Index: %d, %q}, want index 1 and the regexp error", kerr.Index, kerr)
	}
	var serr *syntax.Error
	if !errors.As(err, &serr) || serr.Code != syntax.ErrMissingParen {
		t.Errorf("KeywordError does not unwrap to the *syntax.Error: %v", err)
	}

	_, err = engine.NewKeywords("fuzzy", []string{"x"})
	if err == nil || !strings.Contains(err.Error(), `"fuzzy"`) {
		t.Errorf("NewKeywords(fuzzy) = %v, want an error naming the mode", err)
	}

	k := mustKeywords(t, "", "a")
	if k.Mode() != engine.MatchContains || !slices.Equal(k.Words(), []string{"a"}) {
		t.Errorf("NewKeywords(\"\") = mode %q, words %q; want contains, [a]", k.Mode(), k.Words())
	}
}

func TestRuleSet_Match_eventSugar(t *testing.T) {
	tests := []struct {
		ruleEvent string
		ev        *engine.Event
		want      bool
	}{
		{"CLICK", eventMsg(t, "CLICK", "K"), true},
		{"click", eventMsg(t, "CLICK", "K"), true},
		{"CLICK", eventMsg(t, "click", "K"), true},
		{"subscribe", eventMsg(t, "SUBSCRIBE", ""), true},
		{"Subscribe", eventMsg(t, "subscribe", ""), true},
		{"subscribe", eventMsg(t, "unsubscribe", ""), false},
		{"CLICK", eventMsg(t, "VIEW", "K"), false},
		// Only an event push has an event name.
		{"CLICK", mustEvent(t, map[string]string{"MsgType": "text", "Content": "x", "Event": "CLICK"}), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s on %s %s", tt.ruleEvent, tt.ev.MsgType, tt.ev.Event), func(t *testing.T) {
			rs := engine.NewRuleSet([]*engine.Rule{
				{ID: "ev", Event: tt.ruleEvent, Replies: textReplies(t, "yes")},
			}, nil, "")
			d := rs.Match(tt.ev, engine.MatchOptions{Now: testNow})
			if got := d.Rule != nil; got != tt.want {
				t.Errorf("matched = %v, want %v", got, tt.want)
			}
			full := rs.Match(tt.ev, engine.MatchOptions{Now: testNow, Explain: true})
			if ruleID(full) != ruleID(d) {
				t.Errorf("full scan chose %q, index chose %q", ruleID(full), ruleID(d))
			}
		})
	}
}

func TestRuleSet_Match_eventKeys(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "menu", Event: "CLICK", EventKeys: []string{"MENU_HOURS", "MENU_ADDRESS"}, Replies: textReplies(t, "9-21")},
		{ID: "qr", Event: "SCAN", EventKeys: []string{"100023"}, Replies: textReplies(t, "welcome back")},
	}, nil, "")
	tests := []struct {
		ev   *engine.Event
		want string
	}{
		{eventMsg(t, "CLICK", "MENU_HOURS"), "menu"},
		{eventMsg(t, "CLICK", "MENU_ADDRESS"), "menu"},
		{eventMsg(t, "CLICK", "MENU_OTHER"), ""},
		{eventMsg(t, "CLICK", "menu_hours"), ""}, // keys are identifiers: compared exactly
		{eventMsg(t, "CLICK", ""), ""},
		{eventMsg(t, "SCAN", "100023"), "qr"},
		{eventMsg(t, "VIEW", "MENU_HOURS"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Event+" "+tt.ev.EventKey, func(t *testing.T) {
			if got := ruleID(rs.Match(tt.ev, engine.MatchOptions{Now: testNow})); got != tt.want {
				t.Errorf("rule = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRuleSet_Match_vars(t *testing.T) {
	vars := map[string]any{"password": "芝麻开门", "shop": "wxreply 小店"}
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "secret", When: mustCondition(t, `Content == Vars.password`, vars), Replies: textReplies(t, "欢迎光临{{ .Vars.shop }}")},
	}, vars, "")
	d := rs.Match(textMsg(t, "芝麻开门"), engine.MatchOptions{Now: testNow})
	if ruleID(d) != "secret" || replyText(d) != "欢迎光临wxreply 小店" {
		t.Errorf("Match = %q %q, want secret, 欢迎光临wxreply 小店", ruleID(d), replyText(d))
	}
}

func TestRuleSet_Match_skipsConditionFailingAtRunTime(t *testing.T) {
	tests := []struct {
		name    string
		when    string
		fields  map[string]string
		wantErr string
	}{
		{"division by zero", `Raw["n"] != "" && 10 % int(Raw["n"]) == 0`, map[string]string{"MsgType": "text", "Content": "hi", "n": "0"}, "integer divide by zero"},
		{"not a number", `int(Content) > 3`, map[string]string{"MsgType": "text", "Content": "abc"}, "int(abc)"},
		{"bad time of day", `TimeBetween("9am", "18:00")`, map[string]string{"MsgType": "text", "Content": "hi"}, "HH:MM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := &engine.Rule{ID: "bad", Source: engine.Pos{File: "shop.yaml", Line: 3, Col: 5}, When: mustCondition(t, tt.when, nil), Replies: textReplies(t, "bad")}
			next := &engine.Rule{ID: "next", Replies: textReplies(t, "next")}
			rs := engine.NewRuleSet([]*engine.Rule{bad, next}, nil, "")
			ev := mustEvent(t, tt.fields)

			for i := 1; i <= 2; i++ {
				d := rs.Match(ev, engine.MatchOptions{Now: testNow})
				if d.Rule != next || replyText(d) != "next" {
					t.Errorf("Match = %q %q, want next", ruleID(d), replyText(d))
				}
				if len(d.Errors) != 1 || d.Errors[0].Rule != bad {
					t.Fatalf("Errors = %v, want one for rule bad", d.Errors)
				}
				msg := d.Errors[0].Error()
				if !strings.HasPrefix(msg, `rule "bad" (shop.yaml:3:5): `) || !strings.Contains(msg, tt.wantErr) {
					t.Errorf("error = %q, want it to name the rule and contain %q", msg, tt.wantErr)
				}
				if got := bad.EvalErrors(); got != uint64(i) {
					t.Errorf("after %d messages bad.EvalErrors() = %d", i, got)
				}
			}
			if next.EvalErrors() != 0 {
				t.Errorf("next.EvalErrors() = %d, want 0", next.EvalErrors())
			}
		})
	}
}

func TestRuleSet_Match_conditionFineOtherwise(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "every-fifth", When: mustCondition(t, `Raw["n"] != "" && 10 % int(Raw["n"]) == 0`, nil), Replies: textReplies(t, "yes")},
	}, nil, "")
	tests := []struct {
		n    string
		want string
	}{{"5", "every-fifth"}, {"3", ""}, {"", ""}}
	for _, tt := range tests {
		d := rs.Match(mustEvent(t, map[string]string{"MsgType": "text", "n": tt.n}), engine.MatchOptions{Now: testNow})
		if ruleID(d) != tt.want || d.Errors != nil {
			t.Errorf("n=%q: rule %q, errors %v; want %q and no error", tt.n, ruleID(d), d.Errors, tt.want)
		}
	}
}

func TestRuleSet_Match_skipsTemplateFailingAtRunTime(t *testing.T) {
	const src = `first photo: {{ (index .SendPicsInfo.PicList 0).PicMd5Sum }}, sixth: {{ index .SendPicsInfo.PicList 5 }}`
	bad := &engine.Rule{ID: "photos", Source: engine.Pos{File: "menu.yaml", Line: 8, Col: 5}, Event: "pic_sysphoto", Replies: textReplies(t, src)}
	next := &engine.Rule{ID: "next", Replies: textReplies(t, "thanks")}
	rs := engine.NewRuleSet([]*engine.Rule{bad, next}, nil, "")

	d := rs.Match(engine.SampleEvent("event.pic_sysphoto", nil), engine.MatchOptions{Now: testNow})
	if d.Rule != next || replyText(d) != "thanks" {
		t.Errorf("Match = %q %q, want next", ruleID(d), replyText(d))
	}
	if len(d.Errors) != 1 || d.Errors[0].Rule != bad {
		t.Fatalf("Errors = %v, want one for rule photos", d.Errors)
	}
	var terr *engine.TemplateError
	if !errors.As(d.Errors[0], &terr) || terr.Template.Source() != src {
		t.Errorf("error %v is not a *TemplateError for %q", d.Errors[0], src)
	}
	if msg := d.Errors[0].Error(); !strings.Contains(msg, `rule "photos" (menu.yaml:8:5)`) || !strings.Contains(msg, "index out of range: 5") {
		t.Errorf("error = %q, want the rule and the failure", msg)
	}
	if bad.EvalErrors() != 1 {
		t.Errorf("EvalErrors() = %d, want 1", bad.EvalErrors())
	}
}

func TestRuleSet_Match_skipsRuleThatPanics(t *testing.T) {
	// A nil reply template cannot come out of package rules; a hand-built
	// rule may still hold one, and it must not take the request down.
	broken := &engine.Rule{ID: "broken", Replies: []*engine.ReplyTemplate{nil}}
	next := &engine.Rule{ID: "next", Replies: textReplies(t, "ok")}
	d := engine.NewRuleSet([]*engine.Rule{broken, next}, nil, "").Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow})
	if d.Rule != next || len(d.Errors) != 1 || !strings.Contains(d.Errors[0].Error(), "panic") {
		t.Errorf("Match = %q, errors %v; want next, and broken skipped for its panic", ruleID(d), d.Errors)
	}
	if broken.EvalErrors() != 1 {
		t.Errorf("EvalErrors() = %d, want 1", broken.EvalErrors())
	}
}

func TestRuleSet_Match_explain(t *testing.T) {
	rules := []*engine.Rule{
		{ID: "events", MsgType: "event", Replies: textReplies(t, "x")},
		{ID: "click", Event: "CLICK", Replies: textReplies(t, "x")},
		{ID: "keys", EventKeys: []string{"A", "B"}, Replies: textReplies(t, "x")},
		{ID: "key", EventKeys: []string{"A"}, Replies: textReplies(t, "x")},
		{ID: "price", Keywords: mustKeywords(t, engine.MatchContains, "价格", "Price"), Replies: textReplies(t, "x")},
		{ID: "order", Keywords: mustKeywords(t, engine.MatchRegex, `^order \d+$`), Replies: textReplies(t, "x")},
		{ID: "weekend", When: mustCondition(t, `IsWeekend()`, nil), Replies: textReplies(t, "x")},
		{ID: "broken", When: mustCondition(t, `int(Content) > 3`, nil), Replies: textReplies(t, "x")},
		{ID: "hello", Keywords: mustKeywords(t, engine.MatchEqual, "hello"), Replies: textReplies(t, "hi there")},
		{ID: "after", Replies: textReplies(t, "never tried")},
	}
	rs := engine.NewRuleSet(rules, nil, "")
	d := rs.Match(textMsg(t, " Hello "), engine.MatchOptions{Now: testNow, Explain: true})

	if ruleID(d) != "hello" || replyText(d) != "hi there" {
		t.Fatalf("Match = %q %q, want hello", ruleID(d), replyText(d))
	}
	type step struct {
		id      string
		matched bool
		reason  string
		err     bool
	}
	want := []step{
		{"events", false, `msgtype: want "event", got "text"`, false},
		{"click", false, `event: want a CLICK event, got a text message`, false},
		{"keys", false, `event_key: want one of ["A", "B"], got ""`, false},
		{"key", false, `event_key: want "A", got ""`, false},
		{"price", false, `keywords (contains): "Hello" matches none of ["价格", "Price"]`, false},
		{"order", false, `keywords (regex): "Hello" matches none of ["^order \\d+$"]`, false},
		{"weekend", false, `when: IsWeekend() is false`, false},
		{"broken", false, "", true},
		{"hello", true, "", false},
	}
	var got []step
	for _, s := range d.Trace {
		got = append(got, step{s.Rule.ID, s.Matched, s.Reason, s.Err != nil})
	}
	if !slices.Equal(got, want) {
		t.Errorf("Trace:\n got %+v\nwant %+v", got, want)
	}
	if len(d.Errors) != 1 || d.Errors[0].Rule.ID != "broken" || d.Trace[7].Err != d.Errors[0].Err {
		t.Errorf("Errors = %v, want broken's error, the same as in the trace", d.Errors)
	}

	if quiet := rs.Match(textMsg(t, "hello"), engine.MatchOptions{Now: testNow}); quiet.Trace != nil {
		t.Errorf("Trace without Explain = %v, want nil", quiet.Trace)
	}
}

func TestRuleSet_Match_explainEvent(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "texts", MsgType: "text", Replies: textReplies(t, "x")},
		{ID: "view", Event: "VIEW", Replies: textReplies(t, "x")},
		{ID: "menu", Event: "click", EventKeys: []string{"MENU_HOURS"}, Replies: textReplies(t, "x")},
	}, nil, "")
	d := rs.Match(eventMsg(t, "CLICK", "MENU_ADDRESS"), engine.MatchOptions{Now: testNow, Explain: true})
	if d.Rule != nil {
		t.Fatalf("Match = %q, want none", ruleID(d))
	}
	want := []string{
		`msgtype: want "text", got "event"`,
		`event: want "VIEW", got "CLICK"`,
		`event_key: want "MENU_HOURS", got "MENU_ADDRESS"`,
	}
	var got []string
	for _, s := range d.Trace {
		got = append(got, s.Reason)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Reasons:\n got %q\nwant %q", got, want)
	}
}

func TestRuleSet_Match_rand(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "greet", Replies: textReplies(t, "早上好", "你好", "{{ .Content }}!")},
	}, nil, "")
	want := []string{"早上好", "你好", "hi!"}
	for i, w := range want {
		var asked int
		d := rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow, Rand: func(n int) int { asked = n; return i }})
		if asked != 3 {
			t.Errorf("Rand was asked for [0, %d), want [0, 3)", asked)
		}
		if d.Alternative != i || replyText(d) != w {
			t.Errorf("Rand → %d: Alternative %d, reply %q; want %d, %q", i, d.Alternative, replyText(d), i, w)
		}
	}
	// Without Rand, every pick is one of the alternatives and its reply.
	for range 50 {
		d := rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow})
		if d.Alternative < 0 || d.Alternative >= len(want) || replyText(d) != want[d.Alternative] {
			t.Fatalf("Alternative %d, reply %q", d.Alternative, replyText(d))
		}
	}
}

func TestRuleSet_Match_noMatch(t *testing.T) {
	sets := map[string]*engine.RuleSet{
		"empty": engine.NewRuleSet(nil, nil, ""),
		"no rule fits": engine.NewRuleSet([]*engine.Rule{
			{ID: "click", Event: "CLICK", Replies: textReplies(t, "x")},
			{ID: "price", Keywords: mustKeywords(t, engine.MatchContains, "价格"), Replies: textReplies(t, "x")},
		}, nil, ""),
	}
	for name, rs := range sets {
		t.Run(name, func(t *testing.T) {
			for _, explain := range []bool{false, true} {
				d := rs.Match(textMsg(t, "hello"), engine.MatchOptions{Now: testNow, Explain: explain})
				if d.Rule != nil || d.Reply != nil || d.Errors != nil {
					t.Errorf("explain=%v: Decision = %+v, want no rule, no reply, no errors", explain, d)
				}
			}
		})
	}
}

func TestEngine_Swap(t *testing.T) {
	v1 := engine.NewRuleSet([]*engine.Rule{{ID: "hello", Keywords: mustKeywords(t, engine.MatchEqual, "hello"), Replies: textReplies(t, "v1")}}, nil, "v1")
	v2 := engine.NewRuleSet([]*engine.Rule{{ID: "hello", Keywords: mustKeywords(t, engine.MatchEqual, "hello"), Replies: textReplies(t, "v2")}}, nil, "v2")
	e := engine.New(v1, nil)
	if e.Location() != engine.DefaultLocation {
		t.Errorf("Location = %v, want DefaultLocation", e.Location())
	}

	inFlight := e.RuleSet() // what a request that started before the swap holds
	if old := e.Swap(v2); old != v1 {
		t.Errorf("Swap returned %p, want the old set %p", old, v1)
	}
	if e.RuleSet() != v2 {
		t.Errorf("RuleSet() = %p after Swap, want %p", e.RuleSet(), v2)
	}
	ev := textMsg(t, "hello")
	if got := replyText(inFlight.Match(ev, engine.MatchOptions{Now: testNow})); got != "v1" {
		t.Errorf("snapshot taken before Swap answers %q, want v1", got)
	}
	if got := replyText(e.Match(ev)); got != "v2" {
		t.Errorf("Engine.Match after Swap answers %q, want v2", got)
	}
}

func TestEngine_Match_nowInAccountZone(t *testing.T) {
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "utc", When: mustCondition(t, `Now.Location().String() == "UTC"`, nil), Replies: textReplies(t, "{{ .Now.Location }}")},
	}, nil, "")
	if got := ruleID(engine.New(rs, time.UTC).Match(textMsg(t, "hi"))); got != "utc" {
		t.Errorf("Engine in UTC: rule %q, want utc", got)
	}
	if got := ruleID(engine.New(rs, nil).Match(textMsg(t, "hi"))); got != "" {
		t.Errorf("Engine in the default zone: rule %q, want none", got)
	}
}

func TestEngine_concurrentMatchAndSwap(t *testing.T) {
	set := func(version string) *engine.RuleSet {
		return engine.NewRuleSet([]*engine.Rule{
			{ID: "broken-" + version, When: mustCondition(t, `int(Content) > 3`, nil), Replies: textReplies(t, "never")},
			{ID: "hello-" + version, Keywords: mustKeywords(t, engine.MatchContains, "hello"), Replies: textReplies(t, "{{ .Content }} from "+version)},
		}, nil, version)
	}
	v1, v2 := set("v1"), set("v2")
	e := engine.New(v1, nil)
	ev := textMsg(t, "hello")

	const iterations = 200
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range iterations {
				d := e.Match(ev)
				version := strings.TrimPrefix(ruleID(d), "hello-")
				if version != "v1" && version != "v2" {
					t.Errorf("rule %q, want hello-v1 or hello-v2", ruleID(d))
					return
				}
				// The reply and the error come from the same snapshot as the rule.
				if replyText(d) != "hello from "+version || len(d.Errors) != 1 || d.Errors[0].Rule.ID != "broken-"+version {
					t.Errorf("rule %q mixed with reply %q and errors %v", ruleID(d), replyText(d), d.Errors)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range iterations {
			if i%2 == 0 {
				e.Swap(v2)
			} else {
				e.Swap(v1)
			}
		}
	})
	wg.Wait()
	total := v1.Rule("broken-v1").EvalErrors() + v2.Rule("broken-v2").EvalErrors()
	if total != 4*iterations {
		t.Errorf("EvalErrors add up to %d, want %d", total, 4*iterations)
	}
}

// TestRuleSet_Match_indexAgreesWithFullScan checks that the candidate lists
// Match uses never change the outcome: Explain tries every rule in order.
func TestRuleSet_Match_indexAgreesWithFullScan(t *testing.T) {
	msgTypes := []string{"", "text", "image", "voice", "location", "link", "event", "event", "miniprogrampage"}
	events := []string{"", "subscribe", "SUBSCRIBE", "scan", "SCAN", "CLICK", "click", "VIEW", "LOCATION", "location_select", "pic_sysphoto", "templatesendjobfinish", "user_enter_tempsession"}
	eventKeys := [][]string{nil, nil, {"SAMPLE_KEY"}, {"100023", "qrscene_100023"}, {"OTHER"}, {""}}
	words := []string{"你好", "营业", "天气", "hello", "order", "123", "上海"}
	regexes := []string{`^\d+$`, `营业|地址`, `^order\s*\d+`, `(?s).*`, `天气$`}
	whens := []string{`Content contains "周末"`, `Scene != ""`, `MsgType == "voice" || Event == "LOCATION"`, `len(Raw) > 5`, `int(Content) > 100`,
		// Conditions the index reads a key or a bucket from: leading
		// comparisons with constants, and others after them that may fail.
		`Text == "hello" || Text startsWith "上海"`, `Content in ["123", "你好"] && int(Content) > 100`,
		`EventKey == "SAMPLE_KEY"`, `MsgType == "text" && Content startsWith "ORDER"`, `MsgType in ["voice", "image"]`,
		`Event == "CLICK" && EventKey in ["SAMPLE_KEY", "K"]`, `int(Content) > 100 && Text == "123"`, `Text startsWith ""`,
		`Event == "subscribe" || Event == "SCAN"`, `MsgType == "unheard_of"`, `Text == "" && MsgType != "event"`}

	var evs []*engine.Event
	for _, name := range slices.Sorted(maps.Keys(engine.SampleFields)) {
		evs = append(evs, engine.SampleEvent(name, nil))
	}
	for _, text := range []string{"hello", "  ORDER 42 ", "123", "你好", "上海天气", "", "随便聊聊"} {
		evs = append(evs, textMsg(t, text))
	}
	evs = append(evs,
		eventMsg(t, "click", "SAMPLE_KEY"),
		eventMsg(t, "Subscribe", ""),
		eventMsg(t, "an_event_from_next_year", "K"),
		mustEvent(t, map[string]string{"MsgType": "event"}),
		mustEvent(t, map[string]string{"MsgType": "miniprogrampage", "Title": "x"}),
		mustEvent(t, map[string]string{"MsgType": "unheard_of", "Content": "hello"}),
	)

	outcomes := 0 // distinct winners per seed, summed
	for seed := range uint64(8) {
		rnd := rand.New(rand.NewPCG(seed, 2024))
		pickOne := func(list []string) string { return list[rnd.IntN(len(list))] }
		var rules []*engine.Rule
		for i := range 200 {
			r := &engine.Rule{
				ID:        fmt.Sprintf("r%03d", i),
				Priority:  rnd.IntN(11) - 5,
				MsgType:   pickOne(msgTypes),
				Event:     pickOne(events),
				EventKeys: eventKeys[rnd.IntN(len(eventKeys))],
				Replies:   textReplies(t, fmt.Sprintf("r%03d", i)),
			}
			switch rnd.IntN(4) {
			case 0:
				r.Keywords = mustKeywords(t, engine.MatchRegex, pickOne(regexes))
			case 1:
				mode := engine.KeywordModes[rnd.IntN(3)]
				r.Keywords = mustKeywords(t, mode, pickOne(words), pickOne(words))
			}
			if rnd.IntN(3) == 0 {
				r.When = mustCondition(t, pickOne(whens), nil)
			}
			rules = append(rules, r)
		}
		rs := engine.NewRuleSet(rules, nil, "")

		winners := map[string]bool{}
		for _, ev := range evs {
			indexed := rs.Match(ev, engine.MatchOptions{Now: testNow})
			full := rs.Match(ev, engine.MatchOptions{Now: testNow, Explain: true})
			if ruleID(indexed) != ruleID(full) || replyText(indexed) != replyText(full) {
				t.Errorf("seed %d, %s %s %q: index chose %q, full scan %q", seed, ev.MsgType, ev.Event, ev.Text, ruleID(indexed), ruleID(full))
			}
			if a, b := errorRules(indexed), errorRules(full); !slices.Equal(a, b) {
				t.Errorf("seed %d, %s %s %q: index skipped %q, full scan %q", seed, ev.MsgType, ev.Event, ev.Text, a, b)
			}
			winners[ruleID(indexed)] = true
		}
		outcomes += len(winners)
	}
	if outcomes < 40 {
		t.Errorf("%d distinct outcomes over all seeds: too few rules win, the property is not exercised", outcomes)
	}
}

func errorRules(d engine.Decision) []string {
	var out []string
	for _, e := range d.Errors {
		out = append(out, e.Rule.ID)
	}
	return out
}

// TestRuleSet_Match_overlappingKeywords: contains-keywords are found in one
// pass over the text; words that overlap and nest (he, she, hers, ushers)
// must all be found, as strings.Contains finds them.
func TestRuleSet_Match_overlappingKeywords(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	word := func(n int) string {
		b := make([]byte, 1+rnd.IntN(n))
		for i := range b {
			b[i] = "ab"[rnd.IntN(2)]
		}
		return string(b)
	}
	for round := range 20 {
		var rules []*engine.Rule
		var words []string
		for i := range 30 {
			w := word(5)
			words = append(words, w)
			rules = append(rules, &engine.Rule{ID: fmt.Sprintf("r%02d-%s", i, w), Keywords: mustKeywords(t, engine.MatchContains, w), Replies: textReplies(t, w)})
		}
		rs := engine.NewRuleSet(rules, nil, "")
		for range 50 {
			text := word(12)
			want := "none"
			for i, w := range words {
				if strings.Contains(text, w) {
					want = rules[i].ID
					break
				}
			}
			d := rs.Match(textMsg(t, text), engine.MatchOptions{Now: testNow})
			if got := cmp.Or(ruleID(d), "none"); got != want {
				t.Fatalf("round %d, text %q: %s answered, want %s", round, text, got, want)
			}
		}
	}
}
