package server

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/wxreply/wxreply/engine"
)

// readFields is DecodeFields without its check for WeChat's header, for the
// envelope of an encrypted push, which holds ToUserName and Encrypt only.
//
// It is a scanner written for WeChat's flat XML rather than a general
// decoder, but it reads exactly the documents encoding/xml's strict Decoder
// reads and refuses the others, with the same tests on top (no directive,
// no namespace, one root, depth, count, duplicates): FuzzDecodeAgrees holds
// it to the encoding/xml version it replaced, kept in decode_ref_test.go.
// Its syntax errors are worded as encoding/xml's, with the line. It makes
// a string per field and nothing per element, where encoding/xml made
// several of each.
func readFields(body []byte) (map[string]string, error) {
	doc, fields := string(body), make(map[string]string, 8)
	if flatFields(body, doc, fields) {
		return fields, nil
	}
	clear(fields)
	return scanFields(body, doc, fields)
}

// scanFields reads any document into fields with the scanner; doc is body
// as a string.
func scanFields(body []byte, doc string, fields map[string]string) (map[string]string, error) {
	s := scanners.Get().(*scanner)
	defer s.release()
	s.b, s.doc, s.fields = body, doc, fields
	return s.read()
}

// scanners keep scanners, and their buffers, from push to push.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

// release empties s, keeping none of the push, and returns it to scanners
// unless a large push grew its buffers.
func (s *scanner) release() {
	if cap(s.val) > 4<<10 || cap(s.scratch) > 4<<10 {
		return
	}
	clear(s.open[:cap(s.open)])
	clear(s.kids[:cap(s.kids)])
	clear(s.ns[:cap(s.ns)])
	*s = scanner{open: s.open[:0], kids: s.kids[:0], path: s.path[:0], ns: s.ns[:0], val: s.val[:0], scratch: s.scratch[:0]}
	scanners.Put(s)
}

// scanner reads one push.
type scanner struct {
	b []byte // the document
	i int    // the next byte of b to read
	// doc is b as one string: a field's text as sent is a slice of it, so
	// that a push costs one string rather than one a field.
	doc string

	fields   map[string]string
	elements int // start tags read

	// open are the elements not yet closed, <xml> first: at most
	// maxDepth+1, as a deeper one is refused.
	open []element
	// kids are the names of the children of the open elements: those of
	// the innermost one are kids[innermost.kids:].
	kids [][]byte
	// path is the path of the innermost element.
	path []byte
	// ns are the namespace declarations (xmlns, xmlns:p) in scope;
	// defaults of them declare the default namespace.
	ns       []nsDecl
	defaults int

	// The text of the innermost element so far, while it has no child:
	// parts segments; the only one is b[span[0]:span[1]] when inSpan,
	// else the text is in val.
	parts  int
	span   [2]int
	inSpan bool
	val    []byte
	// scratch holds a segment of text whose entities or line ends had to
	// be rewritten.
	scratch []byte
}

// element is an open element.
type element struct {
	raw     []byte          // its name as written, which its end tag must repeat
	local   []byte          // its name less a prefix declared empty
	pathLen int             // len(scanner.path) with it
	kids    int             // where its children other than items start in scanner.kids
	items   int             // children named item so far
	seen    map[string]bool // its children's names, once it has many
	leaf    bool            // no child element so far
}

// nsDecl is a namespace declaration, xmlns:prefix="url" or xmlns="url"
// (prefix ""), made on the element at depth.
type nsDecl struct {
	prefix []byte
	url    string
	depth  int
}

// xmlURL is the namespace of the xml prefix, bound by the XML spec itself.
const xmlURL = "http://www.w3.org/XML/1998/namespace"

