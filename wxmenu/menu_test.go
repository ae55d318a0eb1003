package wxmenu_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/wxmenu"
)

// oneButton is a menu with one menu bar button whose lines are given; the
// first line is at line 2, column 5.
func oneButton(lines ...string) string {
	return "button:\n  - " + strings.Join(lines, "\n    ") + "\n"
}

// oneSub is a menu with one menu bar button (line 2) that opens a sub-menu
// with one button whose lines are given; the first is at line 4, column 9.
func oneSub(lines ...string) string {
	return "button:\n  - name: 关于\n    sub_button:\n      - " + strings.Join(lines, "\n        ") + "\n"
}

// buttons is a menu with n click buttons, each on three lines from line 2.
func buttons(n int) string {
	var b strings.Builder
	b.WriteString("button:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: B%d\n    type: click\n    key: K%d\n", i+1, i+1)
	}
	return b.String()
}

// subs is a menu with one menu bar button opening n click buttons, each on
// three lines from line 4.
func subs(n int) string {
	var b strings.Builder
	b.WriteString("button:\n  - name: 关于\n    sub_button:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - name: S%d\n        type: click\n        key: K%d\n", i+1, i+1)
	}
	return b.String()
}

var (
	cjk15 = "一二三四五"                    // 15 bytes
	cjk60 = strings.Repeat("一二三四五", 4) // 60 bytes
	url24 = "https://example.com/abc/" // 24 bytes
)

func urlOf(n int) string { return url24 + strings.Repeat("x", n-len(url24)) }

