package engine

import (
	"reflect"
	"strconv"
	"text/template/parse"
	"time"
)

// fastTemplate renders a template made only of text and actions that print
// one field chain on dot ({{ .FromUserName }}, {{ .ScanCodeInfo.ScanResult }},
// {{ .Raw.Foo }}, {{ .Vars.hours.open }}), the commonest replies, without
// text/template: text/template looks each field up by name, through
// reflection, on every push, which cost more than the rest of a match.
//
// It writes what text/template would, in the same writes, so that the meter
// is charged the same. Whatever it cannot print as text/template would (a
// missing key, a value of a type it does not know) it leaves to
// text/template, before writing anything: the error, and what was charged
// before it, are text/template's own.
type fastTemplate struct {
	parts []fastPart
}

// fastPart is a TextNode's text, or a field chain's value when field is set.
type fastPart struct {
	text  string
	field *fieldPath
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
// it has anything but text and single field chains on dot.
func compileFast(root *parse.ListNode) *fastTemplate {
	if root == nil {
		return nil
	}
	f := &fastTemplate{}
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			f.parts = append(f.parts, fastPart{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) > 0 || p.IsAssign || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil
			}
			field, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok {
				return nil
			}
			path := resolveFieldPath(field.Ident)
			if path == nil {
				return nil
			}
			f.parts = append(f.parts, fastPart{field: path})
		default:
			return nil
		}
	}
	return f
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
	v := reflect.ValueOf(env).Elem().FieldByIndex(p.index)
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
		var x any = v.Interface().(map[string]any)
		for _, k := range p.keys {
			m, ok := x.(map[string]any)
			if !ok {
				return "", false
			}
			if x, ok = m[k]; !ok {
				return "", false
			}
		}
		return printDynamic(x)
	}
	return "", false
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
	values := buf[:0]
	size := 0
	for _, p := range f.parts {
		s := p.text
		if p.field != nil {
			if s, ok = p.field.value(env); !ok {
				return false, nil
			}
		}
		values = append(values, s)
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
