package yamlpos

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wxreply/wxreply/internal/text"
	"gopkg.in/yaml.v3"
)

// DecodeStrict decodes the YAML document src into out, a pointer to a
// struct: a field out does not have is an error, and decoding goes on after a
// type error, so that one pass reports every problem. Each error is placed in
// the file named name and worded for the person who wrote the file:
// "unknown field "wehn": did you mean "when"?", "want a whole number, got
// text "high"", ""reply" is given twice (first at line 4)", a hint for
// yaml.v3's syntax errors, the full-width character (a Chinese input
// method's "：") or the first byte not in UTF-8 that causes one. A mapping
// that gives a key twice is decoded with the first; yaml.v3 would leave it
// out.
//
// kinds words the Go types of out that yaml.v3 names in its errors and that
// DecodeStrict cannot word by itself, such as a list of an unexported struct
// type ("[]rules.ruleDef": "a list of rules"); nil when there are none. A list
// of an exported struct type is worded from the type's name ("[]wxmenu.Button":
// "a list of buttons").
//
// It returns the document's top node, from which the caller looks up the
// positions of what it checks next; nil when the document is empty or is not
// YAML at all, or is not a mapping.
func DecodeStrict(name string, src []byte, out any, kinds map[string]string) (*yaml.Node, []*Error) {
	d := &document{name: name, src: src, kinds: kinds}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, d.errors(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	d.root = doc.Content[0]
	d.known = structFields(reflect.TypeOf(out))
	if top := reflect.TypeOf(out); top.Kind() == reflect.Pointer && top.Elem().Kind() == reflect.Struct && d.root.Kind != yaml.MappingNode {
		keys := d.known[top.Elem().String()]
		return nil, []*Error{{Pos: At(name, d.root), Err: fmt.Errorf("want a mapping with the keys %s, got %s", strings.Join(keys, ", "), KindOf(d.root))}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil {
		if dedup := withoutDuplicateKeys(d.root); dedup != nil {
			// yaml.v3 leaves out a mapping that gives a key twice: a list
			// of them loses the item, and the items after it would be
			// checked against the nodes of the ones before. Decode again
			// with each key's first value, as Lookup finds it; the errors
			// are the first decoding's.
			v := reflect.ValueOf(out).Elem()
			v.Set(reflect.Zero(v.Type()))
			_ = dedup.Decode(out)
		}
		return d.root, d.errors(err)
	}
	return d.root, nil
}

// withoutDuplicateKeys is a copy of the tree under n in which each mapping
// keeps only the first of the keys it gives twice, or nil when none does.
func withoutDuplicateKeys(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	var content []*yaml.Node
	changed := false
	seen := map[string]bool{}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && i+1 < len(n.Content) && c.Kind == yaml.ScalarNode {
			if seen[c.Value] {
				changed = true
				continue
			}
			seen[c.Value] = true
		}
		if n.Kind == yaml.MappingNode && i%2 == 1 && len(content)%2 == 0 {
			continue // the value of a key left out
		}
		if cc := withoutDuplicateKeys(c); cc != nil {
			c, changed = cc, true
		}
		content = append(content, c)
	}
	if !changed {
		return nil
	}
	cp := *n
	cp.Content = content
	return &cp
}

// document is what DecodeStrict needs to word and place yaml.v3's errors.
type document struct {
	name  string
	src   []byte
	root  *yaml.Node          // the top node; nil when src is not YAML
	known map[string][]string // the YAML keys of each struct type out holds, by type name
	kinds map[string]string
}

var (
	yamlLineMessage = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	duplicateKey    = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	wrongType       = regexp.MustCompile("^cannot unmarshal !!(\\w+) (?:`(.*)` )?into (.*)$")
	unknownField    = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
)

// errors turns yaml.v3's error into one Error for each problem it holds.
func (d *document) errors(err error) []*Error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var out []*Error
	for _, m := range msgs {
		e := &Error{Pos: Pos{File: d.name}, Err: errors.New(strings.TrimPrefix(m, "yaml: "))}
		if strings.Contains(m, "UTF-8") {
			if line, col, ok := invalidUTF8(d.src); ok {
				e.Pos.Line, e.Pos.Col = line, col
				e.Err = errors.New("this is not UTF-8 text: the file was saved in another encoding (Windows Notepad's \"ANSI\" is GBK); save the file as UTF-8")
			}
		}
		sm := yamlLineMessage.FindStringSubmatch(m)
		if sm == nil {
			out = append(out, e)
			continue
		}
		e.Pos.Line, _ = strconv.Atoi(sm[1])
		msg := sm[2]
		e.Err = errors.New(msg)
		if d.root == nil {
			// A syntax error: a full-width character typed where YAML
			// needs ASCII is the cause whatever yaml.v3 says.
			if line, col, hint, ok := d.fullWidthMark(e.Pos.Line); ok {
				e.Pos.Line, e.Pos.Col = line, col
				e.Err = errors.New(hint)
				out = append(out, e)
				continue
			}
		}
		if hint, ok := syntaxHints[msg]; ok {
			e.Err = fmt.Errorf("%s: %s", msg, hint)
		}
		d.placeSyntaxError(e, msg)
		if msg == "mapping values are not allowed in this context" {
			if col, ok := d.overIndentedKey(e.Pos.Line); ok {
				e.Pos.Col = col
				e.Err = fmt.Errorf("%s: this key is indented more than the one above it; line it up with the other keys of its mapping", msg)
			}
		}
		if dm := duplicateKey.FindStringSubmatch(msg); dm != nil {
			e.Err = fmt.Errorf("%q is given twice (first at line %s)", dm[1], dm[2])
			e.Pos.Col = d.columnOf(e.Pos.Line, dm[1])
			if k := repeatedKey(d.root, dm[1], e.Pos.Line); k != nil {
				e.Pos.Col = k.Column
			}
		}
		if um := unknownField.FindStringSubmatch(msg); um != nil {
			field := um[1]
			e.Err = errors.New(UnknownField(field, d.known[um[2]]))
			if k := findKey(d.root, field, e.Pos.Line); k != nil {
				e.Pos.Col = k.Column
			}
		}
		if wm := wrongType.FindStringSubmatch(msg); wm != nil {
			got := yamlKinds[wm[1]]
			if wm[2] != "" {
				got += " " + strconv.Quote(wm[2])
			}
			e.Err = fmt.Errorf("want %s, got %s", d.goKind(wm[3]), got)
			if r, _ := utf8.DecodeRuneInString(wm[2]); strings.ContainsRune("［｛", r) {
				e.Err = fmt.Errorf("%w: %s", e.Err, fullWidthHint(r))
			}
			if n := findValueOnLine(d.root, e.Pos.Line, wrongValue(wm[1], wm[2])); n != nil {
				e.Pos.Col = n.Column
			}
		}
		out = append(out, e)
	}
	return out
}

// goKind says in words what a Go type named in a yaml.v3 error holds.
func (d *document) goKind(name string) string {
	if k, ok := d.kinds[name]; ok {
		return k
	}
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

// KindOf says in words what n is, for "want ..., got ..." messages: "a
// list", "a mapping", "text". An alias is what it points to. Text with a
// full-width colon in it was most likely meant as a mapping, and says so.
func KindOf(n *yaml.Node) string {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.Tag == "!!str" && strings.ContainsRune(n.Value, '：') {
			return "text: " + fullWidthHint('：')
		}
		return "text"
	}
	return "something else"
}

// UnknownField says that name is not one of the known field names, and which
// it may be a typo of (text.Unknown).
func UnknownField(name string, known []string) string {
	if strings.ContainsRune(name, '：') {
		// reply: {text： hi} is one key, "text： hi", with no value.
		return text.Unknown("field", name, known) + ": " + fullWidthHint('：')
	}
	return text.Unknown("field", name, known)
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
	"string": "text", "int": "a whole number", "bool": "true or false",
	"[]string":                "a list of text",
	"map[string]interface {}": "a mapping of names to values",
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

// repeatedKey finds, anywhere below n, the key named key on the given line
// that its mapping gives a second time.
func repeatedKey(n *yaml.Node, key string, line int) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		seen := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Value == key {
				if seen && k.Line == line {
					return k
				}
				seen = true
			}
		}
	}
	for _, c := range n.Content {
		if k := repeatedKey(c, key, line); k != nil {
			return k
		}
	}
	return nil
}

