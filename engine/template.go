package engine

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// MaxRenderBytes caps what one reply field may render to, so that a template
// looping over a large value cannot exhaust memory while answering WeChat.
const MaxRenderBytes = 64 << 10

// ErrRenderTooLarge is returned when a template renders more than MaxRenderBytes.
var ErrRenderTooLarge = fmt.Errorf("reply renders to more than %d bytes", MaxRenderBytes)

// Template is one reply field: a Go text/template over Env, compiled once.
// A field without "{{" is kept as a literal and costs nothing to render.
type Template struct {
	src  string
	tmpl *template.Template
	// constant is what the template renders to whatever the push, when it
	// reads nothing but Vars (see WithVars): it renders once, at load.
	constant *string
	// fast renders it without text/template when it is only text and
	// fields of the push (see fastTemplate); nil otherwise.
	fast *fastTemplate
}

// WithVars returns t ready to answer with vars as the rule set's Vars: when
// all t reads is Vars ({{ .Vars.site }}/menu), a copy that holds its output,
// rendered once now rather than for every push; otherwise t itself. The
// copy has the same Source.
func (t *Template) WithVars(vars map[string]any) *Template {
	if t == nil || t.tmpl == nil || t.constant != nil || !readsOnlyVars(t.tmpl.Tree.Root) {
		return t
	}
	out, err := t.Render(&Env{Vars: vars})
	if err != nil {
		return t // the push's render reports it, as it would have
	}
	return &Template{src: t.src, tmpl: t.tmpl, constant: &out}
}

// readsOnlyVars reports whether the template is text and {{ .Vars.name }}
// actions alone: its output is then the same for every push of a rule set.
func readsOnlyVars(list *parse.ListNode) bool {
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			f := pipeField(n.Pipe)
			if f == nil || len(f.Ident) < 2 || f.Ident[0] != "Vars" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// templateFuncs are the functions reply templates may call besides
// text/template's own. Each takes the *Env first: CompileTemplate passes $
// to every call, so that a function charges the push's meter before it
// works. Templates call them without it: {{ .Content | lower }}.
var templateFuncs = template.FuncMap{
	"lower": func(env *Env, s string) string {
		meterFor(env).alloc(int64(len(s)))
		return strings.ToLower(s)
	},
	"upper": func(env *Env, s string) string {
		meterFor(env).alloc(int64(len(s)))
		return strings.ToUpper(s)
	},
	"trim": func(env *Env, s string) string {
		meterFor(env).chargeBytes(len(s))
		return strings.TrimSpace(s)
	},
	// join writes any list with sep between its items: {{ join ", " .Vars.drinks }}.
	"join": func(env *Env, sep string, list any) (string, error) {
		v := reflect.ValueOf(list)
		if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
			return "", fmt.Errorf("join: want a list, got %T", list)
		}
		m := meterFor(env)
		m.charge(int64(v.Len()))
		items := make([]string, v.Len())
		for i := range items {
			item := v.Index(i).Interface()
			m.alloc(int64(deepSize(item, m.readable()) + len(sep)))
			items[i] = fmt.Sprint(item)
		}
		return strings.Join(items, sep), nil
	},
	"replace": func(env *Env, old, new, s string) string {
		meterFor(env).chargeBytes(len(s))
		meterFor(env).alloc(replaceSize([]any{s, old, new}))
		return strings.ReplaceAll(s, old, new)
	},
	// index is text/template's, but a key that a map of values of any kind
	// (Vars) does not have is an error (ErrNoEntry), as a missing
	// .Vars.name is, not a nil that prints "<no value>". A map of text
	// (Raw) gives "" for a key it lacks, as before.
	"index": strictIndex,
	// default returns fallback when value is empty: {{ .Scene | default "none" }}.
	"default": func(fallback string, value any) any {
		if s, ok := value.(string); ok && s == "" || value == nil {
			return fallback
		}
		return value
	},
	// text/template's own printing and escaping functions, metered.
	"print":    func(env *Env, args ...any) string { chargeArgs(env, 1, args); return fmt.Sprint(args...) },
	"println":  func(env *Env, args ...any) string { chargeArgs(env, 1, args); return fmt.Sprintln(args...) },
	"html":     func(env *Env, args ...any) string { chargeArgs(env, 6, args); return template.HTMLEscaper(args...) },
	"js":       func(env *Env, args ...any) string { chargeArgs(env, 6, args); return template.JSEscaper(args...) },
	"urlquery": func(env *Env, args ...any) string { chargeArgs(env, 3, args); return template.URLQueryEscaper(args...) },
	"printf": func(env *Env, format string, args ...any) (string, error) {
		if err := checkWidths(format, args); err != nil {
			return "", err
		}
		chargeArgs(env, 1, append(args, format))
		return fmt.Sprintf(format, args...), nil
	},
	tickFunc: func(env *Env) string {
		meterFor(env).charge(rangeIterationUnits)
		return ""
	},
}

