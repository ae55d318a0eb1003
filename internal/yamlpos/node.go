package yamlpos

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// Lookup returns the value of key in mapping n, or nil (also when n is nil or
// not a mapping).
func Lookup(n *yaml.Node, key string) *yaml.Node {
	if k := keyIndex(n, key); k >= 0 {
		return n.Content[k+1]
	}
	return nil
}

// Key returns the key node of key in mapping n, or nil: the place to point at
// for a problem with the key itself.
func Key(n *yaml.Node, key string) *yaml.Node {
	if k := keyIndex(n, key); k >= 0 {
		return n.Content[k]
	}
	return nil
}

func keyIndex(n *yaml.Node, key string) int {
	if n == nil || n.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// Keys lists the keys of mapping n, in order.
func Keys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// Item returns element i of sequence n, or nil.
func Item(n *yaml.Node, i int) *yaml.Node {
	if c := items(n); i >= 0 && i < len(c) {
		return c[i]
	}
	return nil
}

func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// NameAt names the item of sequence list whose definition holds the given
// line, as messages name a rule or a case: the value of its key (its id, its
// name), or "#3" for the third item when it has none. It returns "" when the
// line comes before the first item, or list is not a sequence.
func NameAt(list *yaml.Node, line int, key string) string {
	var name string
	for i, n := range items(list) {
		if n.Line > line {
			break
		}
		name = "#" + strconv.Itoa(i+1)
		if v := Lookup(n, key); v != nil && v.Value != "" {
			name = v.Value
		}
	}
	return name
}

// Repeated returns the first key that mapping n gives a second time, and
// the key's first place; nil when n gives none twice. A yaml.Node keeps
// both, where decoding into a struct or map refuses them.
func Repeated(n *yaml.Node) (again, first *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if f, ok := seen[k.Value]; ok {
			return k, f
		}
		seen[k.Value] = k
	}
	return nil, nil
}
