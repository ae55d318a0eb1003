package engine

import (
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/wxreply/wxreply/internal/text"
)

// A condition is held to its Budget without changing expr: compile-time
// options and a patcher put the push's meter in the way of everything whose
// cost grows with the data.
//
//   - Every builtin that reads or builds strings or lists is replaced by a
//     function of the same name and types that charges the meter first, for
//     the bytes it reads and, before allocating, for the bytes it will build
//     (meteredBuiltins).
//   - The body of every closure (all, any, filter, map, reduce, ...) starts
//     with a call that charges one unit, so a loop costs one unit an
//     iteration however it is nested.
//   - Operators whose cost grows with their operands (+ on strings,
//     comparisons of two non-constant strings, contains, in, matches with a
//     pattern that is not a constant) become calls that charge for it.
//   - expr's own memory budget, in list items, is set from Budget.Memory.
//
// The meter is reached through $env, the *Env the condition runs over.

// meteredBuiltins are expr's builtins that are kept, each with what it will
// build given its arguments (nil: no more than it reads).
var meteredBuiltins = map[string]func(args []any) int64{
	"len": nil, "int": nil, "float": nil,
	"trim": nil, "trimPrefix": nil, "trimSuffix": nil, "upper": nil, "lower": nil,
	"indexOf": nil, "lastIndexOf": nil, "hasPrefix": nil, "hasSuffix": nil,
	"max": nil, "min": nil, "mean": nil, "median": nil,
	"fromBase64": nil, "duration": nil, "date": nil,
	"take": nil, "keys": nil, "values": nil, "toPairs": nil, "fromPairs": nil,
	"reverse": nil, "uniq": nil, "sort": nil,
	"repeat":     repeatSize,
	"join":       joinSize,
	"replace":    replaceSize,
	"split":      splitSize,
	"splitAfter": splitSize,
	"concat":     concatSize,
	"toBase64":   func(args []any) int64 { return int64(sizeOf(args[0]))*4/3 + 4 },
	// string prints any value, as deep as it goes. Reading it was charged
	// first, which bounds the count.
	"string": func(args []any) int64 { return int64(deepSize(args[0], math.MaxInt)) },
}

// readsInFull are the metered builtins that read every item of a list to
// its end: they compare, hash or print the items. The others read a list's
// items as they are held (len, take, keys, reverse, concat, ...), and a
// text in full anyway.
var readsInFull = []string{"max", "min", "uniq", "sort", "fromPairs", "join", "string"}

// fixedCostBuiltins are expr's builtins that are kept as they are: what
// they cost does not grow with what they are given.
var fixedCostBuiltins = []string{"type", "abs", "ceil", "floor", "round", "now", "timezone",
	"first", "last", "get", "bitand", "bitor", "bitxor", "bitnand", "bitshl", "bitshr", "bitushr", "bitnot"}

// sortingPredicates loop over a closure, which the patcher meters, and then
// sort or group what it gave in Go, which nothing meters: a sort of 30,000
// long keys takes most of a second.
var sortingPredicates = []string{"sortBy", "groupBy"}

// unavailableBuiltins are refused in conditions: every builtin that is not
// metered, of fixed cost, or a loop over a closure (which the patcher
// meters an iteration at a time) that does no more. toJSON, fromJSON and
// flatten are among them, and sortBy and groupBy: their cost cannot be
// told before they run, and a reply rule has no use for them. A builtin a
// later expr adds is refused until it is sorted into one of those lists.
var unavailableBuiltins = func() []string {
	var names []string
	for _, b := range builtin.Builtins {
		_, metered := meteredBuiltins[b.Name]
		loop := b.Predicate && !slices.Contains(sortingPredicates, b.Name)
		if !metered && !loop && !slices.Contains(fixedCostBuiltins, b.Name) {
			names = append(names, b.Name)
		}
	}
	return names
}()

// The functions the patcher calls. A condition could name them too (expr
// has no private names), so they are named to read as wxreply's own; one
// called by hand only charges the meter or does what its operator does.
const (
	tickFunc    = "_budget_tick"
	addFunc     = "_budget_add"
	compareFunc = "_budget_compare"
	inFunc      = "_budget_in"
	matchesFunc = "_budget_matches"
)

