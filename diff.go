package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
)

func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cases stringList
	fs.Var(&cases, "cases", "a *_test.yaml file whose pushes to answer too (repeatable)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply diff OLD NEW [--cases FILE ...]\n\nAnswers every push of the test files of both rule folders (and of --cases) with\nthe rules of OLD and of NEW, and prints each push whose answer changes, and the\nrules added, removed or changed. Exits 1 when an answer changes, 0 when none does.\n\n")
		fs.PrintDefaults()
	}
	dirs, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(dirs) != 2 {
		fs.Usage()
		return exitUsage
	}
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "wxreply diff: "+format+"\n", args...)
		return exitFailure
	}
	var sets [2]*engine.RuleSet
	for i, dir := range dirs {
		res, err := rules.Load(dir)
		if err != nil {
			return fail("%s does not load, so nothing can be compared:\n%v", dir, err)
		}
		sets[i] = res.RuleSet
	}
	pushes, skipped := diffCases(append(dirs, cases...))
	for _, s := range skipped {
		fmt.Fprintf(stderr, "wxreply diff: %s\n", s)
	}

	changed, total := 0, 0
	for _, c := range pushes {
		// Each folder plays the case with the state its own answers leave:
		// a step's answer may differ only because one before it did.
		before, after := play(sets[0], c), play(sets[1], c)
		for i := range before {
			total++
			if before[i].answer == after[i].answer {
				continue
			}
			changed++
			fmt.Fprintf(stdout, "%s: %s\n  before: %s  after:  %s", before[i].pos, before[i].label, text.Indent(before[i].answer, "    ")[4:], text.Indent(after[i].answer, "    ")[4:])
		}
	}
	ruleChanges := compareRules(sets[0], sets[1])
	for _, line := range ruleChanges {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "%d of %d %s answered otherwise; %d %s added, removed or changed\n",
		changed, total, text.Plural(total, "push", "pushes"), len(ruleChanges), text.Plural(len(ruleChanges), "rule", "rules"))
	if changed > 0 {
		return exitFailure
	}
	return exitOK
}

// stringList is a flag given any number of times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// diffCases gathers the cases of the test files of paths, each once (the
// same case in both folders' files is played once); skipped says which
// files could not be read.
func diffCases(paths []string) (cases []*ruletest.Case, skipped []string) {
	seen := map[string]bool{}
	for _, f := range ruletest.Load(paths...) {
		if f.Err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: no pushes from it: %v", f.Name, f.Err))
			continue
		}
		for _, s := range f.Suites {
			if s.Err != nil {
				skipped = append(skipped, fmt.Sprintf("%s: no pushes from it: it has errors (wxreply test %s says which)", s.File, s.File))
				continue
			}
			for _, c := range s.Cases {
				if key := caseKey(c); !seen[key] {
					seen[key] = true
					cases = append(cases, c)
				}
			}
		}
	}
	return cases, skipped
}

// caseKey is what a case sends: its pushes, their times, and the session
// it starts from.
func caseKey(c *ruletest.Case) string {
	var b strings.Builder
	c.Play(func(st ruletest.Step) engine.Decision {
		if b.Len() == 0 {
			fmt.Fprint(&b, sortedFields(st.Options.Session))
		}
		fmt.Fprint(&b, st.Options.Now.Unix(), sortedFields(st.Event.Raw))
		return engine.Decision{}
	})
	return b.String()
}

// stepAnswer is how one rule set answered one step of a case.
type stepAnswer struct {
	label  string
	pos    rules.Pos
	answer string
}

// play answers each step of c with rs.
func play(rs *engine.RuleSet, c *ruletest.Case) []stepAnswer {
	var out []stepAnswer
	c.Play(func(st ruletest.Step) engine.Decision {
		text, d := answer(rs, st.Event, st.Options)
		out = append(out, stepAnswer{label: st.Label, pos: st.Pos, answer: text})
		return d
	})
	return out
}

func sortedFields(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// answer is how rs answers p, in words: the rule, every one of its replies
// (a rule with alternatives answers with any of them, so that the same
// folder twice never differs by the draw; pick: all sends them all), the
// replies a backend is called for, and what the answer changes in the
// user's state.
func answer(rs *engine.RuleSet, ev *engine.Event, opts engine.MatchOptions) (string, engine.Decision) {
	opts.Rand = func(int) int { return 0 }
	d := rs.Match(ev, opts)
	if d.Rule == nil {
		return "no reply\n", d
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule %s\n", d.Rule.ID)
	if d.Rule.Backend != nil {
		fmt.Fprintf(&b, "backend %s\n", engine.ShownBackendURL(d.Rule.Backend.URL))
	}
	replies := append([]*engine.Reply{d.Reply}, d.More...)
	if d.Rule.Pick != engine.PickAll {
		for i := 1; i < len(d.Rule.Replies); i++ {
			each := opts
			each.Rand = func(int) int { return i }
			if alt := rs.Match(ev, each); alt.Rule == d.Rule {
				replies = append(replies, alt.Reply)
			} else {
				replies = append(replies, nil) // it does not render
			}
		}
	}
	for i, r := range replies {
		switch {
		case r != nil:
			b.WriteString(r.String())
		case i > 0 || d.Rule.Backend == nil:
			b.WriteString("(does not render)\n")
		}
	}
	for _, c := range d.Change.Describe() {
		fmt.Fprintf(&b, "then %s\n", c)
	}
	return b.String(), d
}

// compareRules lists the rules only one set has, and those whose definition
// differs between the two.
func compareRules(old, new *engine.RuleSet) []string {
	var out []string
	for _, r := range old.Rules() {
		switch n := new.Rule(r.ID); {
		case n == nil:
			out = append(out, fmt.Sprintf("removed: rule %s (%s)", r.ID, r.Source))
		case fingerprint(n) != fingerprint(r):
			out = append(out, fmt.Sprintf("changed: rule %s (%s)", r.ID, n.Source))
		}
	}
	for _, r := range new.Rules() {
		if old.Rule(r.ID) == nil {
			out = append(out, fmt.Sprintf("added: rule %s (%s)", r.ID, r.Source))
		}
	}
	return out
}

// fingerprint is what a rule says, apart from where it is written.
func fingerprint(r *engine.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s|%s|%q|", r.Priority, r.MsgType, r.Event, r.EventKeys)
	if r.Keywords != nil {
		fmt.Fprintf(&b, "%s %q|", r.Keywords.Mode(), r.Keywords.Words())
	}
	if r.When != nil {
		b.WriteString(r.When.Source())
	}
	replies := r.Replies
	if r.OnError != nil {
		b.WriteString("|on_error")
		replies = append(slices.Clip(replies), r.OnError)
	}
	for _, rt := range replies {
		fmt.Fprintf(&b, "|%s", rt.Kind)
		for _, t := range rt.Templates() {
			fmt.Fprintf(&b, " %q", t.Source())
		}
	}
	fmt.Fprintf(&b, "|pick %s|cooldown %s|unset %q|ttl %s", r.Pick, r.Cooldown, r.Unset, r.SessionTTL)
	if bk := r.Backend; bk != nil {
		fmt.Fprintf(&b, "|backend %s %s %s", bk.URL, bk.Timeout, bk.PassiveWait)
	}
	for _, set := range r.Set {
		fmt.Fprintf(&b, "|set %s %q", set.Name, set.Value.Source())
	}
	return b.String()
}
