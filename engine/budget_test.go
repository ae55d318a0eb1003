package engine_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// noTimeLimit keeps the default work and memory budgets, and lets tests of
// them run as slowly as the race detector makes them.
var noTimeLimit = engine.Budget{Time: time.Hour}

// A 60 KB text: about the largest a push may carry.
var longText = strings.Repeat("咖啡 coffee ", 60<<10/14)

func TestCompileCondition_refusesWhatCannotBeBounded(t *testing.T) {
	tests := []struct{ src, want string }{
		{`all(1..500000, {lower(Text) != "x"})`, "the range 1..500000 has 500000 items: a rule may build at most 65536"},
		{`len(1..100000000) > 0`, "the range 1..100000000 has 100000000 items"},
		{`toJSON(Vars) != ""`, "toJSON is not available in wxreply conditions"},
		{`fromJSON(Text) != nil`, "fromJSON is not available"},
		{`len(flatten([[1], [2]])) == 2`, "flatten is not available"},
		{`len(sortBy(map(0..30000, {Text[#:]}), #)) > 0`, "sortBy is not available"},
		{`len(groupBy(1..10, # % 2)) == 2`, "groupBy is not available"},
		{`Text matches "` + strings.Repeat("a|", 600) + `a"`, "a pattern may have at most 1024"},
		{`Text matches "(x{1,1000}){1,1000}"`, "invalid repeat count"},
		{`Text matches "` + strings.Repeat("[a-z]{1000}", 5) + `"`, "a rule's patterns may have at most 4096 together"},
		// Each within the limit, over it together.
		{`Text matches "` + strings.Repeat("[a-z]{1000}", 3) + `x" or Text matches "` + strings.Repeat("[a-z]{1000}", 3) + `y"`, "the condition's patterns compile to 6006 instructions up to this one"},
		// The checks do not hide expr's own errors.
		{`Contnt contains "x"`, "unknown name Contnt (1:1)"},
		{`lower(Contnt) == "x"`, "unknown name Contnt (1:7)"},
		{`Text + 1 == 2`, "mismatched types string and int"},
	}
	for _, tt := range tests {
		t.Run(tt.src[:min(len(tt.src), 40)], func(t *testing.T) {
			_, err := engine.CompileCondition(tt.src, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CompileCondition error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCondition_budget(t *testing.T) {
	// Lists and maps as large as a rule file may hold: reading them whole
	// or comparing with each item fits a rule's budget.
	vips, nums, faq := make([]any, 35_000), make([]any, 35_000), map[string]any{}
	for i := range vips {
		vips[i] = fmt.Sprintf("oWx7Tb2LkQ9mZr5pYc3N%08d", i)
		nums[i] = i
	}
	for i := range 5_000 {
		faq[fmt.Sprintf("question %d", i)] = strings.Repeat("答", 100)
	}
	vars := map[string]any{"words": []any{"a", "b"}, "vips": vips, "nums": nums, "faq": faq}
	tests := []struct {
		src    string
		budget string // the budget it goes over with a 60 KB text; "" when it holds
		want   bool
	}{
		{`len(repeat(Text, 100000)) > 0`, engine.BudgetMemory, false},
		{`all(1..50000, {lower(Text) != "x"})`, engine.BudgetWork, false},
		{`let r = 1..1000; all(r, {all(r, {# > 0})})`, engine.BudgetWork, false},
		{`let r = 1..1000; any(r, {any(r, {Text + "" == Content + "x"})})`, engine.BudgetMemory, false},
		{`reduce(1..1000, #acc + Text, "") != ""`, engine.BudgetMemory, false},
		{`len(split(Text, "")) > 0`, engine.BudgetMemory, false},
		{`replace(replace(Text, "e", "eeeeeeeeee"), "e", "eeeeeeeeee") != ""`, engine.BudgetMemory, false},
		{`len(join(map(1..1000, {Text}), ",")) > 0`, engine.BudgetWork, false},
		{`len(concat(1..60000, 1..60000)) > 0`, engine.BudgetMemory, false},
		{`any(1..60000, {Text contains "zz"})`, engine.BudgetWork, false},
		{`any(1..60000, {Text in Vars.words})`, engine.BudgetWork, false},
		// Values that are small to hold and large to read or print: a list
		// of one long text repeated.
		{`string(map(1..25000, {Raw})) != ""`, engine.BudgetWork, false},
		{`len(string(map(1..20, {Raw}))) > 0`, engine.BudgetMemory, false},
		{`let x = Text[0:9] + Text[9:]; map(1..10000, {Text}) == map(1..10000, {x})`, engine.BudgetWork, false},
		{`Text[0:9] + Text[9:] in map(1..20000, {Text})`, engine.BudgetWork, false},
		{`len(sort(map(1..20000, {Text}))) > 0`, engine.BudgetWork, false},
		{`Text matches Text`, "pattern", false},
		// A constant pattern is charged for the text it scans, as any other.
		{`Text matches "` + strings.Repeat("[a-z]{1000}", 4) + `x"`, engine.BudgetWork, false},
		{`Text matches "^咖啡"`, "", true},
		// What ordinary rules do holds, on the longest text too.
		{`lower(Text) contains "coffee"`, "", true},
		{`upper(Text) startsWith "咖啡" && MsgType == "text"`, "", true},
		{`len(Text) > 1000 and not (Text in Vars.words)`, "", true},
		{`any(Vars.words, {Text contains #})`, "", false},
		{`sum(map(1..100, {# * 2})) == 10100`, "", true},
		{`len(string(Raw)) > len(Text)`, "", true},
		{`FromUserName in Vars.vips`, "", false},
		{`Scene in Vars.nums`, "", false},
		{`len(Vars.faq) > 0 and not (Text in keys(Vars.faq)) and len(take(values(Vars.faq), 10)) == 10`, "", true},
		{`Text[0:9] + Text[9:] in map(1..20000, {Text[1:]})`, "", false},
		{`string(1.5) == "1.5" && string(Vars.words) == "[a b]"`, "", true},
		{`Content + "!" == Text + "!"`, "", true},
		{`"a" + "b" == "ab" && trim(" x ") == "x" && len(split("a,b", ",")) == 2`, "", true},
	}
	ev := textMsg(t, longText)
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			c, err := engine.CompileCondition(tt.src, vars)
			if err != nil {
				t.Fatal(err)
			}
			env := engine.NewEnv(ev, vars, testNow)
			noTimeLimit.Hold(env) // the race detector is slow: only work and memory are tested here
			got, err := c.Eval(env)
			switch tt.budget {
			case "":
				if err != nil || got != tt.want {
					t.Errorf("Eval = %v, %v; want %v", got, err, tt.want)
				}
			case "pattern":
				if err == nil || !strings.Contains(err.Error(), "a pattern may have at most") {
					t.Errorf("Eval error = %v, want the pattern refused", err)
				}
			default:
				be := engine.AsBudgetError(err)
				if be == nil || be.Budget != tt.budget {
					t.Errorf("Eval = %v, %v; want over the %s budget", got, err, tt.budget)
				}
			}
		})
	}
}

func TestTemplate_budget(t *testing.T) {
	tests := []struct {
		src     string
		compile string // the error CompileTemplate gives, or ""
		budget  string // the budget Render goes over, or ""
	}{
		{`{{ range 2000000000 }}{{ end }}done`, "range 2000000000: more iterations than a rule's work budget allows", ""},
		{`{{ define "x" }}{{ template "x" }}{{ end }}{{ template "x" }}`, "{{ define }} and {{ block }} are not available", ""},
		{`{{ template "x" }}`, "{{ template }} is not available", ""},
		{strings.Repeat("咖啡", 11000), "66000 bytes: a reply field may hold at most 65536", ""},
		{`{{ range $i := 1000 }}{{ range 1000 }}{{ end }}{{ end }}done`, "", engine.BudgetWork},
		{`{{ range len .Content }}{{ end }}done`, "", engine.BudgetWork},
		{`{{ replace "e" "eeeeeeeeee" (replace "e" "eeeeeeeeee" (replace "e" "eeeeeeeeee" .Content)) | len }}`, "", engine.BudgetMemory},
		{`{{ $x := .Content }}{{ range 100 }}{{ $x = print $x $x }}{{ end }}{{ len $x }}`, "", engine.BudgetMemory},
		{`{{ range 10000 }}{{ upper $.Content | len }}{{ end }}`, "", engine.BudgetMemory},
		// Raw holds the text once, and prints it each time.
		{`{{ $x := print` + strings.Repeat(" $.Raw", 20) + ` }}{{ len $x }}`, "", engine.BudgetMemory},
		{`{{ printf "%v%v%v%v%v%v%v%v%v%v%v%v%v%v%v%v%v%v%v%v"` + strings.Repeat(" $.Raw", 20) + ` | len }}`, "", engine.BudgetMemory},
		{`{{ print $.Raw | len }}`, "", ""},
		{`{{ printf "%0100000000d" 1 }}`, "", "printf"},
		{`{{ printf "%*d" 100000000 1 }}`, "", "printf"},
		{`{{ .Content | lower | len }} {{ printf "%5.1f" 3.14159 }} {{ html "<b>" }}`, "", ""},
	}
	ev := textMsg(t, longText)
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tmpl, err := engine.CompileTemplate("reply.text", tt.src)
			if tt.compile != "" {
				if err == nil || !strings.Contains(err.Error(), tt.compile) {
					t.Errorf("CompileTemplate error = %v, want one containing %q", err, tt.compile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			env := engine.NewEnv(ev, nil, testNow)
			noTimeLimit.Hold(env)
			out, err := tmpl.Render(env)
			switch tt.budget {
			case "":
				if err != nil || out == "" {
					t.Errorf("Render = %.40q, %v; want a reply", out, err)
				}
			case "printf":
				if err == nil || !strings.Contains(err.Error(), "a width or precision over 1024") {
					t.Errorf("Render error = %v, want the width refused", err)
				}
			default:
				if be := engine.AsBudgetError(err); be == nil || be.Budget != tt.budget || out != "" {
					t.Errorf("Render = %.40q, %v; want nothing, over the %s budget", out, err, tt.budget)
				}
			}
		})
	}
}

func TestMatch_ruleOverBudgetIsSkipped(t *testing.T) {
	hostile := &engine.Rule{ID: "hostile", When: mustCondition(t, `all(1..60000, {lower(Text) != "x"})`, nil), Replies: textReplies(t, "never")}
	loops := &engine.Rule{ID: "loops", Replies: textReplies(t, `{{ range len .Content }}{{ end }}never`)}
	fallback := &engine.Rule{ID: "fallback", Replies: textReplies(t, "ok")}
	rs := engine.NewRuleSet([]*engine.Rule{hostile, loops, fallback}, nil, "")

	d := rs.Match(textMsg(t, longText), engine.MatchOptions{Now: testNow, Budget: noTimeLimit})
	if ruleID(d) != "fallback" {
		t.Fatalf("Match answered with %q, want fallback", ruleID(d))
	}
	var budgets []string
	for _, e := range d.Errors {
		var be *engine.BudgetError
		if !errors.As(e, &be) {
			t.Fatalf("error %v is not a BudgetError", e)
		}
		budgets = append(budgets, e.Rule.ID+":"+be.Budget)
	}
	if got := strings.Join(budgets, " "); got != "hostile:work loops:work" {
		t.Errorf("budget errors = %q, want hostile:work loops:work", got)
	}

	// A smaller budget holds a rule that fits the default.
	small := engine.Budget{Work: 100, Time: time.Hour}
	ok := &engine.Rule{ID: "ok", When: mustCondition(t, `any(1..1000, {# == 999})`, nil), Replies: textReplies(t, "found")}
	rs = engine.NewRuleSet([]*engine.Rule{ok, fallback}, nil, "")
	if d := rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow}); ruleID(d) != "ok" {
		t.Errorf("default budget: answered with %q, want ok", ruleID(d))
	}
	if d := rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow, Budget: small}); ruleID(d) != "fallback" {
		t.Errorf("Work 100: answered with %q, want fallback", ruleID(d))
	}
}