// budgetOptions are the expr options that hold a condition to its budget.
// They are made once: every condition of every load uses them.
var budgetOptions = sync.OnceValue(func() []expr.Option {
	metered := map[string]*builtin.Function{}
	for name, size := range meteredBuiltins {
		metered[name] = meteredBuiltin(builtin.Builtins[builtin.Index[name]], size, slices.Contains(readsInFull, name))
	}
	opts := []expr.Option{func(c *conf.Config) {
		maps.Copy(c.Functions, metered)
	}}
	for _, name := range unavailableBuiltins {
		opts = append(opts, expr.DisableBuiltin(name))
	}
	opts = append(opts,
		expr.Function(tickFunc, func(args ...any) (any, error) {
			meterOf(args[0]).charge(1)
			return true, nil
		}, new(func(any) bool)),
		expr.Function(addFunc, meteredAdd, new(func(any, string, string) string), new(func(any, any, any) any)),
		expr.Function(compareFunc, meteredCompare, new(func(any, string, any, any) bool)),
		expr.Function(inFunc, meteredIn, new(func(any, any, any) bool)),
		expr.Function(matchesFunc, meteredMatches, new(func(any, any, any) bool)),
		expr.Patch(budgetPatcher{}),
	)
	return opts
})

var anyType = reflect.TypeOf((*any)(nil)).Elem()

// meteredBuiltin wraps b into a function that takes the *Env first and
// charges its meter before calling b. It accepts the calls as written too,
// so that the type check before patching sees the types the user meant.
func meteredBuiltin(b *builtin.Function, size func([]any) int64, inFull bool) *builtin.Function {
	call := func(args ...any) (any, error) {
		m, args := meterOf(args[0]), args[1:]
		held := 0
		for _, a := range args {
			held += sizeOf(a)
			if inFull {
				m.chargeRead(a)
			}
		}
		if !inFull {
			m.chargeBytes(held)
		}
		if size == nil {
			m.alloc(int64(held))
		} else {
			m.alloc(size(args))
		}
		switch {
		case b.Fast != nil:
			return b.Fast(args[0]), nil
		case b.Safe != nil:
			out, _, err := b.Safe(args...)
			return out, err
		default:
			return b.Func(args...)
		}
	}
	f := &builtin.Function{Name: b.Name, Func: call}
	if b.Validate != nil {
		f.Validate = func(args []reflect.Type) (reflect.Type, error) {
			if len(args) > 0 && args[0] == anyType {
				if t, err := b.Validate(args[1:]); err == nil {
					return t, nil
				}
			}
			return b.Validate(args)
		}
	}
	for _, t := range b.Types {
		in := []reflect.Type{anyType}
		for i := range t.NumIn() {
			in = append(in, t.In(i))
		}
		var out []reflect.Type
		for i := range t.NumOut() {
			out = append(out, t.Out(i))
		}
		f.Types = append(f.Types, reflect.FuncOf(in, out, t.IsVariadic()))
	}
	f.Types = append(f.Types, b.Types...)
	if b.Deref != nil {
		f.Deref = func(i int, t reflect.Type) bool { return i > 0 && b.Deref(i-1, t) }
	}
	return f
}

func meterOf(env any) *meter {
	e, ok := env.(*Env)
	if !ok || e.meter == nil {
		// Only a condition compiled here and run by Condition.Eval gets
		// this far, and Eval always sets a meter.
		panic(fmt.Sprintf("engine: condition run without a meter (env %T)", env))
	}
	return e.meter
}

// sizeOf is what a value costs to read: its bytes for a string, 16 bytes an
// item for a list or a map.
func sizeOf(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case []any:
		return 16 * len(v)
	case []string:
		return 16 * len(v)
	case nil, bool, int, int64, float64:
		return 8
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.Len()
	case reflect.Slice, reflect.Array, reflect.Map:
		return 16 * rv.Len()
	}
	return 8
}

// deepSize is what it costs to read all of v, or to print it with fmt: the
// bytes of its strings, 24 bytes for any other value, and 16 bytes for
// each item, key and field around them. A list of one long string repeated
// is small to hold (sizeOf) and large to read or print; this is the second.
// The count stops once it is over limit, so that sizing a value costs no
// more than the charge it leads to.
func deepSize(v any, limit int) int {
	s := sizer{limit: limit}
	s.add(reflect.ValueOf(v), 0)
	return s.n
}

type sizer struct{ n, limit int }

