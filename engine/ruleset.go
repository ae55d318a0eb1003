package engine

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// RuleSet is an immutable, ordered set of compiled rules: higher Priority
// first, then in the order given to NewRuleSet (file name, then position in
// the file, as package rules gives them). It is safe for concurrent use.
type RuleSet struct {
	rules   []*Rule
	vars    map[string]any
	version string

	// The rules worth trying for a push (see index.go): by message type and
	// by event name (lower-cased), the positions in rules of those without a
	// key, in order; the others are found by their key in keys.
	byMsgType     map[string][]int32
	byEvent       map[string][]int32
	otherMsgTypes []int32 // a MsgType no rule names
	otherEvents   []int32 // an Event no rule names
	keys          ruleKeys
}

// ruleBuckets is what a rule says of the pushes it may answer.
type ruleBuckets struct {
	msgTypes, events []string // nil: any
	keyed            bool     // found by its key, not listed in the buckets
}

// NewRuleSet orders rules and indexes them. vars are the values rules read as
// Vars; version identifies the set (a checksum of its sources) in logs,
// metrics and replies to the admin API. The rules are not modified: one
// rule may be in several sets.
func NewRuleSet(rules []*Rule, vars map[string]any, version string) *RuleSet {
	ordered := slices.Clone(rules)
	slices.SortStableFunc(ordered, func(a, b *Rule) int { return cmp.Compare(b.Priority, a.Priority) })
	rs := &RuleSet{
		rules:     ordered,
		vars:      vars,
		version:   version,
		byMsgType: map[string][]int32{},
		byEvent:   map[string][]int32{},
	}

	buckets := make([]ruleBuckets, len(ordered))
	msgTypes := slices.Clone(MsgTypes) // each gets its own candidate list
	var events []string
	for i, r := range ordered {
		b := &buckets[i]
		b.msgTypes, b.events = bucketsOf(r)
		for _, t := range b.msgTypes {
			if !slices.Contains(msgTypes, t) {
				msgTypes = append(msgTypes, t)
			}
		}
		for _, e := range b.events {
			if !slices.Contains(events, e) {
				events = append(events, e)
			}
		}
		if key := keyOf(r); key != nil {
			b.keyed = true
			for _, a := range key {
				rs.keys.add(int32(i), a)
			}
		}
	}
	if rs.keys.contains != nil {
		rs.keys.contains.build()
	}
	// An event name no rule uses stands for all such events; it cannot
	// collide with a real one because WeChat's names have no spaces.
	const unnamed = "an event no rule names"
	for _, t := range append(msgTypes, unnamed) {
		rs.byMsgType[t] = rs.candidates(buckets, t, "")
	}
	rs.otherMsgTypes = rs.byMsgType[unnamed]
	delete(rs.byMsgType, unnamed)
	for _, e := range append(events, unnamed) {
		rs.byEvent[e] = rs.candidates(buckets, "event", e)
	}
	rs.otherEvents = rs.byEvent[unnamed]
	delete(rs.byEvent, unnamed)
	return rs
}

// candidates lists, in order, the positions of the rules without a key
// whose MsgType and Event allow a push of msgType and (lower-cased) event.
func (rs *RuleSet) candidates(buckets []ruleBuckets, msgType, event string) []int32 {
	var out []int32
	for i, r := range rs.rules {
		b := buckets[i]
		switch {
		case b.keyed:
		case b.msgTypes != nil && !slices.Contains(b.msgTypes, msgType):
		case b.events != nil && (msgType != "event" || !slices.Contains(b.events, event)):
		case r.Keywords != nil && !hasText(msgType):
		default:
			out = append(out, int32(i))
		}
	}
	return out
}

// Rules returns the rules in match order. The slice must not be modified.
func (rs *RuleSet) Rules() []*Rule { return rs.rules }

// Vars returns the values rules read as Vars. The map must not be modified.
func (rs *RuleSet) Vars() map[string]any { return rs.vars }

// Version identifies the set.
func (rs *RuleSet) Version() string { return rs.version }

