package server

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
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
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotWeChatXML, err)
	}
	return decodeFields(body)
}

// decodeFields is DecodeFields on a body already read.
func decodeFields(body []byte) (map[string]string, error) {
	fields, err := readFields(body)
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
