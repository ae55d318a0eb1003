package engine

import (
	"errors"
	"fmt"
	"time"
)

// Budget bounds the work a rule may do for one push. Go cannot stop a
// goroutine from outside, so the bound is kept from inside: every loop
// iteration and every function a condition or a template calls charges the
// rule's meter before it does its work, and a charge over budget ends the
// rule's evaluation at once with a *BudgetError. The rule is then skipped
// like any rule that fails, and the next rule is tried.
type Budget struct {
	// Work is what one rule may do for one push, in units: one per loop
	// iteration, per function call and per comparison, plus one per 16
	// bytes a function or comparison reads or writes.
	Work int64
	// Memory is how many bytes of strings and lists one rule may build for
	// one push, counted before they are built.
	Memory int64
	// Time is how long all the rules tried for one push may take together,
	// on the wall clock. It is a safety net under Work: it is checked as work
	// is charged, and rules tried after it is spent fail at once.
	Time time.Duration
}

// DefaultBudget is the budget a rule set runs with unless told otherwise.
// An ordinary rule uses a few units of work and no memory; the limits leave
// room for loops over tens of thousands of items, and stop a rule after
// about 15 ms of CPU on a small machine (a unit is about 130 ns of a loop
// in a condition) whatever the user sent.
var DefaultBudget = Budget{Work: 100_000, Memory: 1 << 20, Time: 500 * time.Millisecond}

// The budget names, as BudgetError.Budget gives them.
const (
	BudgetWork   = "work"
	BudgetMemory = "memory"
	BudgetTime   = "time"
)

// BudgetError is a rule that went over its budget.
type BudgetError struct {
	Budget string // BudgetWork, BudgetMemory or BudgetTime
	Limit  string // the limit, as a person reads it
}

func (e *BudgetError) Error() string {
	switch e.Budget {
	case BudgetTime:
		return fmt.Sprintf("the push's time budget (%s) is spent", e.Limit)
	default:
		return fmt.Sprintf("over the %s budget of a rule (%s)", e.Budget, e.Limit)
	}
}

// AsBudgetError returns the BudgetError in err's chain, or nil.
func AsBudgetError(err error) *BudgetError {
	var be *BudgetError
	if errors.As(err, &be) {
		return be
	}
	return nil
}

// withDefaults fills the zero fields of b from DefaultBudget.
func (b Budget) withDefaults() Budget {
	if b.Work <= 0 {
		b.Work = DefaultBudget.Work
	}
	if b.Memory <= 0 {
		b.Memory = DefaultBudget.Memory
	}
	if b.Time <= 0 {
		b.Time = DefaultBudget.Time
	}
	return b
}

// elements is the budget in expr's own unit, one per item of a list or map
// it builds: an item costs at least an interface value, 16 bytes.
func (b Budget) elements() uint { return uint(b.Memory / 16) }

// bytesPerUnit is how many bytes a function may read or write for one unit
// of work: copying or scanning 16 bytes costs about what one step of a loop
// does.
const bytesPerUnit = 16

// instBytesPerUnit is how many (instruction × byte) steps of a regular
// expression cost one unit of work. Go's regexp takes up to 12–18 ns a step
// on a pattern that makes it try every instruction at every byte (measured
// on 8 KiB with patterns of 7 to 4,000 instructions); a unit is about
// 150 ns. Scans are charged that worst case before they run: most patterns
// cost far less, none more.
const instBytesPerUnit = 8

// clockEvery is how many units of work pass between two looks at the
// clock: often enough that time is checked every few microseconds of work,
// rarely enough that reading the clock costs little.
const clockEvery = 1024

// meter keeps the account of one push: the work and memory of the rule being
// evaluated, and the push's deadline. It is used by one goroutine.
type meter struct {
	budget    Budget
	deadline  time.Time
	work      int64 // of the current rule
	memory    int64 // of the current rule
	unclocked int64 // work since the clock was last read, across rules
	// patterns are the constant patterns of the condition running,
	// compiled with it (Condition.Eval sets them).
	patterns map[string]*compiledPattern
}

func newMeter(b Budget, start time.Time) meter {
	b = b.withDefaults()
	return meter{budget: b, deadline: start.Add(b.Time)}
}

// startRule resets the per-rule account. Starting a rule costs a unit of
// the push's work, so that the clock is read now and then however many rules
// a push tries.
func (m *meter) startRule() {
	m.work, m.memory = 0, 0
	m.charge(1)
}

// charge spends units of work, panicking with a *BudgetError when the rule
// or the push is over budget. It panics rather than returning an error so
// that the evaluation stops wherever it is: expr and text/template both turn
// the panic of a function they call into the error of the evaluation.
func (m *meter) charge(units int64) {
	if err := m.spend(units); err != nil {
		panic(err)
	}
}

// spend is charge for callers that must not panic.
func (m *meter) spend(units int64) *BudgetError {
	m.work += units
	if m.work > m.budget.Work {
		return &BudgetError{Budget: BudgetWork, Limit: fmt.Sprintf("%d units", m.budget.Work)}
	}
	m.unclocked += units
	if m.unclocked >= clockEvery {
		m.unclocked = 0
		if time.Now().After(m.deadline) {
			return &BudgetError{Budget: BudgetTime, Limit: m.budget.Time.String()}
		}
	}
	return nil
}

// chargeBytes spends the work of reading or writing n bytes.
func (m *meter) chargeBytes(n int) {
	m.charge(1 + int64(n)/bytesPerUnit)
}

// readable is how many bytes the rule may still read: past it, chargeBytes
// is over the work budget. It bounds deepSize's count.
func (m *meter) readable() int {
	return int(max(m.budget.Work-m.work, 0)+1) * bytesPerUnit
}

// chargeRead spends the work of reading all of v.
func (m *meter) chargeRead(v any) {
	m.chargeBytes(deepSize(v, m.readable()))
}

// chargeScan charges matching a pattern of insts instructions against
// textLen bytes, before it runs.
func (m *meter) chargeScan(textLen, insts int) {
	m.charge(1 + int64(textLen)*int64(insts)/instBytesPerUnit)
}

// Hold holds the conditions and templates evaluated over env from now on
// to b, all of them together, as one push's rules are; zero fields take
// DefaultBudget's. Without it, each evaluation outside Match gets
// DefaultBudget of its own. (A function of Budget, not a method of Env:
// Env's methods are what conditions may call.)
func (b Budget) Hold(env *Env) {
	m := newMeter(b, time.Now())
	env.meter = &m
}

func (m *meter) memoryError() *BudgetError {
	return &BudgetError{Budget: BudgetMemory, Limit: fmt.Sprintf("%d bytes", m.budget.Memory)}
}

// alloc spends n bytes of the rule's memory before they are allocated.
func (m *meter) alloc(n int64) {
	if n < 0 || m.memory+n > m.budget.Memory {
		panic(m.memoryError())
	}
	m.memory += n
	m.charge(1 + n/bytesPerUnit)
}