// read reads the whole document, token by token, as encoding/xml's
// Decoder.Token returns them; first is true for the first token only.
func (s *scanner) read() (map[string]string, error) {
	for first := true; s.i < len(s.b); first = false {
		var err error
		if s.b[s.i] != '<' {
			var seg []byte
			var at int
			if seg, at, err = s.text(0, false); err == nil {
				err = s.charData(seg, at, first)
			}
		} else {
			s.i++
			var c byte
			if c, err = s.next(); err != nil {
				return nil, err
			}
			switch c {
			case '/':
				err = s.endTag()
			case '?':
				err = s.procInst()
			case '!':
				err = s.bang(first)
			default:
				s.i--
				err = s.startTag()
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(s.open) > 0 {
		return nil, s.syntaxError("unexpected EOF")
	}
	if s.elements == 0 {
		return nil, fmt.Errorf("%w: the body is empty", ErrNotWeChatXML)
	}
	return s.fields, nil
}

// syntaxError is a syntax error at the current line, worded as
// encoding/xml's SyntaxError.
func (s *scanner) syntaxError(msg string) error {
	line := 1 + bytes.Count(s.b[:min(s.i, len(s.b))], []byte("\n"))
	return fmt.Errorf("%w: XML syntax error on line %d: %s", ErrNotWeChatXML, line, msg)
}

// next reads one byte; the document may not end here.
func (s *scanner) next() (byte, error) {
	if s.i >= len(s.b) {
		return 0, s.syntaxError("unexpected EOF")
	}
	c := s.b[s.i]
	s.i++
	return c, nil
}

// space skips the white space allowed inside tags.
func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\r', '\n', '\t':
			s.i++
		default:
			return
		}
	}
}

// charData takes a segment of text (plain or CDATA) outside any tag; at is
// where it starts in b, or -1 when it was rewritten (in scratch).
func (s *scanner) charData(seg []byte, at int, first bool) error {
	if first && bytes.HasPrefix(seg, utf8BOM) {
		seg = seg[len(utf8BOM):]
		if at >= 0 {
			at += len(utf8BOM)
		}
	}
	if len(s.open) == 0 {
		if len(bytes.TrimSpace(seg)) > 0 {
			return fmt.Errorf("%w: text outside <xml>", ErrNotWeChatXML)
		}
		return nil
	}
	if !s.open[len(s.open)-1].leaf || len(seg) == 0 {
		return nil // text between elements is no field's
	}
	// Most fields are one segment of b, as sent: then no copy is made
	// before the field's string.
	if s.parts == 0 && at >= 0 {
		s.span, s.inSpan = [2]int{at, at + len(seg)}, true
		s.parts = 1
		return nil
	}
	if s.inSpan {
		s.val = append(s.val[:0], s.b[s.span[0]:s.span[1]]...)
		s.inSpan = false
	}
	s.val = append(s.val, seg...)
	s.parts++
	return nil
}

// text reads character data at s.i: plain text up to the next '<' or the
// end, CDATA through its "]]>", or an attribute value through its closing
// quote. Entities are decoded and line ends read as "\n", in scratch when
// there are any; at is where the text starts in b, or -1 when it is in
// scratch. The text holds only characters XML allows.
func (s *scanner) text(quote byte, cdata bool) (text []byte, at int, err error) {
	start := s.i
	// Most text is sent as it is to be read: plain text with no '&', '\r'
	// or ']', CDATA with no '\r'. It is found here at the speed of
	// bytes.Index; the loop below, which the rest needs, would read it the
	// same.
	if quote == 0 {
		end, next := -1, 0
		if cdata {
			if n := bytes.Index(s.b[start:], []byte("]]>")); n >= 0 && bytes.IndexByte(s.b[start:start+n], '\r') < 0 {
				end, next = start+n, start+n+3
			}
		} else {
			i := start
			for i < len(s.b) && plainText[s.b[i]] {
				i++
			}
			if i == len(s.b) || s.b[i] == '<' {
				end, next = i, i
			}
		}
		if end >= 0 {
			s.i = next
			if msg := badChar(s.b[start:end]); msg != "" {
				return nil, 0, s.syntaxError(msg)
			}
			return s.b[start:end], start, nil
		}
	}
	rewritten := false // the text so far is in scratch, not b[start:s.i]
	rewrite := func() {
		if !rewritten {
			s.scratch = append(s.scratch[:0], s.b[start:s.i]...)
			rewritten = true
		}
	}
	var b0, b1 byte // the two bytes before, as encoding/xml tracks them
	end := -1       // where the text ends in b, when not rewritten
	trunc := 0      // bytes of "]]" to drop from scratch
	for {
		if s.i >= len(s.b) {
			if cdata {
				return nil, 0, s.syntaxError("unexpected EOF in CDATA section")
			}
			end = s.i
			break
		}
		c := s.b[s.i]
		if quote == 0 && b0 == ']' && b1 == ']' && c == '>' {
			if !cdata {
				return nil, 0, s.syntaxError("unescaped ]]> not in CDATA section")
			}
			s.i++
			end, trunc = s.i-3, 2
			break
		}
		if c == '<' && !cdata {
			if quote != 0 {
				return nil, 0, s.syntaxError("unescaped < inside quoted string")
			}
			end = s.i
			break
		}
		if quote != 0 && c == quote {
			end = s.i
			s.i++
			break
		}
		if c == '&' && !cdata {
			rewrite()
			if err := s.entity(); err != nil {
				return nil, 0, err
			}
			b0, b1 = 0, 0
			continue
		}
		switch {
		case c == '\r':
			rewrite()
			s.scratch = append(s.scratch, '\n')
		case b1 == '\r' && c == '\n':
			// The "\r" before was written as "\n".
		case rewritten:
			s.scratch = append(s.scratch, c)
		}
		s.i++
		b0, b1 = b1, c
	}
	text, at = s.b[start:end], start
	if rewritten {
		text, at = s.scratch[:len(s.scratch)-trunc], -1
	}
	if msg := badChar(text); msg != "" {
		return nil, 0, s.syntaxError(msg)
	}
	return text, at, nil
}

