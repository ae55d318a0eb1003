package ruletest_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wxreply/wxreply/rules/ruletest"
)

// TestWhyTellsMissFromOrder: "matched first" only when the rule wanted would
// have answered too; otherwise why it did not match.
func TestWhyTellsMissFromOrder(t *testing.T) {
	folder := fstest.MapFS{
		"shop.yaml": {Data: []byte(`rules:
  - { id: hours, keywords: [hours], reply: { text: "9 to 5" } }
  - { id: wifi, keywords: [wifi], reply: { text: "BlueBottle-Guest" } }
  - { id: any-hours, keywords: [hours, open], reply: { text: "open" } }
`)},
		"shop_test.yaml": {Data: []byte(`tests:
  - name: wifi is not about hours
    text: hours
    want: { rule: wifi }
  - name: any-hours loses on order
    text: hours
    want: { rule: any-hours }
`)},
	}
	var out bytes.Buffer
	rep, err := ruletest.RunFS(&out, ruletest.Options{}, folder, "rules")
	if err != nil || rep.OK() {
		t.Fatalf("err %v, report OK %v:\n%s", err, rep.OK(), &out)
	}
	for _, want := range []string{
		`why: wifi (rules/shop.yaml:3:5) did not match: keywords (contains): "hours" matches none of ["wifi"]`,
		`why: hours (rules/shop.yaml:2:5) matched first: it has the same priority and comes before any-hours in file order`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks\n%s\n\n%s", want, &out)
		}
	}
}
