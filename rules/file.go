package rules

import (
	"bytes"
	"strconv"

	"gopkg.in/yaml.v3"
)

// The YAML shape of a rule file. Decoding is strict (unknown fields are
// errors); positions come from the file's yaml.Node tree, looked up by
// the same keys, so the types below carry no position fields.
type fileDef struct {
	Vars  map[string]any `yaml:"vars"`
	Rules []ruleDef      `yaml:"rules"`
}

type ruleDef struct {
	ID          string     `yaml:"id"`
	Description string     `yaml:"description"`
	Priority    int        `yaml:"priority"`
	Enabled     *bool      `yaml:"enabled"`
	When        string     `yaml:"when"`
	Keywords    []string   `yaml:"keywords"`
	Match       string     `yaml:"match"`
	MsgType     string     `yaml:"msgtype"`
	Event       string     `yaml:"event"`
	EventKey    StringList `yaml:"event_key"`
	// A reply is checked against engine.Schema as it is compiled; the
	// nodes keep its positions.
	Reply   yaml.Node   `yaml:"reply"`
	Replies []yaml.Node `yaml:"replies"`
}

// StringList is one string or a list of them: event_key: A, or
// event_key: [A, B].
type StringList []string

// UnmarshalYAML reads a scalar as a list of one.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// parsedFile is one rule file, decoded, with the node tree its positions come from.
type parsedFile struct {
	name string
	src  []byte
	def  fileDef
	root *yaml.Node // the top-level mapping; nil for an empty file
}

// parseFile decodes one rule file strictly. Its errors carry positions.
func parseFile(name string, src []byte) (*parsedFile, Errors) {
	f := &parsedFile{name: name, src: src}
	root, errs := DecodeStrict(name, src, &f.def)
	f.root = root
	for _, e := range errs {
		e.Rule = f.ruleAt(e.Pos.Line)
	}
	switch {
	case root == nil && len(errs) > 0:
		return nil, errs // not YAML, or not a mapping
	case len(errs) > 0:
		// A type error (an unknown field, text for a number) leaves the rest
		// decoded: go on, so the author sees every problem in one pass.
		return f, errs
	}
	return f, nil
}

func (f *parsedFile) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: f.name}
	}
	return Pos{File: f.name, Line: n.Line, Col: n.Column}
}

func (f *parsedFile) errorAt(n *yaml.Node, rule string, err error) *Error {
	return &Error{Pos: f.pos(n), Rule: rule, Err: err}
}

// ruleAt names the rule whose definition holds the line, or "".
func (f *parsedFile) ruleAt(line int) string {
	rules := lookup(f.root, "rules")
	if rules == nil {
		return ""
	}
	var name string
	for i, rn := range rules.Content {
		if rn.Line > line {
			break
		}
		name = "#" + strconv.Itoa(i+1)
		if id := lookup(rn, "id"); id != nil && id.Value != "" {
			name = id.Value
		}
	}
	return name
}

// closest returns the known name within two edits of s, if there is one.
func closest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance counts the edits (insert, delete, replace, or swap two
// neighbours: "kye" is one edit from "key") between a and b.
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

// keys lists the keys of mapping n, in order.
func keys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// item returns element i of sequence n, or nil.
func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

// scalarPos is the file position of line:col (1-based, col 0 for unknown)
// inside scalar n's text. It is exact for plain and quoted one-line scalars
// and for literal (|) blocks, whose text starts on the line after the
// indicator; for folded (>) blocks it is the block's first line.
func (f *parsedFile) scalarPos(n *yaml.Node, line, col int) Pos {
	p := f.pos(n)
	switch n.Style {
	case yaml.FoldedStyle:
		// Folding joins the lines, so a line and column inside the value
		// cannot be mapped back: point at the block and let the snippet say
		// where.
		p.Line = n.Line + 1
		p.Col = 0
	case yaml.LiteralStyle:
		p.Line = n.Line + line
		p.Col = 0
		if col > 0 {
			p.Col = f.indent(n.Line+1) + col
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		p.Line = n.Line + line - 1
		if line == 1 && col > 0 {
			p.Col = n.Column + col
		}
	default:
		p.Line = n.Line + line - 1
		if line == 1 && col > 0 {
			p.Col = n.Column + col - 1
		}
	}
	return p
}

// columnOf finds text on the given line of the file: its 1-based column, or 0.
func (f *parsedFile) columnOf(line int, text string) int {
	lines := bytes.Split(f.src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0
	}
	return bytes.Index(lines[line-1], []byte(text)) + 1
}

// indent counts the spaces that start the given line of the file.
func (f *parsedFile) indent(line int) int {
	lines := bytes.Split(f.src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0
	}
	l := lines[line-1]
	return len(l) - len(bytes.TrimLeft(l, " "))
}