// entity reads the entity or character reference at s.i ('&') into
// scratch. Strict XML knows five named entities and no others.
func (s *scanner) entity() error {
	from := s.i
	s.i++
	if s.i < len(s.b) && s.b[s.i] == '#' {
		s.i++
		base := 10
		if s.i < len(s.b) && s.b[s.i] == 'x' {
			base = 16
			s.i++
		}
		digits := s.i
		for s.i < len(s.b) && isDigit(s.b[s.i], base) {
			s.i++
		}
		if s.i >= len(s.b) {
			return s.syntaxError("unexpected EOF")
		}
		if s.b[s.i] == ';' {
			n, err := strconv.ParseUint(string(s.b[digits:s.i]), base, 64)
			s.i++
			if err == nil && n <= unicode.MaxRune {
				s.scratch = utf8.AppendRune(s.scratch, rune(n))
				return nil
			}
		}
		return s.badEntity(from)
	}
	for _, e := range [...]struct {
		name string
		char byte
	}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"apos;", '\''}, {"quot;", '"'}} {
		if bytes.HasPrefix(s.b[s.i:], []byte(e.name)) {
			s.i += len(e.name)
			s.scratch = append(s.scratch, e.char)
			return nil
		}
	}
	// Past the name, if any, to say what was there.
	for s.i < len(s.b) && (isNameByte(s.b[s.i]) || s.b[s.i] >= utf8.RuneSelf) {
		s.i++
	}
	if s.i >= len(s.b) {
		return s.syntaxError("unexpected EOF")
	}
	if s.b[s.i] == ';' {
		s.i++
	}
	return s.badEntity(from)
}

func (s *scanner) badEntity(from int) error {
	ent := string(s.b[from:s.i])
	if ent[len(ent)-1] != ';' {
		ent += " (no semicolon)"
	}
	return s.syntaxError("invalid character entity " + ent)
}

func isDigit(c byte, base int) bool {
	return '0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
}

