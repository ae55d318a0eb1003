package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// maxDepth bounds how deeply a push may nest elements. WeChat's deepest,
// SendPicsInfo/PicList/item/PicMd5Sum, is four below <xml>.
const maxDepth = 8

// maxElements bounds how many elements one push may hold.
const maxElements = 1000

// ErrNotWeChatXML is wrapped by every DecodeFields error: the body is not a
// push from WeChat, and the request deserves a 400.
var ErrNotWeChatXML = errors.New("not WeChat's XML")

// DecodeFields reads one push, <xml>...</xml>, into a map from element path to
// text: "Content", "ScanCodeInfo/ScanType", "SendPicsInfo/PicList/item[0]/PicMd5Sum".
// Elements named item are always numbered from 0, as are repeated elements of
// any other name after the first. CDATA and plain text are read alike, and
// text is kept exactly as sent. engine.NewEvent takes the map.
//
// A UTF-8 byte-order mark before <xml> is skipped, as editors and some
// proxies add one. An element in a namespace (<x:Content>, or any element
// under an xmlns="...") is refused: WeChat uses none, and taking its local
// name would let <x:Content> pass for <Content>.
func DecodeFields(r io.Reader) (map[string]string, error) {
	fields, err := readFields(r)
	if err != nil {
		return nil, err
	}
	for _, required := range []string{"ToUserName", "FromUserName", "CreateTime", "MsgType"} {
		if strings.TrimSpace(fields[required]) == "" {
			return nil, fmt.Errorf("%w: <%s> is missing", ErrNotWeChatXML, required)
		}
	}
	return fields, nil
}

// utf8BOM is the byte-order mark some writers put before a UTF-8 document.
var utf8BOM = []byte("\xEF\xBB\xBF")

// readFields is DecodeFields without its check for WeChat's header, for the
// envelope of an encrypted push, which holds ToUserName and Encrypt only.
func readFields(r io.Reader) (map[string]string, error) {
	dec := xml.NewDecoder(r)
	dec.Strict = true
	fields := map[string]string{}
	type frame struct {
		path     string
		text     bytes.Buffer
		children map[string]int
	}
	var stack []*frame
	elements := 0
	for first := true; ; first = false {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotWeChatXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, fmt.Errorf("%w: <%s> is in the namespace %.40q; WeChat's elements have none", ErrNotWeChatXML, t.Name.Local, t.Name.Space)
			}
			elements++
			if elements > maxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrNotWeChatXML, maxElements)
			}
			if len(stack) == 0 {
				if elements > 1 {
					return nil, fmt.Errorf("%w: more than one root element", ErrNotWeChatXML)
				}
				if t.Name.Local != "xml" {
					return nil, fmt.Errorf("%w: the root element is <%s>, not <xml>", ErrNotWeChatXML, t.Name.Local)
				}
				stack = append(stack, &frame{children: map[string]int{}})
				continue
			}
			if len(stack) > maxDepth {
				return nil, fmt.Errorf("%w: elements nest deeper than %d", ErrNotWeChatXML, maxDepth)
			}
			parent := stack[len(stack)-1]
			name := t.Name.Local
			n := parent.children[name]
			parent.children[name]++
			if n > 0 && name != "item" {
				// Two <Content>s: which one would the rules read?
				return nil, fmt.Errorf("%w: <%s> appears twice", ErrNotWeChatXML, name)
			}
			if name == "item" {
				name += "[" + strconv.Itoa(n) + "]"
			}
			if parent.path != "" {
				name = parent.path + "/" + name
			}
			stack = append(stack, &frame{path: name, children: map[string]int{}})
		case xml.Directive:
			// WeChat sends no DTD; one can only be an attempt at entity tricks.
			return nil, fmt.Errorf("%w: a <!DOCTYPE> or other directive", ErrNotWeChatXML)
		case xml.CharData:
			if first {
				t = bytes.TrimPrefix(t, utf8BOM)
			}
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside <xml>", ErrNotWeChatXML)
			}
		case xml.EndElement:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && len(top.children) == 0 {
				fields[top.path] = top.text.String()
			}
		}
	}
	if elements == 0 {
		return nil, fmt.Errorf("%w: the body is empty", ErrNotWeChatXML)
	}
	return fields, nil
}

// EncodeFields writes fields, keyed by path as DecodeFields reads them, as a
// push: the common header first, then the rest by path. It is WeChat's side
// of the protocol, for `wxreply send` and tests.
func EncodeFields(fields map[string]string) []byte {
	type node struct {
		name     string
		text     string
		children []*node
	}
	root := &node{name: "xml"}
	find := func(parent *node, name string) *node {
		for _, c := range parent.children {
			if c.name == name {
				return c
			}
		}
		c := &node{name: name}
		parent.children = append(parent.children, c)
		return c
	}
	paths := make([]string, 0, len(fields))
	for p := range fields {
		paths = append(paths, p)
	}
	header := map[string]int{"ToUserName": 1, "FromUserName": 2, "CreateTime": 3, "MsgType": 4}
	slices.SortFunc(paths, func(a, b string) int {
		ha, hb := header[a], header[b]
		switch {
		case ha != 0 && hb != 0:
			return ha - hb
		case ha != 0:
			return -1
		case hb != 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, p := range paths {
		n := root
		for _, part := range strings.Split(p, "/") {
			n = find(n, part) // "item[0]" stays unique per index; the name is cut below
		}
		n.text = fields[p]
	}
	var b bytes.Buffer
	var write func(n *node)
	write = func(n *node) {
		name := n.name
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		b.WriteString("<" + name + ">")
		if len(n.children) == 0 {
			xml.EscapeText(&b, []byte(n.text))
		}
		for _, c := range n.children {
			write(c)
		}
		b.WriteString("</" + name + ">")
	}
	write(root)
	return b.Bytes()
}
