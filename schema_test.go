package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// TestSchemaFiles: schema/ holds what wxreply schema prints, so that the
// files the examples point their editors at are current.
func TestSchemaFiles(t *testing.T) {
	for kind := range schemas {
		code, out, errOut := runCLI(t, "schema", kind)
		if code != exitOK {
			t.Fatalf("schema %s: exit %d, %s", kind, code, errOut)
		}
		file, err := os.ReadFile(filepath.Join("schema", kind+".json"))
		if err != nil || string(file) != out {
			t.Errorf("schema/%s.json is not what wxreply schema %s prints: go run . schema %s > schema/%s.json", kind, kind, kind, kind)
		}
	}
	if code, _, _ := runCLI(t, "schema", "rule"); code != exitUsage {
		t.Errorf("schema rule: exit %d, want 2", code)
	}
}

// compileSchema compiles the schema of kind, as an editor would.
func compileSchema(t *testing.T, kind string) *jsonschema.Schema {
	t.Helper()
	_, out, _ := runCLI(t, "schema", kind)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(kind+".json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(kind + ".json")
	if err != nil {
		t.Fatalf("the %s schema does not compile: %v", kind, err)
	}
	return s
}

// yamlValue is a YAML document as the JSON value an editor validates.
func yamlValue(t *testing.T, src []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSchemaAcceptsTheExamples: every example file is valid against its
// schema, and each names it for editors.
func TestSchemaAcceptsTheExamples(t *testing.T) {
	files, _ := filepath.Glob("examples/rules/*.yaml")
	files = append(files, "examples/menu.yaml")
	for _, f := range files {
		kind, ref := "rules", "../../schema/rules.json"
		switch {
		case strings.HasSuffix(f, "_test.yaml"):
			kind, ref = "tests", "../../schema/tests.json"
		case strings.HasSuffix(f, "menu.yaml"):
			kind, ref = "menu", "../schema/menu.json"
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(src), "# yaml-language-server: $schema="+ref+"\n") {
			t.Errorf("%s does not start with # yaml-language-server: $schema=%s", f, ref)
		}
		if err := compileSchema(t, kind).Validate(yamlValue(t, src)); err != nil {
			t.Errorf("%s is not valid against the %s schema: %v", f, kind, err)
		}
	}
}

// TestSchemaRefusesWhatCheckRefuses: the mistakes of structure check finds,
// an editor finds too.
func TestSchemaRefusesWhatCheckRefuses(t *testing.T) {
	rules := compileSchema(t, "rules")
	for name, src := range map[string]string{
		"unknown field":       "rules:\n  - id: a\n    wehn: x\n    reply: {text: hi}\n",
		"wrong type":          "rules:\n  - id: a\n    priority: high\n    reply: {text: hi}\n",
		"two reply kinds":     "rules:\n  - id: a\n    reply: {text: hi, image: {media_id: M}}\n",
		"no reply":            "rules:\n  - id: a\n    event: subscribe\n",
		"unknown reply field": "rules:\n  - id: a\n    reply: {image: {medai_id: M}}\n",
		"missing media_id":    "rules:\n  - id: a\n    reply: {image: {}}\n",
		"nine articles":       "rules:\n  - id: a\n    reply:\n      news: [" + strings.Repeat("{title: t}, ", 8) + "{title: t}]\n",
		"unknown match mode":  "rules:\n  - id: a\n    keywords: [x]\n    match: fuzzy\n    reply: {text: hi}\n",
	} {
		if err := rules.Validate(yamlValue(t, []byte(src))); err == nil {
			t.Errorf("%s: the rules schema accepts\n%s", name, src)
		}
	}
	if err := rules.Validate(yamlValue(t, []byte("rules:\n  - id: a\n    msgtype: miniprogrampage\n    reply: {transfer_customer_service: {}}\n"))); err != nil {
		t.Errorf("a msgtype check only warns about, and an empty transfer: %v", err)
	}
	tests := compileSchema(t, "tests")
	if err := tests.Validate(yamlValue(t, []byte("tests:\n  - name: a\n    text: hi\n    want: {rule: a, txt: hi}\n"))); err == nil {
		t.Error("the tests schema accepts an unknown field of want")
	}
	menu := compileSchema(t, "menu")
	if err := menu.Validate(yamlValue(t, []byte("button:\n  - name: a\n    sub_button:\n      - name: b\n        type: click\n        key: K\n        sub_button: [{name: c, type: click, key: K}]\n"))); err == nil {
		t.Error("the menu schema accepts three levels")
	}
}