// badChar says what in text XML does not allow, or "" when it is all
// characters XML allows.
func badChar(text []byte) string {
	i := 0
	for i < len(text) && text[i] >= 0x20 && text[i] < utf8.RuneSelf {
		i++ // the common case, printable ASCII
	}
	for i < len(text) {
		if c := text[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return fmt.Sprintf("illegal character code %U", rune(c))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		if r == utf8.RuneError && size == 1 {
			return "invalid UTF-8"
		}
		if !isXMLChar(r) {
			return fmt.Sprintf("illegal character code %U", r)
		}
		i += size
	}
	return ""
}

// name reads an XML name at s.i as encoding/xml does: the bytes up to the
// first ASCII byte that cannot be in a name, which must then make a name.
// ok is false, with no error, when no name starts here.
func (s *scanner) name() (name []byte, ok bool, err error) {
	start := s.i
	for s.i < len(s.b) && (isNameByte(s.b[s.i]) || s.b[s.i] >= utf8.RuneSelf) {
		s.i++
	}
	if s.i >= len(s.b) {
		return nil, false, s.syntaxError("unexpected EOF")
	}
	if s.i == start {
		return nil, false, nil
	}
	name = s.b[start:s.i]
	if !isName(name) {
		return nil, false, s.syntaxError("invalid XML name: " + string(name))
	}
	return name, true, nil
}

// qname is a name read as encoding/xml reads element and attribute names:
// a prefix only when one colon splits it into two parts that are not
// empty.
type qname struct {
	raw, prefix, local []byte
}

// qname reads a name for an element or attribute; missing is the error
// when there is none.
func (s *scanner) qname(missing string) (qname, error) {
	name, ok, err := s.name()
	if err != nil {
		return qname{}, err
	}
	if !ok {
		return qname{}, s.syntaxError(missing)
	}
	colon := bytes.IndexByte(name, ':')
	if colon < 0 {
		return qname{raw: name, local: name}, nil
	}
	if bytes.IndexByte(name[colon+1:], ':') >= 0 {
		return qname{}, s.syntaxError(missing)
	}
	if colon == 0 || colon == len(name)-1 {
		return qname{raw: name, local: name}, nil
	}
	return qname{name, name[:colon], name[colon+1:]}, nil
}

// plainText are the bytes plain text may hold as it is to be read: all
// but '<', which ends it, '&', which starts an entity, '\r', read as
// '\n', and ']', which may start "]]>".
var plainText = func() (t [256]bool) {
	for c := range t {
		t[c] = c != '<' && c != '&' && c != '\r' && c != ']'
	}
	return t
}()

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// isName reports whether name, made of name bytes and bytes beyond ASCII,
// is an XML name. In ASCII a name starts with a letter, '_' or ':'.
// Beyond ASCII, XML 1.0 lists which letters may start or continue a name;
// encoding/xml holds those tables, so it is asked: WeChat's names are
// ASCII, and this costs a push nothing.
func isName(name []byte) bool {
	for _, c := range name {
		if c >= utf8.RuneSelf {
			_, err := xml.NewDecoder(bytes.NewReader(append(append([]byte("<?"), name...), "?>"...))).RawToken()
			return err == nil
		}
	}
	c := name[0]
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
}

// procInst reads a processing instruction after its "<?". Only <?xml ...?>
// says anything: its version must be 1.0 and its encoding UTF-8.
func (s *scanner) procInst() error {
	target, ok, err := s.name()
	if err != nil {
		return err
	}
	if !ok {
		return s.syntaxError("expected target name after <?")
	}
	s.space()
	n := bytes.Index(s.b[s.i:], []byte("?>"))
	if n < 0 {
		s.i = len(s.b)
		return s.syntaxError("unexpected EOF")
	}
	data := s.b[s.i : s.i+n]
	s.i += n + 2
	if string(target) != "xml" {
		return nil
	}
	if v := declared(data, "version"); v != "" && v != "1.0" {
		return fmt.Errorf("%w: version %q declared; only XML 1.0 is read", ErrNotWeChatXML, v)
	}
	if enc := declared(data, "encoding"); enc != "" && !bytes.EqualFold([]byte(enc), []byte("utf-8")) {
		return fmt.Errorf("%w: encoding %q declared; only UTF-8 is read", ErrNotWeChatXML, enc)
	}
	return nil
}

// declared finds param="value" or param='value' in an XML declaration as
// encoding/xml does: the first param= followed by a quote, up to the next
// such quote; "" when there is none.
func declared(decl []byte, param string) string {
	key := []byte(param + "=")
	for {
		i := bytes.Index(decl, key)
		if i < 0 || i+len(key) >= len(decl) {
			return ""
		}
		decl = decl[i+len(key):]
		if q := decl[0]; q == '"' || q == '\'' {
			value, _, found := bytes.Cut(decl[1:], []byte{q})
			if !found {
				return ""
			}
			return string(value)
		}
		decl = decl[1:]
	}
}

// bang reads what starts "<!": a comment, CDATA, or a directive, which is
// refused.
func (s *scanner) bang(first bool) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	switch c {
	case '-':
		if c, err = s.next(); err != nil {
			return err
		}
		if c != '-' {
			return s.syntaxError("invalid sequence <!- not part of <!--")
		}
		n := bytes.Index(s.b[s.i:], []byte("--"))
		if n < 0 || s.i+n+2 >= len(s.b) {
			s.i = len(s.b)
			return s.syntaxError("unexpected EOF")
		}
		s.i += n + 2
		if s.b[s.i] != '>' {
			return s.syntaxError(`invalid sequence "--" not allowed in comments`)
		}
		s.i++
		return nil
	case '[':
		for _, want := range []byte("CDATA[") {
			if c, err = s.next(); err != nil {
				return err
			}
			if c != want {
				return s.syntaxError("invalid <![ sequence")
			}
		}
		seg, at, err := s.text(0, true)
		if err != nil {
			return err
		}
		return s.charData(seg, at, first)
	}
	// WeChat sends no DTD; one can only be an attempt at entity tricks.
	return fmt.Errorf("%w: a <!DOCTYPE> or other directive", ErrNotWeChatXML)
}