// findValueOnLine finds the first mapping value or list item that starts on
// line and is what yaml.v3 could not decode, or else the first that starts
// on line.
func findValueOnLine(n *yaml.Node, line int, wrong func(*yaml.Node) bool) *yaml.Node {
	var first, match *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i, c := range n.Content {
			if match != nil {
				return
			}
			isValue := n.Kind == yaml.SequenceNode || (n.Kind == yaml.MappingNode && i%2 == 1)
			if isValue && c.Line == line {
				if first == nil {
					first = c
				}
				if wrong(c) {
					match = c
					return
				}
			}
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	if match != nil {
		return match
	}
	return first
}

// wrongValue matches the node a yaml.v3 "cannot unmarshal !!tag `value`"
// error is about.
func wrongValue(tag, value string) func(*yaml.Node) bool {
	return func(n *yaml.Node) bool {
		switch tag {
		case "map":
			return n.Kind == yaml.MappingNode
		case "seq":
			return n.Kind == yaml.SequenceNode
		}
		return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!"+tag && (value == "" || n.Value == value)
	}
}

// columnOf finds text on the given line of the file: its 1-based column,
// in characters, or 0.
func (d *document) columnOf(line int, text string) int {
	lines := bytes.Split(d.src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0
	}
	i := bytes.Index(lines[line-1], []byte(text))
	if i < 0 {
		return 0
	}
	return utf8.RuneCount(lines[line-1][:i]) + 1
}

// overIndentedKey reports whether line holds a key ("name: ...") indented
// deeper than the key on the line before it (blank lines and comments
// aside), which yaml.v3 reports as a value that may not hold ": ". col is
// the key's column.
func (d *document) overIndentedKey(line int) (col int, ok bool) {
	lines := strings.Split(string(d.src), "\n")
	if line < 2 || line > len(lines) || !keyLine.MatchString(lines[line-1]) {
		return 0, false
	}
	// The column of a line's key: past "- " for a list item's first key.
	indent := func(l string) int {
		n := len(l) - len(strings.TrimLeft(l, " "))
		if strings.HasPrefix(l[n:], "- ") {
			n += 2
		}
		return n
	}
	for prev := line - 2; prev >= 0; prev-- {
		p := strings.TrimSpace(lines[prev])
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if !keyLine.MatchString(lines[prev]) || strings.HasSuffix(p, ":") {
			return 0, false // a key that opens a mapping: deeper keys belong to it
		}
		if here := indent(lines[line-1]); here > indent(lines[prev]) {
			return here + 1, true
		}
		return 0, false
	}
	return 0, false
}

// keyLine is a line that starts a key of a block mapping, or a list item
// that does.
var keyLine = regexp.MustCompile(`^\s*(- )?[\w.-]+:( |$)`)

// placeSyntaxError moves a syntax error to the line and column that hold
// the mistake. yaml.v3 places some at the start of the block they break
// (an indentation error inside a list at the list's first line), a tab a
// line early, an unclosed quote without a column, and an unclosed [ or {
// at the line before it.
func (d *document) placeSyntaxError(e *Error, msg string) {
	lines := strings.Split(string(d.src), "\n")
	switch msg {
	case "found a tab character that violates indentation", "found character that cannot start any token":
		// yaml.v3 names the line before the tab's, or the tab's own.
		for i := max(e.Pos.Line-1, 0); i < min(e.Pos.Line+1, len(lines)); i++ {
			lead := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			if tab := strings.IndexByte(lead, '\t'); tab >= 0 {
				e.Pos.Line, e.Pos.Col = i+1, tab+1
				e.Err = fmt.Errorf("a tab in the indentation: indent with spaces only")
				return
			}
		}
	case "did not find expected '-' indicator", "did not find expected key", "could not find expected ':'":
		line := firstFailingLine(lines)
		if line == 0 || line < e.Pos.Line {
			return
		}
		e.Pos.Line, e.Pos.Col = line, len(lines[line-1])-len(strings.TrimLeft(lines[line-1], " "))+1
		hint := "this line does not line up with the ones above it: check its indentation"
		qcol, qhint := quoteProblem(lines[line-1])
		switch prev := previousContent(lines, line); {
		case qhint != "":
			// The file cut after this line fails: a quote runs on to the
			// next one, which closes it too early or never.
			e.Pos.Col, hint = qcol, qhint
		case strings.HasSuffix(prev, "|") || strings.HasSuffix(prev, "|-") || strings.HasSuffix(prev, ">") || strings.HasSuffix(prev, ">-"):
			hint = "the lines of a block (| or >) are indented more than its key"
		case line == len(lines) && !strings.Contains(lines[line-1], ":"):
			// The last line, with no end of line: a save cut short.
			hint = "the file ends in the middle of this line: was it cut off? finish the line (key: value) or remove it"
		}
		e.Err = fmt.Errorf("%s: %s", msg, hint)
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'":
		// yaml.v3 names the line before the list or mapping, or its first.
		open, what, end := '[', "list", ']'
		if strings.HasSuffix(msg, "'}'") {
			open, what, end = '{', "mapping", '}'
		}
		line := firstFailingLine(lines)
		if line == 0 {
			return
		}
		if col := unclosedBracket(lines[line-1], byte(open)); col > 0 {
			e.Pos.Line, e.Pos.Col = line, col
			e.Err = fmt.Errorf("%s: the %c that opens here is not closed: end the %s with %c", msg, open, what, end)
		}
	case "found unexpected end of stream":
		if e.Pos.Line >= 1 && e.Pos.Line <= len(lines) {
			if l := lines[e.Pos.Line-1]; unclosedQuote(l) > 0 {
				e.Pos.Col = utf8.RuneCountInString(l[:unclosedQuote(l)-1]) + 1
				e.Err = fmt.Errorf("%s: the quote that opens here is not closed", msg)
			}
		}
	}
}

// maxBisectLines bounds the files firstFailingLine searches: some twenty
// parses of a file this long take well under a second.
const maxBisectLines = 20_000

// firstFailingLine is the first line n such that the file cut after it no
// longer parses: where an indentation error is, whatever block yaml.v3
// blames. 0 when it cannot tell.
func firstFailingLine(lines []string) int {
	if len(lines) > maxBisectLines {
		return 0 // each try parses the file again: keep yaml.v3's line
	}
	fails := func(n int) bool {
		var v any
		return yaml.Unmarshal([]byte(strings.Join(lines[:n], "\n")), &v) != nil
	}
	if !fails(len(lines)) {
		return 0
	}
	lo, hi := 0, len(lines) // fails(hi); !fails(lo) for the empty prefix
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// previousContent is the line before line that holds more than a comment,
// trimmed.
func previousContent(lines []string, line int) string {
	for i := line - 2; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, "#") {
			return t
		}
	}
	return ""
}

