package rules

import (
	"fmt"
	"strings"

	"github.com/wxreply/wxreply/internal/yamlpos"
)

// Pos is a place in a rule file, or in a file beside the rules (a rule test,
// the menu): "file:line:col". Line and Col count from 1; zero means unknown.
type Pos = yamlpos.Pos

// Error is one problem in a rule file, written as the Go compiler writes
// them, so that editors can jump to it:
//
//	examples/rules/shop.yaml:12:11: rule "welcome": when: unknown name Evnt: did you mean Event? (1:1)
//	 | Evnt == "subscribe"
//	 | ^
//
// Rule test files (package ruletest) report their problems the same way,
// naming the case: "test "follow gets welcome": ...".
type Error struct {
	Pos Pos
	// Rule names the rule: its id, or "#3" when it has none. Empty for
	// problems outside a rule.
	Rule string
	// Test names the case of a rule test file instead, the same way.
	Test string
	Err  error
}

func (e *Error) Error() string { return e.format("") }

func (e *Error) format(label string) string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	b.WriteString(label)
	for _, name := range []struct{ kind, name string }{{"rule", e.Rule}, {"test", e.Test}} {
		switch {
		case strings.HasPrefix(name.name, "#"):
			fmt.Fprintf(&b, "%s %s: ", name.kind, name.name)
		case name.name != "":
			fmt.Fprintf(&b, "%s %q: ", name.kind, name.name)
		}
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem found in a rule folder (or a rule test file), in
// file order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As see each problem.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warning writes e as a warning: "file:line:col: warning: rule "id": message".
func (e *Error) Warning() string { return e.format("warning: ") }