// startTag reads a start tag after its "<", and opens the element; a tag
// that closes itself (<a/>) closes it too.
func (s *scanner) startTag() error {
	name, err := s.qname("expected element name after <")
	if err != nil {
		return err
	}
	depth := len(s.open)
	empty := false
	for {
		s.space()
		c, err := s.next()
		if err != nil {
			return err
		}
		if c == '/' {
			if c, err = s.next(); err != nil {
				return err
			}
			if c != '>' {
				return s.syntaxError("expected /> in element")
			}
			empty = true
			break
		}
		if c == '>' {
			break
		}
		s.i--
		attr, err := s.qname("expected attribute name in element")
		if err != nil {
			return err
		}
		s.space()
		if c, err = s.next(); err != nil {
			return err
		}
		if c != '=' {
			return s.syntaxError("attribute name without = in element")
		}
		s.space()
		if c, err = s.next(); err != nil {
			return err
		}
		if c != '"' && c != '\'' {
			return s.syntaxError("unquoted or missing attribute value in element")
		}
		value, _, err := s.text(c, false)
		if err != nil {
			return err
		}
		// Attributes are not fields; only namespace declarations count,
		// for the namespace of this element and those inside it.
		switch {
		case string(attr.prefix) == "xmlns":
			s.ns = append(s.ns, nsDecl{attr.local, string(value), depth})
		case attr.prefix == nil && string(attr.local) == "xmlns":
			s.ns = append(s.ns, nsDecl{nil, string(value), depth})
			s.defaults++
		}
	}
	if space := s.namespace(name); space != "" {
		return fmt.Errorf("%w: <%s> is in the namespace %.40q; WeChat's elements have none", ErrNotWeChatXML, name.local, space)
	}
	if err := s.openElement(name); err != nil {
		return err
	}
	if empty {
		return s.closeElement(name.raw)
	}
	return nil
}

// namespace is the namespace of an element named name, as encoding/xml
// resolves it: a declared prefix is its URL, xml is the XML namespace,
// xmlns and an undeclared prefix stay as they are, and no prefix is the
// default namespace (xmlns="..."), if any. An element named xmlns has none.
func (s *scanner) namespace(name qname) string {
	switch {
	case string(name.prefix) == "xmlns":
		return "xmlns"
	case string(name.prefix) == "xml":
		return xmlURL
	case name.prefix == nil && (string(name.local) == "xmlns" || s.defaults == 0):
		return ""
	}
	for i := len(s.ns) - 1; i >= 0; i-- {
		if bytes.Equal(s.ns[i].prefix, name.prefix) {
			return s.ns[i].url
		}
	}
	return string(name.prefix)
}

