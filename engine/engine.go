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
	return e.set.Load().Match(ev, e.OptionsAt(time.Now()))
}

// OptionsAt are the options Match uses for a push that came at now: that
// time in the account's zone, and the engine's budget. A caller that adds
// the sender's state to them matches with RuleSet.Match.
func (e *Engine) OptionsAt(now time.Time) MatchOptions {
	return MatchOptions{Now: now.In(e.location), Budget: e.budget}
}

// ReloadStatus is what the last reloads of a rule folder did: what package
// rules reports and package server shows in /readyz and /metrics, declared
// here, beside the Engine whose set they swap, so that neither imports the
// other.
type ReloadStatus struct {
	// Version and Rules describe the rule set now answering.
	Version string
	Rules   int
	// LastSuccess is when the answering rule set was loaded.
	LastSuccess time.Time
	// LastReloadSuccessful is false while the files on disk are invalid
	// (or gone) and the rule set answering is an older one.
	LastReloadSuccessful bool
	// LastError is the last failed reload's error, and FailingSince when the
	// files first became unusable; both are zero after a success.
	LastError    error
	FailingSince time.Time
	// SourceMissing is true while the folder, or every rule file, is gone.
	SourceMissing bool
	// Warning says why the rule set answering, though applied, may not be
	// what was meant: its reload dropped more than half of the enabled
	// rules at once. Empty otherwise; the next rule set applied clears it.
	Warning string
	// Shrunk counts the reloads applied with such a warning.
	Shrunk uint64
	// Reloads counts reloads by result: "success", "failure", and
	// "unchanged" for those skipped because no rule file changed.
	Reloads map[string]uint64
}
