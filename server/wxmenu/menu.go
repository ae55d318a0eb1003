package wxmenu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/rules"
)

// Menu is a custom menu: 1 to 3 buttons on the menu bar. Its YAML and JSON
// field names are WeChat's.
type Menu struct {
	Buttons []Button `yaml:"button" json:"button"`
}

// Button is a menu bar button or a sub-menu button. A menu bar button either
// has a Type or opens a sub-menu of 1 to 5 SubButtons; a sub-menu button has
// a Type. Which other fields a type needs is in [Types].
type Button struct {
	Name       string   `yaml:"name" json:"name"`
	Type       string   `yaml:"type,omitempty" json:"type,omitempty"`
	Key        string   `yaml:"key,omitempty" json:"key,omitempty"`
	URL        string   `yaml:"url,omitempty" json:"url,omitempty"`
	MediaID    string   `yaml:"media_id,omitempty" json:"media_id,omitempty"`
	ArticleID  string   `yaml:"article_id,omitempty" json:"article_id,omitempty"`
	AppID      string   `yaml:"appid,omitempty" json:"appid,omitempty"`
	PagePath   string   `yaml:"pagepath,omitempty" json:"pagepath,omitempty"`
	SubButtons []Button `yaml:"sub_button,omitempty" json:"sub_button,omitempty"`
}

// File is a parsed, valid menu file.
type File struct {
	// Name is the file's name as positions show it.
	Name string
	Menu *Menu
	root *yaml.Node // the top-level mapping, for positions
}

// ParseFile reads and parses the menu file at path.
func ParseFile(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("menu file: %w", err)
	}
	return Parse(path, src)
}

// Parse decodes a menu file strictly (an unknown field is an error) and
// validates it. The error is rules.Errors: every problem, in file order, as
// "file:line:col: message".
func Parse(name string, src []byte) (*File, error) {
	f := &File{Name: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, f.yamlErrors(err)
	}
	if len(doc.Content) == 0 {
		return nil, rules.Errors{{Pos: rules.Pos{File: name, Line: 1, Col: 1},
			Err: errors.New("the menu file is empty: want button: with 1 to 3 buttons")}}
	}
	f.root = doc.Content[0]
	if f.root.Kind != yaml.MappingNode {
		return nil, rules.Errors{{Pos: f.at(f.root), Err: errors.New("not a menu file: want a mapping with the key button")}}
	}
	var m Menu
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		// Type errors leave the rest decoded; report them with the rest.
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, f.yamlErrors(err)
		}
		errs := f.yamlErrors(err)
		errs = append(errs, validate(&m, f)...)
		sortErrors(errs)
		return nil, errs
	}
	normalize(&m)
	f.Menu = &m
	if errs := validate(&m, f); len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// FromJSON reads a menu as WeChat's API writes it: the object holding
// "button" (menu/get's "menu"). Fields WeChat adds, such as menuid, and the
// empty "sub_button": [] of plain buttons are dropped.
func FromJSON(data []byte) (*Menu, error) {
	var m Menu
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("menu JSON: %w", err)
	}
	normalize(&m)
	return &m, nil
}

// normalize makes an empty sub_button list nil, as if it were not there.
func normalize(m *Menu) {
	for i := range m.Buttons {
		b := &m.Buttons[i]
		if len(b.SubButtons) == 0 {
			b.SubButtons = nil
		}
		for j := range b.SubButtons {
			if len(b.SubButtons[j].SubButtons) == 0 {
				b.SubButtons[j].SubButtons = nil
			}
		}
	}
}

// Count returns the number of menu bar buttons and of sub-menu buttons.
func (m *Menu) Count() (buttons, subButtons int) {
	for _, b := range m.Buttons {
		subButtons += len(b.SubButtons)
	}
	return len(m.Buttons), subButtons
}

// Format writes m in the menu file's format.
func Format(m *Menu) []byte {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		panic(err) // a Menu is strings and lists: it always encodes
	}
	enc.Close()
	return b.Bytes()
}

// Positions.

func (f *File) at(n *yaml.Node) rules.Pos {
	if n == nil {
		return rules.Pos{File: f.Name}
	}
	return rules.Pos{File: f.Name, Line: n.Line, Col: n.Column}
}

// buttonNode is the mapping of button i (sub-button j when j >= 0), or nil.
func (f *File) buttonNode(i, j int) *yaml.Node {
	if f == nil {
		return nil
	}
	n := item(lookup(f.root, "button"), i)
	if j >= 0 {
		n = item(lookup(n, "sub_button"), j)
	}
	return n
}