// unclosedQuote is the column of a quote on line that nothing closes, or 0.
func unclosedQuote(line string) int {
	open, col := byte(0), 0
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case open == 0 && (c == '"' || c == '\''):
			open, col = c, i+1
		case open == '"' && c == '\\':
			i++
		case c == open:
			open = 0
		}
	}
	if open == 0 {
		return 0
	}
	return col
}

// invalidUTF8 is the line and column (in characters) of the first byte of
// src that is not UTF-8.
func invalidUTF8(src []byte) (line, col int, ok bool) {
	line, col = 1, 1
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, col, true
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		src = src[size:]
	}
	return 0, 0, false
}

// fullWidthMarks are the characters a Chinese input method types for the
// ASCII punctuation YAML is written with, and what each should be.
var fullWidthMarks = map[rune]struct{ ascii, name string }{
	'：':      {":", "a full-width colon"},
	'，':      {",", "a full-width comma"},
	'［':      {"[", "a full-width bracket"},
	'］':      {"]", "a full-width bracket"},
	'｛':      {"{", "a full-width brace"},
	'｝':      {"}", "a full-width brace"},
	'“':      {`"`, "a curly quote"},
	'”':      {`"`, "a curly quote"},
	'‘':      {"'", "a curly quote"},
	'’':      {"'", "a curly quote"},
	'\u3000': {" ", "a full-width space"},
}

