package wxapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

const openID = "oUser_0123456789abcdefghijklm"

func TestCustomSendJSON(t *testing.T) {
	fake, c, _ := setup(t)
	fake.SendLimit = 10
	cases := []struct {
		name  string
		reply *engine.Reply
		want  string
	}{
		{"text", engine.NewReply(engine.KindText, map[string]string{"text": "Hi <b> & 你好"}),
			`{"msgtype":"text","text":{"content":"Hi <b> & 你好"},"touser":"` + openID + `"}`},
		{"image", engine.NewReply(engine.KindImage, map[string]string{"media_id": "M1"}),
			`{"image":{"media_id":"M1"},"msgtype":"image","touser":"` + openID + `"}`},
		{"voice", engine.NewReply(engine.KindVoice, map[string]string{"media_id": "V1"}),
			`{"msgtype":"voice","touser":"` + openID + `","voice":{"media_id":"V1"}}`},
		{"video", engine.NewReply(engine.KindVideo, map[string]string{"media_id": "MV", "title": "T"}),
			`{"msgtype":"video","touser":"` + openID + `","video":{"media_id":"MV","title":"T"}}`},
		{"music", engine.NewReply(engine.KindMusic, map[string]string{"title": "Song", "music_url": "http://m/a.mp3", "thumb_media_id": "TH"}),
			`{"msgtype":"music","music":{"musicurl":"http://m/a.mp3","thumb_media_id":"TH","title":"Song"},"touser":"` + openID + `"}`},
		{"news of two sends the first", engine.NewReply(engine.KindNews, nil,
			map[string]string{"title": "One", "url": "https://e.com/1?a=1&b=2", "pic_url": "https://e.com/1.png", "description": "d"},
			map[string]string{"title": "Two"}),
			`{"msgtype":"news","news":{"articles":[{"description":"d","picurl":"https://e.com/1.png","title":"One","url":"https://e.com/1?a=1&b=2"}]},"touser":"` + openID + `"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.CustomSend(context.Background(), openID, tc.reply); err != nil {
				t.Fatalf("CustomSend: %v", err)
			}
			if got := string(fake.LastBody(wxapitest.CustomSendPath)); got != tc.want {
				t.Errorf("sent\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if n := len(fake.Sent(openID)); n != len(cases) {
		t.Errorf("the fake kept %d messages, want %d", n, len(cases))
	}
}

func TestCustomSendRefusals(t *testing.T) {
	fake, c, _ := setup(t)
	fake.SendLimit = 2
	ctx := context.Background()
	text := engine.NewReply(engine.KindText, map[string]string{"text": "hello"})
	for i := range 2 {
		if err := c.CustomSend(ctx, openID, text); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	err := c.CustomSend(ctx, openID, text)
	if !errors.Is(err, wxapi.ErrTooMany) || errors.Is(err, wxapi.ErrWindowClosed) {
		t.Fatalf("third send: %v, want ErrTooMany", err)
	}
	if !strings.Contains(err.Error(), "45047") || !strings.Contains(err.Error(), "fewer replies") {
		t.Errorf("error %q does not say the code and what to do", err)
	}
	calls := fake.Calls(wxapitest.CustomSendPath)
	fake.CloseWindow("oGone")
	err = c.CustomSend(ctx, "oGone", text)
	if !errors.Is(err, wxapi.ErrWindowClosed) {
		t.Fatalf("send to a closed window: %v, want ErrWindowClosed", err)
	}
	if got := fake.Calls(wxapitest.CustomSendPath) - calls; got != 1 {
		t.Errorf("45015 made %d calls, want 1 (no retry)", got)
	}
	if err := c.Typing(ctx, "oGone", wxapi.Typing); !errors.Is(err, wxapi.ErrWindowClosed) {
		t.Errorf("typing to a closed window: %v, want ErrWindowClosed", err)
	}
	err = c.CustomSend(ctx, openID, engine.NewReply(engine.KindTransferService, nil))
	if !errors.Is(err, wxapi.ErrNotSendable) {
		t.Errorf("transfer_customer_service: %v, want ErrNotSendable", err)
	}
}

func TestTyping(t *testing.T) {
	fake, c, _ := setup(t)
	var log bytes.Buffer
	fake.Log = &log
	ctx := context.Background()
	if err := c.Typing(ctx, openID, wxapi.Typing); err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	json.Unmarshal(fake.LastBody(wxapitest.CustomTypingPath), &body)
	if body["touser"] != openID || body["command"] != "Typing" {
		t.Errorf("typing body %v", body)
	}
	if err := c.Typing(ctx, openID, "Dancing"); err == nil {
		t.Error("Typing accepted a command WeChat does not know")
	}
	if !strings.Contains(log.String(), "/cgi-bin/message/custom/typing") || !strings.Contains(log.String(), "Typing → ok") {
		t.Errorf("the fake's log does not show the call:\n%s", log.String())
	}
}
