package engine_test

import (
	"errors"
	"testing"

	"github.com/wxreply/wxreply/engine"
)

// TestEmptyReplyIsSkipped: a reply whose text renders blank (a voice note
// with no recognised text, echoed) would make WeChat show the user an error;
// the rule is skipped instead and the next one answers.
func TestEmptyReplyIsSkipped(t *testing.T) {
	tmpl := func(src string) *engine.Template {
		t.Helper()
		tt, err := engine.CompileTemplate("t", src)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	echo := &engine.Rule{ID: "echo", MsgType: "voice", Replies: []*engine.ReplyTemplate{engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": tmpl("{{ .Recognition }}")})}}
	image := &engine.Rule{ID: "image", MsgType: "voice", Replies: []*engine.ReplyTemplate{engine.NewReplyTemplate(engine.KindImage, map[string]*engine.Template{"media_id": tmpl(" {{ .Raw.MediaId16K }} ")})}}
	fallback := &engine.Rule{ID: "fallback", Replies: []*engine.ReplyTemplate{engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": tmpl("Sorry?")})}}
	rs := engine.NewRuleSet([]*engine.Rule{echo, image, fallback}, nil, "v")

	silent, err := engine.NewEvent(map[string]string{"MsgType": "voice", "MsgId": "1", "Recognition": "  ", "MediaId16K": ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := rs.Match(silent, engine.MatchOptions{})
	if d.Rule == nil || d.Rule.ID != "fallback" || len(d.Errors) != 2 {
		t.Fatalf("answered by %v with errors %v; want fallback after two skipped rules", d.Rule, d.Errors)
	}
	for _, e := range d.Errors {
		if !errors.Is(e, engine.ErrEmptyReply) {
			t.Errorf("error %v is not ErrEmptyReply", e)
		}
	}

	spoken, _ := engine.NewEvent(map[string]string{"MsgType": "voice", "MsgId": "2", "Recognition": "hello"}, nil)
	if d := rs.Match(spoken, engine.MatchOptions{}); d.Rule == nil || d.Rule.ID != "echo" || d.Reply.Text() != "hello" {
		t.Errorf("a recognised voice note: %+v", d)
	}
}

// TestNewEventTrimsNames: WeChat's samples pad elements with newlines; the
// names rules compare must not carry them, while Content keeps its spaces.
func TestNewEventTrimsNames(t *testing.T) {
	ev, err := engine.NewEvent(map[string]string{
		"ToUserName": " gh_1\n", "FromUserName": "\no1 ", "MsgType": "  text\n", "MsgId": " 42 ",
		"Content": "  hi  ",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.MsgType != "text" || ev.ToUserName != "gh_1" || ev.FromUserName != "o1" || ev.MsgId != "42" || ev.Text != "  hi  " {
		t.Errorf("%q %q %q %q %q", ev.MsgType, ev.ToUserName, ev.FromUserName, ev.MsgId, ev.Text)
	}
	click, _ := engine.NewEvent(map[string]string{"MsgType": "event", "Event": " CLICK\n"}, nil)
	if click.Event != "CLICK" {
		t.Errorf("Event %q", click.Event)
	}
}
