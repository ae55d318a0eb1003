package wxmenu_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/wxmenu"
)

const crossMenu = `button:
  - name: 关于
    sub_button:
      - name: 营业时间
        type: click
        key: HOURS
      - name: 联系我们
        type: click
        key: CONTACT
      - name: 网站
        type: view
        url: https://example.com/
  - name: 扫码
    type: scancode_waitmsg
    key: SCAN_COUPON
  - name: 文章
    type: article_id
    article_id: ARTICLE
`

const crossRules = `rules:
  - id: hours
    event: CLICK
    event_key: HOURS
    reply: { text: "9-21" }
  - id: scan-as-click
    event: CLICK
    event_key: SCAN_COUPON
    reply: { text: coupon }
  - id: old-button
    event: click
    event_key: [HOURS, GONE]
    reply: { text: gone }
  - id: qr-scene
    event: SCAN
    event_key: "100023"
    reply: { text: scene }
  - id: any-click
    priority: -100
    event: CLICK
    reply: { text: "?" }
`

func TestCheckRules(t *testing.T) {
	f, err := wxmenu.Parse("menu.yaml", []byte(crossMenu))
	if err != nil {
		t.Fatal(err)
	}
	res, err := rules.LoadFS(fstest.MapFS{"shop.yaml": {Data: []byte(crossRules)}}, "rules")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range wxmenu.CheckRules(f, res.RuleSet) {
		got = append(got, w.Warning())
	}
	want := []string{
		`menu.yaml:9:14: warning: button 1.2 "联系我们": no rule answers key CONTACT (the CLICK push of a click button)`,
		`menu.yaml:15:10: warning: button 2 "扫码": no rule answers key SCAN_COUPON (the scancode_waitmsg push of a scancode_waitmsg button): rule "scan-as-click" has event CLICK, not scancode_waitmsg`,
		`rules/shop.yaml:6:5: warning: rule "scan-as-click": event_key SCAN_COUPON: no button of menu.yaml sends a CLICK push with it`,
		`rules/shop.yaml:10:5: warning: rule "old-button": event_key GONE: no button of menu.yaml sends a click push with it`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
