package ruletest

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/linediff"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
)

// Report is what a Run found.
type Report struct {
	// Files are the test files, in the order they ran, each with its cases.
	Files          []*FileResult
	Passed, Failed int
	// Rules counts the rules of the folders whose cases ran; Uncovered are
	// those no case was answered by, in the order of the files. A rule with
	// enabled: false is in neither.
	Rules     int
	Uncovered []*engine.Rule
	// BelowMinCoverage is set when Options.MinCoverage was not reached.
	BelowMinCoverage bool

	errs []error
}

// FileResult is one test file.
type FileResult struct {
	// File is the test file as displayed, or the path given when it could
	// not be read.
	File string
	// Cases are the cases that ran.
	Cases []*CaseResult
	// Err is set when the file, or the rule folder it tests, is invalid: then
	// no case of the file ran.
	Err      error
	Duration time.Duration
}

// CaseResult is one case that ran.
type CaseResult struct {
	Name string
	Pos  rules.Pos
	// Rule is the rule that answered, "" for none.
	Rule string
	// Failure is the report of a failed case, as written by Run; empty when
	// the case passed.
	Failure  string
	Duration time.Duration
}

// Passed reports whether the case got what it wanted.
func (c *CaseResult) Passed() bool { return c.Failure == "" }

// Coverage is the share of rules at least one case was answered by: 1 when
// there are no rules.
func (r *Report) Coverage() float64 {
	if r.Rules == 0 {
		return 1
	}
	return float64(r.Rules-len(r.Uncovered)) / float64(r.Rules)
}

// Errors are the problems that kept test files from running, each as it
// was written: a rule folder that does not load, an invalid test file (as
// Errors), a path that cannot be read.
func (r *Report) Errors() []error { return r.errs }

// OK reports whether every case ran and passed and the coverage is enough.
func (r *Report) OK() bool {
	return r.Failed == 0 && !r.BelowMinCoverage && len(r.Errors()) == 0
}

func (rep *Report) summary(w io.Writer, opts Options) {
	fmt.Fprintf(w, "%d passed, %d failed", rep.Passed, rep.Failed)
	notRun := 0
	for _, f := range rep.Files {
		if f.Err != nil {
			notRun++
		}
	}
	if notRun > 0 {
		fmt.Fprintf(w, ", %d %s not run (errors above)", notRun, text.Plural(notRun, "file", "files"))
	}
	fmt.Fprintln(w)
	if opts.Run != nil && rep.Passed+rep.Failed == 0 && notRun == 0 {
		fmt.Fprintf(w, "no case matches --run %q\n", opts.Run.String())
	}
	if rep.Rules == 0 {
		return
	}
	covered := rep.Rules - len(rep.Uncovered)
	fmt.Fprintf(w, "coverage: %d of %d rules answered a case (%.1f%%)", covered, rep.Rules, 100*rep.Coverage())
	if opts.Coverage && len(rep.Uncovered) > 0 {
		fmt.Fprintf(w, "; not reached by any case:\n")
		for _, r := range rep.Uncovered {
			fmt.Fprintf(w, "  %s: %s\n", r.Source, r.ID)
		}
	} else {
		fmt.Fprintln(w)
	}
	if opts.MinCoverage > 0 && rep.Coverage() < opts.MinCoverage {
		rep.BelowMinCoverage = true
		fmt.Fprintf(w, "coverage %.1f%% is below the minimum of %.1f%%\n", 100*rep.Coverage(), 100*opts.MinCoverage)
	}
}