// ErrNoEntry is index's error for a key its map does not have. It depends
// on the push ({{ index .Vars.prices .Content }}), so that a rule whose
// lookup misses fails for that push and the next rule answers.
var ErrNoEntry = errors.New("no entry for the key")

// strictIndex is text/template's index, item[k1][k2]..., with ErrNoEntry
// for a key missing from a map of any. It reads no more than its keys say.
func strictIndex(item any, keys ...any) (any, error) {
	v := reflect.ValueOf(item)
	for _, k := range keys {
		for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		switch v.Kind() {
		case reflect.Map:
			kv := reflect.ValueOf(k)
			if !kv.IsValid() || !kv.Type().AssignableTo(v.Type().Key()) {
				return nil, fmt.Errorf("index: a key of type %T for a map of %s keys", k, v.Type().Key())
			}
			e := v.MapIndex(kv)
			switch {
			case e.IsValid():
			case v.Type().Elem().Kind() == reflect.Interface:
				// A value of any kind, as Vars holds: nothing to print.
				return nil, fmt.Errorf("index: %w %.40q", ErrNoEntry, fmt.Sprint(k))
			default:
				// Text, as Raw holds: empty, for an element some pushes lack.
				e = reflect.Zero(v.Type().Elem())
			}
			v = e
		case reflect.Slice, reflect.Array, reflect.String:
			i, ok := k.(int)
			if !ok || i < 0 || i >= v.Len() {
				return nil, fmt.Errorf("index out of range: %v (of %d)", k, v.Len())
			}
			v = v.Index(i)
		default:
			return nil, fmt.Errorf("index: cannot index %s", v.Kind())
		}
	}
	if !v.IsValid() {
		return nil, nil
	}
	return v.Interface(), nil
}

// rangeIterationUnits is what an iteration of a range costs: text/template
// runs a loop about five times slower than expr does.
const rangeIterationUnits = 5

// meterFor is the meter of the push env belongs to.
func meterFor(env *Env) *meter {
	if env == nil || env.meter == nil {
		// $ was rebound, or a template ran outside Render.
		panic("engine: template function called without the push's $")
	}
	return env.meter
}

// chargeArgs spends what printing args costs, growth times their size
// at most.
func chargeArgs(env *Env, growth int, args []any) {
	m := meterFor(env)
	n := 0
	for _, a := range args {
		n += deepSize(a, m.readable())
	}
	m.alloc(int64(growth * n))
}

// maxWidth is the widest field printf may pad to: fmt allocates the width
// before writing, whatever the value.
const maxWidth = 1 << 10