// TestValidate holds each limit just inside (no error) and just outside
// (the error, with its position).
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // errors, in order; none for a valid menu
	}{
		{"one button", buttons(1), nil},
		{"three buttons", buttons(3), nil},
		{"four buttons", buttons(4),
			[]string{"m.yaml:11:5: 4 buttons: the menu bar holds at most 3"}},
		{"no buttons", "button: []\n",
			[]string{"m.yaml:1:9: the menu has no buttons: give 1 to 3 under button"}},
		{"no button key", "# nothing\n{}\n",
			[]string{"m.yaml:2:1: the menu has no buttons: give 1 to 3 under button"}},
		{"five sub-buttons", subs(5), nil},
		{"six sub-buttons", subs(6),
			[]string{`m.yaml:19:9: button 1 "关于": 6 sub-menu buttons: a sub-menu holds at most 5`}},
		{"empty sub-menu", "button:\n  - name: 关于\n    sub_button: []\n",
			[]string{`m.yaml:2:5: button 1 "关于": no type: give one of click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, view_limited, article_id, article_view_limited, miniprogram, or 1 to 5 buttons under sub_button`}},

		{"menu bar name of 16 bytes", oneButton("name: "+cjk15+"a", "type: click", "key: K"), nil},
		{"menu bar name of 17 bytes", oneButton("name: "+cjk15+"ab", "type: click", "key: K"),
			[]string{`m.yaml:2:11: button 1 "一二三四五ab": name is 17 bytes: a menu bar button's name may have at most 16 (UTF-8: a Chinese character takes 3)`}},
		{"menu bar name of 18 bytes, 6 characters", oneButton("name: 一二三四五六", "type: click", "key: K"),
			[]string{`m.yaml:2:11: button 1 "一二三四五六": name is 18 bytes: a menu bar button's name may have at most 16 (UTF-8: a Chinese character takes 3)`}},
		{"sub-menu name of 60 bytes", oneSub("name: "+cjk60, "type: click", "key: K"), nil},
		{"sub-menu name of 61 bytes", oneSub("name: "+cjk60+"a", "type: click", "key: K"),
			[]string{`m.yaml:4:15: button 1.1 "` + cjk60 + `a": name is 61 bytes: a sub-menu button's name may have at most 60 (UTF-8: a Chinese character takes 3)`}},
		{"no name", oneButton("type: click", "key: K"),
			[]string{`m.yaml:2:5: button 1: no name: every button has one`}},
		{"blank name", oneButton(`name: " "`, "type: click", "key: K"),
			[]string{`m.yaml:2:11: button 1 " ": no name: every button has one`}},

		{"key of 128 bytes", oneButton("name: A", "type: click", "key: "+strings.Repeat("K", 128)), nil},
		{"key of 129 bytes", oneButton("name: A", "type: click", "key: "+strings.Repeat("K", 129)),
			[]string{`m.yaml:4:10: button 1 "A": key is 129 bytes: at most 128`}},
		{"sub-menu key of 129 bytes", oneSub("name: A", "type: pic_weixin", "key: "+strings.Repeat("K", 129)),
			[]string{`m.yaml:6:14: button 1.1 "A": key is 129 bytes: at most 128`}},
		{"url of 1024 bytes", oneButton("name: A", "type: view", "url: "+urlOf(1024)), nil},
		{"url of 1025 bytes", oneButton("name: A", "type: view", "url: "+urlOf(1025)),
			[]string{`m.yaml:4:10: button 1 "A": url is 1025 bytes: at most 1024`}},
		{"url without scheme", oneButton("name: A", "type: view", "url: www.example.com/a"),
			[]string{`m.yaml:4:10: button 1 "A": url "www.example.com/a": want a full http:// or https:// address`}},

		// Each type with the fields it needs, then without them.
		{"click", oneButton("name: A", "type: click", "key: K"), nil},
		{"click without key", oneButton("name: A", "type: click"),
			[]string{`m.yaml:2:5: button 1 "A": a click button needs key`}},
		{"view", oneButton("name: A", "type: view", "url: https://example.com/"), nil},
		{"view without url", oneButton("name: A", "type: view"),
			[]string{`m.yaml:2:5: button 1 "A": a view button needs url`}},
		{"scancode_push", oneSub("name: A", "type: scancode_push", "key: K"), nil},
		{"scancode_waitmsg without key", oneSub("name: A", "type: scancode_waitmsg"),
			[]string{`m.yaml:4:9: button 1.1 "A": a scancode_waitmsg button needs key`}},
		{"pic_sysphoto without key", oneSub("name: A", "type: pic_sysphoto", `key: ""`),
			[]string{`m.yaml:4:9: button 1.1 "A": a pic_sysphoto button needs key`}},
		{"pic_photo_or_album", oneSub("name: A", "type: pic_photo_or_album", "key: K"), nil},
		{"location_select without key", oneSub("name: A", "type: location_select"),
			[]string{`m.yaml:4:9: button 1.1 "A": a location_select button needs key`}},
		{"media_id", oneButton("name: A", "type: media_id", "media_id: MEDIA"), nil},
		{"media_id without media_id", oneButton("name: A", "type: media_id"),
			[]string{`m.yaml:2:5: button 1 "A": a media_id button needs media_id`}},
		{"article_id", oneButton("name: A", "type: article_id", "article_id: ARTICLE"), nil},
		{"article_view_limited without article_id", oneButton("name: A", "type: article_view_limited"),
			[]string{`m.yaml:2:5: button 1 "A": an article_view_limited button needs article_id`}},
		{"miniprogram", oneButton("name: A", "type: miniprogram", "appid: wx286b93c14bbf93aa", "pagepath: pages/lunar/index", "url: http://mp.weixin.qq.com"), nil},
		{"miniprogram without pagepath and url", oneButton("name: A", "type: miniprogram", "appid: wx286b93c14bbf93aa"),
			[]string{
				`m.yaml:2:5: button 1 "A": a miniprogram button needs pagepath`,
				`m.yaml:2:5: button 1 "A": a miniprogram button needs url`,
			}},
		{"field its type does not use", oneButton("name: A", "type: click", "key: K", "url: https://example.com/"),
			[]string{`m.yaml:5:10: button 1 "A": url is not used by a click button: remove it`}},
		{"unknown type", oneButton("name: A", "type: clik", "key: K"),
			[]string{`m.yaml:3:11: button 1 "A": type "clik" is not a menu button type: did you mean "click"?`}},
		{"unknown type, far off", oneButton("name: A", "type: text", "key: K"),
			[]string{`m.yaml:3:11: button 1 "A": type "text" is not a menu button type: want one of click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, view_limited, article_id, article_view_limited, miniprogram`}},
		{"no type in a sub-menu", oneSub("name: A", "key: K"),
			[]string{`m.yaml:4:9: button 1.1 "A": no type: give one of click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, view_limited, article_id, article_view_limited, miniprogram`}},
		{"type and sub_button", "button:\n  - name: A\n    type: click\n    sub_button:\n      - {name: B, type: click, key: K}\n",
			[]string{`m.yaml:3:11: button 1 "A": has both type and sub_button: a button that opens a sub-menu has no type of its own; remove type`}},
		{"three levels", oneSub("name: A", "sub_button:", "  - {name: B, type: click, key: K}"),
			[]string{`m.yaml:6:11: button 1.1 "A": a sub-menu button cannot open a sub-menu of its own: menus have two levels`}},

		// Decoding: strict fields, types, YAML syntax, and every error at once.
		{"unknown field", oneButton("name: A", "type: click", "kye: K"),
			[]string{
				`m.yaml:2:5: button 1 "A": a click button needs key`,
				`m.yaml:4:5: unknown field "kye": did you mean "key"?`,
			}},
		{"unknown top-level field", "buttons:\n  - {name: A, type: click, key: K}\n",
			[]string{
				`m.yaml:1:1: unknown field "buttons": did you mean "button"?`,
				`m.yaml:1:1: the menu has no buttons: give 1 to 3 under button`,
			}},
		{"sub_button not a list", oneButton("name: A", "sub_button: none"),
			[]string{
				`m.yaml:2:5: button 1 "A": no type: give one of click, view, scancode_push, scancode_waitmsg, pic_sysphoto, pic_photo_or_album, pic_weixin, location_select, media_id, view_limited, article_id, article_view_limited, miniprogram, or 1 to 5 buttons under sub_button`,
				`m.yaml:3:17: want a list of buttons, got text "none"`,
			}},
		{"YAML syntax", "button:\n  - name: A\n    type: click: x\n",
			[]string{`m.yaml:3: mapping values are not allowed in this context: a value with ": " in it needs quotes`}},
		{"not a mapping", "- name: A\n",
			[]string{`m.yaml:1:1: want a mapping with the keys button, got a list`}},
		{"empty file", "",
			[]string{`m.yaml:1:1: the menu file is empty: want button: with 1 to 3 buttons`}},
		{"several problems", "button:\n  - name: 一二三四五六\n    type: click\n  - name: B\n    type: view\n    url: ftp://example.com/\n",
			[]string{
				`m.yaml:2:5: button 1 "一二三四五六": a click button needs key`,
				`m.yaml:2:11: button 1 "一二三四五六": name is 18 bytes: a menu bar button's name may have at most 16 (UTF-8: a Chinese character takes 3)`,
				`m.yaml:6:10: button 2 "B": url "ftp://example.com/": want a full http:// or https:// address`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := wxmenu.Parse("m.yaml", []byte(tt.src))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected errors:\n%v\nin:\n%s", err, tt.src)
				}
				if f.Menu == nil || len(f.Menu.Buttons) == 0 {
					t.Error("no menu")
				}
				return
			}
			var errs rules.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v (%T), want rules.Errors\nin:\n%s", err, err, tt.src)
			}
			if f != nil {
				t.Error("a File for an invalid menu")
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s\nin:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"), tt.src)
			}
		})
	}
}

