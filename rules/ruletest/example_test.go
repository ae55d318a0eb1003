package ruletest_test

import (
	"fmt"
	"os"
	"testing/fstest"

	"github.com/wxreply/wxreply/rules/ruletest"
)

func ExampleRunFS() {
	folder := fstest.MapFS{
		"shop.yaml": {Data: []byte(`rules:
  - id: welcome-window
    event: subscribe
    when: Scene == "window"
    reply: { text: "Welcome! You are at our door." }
  - id: welcome
    event: subscribe
    reply: { text: "Welcome to Blue Bottle!" }
`)},
		"shop_test.yaml": {Data: []byte(`tests:
  - name: window follower
    event: {Event: subscribe, EventKey: qrscene_window}
    want: {rule: welcome-window, text_contains: door}
  - name: door follower
    event: {Event: subscribe, EventKey: qrscene_door}
    want: {rule: welcome-window}
`)},
	}
	rep, err := ruletest.RunFS(os.Stdout, ruletest.Options{}, folder, "rules")
	fmt.Println("invalid:", err != nil, "ok:", rep.OK())
	// Output:
	// rules/shop_test.yaml:7:12: "door follower": rule: want "welcome-window", got "welcome" (rules/shop.yaml:6:5)
	//   want:
	//     rule: welcome-window
	//   got:
	//     rule: welcome (rules/shop.yaml:6:5)
	//     text:
	//       Welcome to Blue Bottle!
	//   why: welcome-window (rules/shop.yaml:2:5) did not match: when: Scene == "window" is false
	// 1 passed, 1 failed
	// coverage: 2 of 2 rules answered a case (100.0%)
	// invalid: false ok: false
}
