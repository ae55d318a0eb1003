package wxmenu_test

import (
	"fmt"

	"github.com/wxreply/wxreply/wxmenu"
)

// Every problem of a menu file, with its position.
func ExampleParse_error() {
	src := `button:
  - name: 关于我们
    sub_button:
      - name: 营业时间
        type: clik
        key: MENU_OPENING_HOURS
      - name: 会员中心
        type: view
  - name: 今日推荐咖啡
    type: click
    key: MENU_TODAY_SPECIAL
`
	_, err := wxmenu.Parse("menu.yaml", []byte(src))
	fmt.Println(err)
	// Output:
	// menu.yaml:5:15: button 1.1 "营业时间": type "clik" is not a menu button type: did you mean "click"?
	// menu.yaml:7:9: button 1.2 "会员中心": a view button needs url
	// menu.yaml:9:11: button 2 "今日推荐咖啡": name is 18 bytes: a menu bar button's name may have at most 16 (UTF-8: a Chinese character takes 3)
}

// What pushing a menu would change in the live one.
func ExampleDiff() {
	live, _ := wxmenu.FromJSON([]byte(`{"button":[{"type":"click","name":"营业时间","key":"MENU_HOURS","sub_button":[]}],"menuid":208396938}`))
	file, _ := wxmenu.Parse("menu.yaml", []byte("button:\n  - name: 营业时间\n    type: click\n    key: MENU_OPENING_HOURS\n"))
	fmt.Print(wxmenu.Diff("live", live, file.Name, file.Menu))
	// Output:
	// --- live
	// +++ menu.yaml
	// @@ -1,4 +1,4 @@
	//  button:
	//    - name: 营业时间
	//      type: click
	// -    key: MENU_HOURS
	// +    key: MENU_OPENING_HOURS
}