func (s *sizer) add(v reflect.Value, depth int) {
	if s.n > s.limit {
		return
	}
	switch v.Kind() {
	case reflect.Invalid:
		s.n += 8
	case reflect.String:
		s.n += v.Len()
	case reflect.Interface:
		s.add(v.Elem(), depth)
	case reflect.Pointer:
		// fmt follows a pointer at the top only; deeper it prints the
		// address.
		if depth > 0 || v.IsNil() {
			s.n += 24
			return
		}
		s.add(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			s.n += 16
			s.add(v.Index(i), depth+1)
			if s.n > s.limit {
				return
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			s.n += 16
			s.add(it.Key(), depth+1)
			s.add(it.Value(), depth+1)
			if s.n > s.limit {
				return
			}
		}
	case reflect.Struct:
		if v.Type() == timeType {
			s.n += 64
			return
		}
		for i := range v.NumField() {
			s.n += 16
			s.add(v.Field(i), depth+1)
		}
	default:
		s.n += 24
	}
}

var timeType = reflect.TypeFor[time.Time]()

func repeatSize(args []any) int64 {
	n := runtime.ToInt(args[1])
	if n < 0 {
		return 0 // repeat says what is wrong with it
	}
	s := int64(len(args[0].(string)))
	if s > 0 && int64(n) > (1<<62)/s {
		return -1 // alloc refuses a negative size: over any budget
	}
	return s * int64(n)
}

func joinSize(args []any) int64 {
	sep := 0
	if len(args) == 2 {
		sep = len(args[1].(string))
	}
	v := reflect.ValueOf(args[0])
	if v.Kind() != reflect.Slice {
		return 0
	}
	total := int64(sep) * int64(max(v.Len()-1, 0))
	for i := range v.Len() {
		total += int64(sizeOf(v.Index(i).Interface()))
	}
	return total
}

func replaceSize(args []any) int64 {
	s, old, new := args[0].(string), args[1].(string), args[2].(string)
	if len(new) <= len(old) {
		return int64(len(s))
	}
	n := strings.Count(s, old)
	if len(args) == 4 {
		n = min(n, max(runtime.ToInt(args[3]), 0))
	}
	return int64(len(s)) + int64(n)*int64(len(new)-len(old))
}

func splitSize(args []any) int64 {
	s, sep := args[0].(string), args[1].(string)
	n := utf8.RuneCountInString(s)
	if sep != "" {
		n = strings.Count(s, sep) + 1
	}
	return 16 * int64(n)
}

func concatSize(args []any) int64 {
	total := int64(0)
	for _, a := range args {
		total += int64(sizeOf(a))
	}
	return total
}

func meteredAdd(args ...any) (any, error) {
	m, a, b := meterOf(args[0]), args[1], args[2]
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			m.alloc(int64(len(x) + len(y)))
			return x + y, nil
		}
	}
	return runtime.Add(a, b), nil
}

func meteredCompare(args ...any) (any, error) {
	m, op, a, b := meterOf(args[0]), args[1].(string), args[2], args[3]
	x, xs := a.(string)
	y, ys := b.(string)
	if xs && ys {
		m.chargeBytes(min(len(x), len(y)))
		switch op {
		case "==":
			return x == y, nil
		case "!=":
			return x != y, nil
		case "<":
			return x < y, nil
		case ">":
			return x > y, nil
		case "<=":
			return x <= y, nil
		case ">=":
			return x >= y, nil
		case "contains":
			m.chargeBytes(len(x))
			return strings.Contains(x, y), nil
		case "startsWith":
			return strings.HasPrefix(x, y), nil
		case "endsWith":
			return strings.HasSuffix(x, y), nil
		}
	}
	// Lists and maps are compared item by item, as deep as they go.
	m.chargeBytes(min(deepSize(a, m.readable()), deepSize(b, m.readable())))
	switch op {
	case "==":
		return runtime.Equal(a, b), nil
	case "!=":
		return !runtime.Equal(a, b), nil
	case "<":
		return runtime.Less(a, b), nil
	case ">":
		return runtime.More(a, b), nil
	case "<=":
		return runtime.LessOrEqual(a, b), nil
	case ">=":
		return runtime.MoreOrEqual(a, b), nil
	}
	return nil, fmt.Errorf("invalid operation: %T %s %T", a, op, b)
}

// stepBytes is how much of two texts a comparison reads within the unit
// of a loop's step: a few nanoseconds of the step's hundred.
const stepBytes = 64

func meteredIn(args ...any) (any, error) {
	m, needle, haystack := meterOf(args[0]), args[1], args[2]
	m.chargeRead(needle)
	if v := reflect.ValueOf(haystack); v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
		// The needle is compared with every item: a text with the items
		// of its length (others differ at once), a list or map as deep as
		// it goes, a number or bool at once. The unit an item covers
		// comparing the first stepBytes of a text.
		m.charge(int64(v.Len()))
		s, isText := needle.(string)
		size := 0
		switch nv := reflect.ValueOf(needle); nv.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map, reflect.Struct, reflect.Pointer, reflect.Interface:
			size = deepSize(needle, m.readable())
		}
		read := 0
		for i := range v.Len() {
			item := v.Index(i)
			if item.Kind() == reflect.Interface {
				item = item.Elem()
			}
			switch {
			case isText && item.Kind() == reflect.String && item.Len() == len(s):
				read += max(len(s)-stepBytes, 0)
			case !isText:
				read += size
			}
			if read > m.readable() {
				break
			}
		}
		m.chargeBytes(read)
	}
	return runtime.In(needle, haystack), nil
}

