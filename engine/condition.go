package engine

import (
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/wxreply/wxreply/internal/text"
)

// MaxConditionNodes bounds the size of one condition, so that a generated or
// pasted expression cannot make loading slow.
const MaxConditionNodes = 10000

// Condition is a compiled expr-lang expression over Env that yields a bool.
// It is safe for concurrent use.
type Condition struct {
	src     string
	program *vm.Program
	tree    ast.Node // as written, type-checked: what the rule set's index reads
	// patterns are its constant patterns (Text matches "^a"), compiled
	// once: they go with the rule set that holds the condition.
	patterns map[string]*compiledPattern
}

// CompileCondition compiles src against Env. Unknown names, type mismatches,
// a result that is not a bool, and Vars.x where vars has no x are errors here,
// not when a message arrives. An error is a *file.Error from expr, with its
// (line:col) and caret snippet.
//
// What a condition may do for one push is bounded by a Budget (see
// exprbudget.go for how). What would certainly go over DefaultBudget, or
// cannot be bounded, is refused here: a constant range longer than the
// memory budget allows, a constant pattern too long or too large, toJSON,
// fromJSON, flatten, sortBy and groupBy (unavailableBuiltins).
func CompileCondition(src string, vars map[string]any) (*Condition, error) {
	patterns, err := checkBudgetable(src, DefaultBudget)
	if err != nil {
		return nil, err
	}
	config := []expr.Option{expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(MaxConditionNodes)}
	// The type check runs on the condition as written: once patched for its
	// budget, a call whose argument is wrong can pass a second check
	// unnoticed (expr keeps the type a call got in the check before).
	for _, name := range unavailableBuiltins {
		config = append(config, expr.DisableBuiltin(name))
	}
	checked, err := checker.ParseCheck(src, newConfig(config))
	if err != nil {
		return nil, err
	}
	if err := checkVars(checked, vars); err != nil {
		return nil, err
	}
	p, err := expr.Compile(src, append(config, budgetOptions()...)...)
	if err != nil {
		return nil, err
	}
	return &Condition{src: src, program: p, tree: checked.Node, patterns: patterns}, nil
}