// Rule returns the rule with the given id, or nil.
func (rs *RuleSet) Rule(id string) *Rule {
	for _, r := range rs.rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// MatchOptions adjust one Match.
type MatchOptions struct {
	// Now is the time conditions and templates see, in the account's time
	// zone. Zero means time.Now() in DefaultLocation.
	Now time.Time
	// Rand picks among a rule's alternative replies: Rand(n) returns a number
	// in [0, n). Nil means math/rand/v2's IntN. Tests fix it to be repeatable.
	Rand func(n int) int
	// Explain asks for a Trace of every rule tried before the winner.
	Explain bool
	// Budget bounds what each rule may do; zero fields take DefaultBudget's.
	Budget Budget
}

// Decision is the outcome of matching one push.
type Decision struct {
	// Rule is the first rule that matched and rendered, or nil: no reply.
	Rule *Rule
	// Reply is Rule's rendered reply, and Alternative its index in Rule.Replies.
	Reply       *Reply
	Alternative int
	// Errors are the rules that failed at run time and were skipped.
	Errors []*RuleError
	// Trace explains each rule tried, in order, when MatchOptions.Explain is set.
	Trace []Step
}

// Step is one rule tried by Match, as explained.
type Step struct {
	Rule    *Rule
	Matched bool
	// Reason says which condition did not hold, when Matched is false and
	// Err is nil.
	Reason string
	Err    error
	// OtherKind is true when the rule is for another message type or event
	// (its msgtype or event differs, or it has keywords and the push has no
	// Text): the index never tries it.
	OtherKind bool
}

// RuleError is a rule that failed at run time: its condition errored, its
// reply template errored, or it panicked. The rule counts as not matching.
type RuleError struct {
	Rule *Rule
	Err  error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %q (%s): %v", e.Rule.ID, e.Rule.Source, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Match finds the first rule whose conditions hold for ev and renders its
// reply. A rule whose condition or reply fails at run time is recorded in
// Decision.Errors, counted on the rule, and skipped: it never stops the
// rules after it.
func (rs *RuleSet) Match(ev *Event, opts MatchOptions) Decision {
	now := opts.Now
	if now.IsZero() {
		now = time.Now().In(DefaultLocation)
	}
	env := NewEnv(ev, rs.vars, now)
	text := strings.TrimSpace(ev.Text)
	m := &matchState{
		env:         env,
		event:       strings.ToLower(ev.Event),
		text:        text,
		loweredText: strings.ToLower(text),
		explain:     opts.Explain,
		meter:       newMeter(opts.Budget, time.Now()),
	}
	env.meter = &m.meter

	var d Decision
	try := func(r *Rule) bool {
		failed, reply, alt, err := r.answer(m, opts.Rand)
		if err != nil {
			r.evalErrors.Add(1)
			d.Errors = append(d.Errors, &RuleError{Rule: r, Err: err})
		}
		if opts.Explain {
			step := Step{Rule: r, Matched: reply != nil, Err: err}
			if err == nil && failed != holds {
				step.Reason = r.reason(failed, m)
				step.OtherKind = failed == failedMsgType || failed == failedEventType || failed == failedEvent || failed == failedTextless
			}
			d.Trace = append(d.Trace, step)
		}
		if reply != nil {
			d.Rule, d.Reply, d.Alternative = r, reply, alt
			return true
		}
		return false
	}
	if opts.Explain {
		for _, r := range rs.rules {
			if try(r) {
				break
			}
		}
		return d
	}
	// The bucket's rules without a key and the rules whose key the push
	// has, merged in the set's order.
	unkeyed := rs.candidatesFor(ev.MsgType, m.event)
	var buf [32]int32
	hits := rs.keys.hits(buf[:0], m)
	if len(hits) > 1 {
		slices.Sort(hits)
		hits = slices.Compact(hits)
	}
	for len(unkeyed) > 0 || len(hits) > 0 {
		var pos int32
		if len(hits) == 0 || len(unkeyed) > 0 && unkeyed[0] < hits[0] {
			pos, unkeyed = unkeyed[0], unkeyed[1:]
		} else {
			pos, hits = hits[0], hits[1:]
		}
		if try(rs.rules[pos]) {
			break
		}
	}
	return d
}

func (rs *RuleSet) candidatesFor(msgType, event string) []int32 {
	if msgType == "event" {
		if c, ok := rs.byEvent[event]; ok {
			return c
		}
		return rs.otherEvents
	}
	if c, ok := rs.byMsgType[msgType]; ok {
		return c
	}
	return rs.otherMsgTypes
}

// answer checks the rule and, when it holds, renders one of its replies. A
// panic in a condition or a template becomes an error, so that one bad rule
// cannot take a request down.
func (r *Rule) answer(m *matchState, random func(int) int) (failed condition, reply *Reply, alt int, err error) {
	defer func() {
		if p := recover(); p != nil {
			failed, reply, err = failedWhen, nil, fmt.Errorf("panic: %v", p)
			if be, ok := p.(*BudgetError); ok {
				err = be
			}
		}
	}()
	m.env.meter.startRule()
	if failed, err = r.check(m); failed != holds || err != nil {
		return failed, nil, 0, err
	}
	if len(r.Replies) == 0 {
		return holds, nil, 0, errNoReply
	}
	alt = pick(len(r.Replies), random)
	reply, err = r.Replies[alt].Render(m.env)
	return holds, reply, alt, err
}

var errNoReply = errors.New("the rule has no reply")

func pick(n int, random func(int) int) int {
	if n <= 1 {
		return 0
	}
	if random == nil {
		return rand.IntN(n)
	}
	return random(n)
}