// checkWidths refuses a printf format whose width or precision is larger
// than maxWidth, given in the format or by a * argument.
func checkWidths(format string, args []any) error {
	arg := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0; i++ {
		}
		for part := 0; part < 2 && i < len(format); part++ { // width, then .precision
			if part == 1 {
				if format[i] != '.' {
					break
				}
				i++
			}
			n := 0
			switch {
			case i < len(format) && format[i] == '*':
				if arg < len(args) {
					if w, ok := args[arg].(int); ok {
						n = w
					}
				}
				arg++
				i++
			default:
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					if n = n*10 + int(format[i]-'0'); n > maxWidth {
						break
					}
				}
			}
			if n > maxWidth || n < -maxWidth {
				return fmt.Errorf("printf: a width or precision over %d", maxWidth)
			}
		}
		if i < len(format) && format[i] != '%' {
			arg++
		}
	}
	return nil
}

// meteredTemplateFuncs are the functions CompileTemplate passes $ to.
var meteredTemplateFuncs = map[string]bool{"lower": true, "upper": true, "trim": true, "join": true,
	"replace": true, "print": true, "println": true, "html": true, "js": true, "urlquery": true,
	"printf": true, tickFunc: true}

// CompileTemplate parses src as a reply template named name. Reading a key
// that Vars does not have is an error (missingkey=error), not "<no value>".
//
// A render is held to the push's Budget: every function it calls and
// every iteration of a range charges the meter, and what it writes is
// capped at MaxRenderBytes. What would certainly go over DefaultBudget (a
// range over a constant larger than the work budget) or cannot be bounded
// ({{ define }}, {{ template }} and {{ block }}, which may recurse) is
// refused here.
func CompileTemplate(name, src string) (*Template, error) {
	if len(src) > MaxRenderBytes {
		// What it renders to would be over the cap, or the template
		// itself too long to read.
		return nil, fmt.Errorf("%d bytes: a reply field may hold at most %d (WeChat shows a text of 2,048 bytes at most)", len(src), MaxRenderBytes)
	}
	if !strings.Contains(src, "{{") {
		return &Template{src: src}, nil
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(templateFuncs).Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("{{ define }} and {{ block }} are not available in a reply")
	}
	if err := meterTemplate(t, t.Tree.Root); err != nil {
		return nil, err
	}
	return &Template{src: src, tmpl: t, fast: compileFast(t.Tree.Root)}, nil
}