func TestMatch_pushTimeBudget(t *testing.T) {
	// Each rule stays within its work; together they outlast the push's time,
	// and the rules tried after it is spent fail at once.
	var rs []*engine.Rule
	for i := range 50 {
		rs = append(rs, &engine.Rule{ID: "slow" + string(rune('A'+i)), When: mustCondition(t, `let r = 1..300; any(r, {any(r, {# < 0})})`, nil), Replies: textReplies(t, "never")})
	}
	d := engine.NewRuleSet(rs, nil, "").Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow, Budget: engine.Budget{Time: time.Nanosecond}})
	if len(d.Errors) != len(rs) {
		t.Fatalf("%d rules failed, want all %d", len(d.Errors), len(rs))
	}
	for _, e := range d.Errors {
		if be := engine.AsBudgetError(e); be == nil || be.Budget != engine.BudgetTime {
			t.Fatalf("rule %s: %v, want the time budget", e.Rule.ID, e.Err)
		}
	}
}

// TestMatch_regexKeywordsCharged: a regex keyword's scan of a long text is
// charged before it runs, so a rule of heavy patterns is skipped over its
// work budget, not left to run for seconds.
func TestMatch_regexKeywordsCharged(t *testing.T) {
	heavy := strings.Repeat("[a-z]{1000}", 4) + "x"
	rs := engine.NewRuleSet([]*engine.Rule{
		{ID: "heavy", Keywords: mustKeywords(t, engine.MatchRegex, heavy), Replies: textReplies(t, "heavy")},
		{ID: "light", Keywords: mustKeywords(t, engine.MatchRegex, "coffee"), Replies: textReplies(t, "light")},
	}, nil, "v")
	start := time.Now()
	d := rs.Match(textMsg(t, strings.Repeat("a", 60<<10)+" coffee"), engine.MatchOptions{Now: testNow, Budget: noTimeLimit})
	if len(d.Errors) != 1 || engine.AsBudgetError(d.Errors[0]) == nil || engine.AsBudgetError(d.Errors[0]).Budget != engine.BudgetWork {
		t.Fatalf("errors %v, want heavy over its work budget", d.Errors)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the push took %s: the scan ran instead of being charged first", took)
	}
	if ruleID(d) != "" {
		// "coffee" is past the first 8 KiB the patterns scan.
		t.Errorf("rule %s answered; the text's coffee is past what a pattern scans", ruleID(d))
	}
	d = rs.Match(textMsg(t, "a coffee please"), engine.MatchOptions{Now: testNow})
	if ruleID(d) != "light" || len(d.Errors) != 0 {
		t.Errorf("a short text: rule %s, errors %v; want light, and heavy tried within its budget", ruleID(d), d.Errors)
	}
}
