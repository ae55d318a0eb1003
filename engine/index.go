package engine

import (
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/ast"
)

// A rule set finds the rules worth trying for a push without trying them
// all. Each rule may have a key: something that must hold for it to match
// and that an index can look up for the push, taken from its sugar (event
// keys, keywords) or from the first conjuncts of its condition
// (Text == "x", Content startsWith "y", EventKey in [...]). Match then tries,
// in the set's order, the rules of the push's bucket that have no key, and
// the rules whose key the push has. A rule whose key the push lacks would
// have failed a check that cannot error, so skipping it changes nothing:
// the same rule answers, and the same rules fail.

// keyField is what a key looks at.
type keyField int

const (
	keyLoweredText keyField = iota // Text, trimmed and lower-cased, as keywords see it
	keyText                        // Text as it came
	keyContent                     // Content as it came
	keyEventKey
	keyFields
)

// keyOp is how a key compares.
type keyOp int

const (
	keyEqual keyOp = iota
	keyPrefix
	keyContains // keyLoweredText only
)

// atom is one value a key looks for: the rule may match when field op
// value holds.
type atom struct {
	field keyField
	op    keyOp
	value string
}

// ruleKeys indexes the rules that have a key, by rule position in the set.
type ruleKeys struct {
	equal    [keyFields]map[string][]int32
	prefix   [keyFields]prefixIndex
	contains *automaton // keywords in contains mode, over the lowered text
}

type prefixIndex struct {
	lengths []int // distinct prefix lengths, ascending
	byValue map[string][]int32
}

func (k *ruleKeys) add(pos int32, a atom) {
	switch a.op {
	case keyEqual:
		if k.equal[a.field] == nil {
			k.equal[a.field] = map[string][]int32{}
		}
		k.equal[a.field][a.value] = appendOnce(k.equal[a.field][a.value], pos)
	case keyPrefix:
		p := &k.prefix[a.field]
		if p.byValue == nil {
			p.byValue = map[string][]int32{}
		}
		if !slices.Contains(p.lengths, len(a.value)) {
			p.lengths = append(p.lengths, len(a.value))
			slices.Sort(p.lengths)
		}
		p.byValue[a.value] = appendOnce(p.byValue[a.value], pos)
	case keyContains:
		if k.contains == nil {
			k.contains = newAutomatonBuilder()
		}
		k.contains.add(a.value, pos)
	}
}

func appendOnce(list []int32, pos int32) []int32 {
	if n := len(list); n > 0 && list[n-1] == pos {
		return list
	}
	return append(list, pos)
}

// hits appends the positions of the rules whose key the push has.
func (k *ruleKeys) hits(out []int32, m *matchState) []int32 {
	ev := &m.env.envelope
	values := [keyFields]string{keyText: ev.Text, keyContent: ev.Content, keyEventKey: ev.EventKey}
	if k.equal[keyLoweredText] != nil || k.prefix[keyLoweredText].lengths != nil || k.contains != nil {
		values[keyLoweredText] = m.loweredText()
	}
	for f := range keyFields {
		if eq := k.equal[f]; eq != nil {
			out = append(out, eq[values[f]]...)
		}
		p := &k.prefix[f]
		for _, n := range p.lengths {
			if n > len(values[f]) {
				break
			}
			out = append(out, p.byValue[values[f][:n]]...)
		}
	}
	if k.contains != nil && values[keyLoweredText] != "" {
		var small [4]uint64
		seen := small[:]
		if n := (k.contains.states() + 63) / 64; n > len(small) {
			p := seenPool.Get().(*[]uint64)
			defer seenPool.Put(p)
			if cap(*p) < n {
				*p = make([]uint64, n)
			}
			seen = (*p)[:n]
			clear(seen)
		}
		out = k.contains.match(out, values[keyLoweredText], seen)
	}
	return out
}

// seenPool holds the automaton's scratch bits for sets too large for the
// stack, as clearing them costs less than allocating them for every push.
var seenPool = sync.Pool{New: func() any { return new([]uint64) }}