// Validate checks a menu that has no file, such as one read from WeChat.
func TestValidateWithoutFile(t *testing.T) {
	m := &wxmenu.Menu{Buttons: []wxmenu.Button{{Name: "A", Type: "click"}}}
	err := m.Validate()
	if err == nil || err.Error() != `menu: button 1 "A": a click button needs key` {
		t.Errorf("err = %v", err)
	}
	m.Buttons[0].Key = "K"
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

const docMenuJSON = `{"button":[
 {"type":"click","name":"今日歌曲","key":"V1001_TODAY_MUSIC","sub_button":[]},
 {"name":"菜单","sub_button":[
   {"type":"view","name":"搜索","url":"http://www.soso.com/","sub_button":[]},
   {"type":"miniprogram","name":"wxa","url":"http://mp.weixin.qq.com","appid":"wx286b93c14bbf93aa","pagepath":"pages/lunar/index","sub_button":[]},
   {"type":"click","name":"赞一下我们","key":"V1001_GOOD","sub_button":[]}]}],
 "menuid":208396938}`

// A menu as menu/get returns it reads back, prints as the file format, and
// that file parses to the same menu.
func TestJSONAndFormatRoundTrip(t *testing.T) {
	m, err := wxmenu.FromJSON([]byte(docMenuJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	want := `button:
  - name: 今日歌曲
    type: click
    key: V1001_TODAY_MUSIC
  - name: 菜单
    sub_button:
      - name: 搜索
        type: view
        url: http://www.soso.com/
      - name: wxa
        type: miniprogram
        url: http://mp.weixin.qq.com
        appid: wx286b93c14bbf93aa
        pagepath: pages/lunar/index
      - name: 赞一下我们
        type: click
        key: V1001_GOOD
`
	if got := string(wxmenu.Format(m)); got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	f, err := wxmenu.Parse("get.yaml", wxmenu.Format(m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Menu, m) {
		t.Errorf("parsed back:\n%#v\nwant:\n%#v", f.Menu, m)
	}
	// The JSON for menu/create has no empty fields and no empty sub_button.
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"sub_button":[]`) || strings.Contains(string(data), `"key":""`) {
		t.Errorf("create JSON %s", data)
	}
	back, _ := wxmenu.FromJSON(data)
	if !reflect.DeepEqual(back, m) {
		t.Errorf("JSON round trip:\n%#v\nwant:\n%#v", back, m)
	}
	if b, s := m.Count(); b != 2 || s != 3 {
		t.Errorf("Count = %d, %d", b, s)
	}
}

func TestFormatQuotes(t *testing.T) {
	m := &wxmenu.Menu{Buttons: []wxmenu.Button{{Name: "yes", Type: "click", Key: "a: b"}}}
	f, err := wxmenu.Parse("q.yaml", wxmenu.Format(m))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Menu, m) {
		t.Errorf("%s parsed as %#v", wxmenu.Format(m), f.Menu)
	}
}

func TestFromJSONError(t *testing.T) {
	if _, err := wxmenu.FromJSON([]byte(`{"button": 3}`)); err == nil || !strings.HasPrefix(err.Error(), "menu JSON: ") {
		t.Errorf("err = %v", err)
	}
}

func TestDiff(t *testing.T) {
	live, _ := wxmenu.FromJSON([]byte(docMenuJSON))
	file, _ := wxmenu.FromJSON([]byte(docMenuJSON))
	if d := wxmenu.Diff("live", live, "menu.yaml", file); d != "" {
		t.Errorf("diff of equal menus:\n%s", d)
	}
	file.Buttons[1].SubButtons[2].Key = "V1001_LIKE"
	file.Buttons = append(file.Buttons, wxmenu.Button{Name: "会员", Type: "view", URL: "https://example.com/member"})
	want := `--- live
+++ menu.yaml
@@ -14,4 +14,7 @@
         pagepath: pages/lunar/index
       - name: 赞一下我们
         type: click
-        key: V1001_GOOD
+        key: V1001_LIKE
+  - name: 会员
+    type: view
+    url: https://example.com/member
`
	if d := wxmenu.Diff("live", live, "menu.yaml", file); d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}

	// Two changes far apart make two hunks.
	file, _ = wxmenu.FromJSON([]byte(docMenuJSON))
	file.Buttons[0].Name = "今日"
	file.Buttons[1].SubButtons[2].Name = "赞"
	want = `--- live
+++ menu.yaml
@@ -1,5 +1,5 @@
 button:
-  - name: 今日歌曲
+  - name: 今日
     type: click
     key: V1001_TODAY_MUSIC
   - name: 菜单
@@ -12,6 +12,6 @@
         url: http://mp.weixin.qq.com
         appid: wx286b93c14bbf93aa
         pagepath: pages/lunar/index
-      - name: 赞一下我们
+      - name: 赞
         type: click
         key: V1001_GOOD
`
	if d := wxmenu.Diff("live", live, "menu.yaml", file); d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}

	// No live menu: everything is added.
	small := &wxmenu.Menu{Buttons: []wxmenu.Button{{Name: "A", Type: "click", Key: "K"}}}
	want = `--- live (none)
+++ menu.yaml
@@ -0,0 +1,4 @@
+button:
+  - name: A
+    type: click
+    key: K
`
	if d := wxmenu.Diff("live (none)", nil, "menu.yaml", small); d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
}

// The create example of WeChat's documentation, pasted as it is (with its
// tabs), is a valid menu file: JSON is YAML.
func TestDocumentationJSONIsAMenuFile(t *testing.T) {
	src := "{\n     \"button\":[\n     {\t\n          \"type\":\"click\",\n          \"name\":\"今日歌曲\",\n          \"key\":\"V1001_TODAY_MUSIC\"\n      },\n" +
		"      {\n           \"name\":\"菜单\",\n           \"sub_button\":[\n           {\t\n               \"type\":\"view\",\n               \"name\":\"搜索\",\n               \"url\":\"http://www.soso.com/\"\n            },\n" +
		"            {\n                 \"type\":\"miniprogram\",\n                 \"name\":\"wxa\",\n                 \"url\":\"http://mp.weixin.qq.com\",\n                 \"appid\":\"wx286b93c14bbf93aa\",\n                 \"pagepath\":\"pages/lunar/index\"\n             },\n" +
		"            {\n               \"type\":\"click\",\n               \"name\":\"赞一下我们\",\n               \"key\":\"V1001_GOOD\"\n            }]\n       }]\n }\n"
	f, err := wxmenu.Parse("doc.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := wxmenu.FromJSON([]byte(docMenuJSON))
	if !reflect.DeepEqual(f.Menu, want) {
		t.Errorf("got:\n%s\nwant:\n%s", wxmenu.Format(f.Menu), wxmenu.Format(want))
	}
	// Positions work in JSON too.
	_, err = wxmenu.Parse("doc.json", []byte(strings.Replace(src, `"key":"V1001_GOOD"`, `"kye":"V1001_GOOD"`, 1)))
	if err == nil || !strings.Contains(err.Error(), `doc.json:26:16: unknown field "kye": did you mean "key"?`) {
		t.Errorf("err = %v", err)
	}
}
