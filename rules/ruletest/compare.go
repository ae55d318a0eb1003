package ruletest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
)

// problem is one way a case did not get what it wanted.
type problem struct {
	pos    rules.Pos
	msg    string
	detail []string // more lines, indented under the first
	// diff is set for a text that differs from the one wanted at length.
	diff *[2]string
}

func (c *step) ruleProblem(d engine.Decision) problem {
	p := problem{pos: c.want.rulePos}
	switch {
	case d.Rule == nil:
		p.msg = fmt.Sprintf("rule: want %q, got none (no rule matched)", c.want.rule)
	case c.want.rule == "":
		p.msg = fmt.Sprintf("rule: want none, got %q (%s)", d.Rule.ID, d.Rule.Source)
	default:
		p.msg = fmt.Sprintf("rule: want %q, got %q (%s)", c.want.rule, d.Rule.ID, d.Rule.Source)
	}
	return p
}

// why explains, with the engine's own words, why the rule wanted did not
// answer.
func (c *step) why(rs *engine.RuleSet, d engine.Decision, opts engine.MatchOptions) string {
	if c.want.rule == "" {
		return ""
	}
	wanted := rs.Rule(c.want.rule)
	// The wanted rule on its own: would it have answered, had no rule come
	// before it? Only then did it lose on order.
	alone := engine.NewRuleSet([]*engine.Rule{wanted}, rs.Vars(), rs.Version())
	opts.Rand, opts.Explain = func(int) int { return 0 }, true
	de := alone.Match(c.event, opts)
	for _, s := range de.Trace {
		switch {
		case s.Err != nil:
			return fmt.Sprintf("%s (%s) failed at run time: %v", wanted.ID, wanted.Source, s.Err)
		case !s.Matched:
			return fmt.Sprintf("%s (%s) did not match: %s", wanted.ID, wanted.Source, s.Reason)
		}
	}
	if d.Rule == nil {
		return ""
	}
	order := fmt.Sprintf("it has the same priority and comes before %s in file order", wanted.ID)
	if d.Rule.Priority != wanted.Priority {
		order = fmt.Sprintf("its priority %d is above %s's %d", d.Rule.Priority, wanted.ID, wanted.Priority)
	}
	return fmt.Sprintf("%s (%s) matched first: %s", d.Rule.ID, d.Rule.Source, order)
}

// replyProblems compares the reply, or each alternative of a rule with
// several, with what the case wants. Any one alternative will do.
func (c *step) replyProblems(rule *engine.Rule, alts []*engine.Reply, altErrs []string) []problem {
	if len(alts) == 1 && len(altErrs) == 0 {
		return c.want.check(alts[0])
	}
	var lines []string
	for i, r := range alts {
		probs := c.want.check(r)
		if len(probs) == 0 {
			return nil
		}
		// An alternative's diff would bury the others: name the problem only.
		lines = append(lines, fmt.Sprintf("reply %d of %d: %s", i+1, len(rule.Replies), strings.TrimSuffix(probs[0].msg, " (diff below)")))
	}
	lines = append(lines, altErrs...)
	return []problem{{
		pos:    c.want.pos,
		msg:    fmt.Sprintf("reply: none of the %d replies of %q is the reply wanted", len(rule.Replies), rule.ID),
		detail: lines,
	}}
}

// check compares one reply with the expectations.
func (w *want) check(r *engine.Reply) []problem {
	var probs []problem
	if w.kinds != nil && !slices.Contains(w.kinds, r.Kind) {
		names := make([]string, len(w.kinds))
		for i, k := range w.kinds {
			names[i] = string(k)
		}
		at := w.kindPos
		switch {
		case w.kind != "":
		case len(w.fields) > 0:
			at = w.fields[0].pos
		default:
			at = w.listPos
		}
		return []problem{{pos: at, msg: fmt.Sprintf("kind: want %s, got %s", orList(names), r.Kind)}}
	}
	for _, f := range w.fields {
		got, _ := replyField(r, f.key)
		switch f.key {
		case "text_contains":
			if !strings.Contains(got, f.value) {
				probs = append(probs, problem{pos: f.pos, msg: fmt.Sprintf("text_contains: %q is not in the text", f.value)})
			}
		case "text_regex":
			if !f.re.MatchString(got) {
				probs = append(probs, problem{pos: f.pos, msg: fmt.Sprintf("text_regex: %q does not match the text", f.value)})
			}
		default:
			if got != f.value {
				probs = append(probs, differs(f.pos, f.key, f.value, got))
			}
		}
	}
	if w.items != nil {
		s := w.list
		if len(w.items) != len(r.Items) {
			probs = append(probs, problem{pos: w.listPos, msg: fmt.Sprintf("%s: want %d %s, got %d", s.Kind, len(w.items), text.Plural(len(w.items), s.Item, s.Item+"s"), len(r.Items))})
			return probs
		}
		for i, item := range w.items {
			for j, f := range s.Fields {
				if want := item.values[j]; want != nil && *want != r.Items[i][j] {
					probs = append(probs, differs(item.pos, fmt.Sprintf("%s[%d].%s", s.Kind, i, f.Name), *want, r.Items[i][j]))
				}
			}
		}
	}
	return probs
}

// differs words an exact comparison that failed: inline when both sides are
// short, else with a line diff.
func differs(pos rules.Pos, key, want, got string) problem {
	if short(want) && short(got) {
		return problem{pos: pos, msg: fmt.Sprintf("%s: want %q, got %q", key, want, got)}
	}
	msg := fmt.Sprintf("%s: not the text wanted (diff below)", key)
	// The usual cause, which a diff of lines barely shows: text: | in
	// YAML keeps the block's last newline.
	if strings.TrimRight(want, "\n") == strings.TrimRight(got, "\n") {
		msg = fmt.Sprintf("%s: the texts differ only in newlines at the end: the wanted ends with %d, the reply with %d (a YAML block written | keeps its last newline; |- drops it)", key, trailingNewlines(want), trailingNewlines(got))
	}
	return problem{pos: pos, msg: msg, diff: &[2]string{want, got}}
}

func trailingNewlines(s string) int { return len(s) - len(strings.TrimRight(s, "\n")) }

func short(s string) bool {
	return !strings.Contains(s, "\n") && len([]rune(s)) <= 60
}

func orList(list []string) string {
	if len(list) == 1 {
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// replyField is the value of a reply field by its name in test files, and
// whether the reply's kind has that field.
func replyField(r *engine.Reply, key string) (string, bool) {
	if key == "text_contains" || key == "text_regex" {
		key = "text"
	}
	if s := r.Schema(); s == nil || s.Shape == engine.ShapeList {
		return "", false
	} else if _, i := s.Field(key); i >= 0 {
		return r.Values[i], true
	}
	return "", false
}