// keyOf finds the rule's key: the most selective of what must hold for it
// to match. It returns nil when the rule has none and must be tried for
// every push of its bucket.
func keyOf(r *Rule) []atom {
	switch {
	case len(r.EventKeys) > 0:
		atoms := make([]atom, len(r.EventKeys))
		for i, k := range r.EventKeys {
			atoms[i] = atom{keyEventKey, keyEqual, k}
		}
		return atoms
	case r.Keywords != nil && r.Keywords.mode != MatchRegex:
		op := map[KeywordMode]keyOp{MatchContains: keyContains, MatchEqual: keyEqual, MatchPrefix: keyPrefix}[r.Keywords.mode]
		atoms := make([]atom, len(r.Keywords.lower))
		for i, w := range r.Keywords.lower {
			atoms[i] = atom{keyLoweredText, op, w}
		}
		return atoms
	case r.Keywords != nil:
		return nil // a regex keyword: tried, then the condition
	}
	for _, disjunction := range leadingDisjunctions(r.When) {
		if atoms := keyAtoms(disjunction); atoms != nil {
			return atoms
		}
	}
	return nil
}

// leadingDisjunctions are the first conjuncts of a condition, a && b && ...,
// that cannot fail with an error: those made of comparisons of the push's
// fields with constants, or'ed together. Conjuncts after the first other one
// are not taken: it might fail with an error, and skipping the rule would
// then hide the error.
func leadingDisjunctions(c *Condition) [][]*ast.BinaryNode {
	if c == nil || c.tree == nil {
		return nil
	}
	var out [][]*ast.BinaryNode
	for _, conjunct := range conjuncts(c.tree) {
		d, ok := comparisons(conjunct)
		if !ok {
			break
		}
		out = append(out, d)
	}
	return out
}

func conjuncts(n ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{n}
}

// comparisons returns the comparisons or'ed together in n, when every one
// compares an envelope field with a constant string (==, startsWith, in a
// list of constants).
func comparisons(n ast.Node) ([]*ast.BinaryNode, bool) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil, false
	}
	if b.Operator == "||" || b.Operator == "or" {
		left, ok1 := comparisons(b.Left)
		right, ok2 := comparisons(b.Right)
		return append(left, right...), ok1 && ok2
	}
	if _, ok := fieldOf(b.Left); !ok {
		return nil, false
	}
	switch b.Operator {
	case "==", "startsWith":
		_, ok := b.Right.(*ast.StringNode)
		return []*ast.BinaryNode{b}, ok
	case "in":
		list, ok := b.Right.(*ast.ArrayNode)
		if !ok {
			return nil, false
		}
		for _, item := range list.Nodes {
			if _, ok := item.(*ast.StringNode); !ok {
				return nil, false
			}
		}
		return []*ast.BinaryNode{b}, true
	}
	return nil, false
}

// fieldOf names the envelope field n reads, among those comparisons may
// bucket or index a rule by.
func fieldOf(n ast.Node) (string, bool) {
	id, ok := n.(*ast.IdentifierNode)
	if !ok {
		return "", false
	}
	switch id.Value {
	case "Text", "Content", "EventKey", "MsgType", "Event":
		return id.Value, true
	}
	return "", false
}

// keyAtoms turns a disjunction of comparisons into atoms when all of them
// look at a field an index can look up; nil otherwise.
func keyAtoms(d []*ast.BinaryNode) []atom {
	var atoms []atom
	for _, b := range d {
		name, _ := fieldOf(b.Left)
		field, ok := map[string]keyField{"Text": keyText, "Content": keyContent, "EventKey": keyEventKey}[name]
		if !ok {
			return nil
		}
		switch b.Operator {
		case "==":
			atoms = append(atoms, atom{field, keyEqual, b.Right.(*ast.StringNode).Value})
		case "startsWith":
			atoms = append(atoms, atom{field, keyPrefix, b.Right.(*ast.StringNode).Value})
		case "in":
			for _, item := range b.Right.(*ast.ArrayNode).Nodes {
				atoms = append(atoms, atom{field, keyEqual, item.(*ast.StringNode).Value})
			}
		}
	}
	return atoms
}

