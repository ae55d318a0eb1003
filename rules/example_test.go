package rules_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "rules")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(`
vars:
  shop: Blue Bottle Demo
rules:
  - id: welcome
    event: subscribe
    reply: { text: "Welcome to {{ .Vars.shop }}!" }
`), 0o644)

	res, err := rules.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	follow := engine.SampleEvent("event.subscribe", nil)
	d := res.RuleSet.Match(follow, engine.MatchOptions{})
	fmt.Println(d.Rule.ID, "->", d.Reply.Text())
	// Output:
	// welcome -> Welcome to Blue Bottle Demo!
}

func ExampleLoadFS_error() {
	folder := fstest.MapFS{"shop.yaml": {Data: []byte(`rules:
  - id: welcome
    when: Evnt == "subscribe"
    reply: { text: "Welcome!" }
  - id: price
    keywords: [price]
    reply: { image: {} }
`)}}

	_, err := rules.LoadFS(folder, "rules")
	fmt.Println(err)
	// Output:
	// rules/shop.yaml:3:11: rule "welcome": when: unknown name Evnt: did you mean Event? (1:1)
	//  | Evnt == "subscribe"
	//  | ^
	// rules/shop.yaml:7:21: rule "price": reply: image: media_id is required: the id of a file uploaded with WeChat's media upload API
}
