package wxpanel

import (
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FuzzScalar checks that every string the panel may hold reads back as
// itself from what the rule file says: as a value, as a block, and as an
// item of a flow list beside another.
func FuzzScalar(f *testing.F) {
	for _, s := range []string{
		"", "plain", "营业时间", "a: b", "#tag", "- item", "'quoted'", `"double"`, "yes", "no", "~", "null",
		"1.5", "0x1F", "a, b", "[x]", "{y}", "多行\n文字", "ends with newline\n", "two\n\n", " leading", "trailing ",
		"tab\there", "\tlead", "bell\a", "line\u2028sep", "nel\u0085", "\ufeffbom", "@at", "`tick", "%pct", "!tag", "&anchor", "*alias",
		"|pipe", ">fold", "? key", "  \n  ", "a\n b", "{{ .Vars }}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // the API's JSON is UTF-8: encoding/json makes it so
		}
		var got struct {
			V string   `yaml:"v"`
			L []string `yaml:"l"`
			B struct {
				Text string `yaml:"text"`
			} `yaml:"b"`
		}
		d := &doc{}
		d.line(0, "v: %s", scalar(s, false))
		d.line(0, "l: %s", flowList([]string{s, "x"}))
		d.line(0, "b:")
		d.keyValue(2, "", "text", s)
		src := d.b.String()
		if err := yaml.Unmarshal([]byte(src), &got); err != nil {
			t.Fatalf("%q: the YAML does not parse: %v\n%s", s, err, src)
		}
		if got.V != s || len(got.L) != 2 || got.L[0] != s || got.L[1] != "x" || got.B.Text != s {
			t.Fatalf("%q reads back as %q, %q, %q from:\n%s", s, got.V, got.L, got.B.Text, src)
		}
		if strings.Count(src, "\n") != d.lines {
			t.Fatalf("counted %d lines, wrote %d", d.lines, strings.Count(src, "\n"))
		}
	})
}

func TestSlug(t *testing.T) {
	for name, want := range map[string]string{
		"营业时间": "", "WiFi": "wifi", "Q&A: 会员 {卡}": "q-a", "WiFi 密码 2": "wifi-2", "  Hello, World!  ": "hello-world",
		strings.Repeat("abc ", 20): "abc-abc-abc-abc-abc-abc-abc-ab",
	} {
		if got := slug(name); got != want {
			t.Errorf("slug(%q) = %q, want %q", name, got, want)
		}
	}
}