func newConfig(opts []expr.Option) *conf.Config {
	c := conf.CreateNew()
	for _, op := range opts {
		op(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	return c
}

// checkVars reports the first Vars.x that names no var: at run time it would
// silently be nil, and the rule would silently never match.
func checkVars(tree *parser.Tree, vars map[string]any) error {
	v := &varsVisitor{vars: vars}
	ast.Walk(&tree.Node, v)
	if v.missing == nil {
		return nil
	}
	name := v.missing.Property.(*ast.StringNode).Value
	e := &file.Error{
		Location: v.missing.Location(),
		Message:  unknownVar(name, vars),
	}
	return e.Bind(tree.Source)
}

// unknownVar says that vars has no name, and which var it may be a typo of.
func unknownVar(name string, vars map[string]any) string {
	if guess := text.Suggest(name, slices.Sorted(maps.Keys(vars))); guess != "" {
		return fmt.Sprintf("unknown var %q: did you mean %q?", name, guess)
	}
	return fmt.Sprintf("unknown var %q: define it under vars: in a rule file", name)
}

type varsVisitor struct {
	vars    map[string]any
	missing *ast.MemberNode
}

func (v *varsVisitor) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || v.missing != nil {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "Vars" {
		return
	}
	if key, ok := m.Property.(*ast.StringNode); ok {
		if _, defined := v.vars[key.Value]; !defined {
			v.missing = m
		}
	}
}

// CheckSession reports the first Session.x the condition reads that is not
// one of names, the names the rule set's rules set: it would always read "".
// The error is a *file.Error, like CompileCondition's.
func (c *Condition) CheckSession(names []string) error {
	var missing *ast.MemberNode
	ast.Find(c.tree, func(n ast.Node) bool {
		m, ok := n.(*ast.MemberNode)
		if !ok || missing != nil {
			return false
		}
		id, ok := m.Node.(*ast.IdentifierNode)
		key, isConst := m.Property.(*ast.StringNode)
		if ok && id.Value == "Session" && isConst && !slices.Contains(names, key.Value) {
			missing = m
			return true
		}
		return false
	})
	if missing == nil {
		return nil
	}
	name := missing.Property.(*ast.StringNode).Value
	e := &file.Error{Location: missing.Location(), Message: UnknownSessionName(name, names)}
	return e.Bind(file.NewSource(c.src))
}

// UnknownSessionName says that no rule sets name, and which name it may be a
// typo of.
func UnknownSessionName(name string, names []string) string {
	if guess := text.Suggest(name, names); guess != "" {
		return fmt.Sprintf("no rule sets Session.%s: did you mean Session.%s?", name, guess)
	}
	return fmt.Sprintf("no rule sets Session.%s, so it is always empty: store it with set: {%s: ...} in the rule that should", name, name)
}

// Source is the condition as written.
func (c *Condition) Source() string { return c.src }

// vms are reused across evaluations: a VM's stack is the only allocation expr
// makes for most conditions.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Eval runs the condition over env. A run-time failure (a nil value, a
// division by zero) is an error, never a panic; a condition over its budget
// fails with a *BudgetError. An env without a meter (not from Match) gets
// one of its own, with DefaultBudget.
func (c *Condition) Eval(env *Env) (bool, error) {
	if env.meter == nil {
		m := newMeter(DefaultBudget, time.Now())
		env.meter = &m
		defer func() { env.meter = nil }()
	}
	env.meter.patterns = c.patterns
	machine := vms.Get().(*vm.VM)
	machine.MemoryBudget = env.meter.budget.elements()
	out, err := machine.Run(c.program, env)
	vms.Put(machine)
	env.meter.patterns = nil
	if err != nil {
		if be := AsBudgetError(err); be != nil {
			return false, be
		}
		// expr's own count of list items, set from Budget.Memory.
		if strings.Contains(err.Error(), "memory budget exceeded") {
			return false, env.meter.memoryError()
		}
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("condition gave %T, not a bool", out)
	}
	return b, nil
}

// KeywordMode says how keywords are compared with what the user said.
type KeywordMode string

// The keyword modes. All of them ignore case and the spaces around the text.
const (
	MatchContains KeywordMode = "contains" // the text contains a keyword
	MatchEqual    KeywordMode = "equal"    // the text is a keyword
	MatchPrefix   KeywordMode = "prefix"   // the text starts with a keyword
	MatchRegex    KeywordMode = "regex"    // a keyword, a regular expression, matches the text
)

// KeywordModes lists the modes in the order the rule format documents them.
var KeywordModes = []KeywordMode{MatchContains, MatchEqual, MatchPrefix, MatchRegex}

// Keywords matches Event.Text against a list of keywords.
type Keywords struct {
	mode  KeywordMode
	words []string // as written
	lower []string
	res   []*regexp.Regexp
	insts int // of res together: what scanning a byte may cost
}

// KeywordError is a keyword that does not compile in regex mode.
type KeywordError struct {
	Index int // into the keyword list
	Err   error
}

func (e *KeywordError) Error() string { return e.Err.Error() }
func (e *KeywordError) Unwrap() error { return e.Err }

// NewKeywords compiles words for mode. An empty mode means MatchContains.
func NewKeywords(mode KeywordMode, words []string) (*Keywords, error) {
	if mode == "" {
		mode = MatchContains
	}
	k := &Keywords{mode: mode, words: words}
	switch mode {
	case MatchContains, MatchEqual, MatchPrefix:
		for _, w := range words {
			k.lower = append(k.lower, strings.ToLower(strings.TrimSpace(w)))
		}
	case MatchRegex:
		insts := 0
		for i, w := range words {
			p, err := newKeywordPattern(w)
			if err != nil {
				return nil, &KeywordError{Index: i, Err: err}
			}
			if insts += p.insts; insts > MaxPatternInsts {
				return nil, &KeywordError{Index: i, Err: fmt.Errorf("the rule's patterns compile to %d instructions up to this one; a rule's patterns may have at most %d together: make them simpler, or split them across rules", insts, MaxPatternInsts)}
			}
			k.res = append(k.res, p.re)
		}
		k.insts = insts
	default:
		return nil, fmt.Errorf("unknown match mode %q: use contains, equal, prefix or regex", mode)
	}
	return k, nil
}

// Mode is how the keywords are compared.
func (k *Keywords) Mode() KeywordMode { return k.mode }

// Words are the keywords as written.
func (k *Keywords) Words() []string { return k.words }

// matchMetered is Match for a push, its patterns' scan charged to the push's
// meter before they run.
func (k *Keywords) matchMetered(m *matchState) bool {
	if k.mode == MatchRegex {
		m.env.meter.chargeScan(min(len(m.text), MaxScannedText), k.insts)
		return k.Match(m.text, "") // patterns read the text as said
	}
	return k.Match(m.text, m.loweredText())
}

// Match reports whether text, trimmed, matches a keyword. lowered is the same
// text trimmed and lower-cased, computed once per message by the caller.
func (k *Keywords) Match(said, lowered string) bool {
	switch k.mode {
	case MatchRegex:
		said = text.Cut(said, MaxScannedText)
		for _, re := range k.res {
			if re.MatchString(said) {
				return true
			}
		}
	case MatchEqual:
		for _, w := range k.lower {
			if lowered == w {
				return true
			}
		}
	case MatchPrefix:
		for _, w := range k.lower {
			if strings.HasPrefix(lowered, w) {
				return true
			}
		}
	default:
		for _, w := range k.lower {
			if strings.Contains(lowered, w) {
				return true
			}
		}
	}
	return false
}

// PatternSize is the number of instructions pattern compiles to: what
// matching it may cost for each byte of text.
func PatternSize(pattern string) (int, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return 0, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, err
	}
	return len(prog.Inst), nil
}