// MaxPatternBytes is the longest regular expression a rule may use, in a
// regex keyword, in a matches with a constant pattern, or built while it
// runs.
const MaxPatternBytes = 1024

// MaxPatternInsts bounds the compiled size of a rule's regular expressions,
// all of its regex keywords together: matching costs up to this much for
// each byte of text scanned.
const MaxPatternInsts = 4096

// MaxScannedText is how much of a message a regular expression scans: the
// first MaxScannedText bytes. Longer texts still match on their start.
const MaxScannedText = 8 << 10

func meteredMatches(args ...any) (any, error) {
	m := meterOf(args[0])
	subject, ok1 := args[1].(string)
	pattern, ok2 := args[2].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("invalid operation: %T matches %T", args[1], args[2])
	}
	p, err := compilePattern(m, pattern)
	if err != nil {
		return nil, fmt.Errorf("matches: %w", err)
	}
	subject = text.Cut(subject, MaxScannedText)
	m.chargeScan(len(subject), p.insts)
	return p.re.MatchString(subject), nil
}

// compiledPattern is a pattern compiled, with its size.
type compiledPattern struct {
	re    *regexp.Regexp
	insts int
}

// compilePattern returns pattern compiled: the running condition's, from
// the meter, or any other checked, charged to m and compiled now. A
// pattern built from a message is compiled for its push and not kept.
func compilePattern(m *meter, pattern string) (*compiledPattern, error) {
	if p, ok := m.patterns[pattern]; ok {
		return p, nil
	}
	p, err := newPattern(pattern)
	if err != nil {
		return nil, err
	}
	m.alloc(int64(64 * p.insts))
	return p, nil
}

// newPattern checks pattern as a rule's (checkPattern) and compiles it.
func newPattern(pattern string) (*compiledPattern, error) {
	return compileChecked(pattern, pattern)
}

// newKeywordPattern is newPattern for a regex keyword, which matches
// ignoring case: the (?i) that says so does not count in its length.
func newKeywordPattern(keyword string) (*compiledPattern, error) {
	return compileChecked(keyword, "(?i)"+keyword)
}

// compileChecked checks written, the pattern as the rule gives it, and
// compiles pattern, what it means.
func compileChecked(written, pattern string) (*compiledPattern, error) {
	if len(written) > MaxPatternBytes {
		return nil, fmt.Errorf("the pattern is %d bytes long; a pattern may have at most %d: split it into several keywords or rules", len(written), MaxPatternBytes)
	}
	insts, err := checkPattern(pattern)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return &compiledPattern{re: re, insts: insts}, nil
}

// budgetPatcher puts the meter in the way of loops and of the operators
// whose cost grows with their operands. It runs after a first type check,
// so it knows the operands' types where they can be known.
type budgetPatcher struct{}

func (budgetPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		if _, metered := meteredBuiltins[id.Value]; metered && !hasEnvFirst(n) {
			// A new node: the type check gave the call as written a type
			// that the call with the env does not have.
			replace(node, call(id.Value, n.Arguments...))
		}
	case *ast.PredicateNode:
		if seq, ok := n.Node.(*ast.SequenceNode); ok && isTick(seq.Nodes[0]) {
			return
		}
		n.Node = &ast.SequenceNode{Nodes: []ast.Node{call(tickFunc), n.Node}}
	case *ast.BinaryNode:
		if patched := patchBinary(n); patched != nil {
			replace(node, patched)
		}
	}
}

func patchBinary(n *ast.BinaryNode) ast.Node {
	if fixedCost(n.Left) || fixedCost(n.Right) {
		if n.Operator != "in" {
			return nil
		}
	}
	switch n.Operator {
	case "+":
		return call(addFunc, n.Left, n.Right)
	case "==", "!=", "<", ">", "<=", ">=", "startsWith", "endsWith":
		// Against a constant, the cost is bounded by the constant.
		if isConstant(n.Left) || isConstant(n.Right) {
			return nil
		}
		return call(compareFunc, &ast.StringNode{Value: n.Operator}, n.Left, n.Right)
	case "contains":
		if isConstant(n.Left) {
			return nil
		}
		return call(compareFunc, &ast.StringNode{Value: n.Operator}, n.Left, n.Right)
	case "in":
		switch n.Right.(type) {
		case *ast.ArrayNode, *ast.ConstantNode, *ast.MapNode:
			return nil
		}
		return call(inFunc, n.Left, n.Right)
	case "matches":
		// A constant pattern too: what it costs grows with the text.
		return call(matchesFunc, n.Left, n.Right)
	}
	return nil
}