// openElement applies readFields' rules to a start tag: one root, <xml>;
// the depth; the count; no name twice among siblings but item, which is
// numbered.
func (s *scanner) openElement(name qname) error {
	s.elements++
	if s.elements > maxElements {
		return fmt.Errorf("%w: more than %d elements", ErrNotWeChatXML, maxElements)
	}
	s.parts, s.inSpan, s.val = 0, false, s.val[:0]
	if len(s.open) == 0 {
		if s.elements > 1 {
			return fmt.Errorf("%w: more than one root element", ErrNotWeChatXML)
		}
		if string(name.local) != "xml" {
			return fmt.Errorf("%w: the root element is <%s>, not <xml>", ErrNotWeChatXML, name.local)
		}
		s.open = append(s.open, element{raw: name.raw, local: name.local, kids: len(s.kids), leaf: true})
		return nil
	}
	if len(s.open) > maxDepth {
		return fmt.Errorf("%w: elements nest deeper than %d", ErrNotWeChatXML, maxDepth)
	}
	parent := &s.open[len(s.open)-1]
	parent.leaf = false
	isItem := string(name.local) == "item"
	n := parent.items
	if isItem {
		parent.items++
	} else {
		if s.sibling(parent, name.local) {
			// Two <Content>s: which one would the rules read?
			return fmt.Errorf("%w: <%s> appears twice", ErrNotWeChatXML, name.local)
		}
		s.kids = append(s.kids, name.local)
	}
	if len(s.open) > 1 {
		s.path = append(s.path, '/')
	}
	s.path = append(s.path, name.local...)
	if isItem {
		s.path = append(strconv.AppendInt(append(s.path, '['), int64(n), 10), ']')
	}
	s.open = append(s.open, element{raw: name.raw, local: name.local, pathLen: len(s.path), kids: len(s.kids), leaf: true})
	return nil
}

// sibling reports whether parent has a child named name already, and
// notes that it has. WeChat's elements have a few children, looked through
// in order; past 16 (a push may hold maxElements), a set is quicker.
func (s *scanner) sibling(parent *element, name []byte) bool {
	kids := s.kids[parent.kids:]
	if parent.seen == nil && len(kids) < 16 {
		for _, kid := range kids {
			if bytes.Equal(kid, name) {
				return true
			}
		}
		return false
	}
	if parent.seen == nil {
		parent.seen = make(map[string]bool, 2*len(kids))
		for _, kid := range kids {
			parent.seen[string(kid)] = true
		}
	}
	if parent.seen[string(name)] {
		return true
	}
	parent.seen[string(name)] = true
	return false
}

// endTag reads an end tag after its "</" and closes the element.
func (s *scanner) endTag() error {
	name, err := s.qname("expected element name after </")
	if err != nil {
		return err
	}
	s.space()
	c, err := s.next()
	if err != nil {
		return err
	}
	if c != '>' {
		return s.syntaxError("invalid characters between </" + string(name.local) + " and >")
	}
	return s.closeElement(name.raw)
}

// closeElement closes the innermost element, whose name must be raw, and
// keeps its text when it is a field: an element inside <xml> with no child.
func (s *scanner) closeElement(raw []byte) error {
	if len(s.open) == 0 {
		return s.syntaxError("unexpected end element </" + string(raw) + ">")
	}
	top := s.open[len(s.open)-1]
	if !bytes.Equal(top.raw, raw) {
		return s.syntaxError("element <" + string(top.local) + "> closed by </" + string(raw) + ">")
	}
	s.open = s.open[:len(s.open)-1]
	if len(s.open) > 0 && top.leaf {
		key := internPath(s.path)
		var v string
		switch {
		case s.inSpan:
			v = s.doc[s.span[0]:s.span[1]]
		default:
			v = string(s.val)
		}
		s.fields[key] = v
	}
	s.kids = s.kids[:top.kids]
	if len(s.open) > 0 {
		s.path = s.path[:s.open[len(s.open)-1].pathLen]
	}
	for len(s.ns) > 0 && s.ns[len(s.ns)-1].depth >= len(s.open) {
		if s.ns[len(s.ns)-1].prefix == nil {
			s.defaults--
		}
		s.ns = s.ns[:len(s.ns)-1]
	}
	return nil
}