// meterTemplate walks the parse tree: it passes $ to the metered
// functions, makes every range charge a unit an iteration, and refuses
// what cannot be bounded.
func meterTemplate(t *template.Template, node parse.Node) error {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := meterTemplate(t, c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return meterTemplate(t, n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := meterTemplate(t, c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		if id, ok := n.Args[0].(*parse.IdentifierNode); ok && meteredTemplateFuncs[id.Ident] {
			n.Args = slices.Insert(n.Args, 1, parse.Node(rootVariable(t)))
		}
		for _, a := range n.Args {
			if err := meterTemplate(t, a); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return meterBranch(t, &n.BranchNode)
	case *parse.WithNode:
		return meterBranch(t, &n.BranchNode)
	case *parse.RangeNode:
		if limit := DefaultBudget.Work; constantInt(n.Pipe)*rangeIterationUnits > limit {
			location, _ := t.ErrorContext(n)
			return fmt.Errorf("template: %s: range %d: more iterations than a rule's work budget allows (%d units, %d an iteration)", location, constantInt(n.Pipe), limit, rangeIterationUnits)
		}
		if err := meterBranch(t, &n.BranchNode); err != nil {
			return err
		}
		n.List.Nodes = slices.Insert(n.List.Nodes, 0, parse.Node(&parse.ActionNode{
			NodeType: parse.NodeAction, Pos: n.Pos, Line: n.Line,
			Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Pos, Line: n.Line, Cmds: []*parse.CommandNode{{
				NodeType: parse.NodeCommand, Pos: n.Pos,
				Args: []parse.Node{parse.NewIdentifier(tickFunc).SetTree(t.Tree).SetPos(n.Pos), rootVariable(t)},
			}}},
		}))
	case *parse.TemplateNode:
		location, _ := t.ErrorContext(n)
		return fmt.Errorf("template: %s: {{ template }} is not available in a reply", location)
	}
	return nil
}

func meterBranch(t *template.Template, b *parse.BranchNode) error {
	for _, n := range []parse.Node{b.Pipe, b.List, b.ElseList} {
		if err := meterTemplate(t, n); err != nil {
			return err
		}
	}
	return nil
}

// rootVariable is $, the *Env the template renders.
func rootVariable(*template.Template) *parse.VariableNode {
	return &parse.VariableNode{NodeType: parse.NodeVariable, Ident: []string{"$"}}
}

// constantInt is the integer a range's pipeline is, when it is a constant;
// else 0.
func constantInt(p *parse.PipeNode) int64 {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0
	}
	if num, ok := p.Cmds[0].Args[0].(*parse.NumberNode); ok && num.IsInt {
		return num.Int64
	}
	return 0
}

// Source is the template text as written.
func (t *Template) Source() string { return t.src }

// Render executes the template over env, within the budget of env's push
// (DefaultBudget when env comes from no push). A render over budget fails
// with a *BudgetError.
func (t *Template) Render(env *Env) (string, error) {
	switch {
	case t.constant != nil:
		return *t.constant, nil
	case t.tmpl == nil:
		return t.src, nil
	}
	if env.meter == nil {
		m := newMeter(DefaultBudget, time.Now())
		env.meter = &m
		defer func() { env.meter = nil }()
	}
	if t.fast != nil {
		// A writer of its own, which text/template's does not make escape.
		w := cappedWriter{meter: env.meter}
		if ok, err := t.fast.render(env, &w); ok {
			return w.result(err)
		}
	}
	return t.execute(env, &cappedWriter{meter: env.meter})
}

// execute renders the template with text/template.
func (t *Template) execute(env *Env, w *cappedWriter) (string, error) {
	return w.result(t.tmpl.Execute(w, env))
}

// result is what a render that wrote to w and ended with err gives.
func (w *cappedWriter) result(err error) (string, error) {
	if err != nil {
		if errors.Is(err, ErrRenderTooLarge) {
			return "", ErrRenderTooLarge
		}
		if be := AsBudgetError(err); be != nil {
			return "", be
		}
		return "", err
	}
	return w.String(), nil
}

type cappedWriter struct {
	strings.Builder
	meter *meter
}

// Write must not panic: text/template re-panics what a writer panics with.
func (w *cappedWriter) Write(p []byte) (int, error) {
	if err := w.allow(len(p)); err != nil {
		return 0, err
	}
	return w.Builder.Write(p)
}

// writeString is Write for the fast path, which charges the same.
func (w *cappedWriter) writeString(s string) error {
	if err := w.allow(len(s)); err != nil {
		return err
	}
	w.Builder.WriteString(s)
	return nil
}

// allow charges a write of n bytes, or refuses it.
func (w *cappedWriter) allow(n int) error {
	if w.Len()+n > MaxRenderBytes {
		return ErrRenderTooLarge
	}
	if err := w.meter.spend(1 + int64(n)/bytesPerUnit); err != nil {
		return err
	}
	return nil
}

// TemplateError is a reply template that failed to render.
type TemplateError struct {
	Template *Template
	Err      error
}

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// ReplyTemplate is a compiled reply: a template for each field of its
// kind, in the order of the kind's schema; nil for a field not given, which
// renders as "".
type ReplyTemplate struct {
	Kind   Kind
	Values []*Template   // ShapeValue and ShapeFields
	Items  [][]*Template // ShapeList: one list an item
}

// NewReplyTemplate returns a reply template of kind k with the given
// fields, by name; for a list kind, each of items is one item's fields. It
// panics when k or a name is not in the schema.
func NewReplyTemplate(k Kind, fields map[string]*Template, items ...map[string]*Template) *ReplyTemplate {
	values, list := byName(k, fields, items)
	return &ReplyTemplate{Kind: k, Values: values, Items: list}
}

// Render produces the reply for env. An error is a *TemplateError naming the
// field that failed.
func (rt *ReplyTemplate) Render(env *Env) (*Reply, error) {
	s := SchemaOf(rt.Kind)
	if s == nil {
		return nil, fmt.Errorf("unknown reply kind %q", rt.Kind)
	}
	r := renderer{env: env}
	var reply *Reply
	switch n := len(s.Fields); {
	case s.Shape == ShapeList:
		reply = &Reply{Kind: rt.Kind, Items: make([][]string, len(rt.Items))}
		for i, item := range rt.Items {
			reply.Items[i] = r.renderInto(make([]string, n), item)
		}
	case n <= len(replyOfValues{}.values):
		// Most replies are one text: one allocation for the reply, not two.
		b := &replyOfValues{reply: Reply{Kind: rt.Kind}}
		reply = &b.reply
		reply.Values = r.renderInto(b.values[:n:n], rt.Values)
	default:
		reply = &Reply{Kind: rt.Kind, Values: r.renderInto(make([]string, n), rt.Values)}
	}
	if r.err != nil {
		return nil, r.err
	}
	if field := emptyRequired(s, reply); field != "" {
		return nil, fmt.Errorf("%w: %s", ErrEmptyReply, field)
	}
	return reply, nil
}

// ErrEmptyReply is a reply whose text, media_id or article title rendered
// empty: WeChat shows the user an error for it, so the rule is skipped as if
// it had failed, and the next rule answers.
var ErrEmptyReply = errors.New("the reply rendered empty")

// emptyRequired names the field WeChat requires that the reply left blank.
func emptyRequired(s *KindSchema, r *Reply) string {
	blank := func(values []string, prefix string) string {
		for i, f := range s.Fields {
			if f.Required && strings.TrimSpace(values[i]) == "" {
				return prefix + f.Name
			}
		}
		return ""
	}
	if s.Shape != ShapeList {
		return blank(r.Values, "")
	}
	for _, item := range r.Items {
		if field := blank(item, string(s.Kind)+" "); field != "" {
			return field
		}
	}
	return ""
}

// WithVars returns a copy of rt with each template made ready for vars, as
// Template.WithVars does.
func (rt *ReplyTemplate) WithVars(vars map[string]any) *ReplyTemplate {
	if rt == nil {
		return nil
	}
	out := &ReplyTemplate{Kind: rt.Kind, Values: withVars(rt.Values, vars)}
	for _, item := range rt.Items {
		out.Items = append(out.Items, withVars(item, vars))
	}
	return out
}

func withVars(ts []*Template, vars map[string]any) []*Template {
	if ts == nil {
		return nil
	}
	out := make([]*Template, len(ts))
	for i, t := range ts {
		out[i] = t.WithVars(vars)
	}
	return out
}

// Templates lists every field template of the reply, for checks that visit them all.
func (rt *ReplyTemplate) Templates() []*Template {
	var out []*Template
	for _, t := range slices.Concat(append([][]*Template{rt.Values}, rt.Items...)...) {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// renderer keeps the first failure so that Render reads as a list of fields.
type renderer struct {
	env *Env
	err error
}

// replyOfValues is a reply of few values, allocated with them.
type replyOfValues struct {
	reply  Reply
	values [4]string
}

// renderInto renders the templates given into out, one a field (nil or
// missing: "").
func (r *renderer) renderInto(out []string, ts []*Template) []string {
	for i := range min(len(out), len(ts)) {
		out[i] = r.render(ts[i])
	}
	return out
}

func (r *renderer) render(t *Template) string {
	if t == nil || r.err != nil {
		return ""
	}
	s, err := t.Render(r.env)
	if err != nil {
		r.err = &TemplateError{Template: t, Err: err}
	}
	return s
}
