package rules

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// DecodeStrict decodes the YAML document src into out, a pointer to a
// struct, the way rule files are decoded, for other files that sit beside
// them (the rule tests of package ruletest): a field out does not have is an
// error, and decoding goes on after a type error, so that one pass reports
// every problem. Each error is placed in the file named name and worded as
// for rule files ("unknown field "wehn": did you mean "when"?"); its Rule is
// empty.
//
// It returns the document's top node, from which the caller looks up the
// positions of what it checks next; nil when the document is empty or is not
// YAML at all.
func DecodeStrict(name string, src []byte, out any) (*yaml.Node, Errors) {
	f := &parsedFile{name: name, src: src}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, f.strictErrors(err, nil)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	f.root = doc.Content[0]
	known := structFields(reflect.TypeOf(out))
	if top := reflect.TypeOf(out); top.Kind() == reflect.Pointer && top.Elem().Kind() == reflect.Struct && f.root.Kind != yaml.MappingNode {
		keys := known[top.Elem().String()]
		return nil, Errors{f.errorAt(f.root, "", fmt.Errorf("want a mapping with the keys %s, got %s", strings.Join(keys, ", "), nodeKind(f.root)))}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		return f.root, f.strictErrors(err, known)
	}
	return f.root, nil
}

var anyUnknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)

// strictErrors is yamlErrors for any Go type: known lists the YAML keys of
// each struct type out holds, by type name.
func (f *parsedFile) strictErrors(err error, known map[string][]string) Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out Errors
	for _, m := range msgs {
		e := &Error{Pos: Pos{File: f.name}, Err: errors.New(strings.TrimPrefix(m, "yaml: "))}
		sm := yamlLineMessage.FindStringSubmatch(m)
		if sm == nil {
			out = append(out, e)
			continue
		}
		e.Pos.Line, _ = strconv.Atoi(sm[1])
		msg := sm[2]
		e.Err = errors.New(msg)
		if hint, ok := syntaxHints[msg]; ok {
			e.Err = fmt.Errorf("%s: %s", msg, hint)
		}
		if dm := duplicateKey.FindStringSubmatch(msg); dm != nil {
			e.Err = fmt.Errorf("%q is given twice (first at line %s)", dm[1], dm[2])
			e.Pos.Col = f.columnOf(e.Pos.Line, dm[1])
		}
		if um := anyUnknownField.FindStringSubmatch(msg); um != nil {
			field, keys := um[1], known[um[2]]
			text := fmt.Sprintf("unknown field %q", field)
			if s := closest(field, keys); s != "" {
				text += fmt.Sprintf(": did you mean %q?", s)
			} else if len(keys) > 0 {
				text += fmt.Sprintf(" (known fields: %s)", strings.Join(keys, ", "))
			}
			e.Err = errors.New(text)
			if k := findKey(f.root, field, e.Pos.Line); k != nil {
				e.Pos.Col = k.Column
			}
		}
		if wm := wrongType.FindStringSubmatch(msg); wm != nil {
			got := yamlKinds[wm[1]]
			if wm[2] != "" {
				got += " " + strconv.Quote(wm[2])
			}
			e.Err = fmt.Errorf("want %s, got %s", goKind(wm[3]), got)
			if n := findValueOnLine(f.root, e.Pos.Line); n != nil {
				e.Pos.Col = n.Column
			}
		}
		out = append(out, e)
	}
	return out
}

// goKind says in words what a Go type named in a yaml.v3 error holds.
func goKind(name string) string {
	if k, ok := goKinds[name]; ok {
		return k
	}
	switch {
	case strings.HasPrefix(name, "[]") && exported(name[strings.LastIndex(name, ".")+1:]):
		// []wxmenu.Button: a list of buttons
		return "a list of " + strings.ToLower(name[strings.LastIndex(name, ".")+1:]) + "s"
	case strings.HasPrefix(name, "[]"):
		return "a list"
	case strings.HasPrefix(name, "float"):
		return "a number"
	case strings.HasPrefix(name, "int"), strings.HasPrefix(name, "uint"):
		return "a whole number"
	}
	return "a mapping"
}

func exported(name string) bool { return name != "" && unicode.IsUpper(rune(name[0])) }

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "text"
	}
	return "something else"
}

// structFields lists the YAML keys of every struct type reachable from t, by
// the type name yaml.v3 uses in its errors.
func structFields(t reflect.Type) map[string][]string {
	out := map[string][]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeOf(yaml.Node{}) {
			return
		}
		if _, seen := out[t.String()]; seen {
			return
		}
		out[t.String()] = []string{}
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() {
				continue
			}
			key := strings.Split(sf.Tag.Get("yaml"), ",")[0]
			if key == "-" {
				continue
			}
			if key == "" {
				key = strings.ToLower(sf.Name)
			}
			out[t.String()] = append(out[t.String()], key)
			walk(sf.Type)
		}
	}
	if t != nil {
		walk(t)
	}
	return out
}

// Suggest returns the name in known that s is most likely a typo of (within
// two edits), or "": the "did you mean" of rule files, for the tools that
// check names against a rule folder.
func Suggest(s string, known []string) string { return closest(s, known) }

// syntaxHints say what usually causes yaml.v3's syntax errors.
var syntaxHints = map[string]string{
	"found unexpected end of stream":                 "is a quote or a bracket left open?",
	"mapping values are not allowed in this context": "a value with \": \" in it needs quotes",
	"did not find expected key":                      "check the indentation of this line and the one before",
	"found character that cannot start any token":    "indent with spaces, not tabs, and quote values starting with @ or `",
	"did not find expected '-' indicator":            "check the indentation of this list",
}

var (
	yamlLineMessage = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	duplicateKey    = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	wrongType       = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (.*)$")
)

var yamlKinds = map[string]string{
	"str": "text", "int": "a number", "float": "a number", "bool": "true/false",
	"seq": "a list", "map": "a mapping", "null": "nothing",
}

var goKinds = map[string]string{
	"string": "text", "int": "a whole number", "bool": "true or false",
	"[]string": "a list of text", "[]rules.ruleDef": "a list of rules",
	"[]rules.replyDef":        "a list of replies",
	"map[string]interface {}": "a mapping of names to values",
}
