package engine

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Rule is one compiled rule. All of its conditions must hold for it to match:
// MsgType, Event, EventKeys and Keywords (the sugar a rule file offers) and
// When. A zero condition always holds.
type Rule struct {
	ID          string
	Description string
	// Source says where the rule is defined, as "file:line:col".
	Source   string
	Priority int

	MsgType   string   // the push's MsgType must equal it
	Event     string   // the push's Event must equal it, ignoring case
	EventKeys []string // the push's EventKey must be one of them
	Keywords  *Keywords
	When      *Condition

	// Replies holds the reply, or the alternatives of which one is picked at
	// random for each message.
	Replies []*ReplyTemplate

	evalErrors atomic.Uint64
}

// EvalErrors counts the messages for which the rule's condition or reply
// failed at run time, so that it was skipped.
func (r *Rule) EvalErrors() uint64 { return r.evalErrors.Load() }

// matchState is what every rule needs of one push, computed once.
type matchState struct {
	env         *Env
	event       string // lower-cased
	text        string // trimmed
	loweredText string // trimmed, lower-cased
	explain     bool
}

// check tells whether the rule's conditions hold. When the state asks for an
// explanation and a condition does not hold, reason says which and why.
func (r *Rule) check(m *matchState) (ok bool, reason string, err error) {
	ev := &m.env.envelope
	if r.MsgType != "" && ev.MsgType != r.MsgType {
		return false, m.because("msgtype: want %q, got %q", r.MsgType, ev.MsgType), nil
	}
	if r.Event != "" && ev.MsgType != "event" {
		return false, m.because("event: want a %s event, got a %s message", r.Event, ev.MsgType), nil
	}
	if r.Event != "" && m.event != strings.ToLower(r.Event) {
		return false, m.because("event: want %s, got %s", r.Event, ev.Event), nil
	}
	if len(r.EventKeys) > 0 && !contains(r.EventKeys, ev.EventKey) {
		return false, m.because("event_key: want %s, got %q", quoteList(r.EventKeys), ev.EventKey), nil
	}
	if r.Keywords != nil && !r.Keywords.Match(m.text, m.loweredText) {
		return false, m.because("keywords (%s): %q matches none of %s", r.Keywords.mode, m.text, bracketList(r.Keywords.words)), nil
	}
	if r.When != nil {
		ok, err := r.When.Eval(m.env)
		if err != nil {
			return false, "", err
		}
		if !ok {
			return false, m.because("when: %s is false", r.When.src), nil
		}
	}
	return true, "", nil
}

func (m *matchState) because(format string, args ...any) string {
	if !m.explain {
		return ""
	}
	return fmt.Sprintf(format, args...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quoteList writes "a" for one value and one of ["a", "b"] for several.
func quoteList(list []string) string {
	if len(list) == 1 {
		return fmt.Sprintf("%q", list[0])
	}
	return "one of " + bracketList(list)
}

func bracketList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
