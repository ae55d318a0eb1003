package wxpanel_test

import (
	"fmt"

	"github.com/wxreply/wxreply/wxpanel"
)

// A panel with a follow reply and one keyword rule whose second reply is a
// video: the video cannot carry over, and the warning points at the comment
// in its place.
func ExampleConvert() {
	a, err := wxpanel.Parse([]byte(`{
	  "is_add_friend_reply_open": 1,
	  "is_autoreply_open": 1,
	  "add_friend_autoreply_info": {"type": "text", "content": "欢迎关注！"},
	  "keyword_autoreply_info": {"list": [{
	    "rule_name": "拉花",
	    "reply_mode": "reply_all",
	    "keyword_list_info": [{"type": "text", "match_mode": "contain", "content": "拉花"}],
	    "reply_list_info": [
	      {"type": "text", "content": "周末有拉花课"},
	      {"type": "video", "content": "http://mpvideo.qpic.cn/demo.mp4"}
	    ]
	  }]}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := wxpanel.Convert(a, wxpanel.Options{Schema: "../schema"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(f.Rules))
	for _, w := range f.Warnings {
		fmt.Println(w)
	}
	// Output:
	// # yaml-language-server: $schema=../schema/rules.json
	// # The account's auto-reply from the admin panel (自动回复), written by
	// # wxreply import.
	// #
	// # Once the account enables a server URL, WeChat stops answering with the panel's
	// # auto-reply and forwards every message here. These rules answer as the panel
	// # did. Keyword rules are tried from the top down, in the order WeChat's API
	// # lists them: WeChat does not document which rule answers when several match, so
	// # put the one you want first. Every comment that starts with "Left out" or "A
	// # temporary media id" asks for a change; wxreply import listed each as a
	// # warning.
	//
	// rules:
	//   # --- Follow reply (被关注回复) -------------------------------------------
	//
	//   # The panel's follow reply (被关注回复): the answer to a follow.
	//   - id: panel-follow
	//     description: The panel's follow reply (被关注回复)
	//     event: subscribe
	//     reply:
	//       text: 欢迎关注！
	//
	//   # --- Keyword replies (关键词回复) ----------------------------------------
	//
	//   # Panel keyword rule 1, "拉花".
	//   - id: panel-1
	//     description: 拉花 (panel keyword rule 1)
	//     keywords: [拉花]
	//     match: contains
	//     # Left out: the panel's video, http://mpvideo.qpic.cn/demo.mp4. The API
	//     # gives a panel video as an address, and a video reply needs the media_id of
	//     # an uploaded video: upload it as permanent material (素材管理) and add
	//     # it here:
	//     #  - video: {media_id: <its media_id>, title: <a title>}
	//     reply:
	//       text: 周末有拉花课
	// panel.yaml:30:5: warning: panel rule "拉花" (rule panel-1): its reply 2 is a video, which the API gives as an address (URL), not a media_id: left out; upload the video as permanent material and add a video reply where the comment says
}
