package yamlpos_test

import (
	"fmt"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/internal/yamlpos"
)

func parse(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestNameAt(t *testing.T) {
	root := parse(t, "top: 1\nrules:\n  - id: a\n    when: x\n  - when: y\n  - id: c\n")
	list := yamlpos.Lookup(root, "rules")
	for line, want := range map[int]string{1: "", 3: "a", 4: "a", 5: "#2", 6: "c", 99: "c"} {
		if got := yamlpos.NameAt(list, line, "id"); got != want {
			t.Errorf("NameAt(line %d) = %q, want %q", line, got, want)
		}
	}
	// A mapping where a list belongs names no item.
	if got := yamlpos.NameAt(parse(t, "a: b\nc: d\n"), 2, "id"); got != "" {
		t.Errorf("NameAt(mapping) = %q, want \"\"", got)
	}
}

type item struct {
	Name string `yaml:"name"`
}

type file struct {
	Items []item   `yaml:"items"`
	Tags  []string `yaml:"tags"`
}

// DecodeStrict words the lists it cannot name itself with kinds.
func ExampleDecodeStrict() {
	src := []byte("items: {name: a}\ntags: x\nnmae: b\n")
	var f file
	_, errs := yamlpos.DecodeStrict("f.yaml", src, &f, map[string]string{"[]yamlpos_test.item": "a list of items"})
	for _, e := range errs {
		fmt.Println(e)
	}
	// Output:
	// f.yaml:1:8: want a list of items, got a mapping
	// f.yaml:2:7: want a list of text, got text "x"
	// f.yaml:3:1: unknown field "nmae" (known: items, tags)
}