// internPath returns path as a string, without allocating one when it is the
// path of a field of engine.Event.
func internPath(path []byte) string {
	if p, ok := eventPaths[string(path)]; ok {
		return p
	}
	return string(path)
}

// eventPaths are the paths of engine.Event's fields, and Encrypt, the
// envelope's: the keys of almost every push. They are computed once, from
// the type (each field is named after its element, a struct field's
// fields are below it, and a list's items are numbered: the first 16), so
// that a field added to Event is here too.
var eventPaths = func() map[string]string {
	paths := map[string]string{"Encrypt": "Encrypt"}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			path := prefix + f.Name
			ours := f.Type.PkgPath() == t.PkgPath() // not time.Time
			switch f.Type.Kind() {
			case reflect.Struct:
				if ours {
					walk(path+"/", f.Type)
				}
			case reflect.Slice:
				if elem := f.Type.Elem(); elem.Kind() == reflect.Struct {
					for i := range 16 {
						walk(path+"/item["+strconv.Itoa(i)+"]/", elem)
					}
				}
			case reflect.String, reflect.Int, reflect.Int64, reflect.Float64:
				paths[path] = path
			}
		}
	}
	walk("", reflect.TypeFor[engine.Event]())
	return paths
}()

// flatFields reads into fields the pushes WeChat sends nearly always,
// <xml>, then elements holding nothing but plain text or one CDATA
// section, then </xml>, in one pass and without the scanner. It reports
// false, with fields partly filled, for anything else, a nested element, an attribute, an entity, a comment, a carriage
// return, a byte-order mark, a name that is not plain ASCII or that
// repeats, and the scanner reads it instead, errors and all. A push it
// takes reads as the scanner would read it: FuzzDecodeAgrees, which holds
// readFields to encoding/xml, goes through here.
func flatFields(b []byte, doc string, fields map[string]string) bool {
	const root, endRoot = "<xml>", "</xml>"
	if !bytes.HasPrefix(b, []byte(root)) {
		return false
	}
	i := len(root)
	for elements := 1; ; elements++ {
		i = flatSpace(b, i)
		if i+1 >= len(b) || b[i] != '<' {
			return false
		}
		if b[i+1] == '/' {
			if !bytes.HasPrefix(b[i:], []byte(endRoot)) || flatSpace(b, i+len(endRoot)) != len(b) {
				return false
			}
			return true
		}
		if elements >= maxElements {
			return false
		}
		// <Name>
		start := i + 1
		i = start
		for i < len(b) && isFlatNameByte(b[i]) {
			i++
		}
		if i == start || i >= len(b) || b[i] != '>' || isDigit(b[start], 10) {
			return false
		}
		name := b[start:i]
		if len(name) >= 3 && bytes.EqualFold(name[:3], []byte("xml")) || string(name) == "item" {
			return false // reserved by XML, or numbered by the scanner
		}
		i++
		// Its text: one CDATA section, or plain text with nothing to decode.
		var from, to int
		if bytes.HasPrefix(b[i:], []byte("<![CDATA[")) {
			from = i + len("<![CDATA[")
			n := bytes.Index(b[from:], []byte("]]>"))
			if n < 0 {
				return false
			}
			to, i = from+n, from+n+len("]]>")
		} else {
			from = i
			for i < len(b) && plainText[b[i]] {
				i++
			}
			to = i
		}
		text := b[from:to]
		if bytes.IndexByte(text, '\r') >= 0 || badChar(text) != "" {
			return false
		}
		// </Name>
		end := i + len("</") + len(name)
		if end >= len(b) || b[i] != '<' || b[i+1] != '/' || !bytes.Equal(b[i+2:end], name) || b[end] != '>' {
			return false
		}
		i = end + 1
		key := internPath(name)
		if _, twice := fields[key]; twice {
			return false
		}
		fields[key] = doc[from:to]
	}
}

// flatSpace skips the white space flatFields allows between elements:
// no carriage return, which the scanner reads as a line end.
func flatSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t') {
		i++
	}
	return i
}

func isFlatNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_'
}
