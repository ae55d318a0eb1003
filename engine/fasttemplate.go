package engine

import (
	"reflect"
	"strconv"
	"text/template/parse"
	"time"
)

// fastTemplate renders a template made only of text, actions that print
// one field chain on dot ({{ .FromUserName }}, {{ .ScanCodeInfo.ScanResult }},
// {{ .Raw.Foo }}, {{ .Vars.hours.open }}), and ifs on one such chain, the
// commonest replies, without text/template: text/template looks each field
// up by name, through reflection, on every push, which cost more than the
// rest of a match.
//
// It writes what text/template would, in the same writes, so that the meter
// is charged the same. Whatever it cannot print or test as text/template
// would (a missing key, a value of a type it does not know) it leaves to
// text/template, before writing anything: the error, and what was charged
// before it, are text/template's own.
type fastTemplate struct {
	nodes []fastNode
}

// fastNode is a TextNode's text; or, when field is set, a field chain's
// value; or, when cond is set, an if: then when cond is true, else
// otherwise.
type fastNode struct {
	text            string
	field           *fieldPath
	cond            *fieldPath
	then, otherwise []fastNode
}

// fieldPath is where a field chain leads, resolved once from Env's type.
type fieldPath struct {
	index []int // into Env, through its nested structs
	kind  fieldKind
	keys  []string // the map keys after the struct field, for the map kinds
}

type fieldKind int

const (
	fieldString fieldKind = iota
	fieldInt
	fieldFloat
	fieldBool
	fieldTime
	fieldStringMap // map[string]string: Raw, Session; one key
	fieldAnyMap    // map[string]any: Vars; keys through nested map[string]any
)

var (
	envPointerType = reflect.TypeFor[*Env]()
	fieldKinds     = map[reflect.Type]fieldKind{
		reflect.TypeFor[string]():            fieldString,
		reflect.TypeFor[int]():               fieldInt,
		reflect.TypeFor[int64]():             fieldInt,
		reflect.TypeFor[float64]():           fieldFloat,
		reflect.TypeFor[bool]():              fieldBool,
		reflect.TypeFor[time.Time]():         fieldTime,
		reflect.TypeFor[map[string]string](): fieldStringMap,
		reflect.TypeFor[map[string]any]():    fieldAnyMap,
	}
)

// compileFast returns the fast form of a template's parse tree, or nil when
// it has anything but text, single field chains on dot, and ifs on one.
func compileFast(root *parse.ListNode) *fastTemplate {
	nodes, ok := compileFastList(root)
	if !ok {
		return nil
	}
	return &fastTemplate{nodes: nodes}
}

func compileFastList(list *parse.ListNode) ([]fastNode, bool) {
	if list == nil {
		return nil, true
	}
	var out []fastNode
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out = append(out, fastNode{text: string(n.Text)})
		case *parse.ActionNode:
			path := pipeFieldPath(n.Pipe)
			if path == nil {
				return nil, false
			}
			out = append(out, fastNode{field: path})
		case *parse.IfNode:
			cond := pipeFieldPath(n.Pipe)
			then, ok1 := compileFastList(n.List)
			otherwise, ok2 := compileFastList(n.ElseList)
			if cond == nil || !ok1 || !ok2 {
				return nil, false
			}
			out = append(out, fastNode{cond: cond, then: then, otherwise: otherwise})
		default:
			return nil, false
		}
	}
	return out, true
}

// pipeFieldPath is the field chain a pipeline is, alone; nil when it is
// anything else.
func pipeFieldPath(p *parse.PipeNode) *fieldPath {
	field := pipeField(p)
	if field == nil {
		return nil
	}
	return resolveFieldPath(field.Ident)
}

// pipeField is the field a pipeline is made of alone ({{ .A.B }}), or nil.
func pipeField(p *parse.PipeNode) *parse.FieldNode {
	if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	field, _ := p.Cmds[0].Args[0].(*parse.FieldNode)
	return field
}

