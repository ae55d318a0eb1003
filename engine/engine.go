package engine

import (
	"sync/atomic"
	"time"
)

// Engine answers pushes with the current RuleSet. Swap replaces the set while
// requests are being answered: each Match takes one snapshot and uses it from
// start to end, so no reply ever mixes rules of two versions. Readers never
// lock.
type Engine struct {
	set      atomic.Pointer[RuleSet]
	location *time.Location
	budget   Budget
}

// New returns an Engine serving rs, with Now in the account's time zone loc
// (DefaultLocation when nil).
func New(rs *RuleSet, loc *time.Location) *Engine {
	if loc == nil {
		loc = DefaultLocation
	}
	e := &Engine{location: loc}
	e.set.Store(rs)
	return e
}

// SetBudget sets what each rule may do for one push (zero fields: as in
// DefaultBudget). Call it before the engine answers its first push.
func (e *Engine) SetBudget(b Budget) { e.budget = b }

// RuleSet returns the set now serving.
func (e *Engine) RuleSet() *RuleSet { return e.set.Load() }

// Swap makes rs the set that serves new requests and returns the old one.
func (e *Engine) Swap(rs *RuleSet) (old *RuleSet) { return e.set.Swap(rs) }

// Location is the account's time zone.
func (e *Engine) Location() *time.Location { return e.location }

// Match answers ev with the current set, at the current time.
func (e *Engine) Match(ev *Event) Decision {
	return e.set.Load().Match(ev, MatchOptions{Now: time.Now().In(e.location), Budget: e.budget})
}
