package server

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlatFieldsAgreesWithScanner: what flatFields takes, the scanner reads
// the same; what it leaves, the scanner reads (or refuses) as it would
// have anyway.
func TestFlatFieldsAgreesWithScanner(t *testing.T) {
	docs := map[string]string{
		"empty element":          "<xml><ToUserName></ToUserName></xml>",
		"empty CDATA":            "<xml><Content><![CDATA[]]></Content></xml>",
		"'>' in text":            "<xml><Content>a>b</Content></xml>",
		"']]>' in text":          "<xml><Content>a]]>b</Content></xml>",
		"entity":                 "<xml><Content>a&amp;b</Content></xml>",
		"CR in CDATA":            "<xml><Content><![CDATA[a\r\nb]]></Content></xml>",
		"CR between elements":    "<xml>\r\n<A>1</A></xml>",
		"trailing space":         "<xml><A>1</A></xml> \n\t",
		"trailing text":          "<xml><A>1</A></xml>x",
		"duplicate":              "<xml><A>1</A><A>2</A></xml>",
		"self-closing":           "<xml><A/></xml>",
		"attribute":              "<xml><A b=\"1\">x</A></xml>",
		"nested":                 "<xml><A><B>1</B></A></xml>",
		"item":                   "<xml><item>1</item></xml>",
		"xml-prefixed name":      "<xml><xmlA>1</xmlA></xml>",
		"digit first":            "<xml><1A>1</1A></xml>",
		"mismatched end":         "<xml><A>1</B></xml>",
		"CDATA then text":        "<xml><A><![CDATA[x]]>y</A></xml>",
		"invalid UTF-8":          "<xml><A>\xff</A></xml>",
		"control character":      "<xml><A>\x01</A></xml>",
		"unterminated":           "<xml><A>1</A>",
		"byte-order mark":        "\xEF\xBB\xBF<xml><A>1</A></xml>",
		"space in tag":           "<xml><A >1</A ></xml>",
		"comment":                "<xml><!-- c --><A>1</A></xml>",
		"many elements":          "<xml>" + strings.Repeat("<A>1</A>", 2) + "</xml>",
		"too many elements":      "<xml>" + manyElements(maxElements) + "</xml>",
		"just under the maximum": "<xml>" + manyElements(maxElements-1) + "</xml>",
	}
	fixtures, err := filepath.Glob("testdata/fixtures/*.xml")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range fixtures {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = string(b)
	}
	taken := map[string]bool{}
	for name, doc := range docs {
		body := []byte(doc)
		want, wantErr := scanFields(body, doc, map[string]string{})
		flat := map[string]string{}
		if flatFields(body, doc, flat) {
			taken[name] = true
			if wantErr != nil || !maps.Equal(flat, want) {
				t.Errorf("%s: flatFields read %v; the scanner %v, %v", name, flat, want, wantErr)
			}
		}
		got, err := readFields(body)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || !maps.Equal(got, want) {
			t.Errorf("%s: readFields %v, %v; the scanner %v, %v", name, got, err, want, wantErr)
		}
	}
	for _, name := range []string{"text.xml", "event_click.xml", "empty element", "empty CDATA", "'>' in text", "trailing space", "just under the maximum"} {
		if !taken[name] {
			t.Errorf("flatFields left %s to the scanner", name)
		}
	}
}

func manyElements(n int) string {
	var b strings.Builder
	for i := range n - 1 { // <xml> is one
		fmt.Fprintf(&b, "<E%d>1</E%d>", i, i)
	}
	return b.String()
}
