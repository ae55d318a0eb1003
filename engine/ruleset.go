package engine

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wxreply/wxreply/internal/text"
)

// RuleSet is an immutable, ordered set of compiled rules: higher Priority
// first, then in the order given to NewRuleSet (file name, then position in
// the file, as package rules gives them). It is safe for concurrent use.
type RuleSet struct {
	rules   []*Rule
	vars    map[string]any
	version string
	// sessionNames are the names the rules set, sorted: every push's
	// Session has them.
	sessionNames []string
	noSession    map[string]string // every name "": the session of a user with none
	usesState    bool

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
		if r.Cooldown > 0 || len(r.Set) > 0 || len(r.Unset) > 0 {
			rs.usesState = true
		}
		for _, set := range r.Set {
			if !slices.Contains(rs.sessionNames, set.Name) {
				rs.sessionNames = append(rs.sessionNames, set.Name)
			}
		}
		if key := keyOf(r); key != nil {
			b.keyed = true
			for _, a := range key {
				rs.keys.add(int32(i), a)
			}
		}
	}
	slices.Sort(rs.sessionNames)
	if len(rs.sessionNames) > 0 {
		rs.noSession = make(map[string]string, len(rs.sessionNames))
		for _, name := range rs.sessionNames {
			rs.noSession[name] = ""
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

// SessionNames are the names the rules store in users' sessions, sorted.
// The slice must not be modified.
func (rs *RuleSet) SessionNames() []string { return rs.sessionNames }

// UsesState reports whether any rule reads or changes what is kept per user
// (Session, set, unset, cooldown): if none does, a push needs no user state.
func (rs *RuleSet) UsesState() bool { return rs.usesState }

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
	// Session holds the sender's session values, and Cooldowns the time
	// each rule cooling down for the sender may answer them again, by rule
	// ID: what the store keeps for the user.
	Session   map[string]string
	Cooldowns map[string]time.Time
}

// Decision is the outcome of matching one push.
type Decision struct {
	// Rule is the first rule that matched and rendered, or nil: no reply.
	Rule *Rule
	// Reply is Rule's rendered reply, and Alternative its index in Rule.Replies.
	Reply       *Reply
	Alternative int
	// More are the replies after Reply of a rule with pick: all, in order:
	// the server sends them through the customer-service API.
	More []*Reply
	// For a rule with a backend (Rule.Backend), Reply is what answers when
	// the backend is late (nil: "success"), and OnError what answers when
	// it fails (nil: nothing).
	OnError *Reply
	// Errors are the rules that failed at run time and were skipped.
	Errors []*RuleError
	// Trace explains each rule tried, in order, when MatchOptions.Explain is set.
	Trace []Step
	// Change is what Rule's answer changes in the sender's state: nil when
	// nothing.
	Change *StateChange
	// Session is the session the rules saw: nil when no rule reads one. It
	// must not be modified.
	Session map[string]string
}

// StateChange is what a rule's answer changes in its sender's state, to be
// applied once the reply is sent.
type StateChange struct {
	// Set holds the values to store, rendered from the rule's set with the
	// session the rule matched with, and Unset the names to drop.
	Set   map[string]string
	Unset []string
	// SessionTTL is the rule's session_ttl; 0 means the server's default.
	SessionTTL time.Duration
	// Cooldown is the rule's cooldown, starting now; 0 for none.
	Cooldown time.Duration
}

// MaxSessionValueBytes caps one session value; a longer value is cut, on a
// character boundary.
const MaxSessionValueBytes = 1024

// MaxSessionNames caps the names a rule set's rules set: with
// MaxSessionValueBytes, what one user's session may hold, 32 KiB.
const MaxSessionNames = 32

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
	// The state of the push, a copy of the event with it, comes from a
	// pool: allocated for every push, it was most of what the garbage
	// collector had to do, the more so the larger the rule set it marks.
	// Nothing the push returns points into it.
	m := matchStates.Get().(*matchState)
	defer func() {
		*m = matchState{} // keeps nothing of the push alive
		matchStates.Put(m)
	}()
	*m = matchState{
		event:     lowerEvent(ev.Event),
		text:      strings.TrimSpace(ev.Text),
		explain:   opts.Explain,
		meter:     newMeter(opts.Budget, time.Now()),
		cooldowns: opts.Cooldowns,
		envData:   Env{envelope: *ev, Vars: rs.vars, Now: now, Session: rs.session(opts.Session)},
	}
	env := &m.envData
	m.env = env
	env.meter = &m.meter

	d := Decision{Session: env.Session}
	try := func(r *Rule) bool {
		failed, a, err := r.answer(m, opts.Rand)
		if err != nil {
			r.evalErrors.Add(1)
			d.Errors = append(d.Errors, &RuleError{Rule: r, Err: err})
		}
		if opts.Explain {
			step := Step{Rule: r, Matched: a.reply != nil || a.backend, Err: err}
			if err == nil && failed != holds {
				step.Reason = r.reason(failed, m)
				step.OtherKind = failed == failedMsgType || failed == failedEventType || failed == failedEvent || failed == failedTextless
			}
			d.Trace = append(d.Trace, step)
		}
		if a.reply != nil || a.backend && err == nil {
			d.Rule, d.Reply, d.Alternative, d.More, d.Change, d.OnError = r, a.reply, a.alt, a.more, a.change, a.onError
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

var matchStates = sync.Pool{New: func() any { return new(matchState) }}

// loweredEvents are the events WeChat sends, lower-cased once rather than
// for every push.
var loweredEvents = func() map[string]string {
	out := make(map[string]string, len(Events))
	for _, e := range Events {
		out[e] = strings.ToLower(e)
	}
	return out
}()

// lowerEvent is strings.ToLower(event), which allocates for WeChat's
// upper-case event names (CLICK, SCAN, ...).
func lowerEvent(event string) string {
	if l, ok := loweredEvents[event]; ok {
		return l
	}
	return strings.ToLower(event)
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

// session is the Session a push's rules see: every name the rules set, ""
// unless stored holds it. Nil when no rule sets a name and none is stored.
func (rs *RuleSet) session(stored map[string]string) map[string]string {
	switch {
	case len(rs.sessionNames) == 0 && len(stored) == 0:
		return nil
	case len(stored) == 0:
		return rs.noSession // most pushes: shared, as nothing writes it
	}
	s := make(map[string]string, len(rs.sessionNames)+len(stored))
	for _, name := range rs.sessionNames {
		s[name] = ""
	}
	for name, v := range stored {
		s[name] = v
	}
	return s
}

// answer is what a rule that holds answers a push with.
type answer struct {
	reply   *Reply
	alt     int      // reply's index in Rule.Replies
	more    []*Reply // the replies after the first, for PickAll
	change  *StateChange
	backend bool // the rule answers through its backend
	onError *Reply
}

// renderOptional renders rt, or nothing when the rule has none.
func renderOptional(rt *ReplyTemplate, env *Env) (*Reply, error) {
	if rt == nil {
		return nil, nil
	}
	return rt.Render(env)
}

// answer checks the rule and, when it holds, renders its reply (or, for
// PickAll, all of them) and the values it sets. A panic in a condition or
// a template becomes an error, so that one bad rule cannot take a request
// down.
func (r *Rule) answer(m *matchState, random func(int) int) (failed condition, a answer, err error) {
	defer func() {
		if p := recover(); p != nil {
			failed, a, err = failedWhen, answer{}, fmt.Errorf("panic: %v", p)
			if be, ok := p.(*BudgetError); ok {
				err = be
			}
		}
	}()
	m.env.meter.startRule()
	if failed, err = r.check(m); failed != holds || err != nil {
		return failed, answer{}, err
	}
	if r.Backend != nil {
		// The backend answers; the reply, if any, stands in for a late one.
		if a.onError, err = renderOptional(r.OnError, m.env); err != nil {
			return holds, answer{}, fmt.Errorf("on_error: %w", err)
		}
		a.backend = true
		if len(r.Replies) == 0 {
			a.change, err = r.change(m.env)
			return holds, a, err
		}
	}
	if len(r.Replies) == 0 {
		return holds, answer{}, errNoReply
	}
	first, last := 0, 0
	if r.Pick == PickAll {
		last = len(r.Replies) - 1
	} else {
		first = pick(len(r.Replies), random)
		last = first
	}
	a.alt = first
	for i := first; i <= last; i++ {
		reply, err := r.Replies[i].Render(m.env)
		if err != nil {
			if last > first {
				err = fmt.Errorf("replies[%d]: %w", i, err)
			}
			return holds, answer{}, err
		}
		if a.reply == nil {
			a.reply = reply
		} else {
			a.more = append(a.more, reply)
		}
	}
	if a.change, err = r.change(m.env); err != nil {
		return holds, answer{}, err
	}
	return holds, a, nil
}

// change renders what the rule stores for the sender, with the session it
// matched with: nil when the rule changes nothing.
func (r *Rule) change(env *Env) (*StateChange, error) {
	if r.Cooldown == 0 && len(r.Set) == 0 && len(r.Unset) == 0 {
		return nil, nil
	}
	c := &StateChange{Unset: r.Unset, SessionTTL: r.SessionTTL, Cooldown: r.Cooldown}
	if len(r.Set) > 0 {
		c.Set = make(map[string]string, len(r.Set))
		for _, s := range r.Set {
			v, err := s.Value.Render(env)
			if err != nil {
				return nil, fmt.Errorf("set.%s: %w", s.Name, err)
			}
			c.Set[s.Name] = text.Cut(v, MaxSessionValueBytes)
		}
	}
	return c, nil
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