// fullWidthHint says that r, one of fullWidthMarks, is not the ASCII YAML
// needs.
func fullWidthHint(r rune) string {
	m := fullWidthMarks[r]
	if r == '\u3000' {
		return "U+3000 is a full-width space: YAML needs ASCII spaces (switch the input method to half-width)"
	}
	return fmt.Sprintf("%q is %s: YAML needs the ASCII %q (switch the input method to English punctuation)", string(r), m.name, m.ascii)
}

// maxFullWidthTries bounds the parses fullWidthMark makes.
const maxFullWidthTries = 32

// fullWidthMark finds the full-width character that causes the syntax
// error yaml.v3 reports at line: the nearest before it that, typed as its
// ASCII instead, lets the file parse or moves the error past line; or else
// the first of several that only together do. A
// colon counts only after a key (key： value), a full-width space only in
// the indentation. It returns its place and a message that names it.
func (d *document) fullWidthMark(line int) (markLine, col int, hint string, ok bool) {
	lines := strings.Split(string(d.src), "\n")
	if len(lines) > maxBisectLines {
		return 0, 0, "", false
	}
	tries := 0
	var all []mark // every candidate, for a second try with all of them
	fixes := func(fixed []string) bool {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(strings.Join(fixed, "\n")), &n)
		if err == nil {
			return true
		}
		sm := yamlLineMessage.FindStringSubmatch(err.Error())
		after := 0
		if sm != nil {
			after, _ = strconv.Atoi(sm[1])
		}
		return after > line
	}
	// The mistake is on the line yaml.v3 names or before it (a line
	// before, for some): try the nearest first.
