package backend

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/wxreply/wxreply/engine"
)

// ruleKey is the request's one key that is not WeChat's. WeChat's names are
// capitalized, so it cannot meet one of them.
const ruleKey = "rule"

// requestBody is the JSON posted to a backend: every field of the push in
// ev.Raw under WeChat's element name, and "rule". A group of elements
// (ScanCodeInfo) becomes an object, and a group whose only elements are
// <item>s (SendPicsInfo/PicList) a list.
//
// Values are strings, exactly as WeChat sent them, numbers included: MsgId
// is a 64-bit integer that JavaScript's numbers would round, and one rule
// for every field means a field WeChat adds tomorrow arrives like the rest.
func requestBody(ruleID string, ev *engine.Event) ([]byte, error) {
	root := &node{}
	for path, value := range ev.Raw {
		root.insert(strings.Split(path, "/"), value)
	}
	obj := root.object()
	obj[ruleKey] = ruleID
	return json.Marshal(obj)
}

// node is one element of the push: a value, or a group of named elements,
// or a list of numbered ones.
type node struct {
	text   string
	fields map[string]*node
	items  map[int]*node
}

// insert places value at path below n. A path part "item[2]" is the third
// element of the list named item.
func (n *node) insert(path []string, value string) {
	if len(path) == 0 {
		n.text = value
		return
	}
	name, index, isItem := splitIndex(path[0])
	if n.fields == nil {
		n.fields = map[string]*node{}
	}
	child := n.fields[name]
	if child == nil {
		child = &node{}
		n.fields[name] = child
	}
	if isItem {
		if child.items == nil {
			child.items = map[int]*node{}
		}
		item := child.items[index]
		if item == nil {
			item = &node{}
			child.items[index] = item
		}
		child = item
	}
	child.insert(path[1:], value)
}

// splitIndex splits "item[2]" into "item", 2 and true; any other part is
// returned as it is.
func splitIndex(part string) (string, int, bool) {
	name, rest, ok := strings.Cut(part, "[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return part, 0, false
	}
	i, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	if err != nil || i < 0 {
		return part, 0, false
	}
	return name, i, true
}

// value is n as JSON: a string, an object, or a list in index order.
// WeChat never sends an element with text and elements inside, or with
// <item>s and other elements; if a push does, a list wins over elements,
// and elements over text.
func (n *node) value() any {
	if n.items != nil {
		out := make([]any, 0, len(n.items))
		for _, i := range slices.Sorted(maps.Keys(n.items)) {
			out = append(out, n.items[i].value())
		}
		return out
	}
	if len(n.fields) == 0 {
		return n.text
	}
	// <PicList><item>…</item></PicList>: the list stands for its group.
	if only, ok := n.fields["item"]; ok && len(n.fields) == 1 && only.items != nil {
		return only.value()
	}
	return n.object()
}

// object is n's elements as a JSON object.
func (n *node) object() map[string]any {
	out := make(map[string]any, len(n.fields)+1)
	for name, child := range n.fields {
		out[name] = child.value()
	}
	return out
}