// failure writes the report of a failed case: the first problem on a line
// of its own, as file:line:col, then the rest, what was wanted, what was
// got, and why.
func (c *step) failure(probs []problem, d engine.Decision, alts []*engine.Reply, why string, state engine.MatchOptions) string {
	var b strings.Builder
	first := probs[0]
	fmt.Fprintf(&b, "%s: %s: %s\n", first.pos, c.label(), first.msg)
	for _, l := range first.detail {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	for _, p := range probs[1:] {
		fmt.Fprintf(&b, "  also: %s\n", p.msg)
		for _, l := range p.detail {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	b.WriteString("  want:\n")
	b.WriteString(text.Indent(c.want.String(), "    "))
	b.WriteString("  got:\n")
	if d.Rule == nil {
		b.WriteString("    rule: none (no reply)\n")
	} else {
		fmt.Fprintf(&b, "    rule: %s (%s)\n", d.Rule.ID, d.Rule.Source)
		switch {
		case d.Reply == nil:
			fmt.Fprintf(&b, "    reply: what the backend at %s answers (tests do not call it)\n", d.Rule.Backend.URL)
		case d.Rule.Pick == engine.PickAll:
			fmt.Fprintf(&b, "    reply 1 of %d (pick: all; want checks this one):\n", len(d.Rule.Replies))
			b.WriteString(text.Indent(d.Reply.String(), "      "))
			for i, r := range d.More {
				fmt.Fprintf(&b, "    reply %d of %d, through the customer-service API:\n", i+2, len(d.Rule.Replies))
				b.WriteString(text.Indent(r.String(), "      "))
			}
		case len(alts) > 1:
			for i, r := range alts {
				fmt.Fprintf(&b, "    reply %d of %d:\n", i+1, len(d.Rule.Replies))
				b.WriteString(text.Indent(r.String(), "      "))
			}
		case len(d.Rule.Replies) > 1:
			fmt.Fprintf(&b, "    reply %d of %d, picked at random:\n", d.Alternative+1, len(d.Rule.Replies))
			b.WriteString(text.Indent(d.Reply.String(), "      "))
		default:
			b.WriteString(text.Indent(d.Reply.String(), "    "))
		}
	}
	for _, p := range probs {
		if p.diff != nil {
			fmt.Fprintf(&b, "  diff (-want +got):\n")
			b.WriteString(text.Indent(linediff.Text(p.diff[0], p.diff[1]), "    "))
			break
		}
	}
	if why != "" {
		fmt.Fprintf(&b, "  why: %s\n", why)
	}
	writeState(&b, d.Session, state.Cooldowns, c.now)
	return b.String()
}

// writeState writes what the user's state held when the push came, for
// cases of rules that keep one: the session values that are set, and the
// rules cooling down.
func writeState(b *strings.Builder, session map[string]string, cooldowns map[string]time.Time, now time.Time) {
	set, cooling := engine.DescribeState(session, cooldowns, now)
	if len(set) > 0 {
		fmt.Fprintf(b, "  session: %s\n", strings.Join(set, ", "))
	}
	if len(cooling) > 0 {
		fmt.Fprintf(b, "  cooling down: %s\n", strings.Join(cooling, ", "))
	}
}

// String writes the expectations as the test file would, one field a line.
func (w *want) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule: %s\n", cmp.Or(w.rule, "none"))
	if w.kind != "" {
		fmt.Fprintf(&b, "kind: %s\n", w.kind)
	}
	for _, f := range w.fields {
		switch {
		case f.key == "text_contains" || f.key == "text_regex":
			fmt.Fprintf(&b, "%s: %q\n", f.key, f.value)
		case strings.Contains(f.value, "\n") || f.key == "text":
			fmt.Fprintf(&b, "%s:\n", f.key)
			b.WriteString(text.Indent(f.value, "  "))
		default:
			fmt.Fprintf(&b, "%s: %s\n", f.key, f.value)
		}
	}
	if w.items != nil {
		fmt.Fprintf(&b, "%s:\n", w.list.Kind)
		for _, item := range w.items {
			lead := "  - "
			for j, f := range w.list.Fields {
				if v := item.values[j]; v != nil {
					fmt.Fprintf(&b, "%s%s: %s\n", lead, f.Name, *v)
					lead = "    "
				}
			}
			if lead == "  - " {
				fmt.Fprintf(&b, "  - {} (any %s)\n", w.list.Item)
			}
		}
	}
	return b.String()
}