// fieldPos is where field of button i (sub-button j) is given: its value,
// else the button, else the file.
func (f *File) fieldPos(i, j int, field string) rules.Pos {
	b := f.buttonNode(i, j)
	if v := lookup(b, field); v != nil {
		return f.at(v)
	}
	return f.at(b)
}

var yamlLineMessage = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type wxmenu\.(\w+)$`)
	wrongType    = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (.*)$")
	duplicateKey = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
)

// syntaxHints say what usually causes yaml.v3's syntax errors.
var syntaxHints = map[string]string{
	"found unexpected end of stream":                 "is a quote or a bracket left open?",
	"mapping values are not allowed in this context": "a value with \": \" in it needs quotes",
	"did not find expected key":                      "check the indentation of this line and the one before",
	"found character that cannot start any token":    "indent with spaces, not tabs, and quote values starting with @ or `",
	"did not find expected '-' indicator":            "check the indentation of this list",
}

var yamlKinds = map[string]string{
	"str": "text", "int": "a number", "float": "a number", "bool": "true/false",
	"seq": "a list", "map": "a mapping", "null": "nothing",
}

var goKinds = map[string]string{
	"string": "text", "[]wxmenu.Button": "a list of buttons", "wxmenu.Button": "a button (name, type, ...)",
	"wxmenu.Menu": "a mapping with the key button",
}

// knownFields lists each type's YAML keys, for suggesting what a typo meant.
var knownFields = map[string][]string{}

func init() {
	for _, v := range []any{Menu{}, Button{}} {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			knownFields[t.Name()] = append(knownFields[t.Name()], strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
		}
	}
}

// yamlErrors turns yaml.v3's "line N: message" errors into positioned errors
// in words a menu author can act on.
func (f *File) yamlErrors(err error) rules.Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out rules.Errors
	for _, m := range msgs {
		e := &rules.Error{Pos: rules.Pos{File: f.Name}, Err: errors.New(strings.TrimPrefix(m, "yaml: "))}
		if sm := yamlLineMessage.FindStringSubmatch(m); sm != nil {
			e.Pos.Line, _ = strconv.Atoi(sm[1])
			e.Err = errors.New(sm[2])
			if hint, ok := syntaxHints[sm[2]]; ok {
				e.Err = fmt.Errorf("%s: %s", sm[2], hint)
			}
			f.explain(e, sm[2])
		}
		out = append(out, e)
	}
	return out
}

func (f *File) explain(e *rules.Error, msg string) {
	if m := unknownField.FindStringSubmatch(msg); m != nil {
		field, known := m[1], knownFields[m[2]]
		text := fmt.Sprintf("unknown field %q", field)
		if s := closest(field, known); s != "" {
			text += fmt.Sprintf(": did you mean %q?", s)
		} else {
			text += fmt.Sprintf(" (known fields: %s)", strings.Join(known, ", "))
		}
		e.Err = errors.New(text)
		if k := findKey(f.root, field, e.Pos.Line); k != nil {
			e.Pos.Col = k.Column
		}
		return
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		got := yamlKinds[m[1]]
		if m[2] != "" {
			got += " " + strconv.Quote(m[2])
		}
		want, ok := goKinds[m[3]]
		if !ok {
			want = m[3]
		}
		e.Err = fmt.Errorf("want %s, got %s", want, got)
		if n := findValueOnLine(f.root, e.Pos.Line); n != nil {
			e.Pos.Col = n.Column
		}
		return
	}
	if m := duplicateKey.FindStringSubmatch(msg); m != nil {
		e.Err = fmt.Errorf("%q is given twice (first at line %s)", m[1], m[2])
	}
}

// yaml.Node helpers.

// lookup returns the value of key in mapping n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// item returns element i of sequence n, or nil.
func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

// findKey finds the mapping key named key on the given line, anywhere below n.
func findKey(n *yaml.Node, key string, line int) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == key && k.Line == line {
				return k
			}
		}
	}
	for _, c := range n.Content {
		if k := findKey(c, key, line); k != nil {
			return k
		}
	}
	return nil
}

// findValueOnLine finds the first mapping value or list item that starts on line.
func findValueOnLine(n *yaml.Node, line int) *yaml.Node {
	if n == nil {
		return nil
	}
	for i, c := range n.Content {
		isValue := n.Kind == yaml.SequenceNode || (n.Kind == yaml.MappingNode && i%2 == 1)
		if isValue && c.Line == line {
			return c
		}
		if v := findValueOnLine(c, line); v != nil {
			return v
		}
	}
	return nil
}

// closest returns the name in known within two edits of s, if there is one.
func closest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps of
// two neighbours that turn a into b ("kye" is one from "key").
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