// bucketsOf is what the rule's sugar, or else its leading comparisons, say
// of the MsgType and (lower-cased) Event it can match; nil for any.
func bucketsOf(r *Rule) (msgTypes, events []string) {
	if r.MsgType != "" {
		msgTypes = []string{r.MsgType}
	}
	if r.Event != "" {
		events = []string{strings.ToLower(r.Event)}
	}
	for _, d := range leadingDisjunctions(r.When) {
		var types, evs []string
		same := true
		for _, b := range d {
			name, _ := fieldOf(b.Left)
			var values []string
			switch b.Operator {
			case "==":
				values = []string{b.Right.(*ast.StringNode).Value}
			case "in":
				for _, item := range b.Right.(*ast.ArrayNode).Nodes {
					values = append(values, item.(*ast.StringNode).Value)
				}
			default:
				same = false
			}
			switch name {
			case "MsgType":
				types = append(types, values...)
			case "Event":
				for _, v := range values {
					evs = append(evs, strings.ToLower(v))
				}
			default:
				same = false
			}
		}
		switch {
		case !same || (types != nil && evs != nil):
		case types != nil && msgTypes == nil:
			msgTypes = types
		case evs != nil && events == nil:
			events = evs
		}
	}
	return msgTypes, events
}

// automaton finds every keyword in a text in one pass (Aho–Corasick), so
// that a thousand contains-keywords cost one scan of the message.
type automaton struct {
	root   [256]int32 // the state after the root on each byte; 0 stays at the root
	edges  [][]edge   // the other states' transitions
	fail   []int32
	output [][]int32 // rule positions whose keyword ends here
	// dict is the nearest state down the fail chain with an output of its
	// own (0: none): the other keywords that end where this state does.
	// Following it, rather than copying each chain's outputs into every
	// state, keeps the automaton and a push's hits as large as the
	// keywords, not their square.
	dict []int32
}

type edge struct {
	c  byte
	to int32
}

func newAutomatonBuilder() *automaton {
	return &automaton{edges: [][]edge{nil}, fail: []int32{0}, output: [][]int32{nil}, dict: []int32{0}}
}

// step is the transition from s on c, or -1.
func (a *automaton) step(s int32, c byte) int32 {
	if s == 0 {
		if t := a.root[c]; t != 0 {
			return t
		}
		return -1
	}
	for _, e := range a.edges[s] {
		if e.c == c {
			return e.to
		}
	}
	return -1
}

func (a *automaton) add(word string, pos int32) {
	s := int32(0)
	for i := 0; i < len(word); i++ {
		t := a.step(s, word[i])
		if t < 0 {
			t = int32(len(a.edges))
			a.edges = append(a.edges, nil)
			a.fail = append(a.fail, 0)
			a.output = append(a.output, nil)
			a.dict = append(a.dict, 0)
			if s == 0 {
				a.root[word[i]] = t
			} else {
				a.edges[s] = append(a.edges[s], edge{word[i], t})
			}
		}
		s = t
	}
	a.output[s] = appendOnce(a.output[s], pos)
}

// build computes the fail links, breadth first, once every word is added.
func (a *automaton) build() {
	var queue []int32
	for _, t := range a.root {
		if t != 0 {
			queue = append(queue, t) // their fail link is the root
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, e := range a.edges[s] {
			f := a.fail[s]
			for {
				if u := a.step(f, e.c); u >= 0 {
					a.fail[e.to] = u
					break
				}
				if f == 0 {
					break
				}
				f = a.fail[f]
			}
			if f := a.fail[e.to]; len(a.output[f]) > 0 {
				a.dict[e.to] = f
			} else {
				a.dict[e.to] = a.dict[f] // f is nearer the root: set already
			}
			queue = append(queue, e.to)
		}
	}
}

// match appends, once each, the positions of the rules one of whose
// keywords text contains. seen is scratch space of one bit a state.
func (a *automaton) match(out []int32, text string, seen []uint64) []int32 {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		for {
			if t := a.step(s, text[i]); t >= 0 {
				s = t
				break
			}
			if s == 0 {
				break
			}
			s = a.fail[s]
		}
		// The keywords ending here: this state's and its dictionary chain's.
		// A state seen before had its whole chain emitted then.
		for x := s; x != 0 && seen[x/64]&(1<<(x%64)) == 0; x = a.dict[x] {
			seen[x/64] |= 1 << (x % 64)
			out = append(out, a.output[x]...)
		}
	}
	return out
}

func (a *automaton) states() int { return len(a.edges) }