scan:
	for i := min(line, len(lines)-1); i >= 0; i-- {
		l := lines[i]
		for off, r := range l {
			m, found := fullWidthMarks[r]
			if !found {
				continue
			}
			before := l[:off]
			switch {
			case r == '：' && !fullWidthKey.MatchString(before):
				continue
			case r == '\u3000' && strings.TrimLeft(before, " \t\u3000") != "":
				continue
			}
			if tries++; tries > maxFullWidthTries {
				break scan
			}
			ascii := m.ascii
			switch r {
			case '：':
				ascii = ": "
			case '\u3000':
				ascii = "  " // as wide as it shows
			}
			all = append(all, mark{line: i, off: off, r: r, ascii: ascii})
			fixed := slices.Clone(lines)
			fixed[i] = before + ascii + l[off+utf8.RuneLen(r):]
			if fixes(fixed) {
				return i + 1, utf8.RuneCountInString(before) + 1, fullWidthHint(r), true
			}
		}
	}
	// Several together, as in ｛text: hi｝: blame the first that the
	// others cannot do without.
	apply := func(ms []mark) []string {
		fixed := slices.Clone(lines)
		for k := len(ms) - 1; k >= 0; k-- { // from the end, so that offsets hold
			m := ms[k]
			fixed[m.line] = fixed[m.line][:m.off] + m.ascii + fixed[m.line][m.off+utf8.RuneLen(m.r):]
		}
		return fixed
	}
	if len(all) < 2 || !fixes(apply(all)) {
		return 0, 0, "", false
	}
	slices.SortFunc(all, func(a, b mark) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.off, b.off)) })
	for k, m := range all {
		if !fixes(apply(all[k+1:])) {
			return m.line + 1, utf8.RuneCountInString(lines[m.line][:m.off]) + 1, fullWidthHint(m.r), true
		}
	}
	return 0, 0, "", false
}

// mark is a full-width character at byte off of line (0-based), and the
// ASCII it stands for.
type mark struct {
	line, off int
	r         rune
	ascii     string
}

// fullWidthKey is what comes before the colon of a key on its line.
var fullWidthKey = regexp.MustCompile(`^[ \t\x{3000}]*(- +)*[^\s:#'"\[\]{},]+ *$`)

// quoteProblem finds a quoted value on line that is left open, or that
// closes before its end (quotes inside quotes): the column (in characters)
// of its opening quote and a hint, or "" when there is none.
func quoteProblem(line string) (col int, hint string) {
	unclosed := unclosedQuote(line)
	if unclosed == 0 {
		return 0, ""
	}
	if open, end := firstQuoted(line); end > 0 && end < unclosed && opensValue(line, open) {
		return utf8.RuneCountInString(line[:open-1]) + 1, fmt.Sprintf("the value in quotes that opens here ends at the %c in column %d, and more follows: write the quotes inside the value as the other kind (' or \")", line[open-1], utf8.RuneCountInString(line[:end-1])+1)
	}
	if opensValue(line, unclosed) {
		return utf8.RuneCountInString(line[:unclosed-1]) + 1, "the quote that opens here is not closed: close it at the end of the value"
	}
	return 0, ""
}

// opensValue reports whether the quote at byte column col (1-based; 0 for
// none) of line starts a value, as a quoted one does: at the start of the
// line or after ":", "-", "[", "{" or ",". A quote inside plain text (it's)
// is text.
func opensValue(line string, col int) bool {
	if col < 1 {
		return false
	}
	before := strings.TrimRight(line[:col-1], " ")
	return before == "" || strings.ContainsAny(before[len(before)-1:], ":-[{,")
}

// firstQuoted finds the first quote on line and the one that closes it:
// their byte columns (1-based), end 0 when nothing closes it.
func firstQuoted(line string) (open, end int) {
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case open == 0 && (c == '"' || c == '\''):
			open = i + 1
		case open > 0 && line[open-1] == '"' && c == '\\':
			i++
		case open > 0 && c == line[open-1]:
			return open, i + 1
		}
	}
	return open, 0
}

// unclosedBracket is the column (in characters) of the last open bracket
// on line that nothing on the line closes, outside quotes, or 0.
func unclosedBracket(line string, open byte) int {
	closer := map[byte]byte{'[': ']', '{': '}'}[open]
	var opens []int
	var quote byte
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if quote == '"' && c == '\\' {
				i++
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' '):
			i = len(line) // a comment
		case c == open:
			opens = append(opens, i)
		case c == closer && len(opens) > 0:
			opens = opens[:len(opens)-1]
		}
	}
	if len(opens) == 0 {
		return 0
	}
	return utf8.RuneCountInString(line[:opens[len(opens)-1]]) + 1
}