// replace puts n in node's place. Unlike ast.Patch it keeps no type: the
// type check after patching must check the new call, arguments and all, and
// it skips a call that already has a type.
func replace(node *ast.Node, n ast.Node) {
	n.SetLocation((*node).Location())
	*node = n
}

func call(name string, args ...ast.Node) *ast.CallNode {
	return &ast.CallNode{Callee: &ast.IdentifierNode{Value: name}, Arguments: append([]ast.Node{envNode()}, args...)}
}

func envNode() ast.Node { return &ast.IdentifierNode{Value: "$env"} }

func hasEnvFirst(n *ast.CallNode) bool {
	if len(n.Arguments) == 0 {
		return false
	}
	id, ok := n.Arguments[0].(*ast.IdentifierNode)
	return ok && id.Value == "$env"
}

func isTick(n ast.Node) bool {
	c, ok := n.(*ast.CallNode)
	if !ok {
		return false
	}
	id, ok := c.Callee.(*ast.IdentifierNode)
	return ok && id.Value == tickFunc
}

func isConstant(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.ConstantNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode:
		return true
	}
	return false
}

// fixedCost reports whether n is known, from the type check, to be a value
// whose comparison costs the same whatever the user sent: a number, a
// bool, a time. Texts, lists and maps cost what they hold.
func fixedCost(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.String, reflect.Interface, reflect.Slice, reflect.Array, reflect.Map:
		return false
	}
	return true
}

// checkBudgetable refuses, with its position, what a condition may not use
// or what would certainly go over budget: an unavailable builtin, a range
// of constant bounds longer than the memory budget allows, a constant
// pattern that is too long.
//
// It returns the condition's constant patterns, compiled.
func checkBudgetable(src string, b Budget) (map[string]*compiledPattern, error) {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, nil // expr.Compile reports it, with its position
	}
	v := &budgetChecker{budget: b.withDefaults()}
	ast.Walk(&tree.Node, v)
	if v.err != nil {
		return nil, v.err.Bind(file.NewSource(src))
	}
	return v.patterns, nil
}

type budgetChecker struct {
	budget   Budget
	insts    int // of the constant patterns so far
	patterns map[string]*compiledPattern
	err      *file.Error
}

func (v *budgetChecker) Visit(node *ast.Node) {
	if v.err != nil {
		return
	}
	fail := func(format string, args ...any) {
		v.err = &file.Error{Location: (*node).Location(), Message: fmt.Sprintf(format, args...)}
	}
	switch n := (*node).(type) {
	case *ast.BuiltinNode: // how the parser, without a config, reads a builtin
		if slices.Contains(unavailableBuiltins, n.Name) {
			fail("%s is not available in wxreply conditions: what it costs cannot be told before it runs", n.Name)
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "..":
			lo, ok1 := n.Left.(*ast.IntegerNode)
			hi, ok2 := n.Right.(*ast.IntegerNode)
			if ok1 && ok2 && hi.Value-lo.Value+1 > int(v.budget.elements()) {
				fail("the range %d..%d has %d items: a rule may build at most %d (its memory budget, %d bytes, at 16 bytes an item)",
					lo.Value, hi.Value, hi.Value-lo.Value+1, v.budget.elements(), v.budget.Memory)
			}
		case "matches":
			if p, ok := n.Right.(*ast.StringNode); ok {
				compiled, err := newPattern(p.Value)
				if err != nil {
					fail("matches: %v", err)
					return
				}
				if v.patterns == nil {
					v.patterns = map[string]*compiledPattern{}
				}
				v.patterns[p.Value] = compiled
				if v.insts += compiled.insts; v.insts > MaxPatternInsts {
					fail("matches: the condition's patterns compile to %d instructions up to this one; a rule's patterns may have at most %d together: make them simpler, or split them across rules", v.insts, MaxPatternInsts)
				}
			}
		}
	}
}

// checkPattern refuses a regular expression that compiles to too large a
// program for a rule, and gives its size: matching costs up
// to the program's size for each byte of text.
func checkPattern(pattern string) (insts int, err error) {
	n, err := PatternSize(pattern)
	if err != nil {
		return 0, err
	}
	if n > MaxPatternInsts {
		return 0, fmt.Errorf("the pattern compiles to %d instructions; a rule's patterns may have at most %d together: make it simpler", n, MaxPatternInsts)
	}
	return n, nil
}