// resolveFieldPath follows idents from *Env as text/template would, when
// each is an exported field (not a method: text/template tries methods
// first) of a struct, and the chain ends in a type fieldKinds knows.
func resolveFieldPath(idents []string) *fieldPath {
	typ := envPointerType
	var index []int
	for i, name := range idents {
		if _, isMethod := typ.MethodByName(name); isMethod {
			return nil
		}
		st := typ
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() != reflect.Struct {
			return nil
		}
		sf, ok := st.FieldByName(name)
		if !ok || !sf.IsExported() {
			return nil
		}
		index = append(index, sf.Index...)
		if sf.Type.Kind() == reflect.Struct && sf.Type != reflect.TypeFor[time.Time]() {
			// Nested structs are fields of an addressable struct:
			// text/template looks for methods of *T.
			typ = reflect.PointerTo(sf.Type)
			continue
		}
		kind, ok := fieldKinds[sf.Type]
		if !ok {
			return nil
		}
		keys := idents[i+1:]
		switch {
		case kind == fieldStringMap && len(keys) != 1,
			kind == fieldAnyMap && len(keys) == 0,
			kind != fieldStringMap && kind != fieldAnyMap && len(keys) != 0:
			return nil
		}
		return &fieldPath{index: index, kind: kind, keys: keys}
	}
	return nil // a struct: printed by fmt, left to text/template
}

// value is what text/template prints for the path over env; ok is false
// when text/template must say: a missing key, or a Vars value of another
// type than a string, a number or a bool.
func (p *fieldPath) value(env *Env) (string, bool) {
	v := p.field(env)
	switch p.kind {
	case fieldString:
		return v.String(), true
	case fieldInt:
		return strconv.FormatInt(v.Int(), 10), true
	case fieldFloat:
		return formatFloat(v.Float()), true
	case fieldBool:
		return strconv.FormatBool(v.Bool()), true
	case fieldTime:
		return v.Interface().(time.Time).String(), true
	case fieldStringMap:
		s, ok := v.Interface().(map[string]string)[p.keys[0]]
		return s, ok
	case fieldAnyMap:
		if x, ok := p.lookup(v); ok {
			return printDynamic(x)
		}
	}
	return "", false
}

// truth is whether {{ if }} takes the path over env as true; ok is false
// when text/template must say, as for value.
func (p *fieldPath) truth(env *Env) (truth, ok bool) {
	v := p.field(env)
	switch p.kind {
	case fieldString:
		return v.Len() > 0, true
	case fieldInt:
		return v.Int() != 0, true
	case fieldFloat:
		return v.Float() != 0, true
	case fieldBool:
		return v.Bool(), true
	case fieldTime:
		return true, true // a struct
	case fieldStringMap:
		s, ok := v.Interface().(map[string]string)[p.keys[0]]
		return s != "", ok
	case fieldAnyMap:
		x, ok := p.lookup(v)
		if !ok {
			return false, false
		}
		switch x := x.(type) {
		case string:
			return x != "", true
		case int:
			return x != 0, true
		case int64:
			return x != 0, true
		case float64:
			return x != 0, true
		case bool:
			return x, true
		}
	}
	return false, false
}

// field is the struct field the path starts with.
func (p *fieldPath) field(env *Env) reflect.Value {
	return reflect.ValueOf(env).Elem().FieldByIndex(p.index)
}

// lookup follows the keys from the map[string]any v, through nested
// maps of the same type.
func (p *fieldPath) lookup(v reflect.Value) (any, bool) {
	var x any = v.Interface().(map[string]any)
	for _, k := range p.keys {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, false
		}
		if x, ok = m[k]; !ok {
			return nil, false
		}
	}
	return x, true
}

// printDynamic is what fmt.Fprint writes for x, for the types YAML gives
// scalars.
func printDynamic(x any) (string, bool) {
	switch x := x.(type) {
	case string:
		return x, true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return formatFloat(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// formatFloat is fmt's %v for a float64.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// render renders the template over env, writing to w; ok is false, and
// nothing written, when text/template must render it instead.
func (f *fastTemplate) render(env *Env, w *cappedWriter) (ok bool, err error) {
	var buf [8]string
	values, ok := collect(f.nodes, env, buf[:0])
	if !ok {
		return false, nil
	}
	size := 0
	for _, s := range values {
		size += len(s)
	}
	w.Grow(min(size, MaxRenderBytes))
	for _, s := range values {
		// One write a node, as text/template makes: a TextNode's text, or
		// fmt.Fprint's one write of the value, even when empty.
		if err := w.writeString(s); err != nil {
			return true, err
		}
	}
	return true, nil
}

// collect appends what each node writes, in order, taking the branches
// text/template would; ok is false when it must render instead.
func collect(nodes []fastNode, env *Env, out []string) (_ []string, ok bool) {
	for _, n := range nodes {
		switch {
		case n.field != nil:
			s, ok := n.field.value(env)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		case n.cond != nil:
			truth, ok := n.cond.truth(env)
			if !ok {
				return nil, false
			}
			branch := n.otherwise
			if truth {
				branch = n.then
			}
			if out, ok = collect(branch, env, out); !ok {
				return nil, false
			}
		default:
			out = append(out, n.text)
		}
	}
	return out, true
}
