package server_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
)

var sender = &engine.Event{ToUserName: "gh_5e8a1c2f9b3d", FromUserName: "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A"}

// TestEncodeReplyRoundTrip: every kind, written and read back, is the same reply.
func TestEncodeReplyRoundTrip(t *testing.T) {
	type m = map[string]string
	for _, want := range []*engine.Reply{
		engine.NewReply(engine.KindText, m{"text": "hello\nworld"}),
		engine.NewReply(engine.KindImage, m{"media_id": "IMG"}),
		engine.NewReply(engine.KindVoice, m{"media_id": "VOICE"}),
		engine.NewReply(engine.KindVideo, m{"media_id": "VID", "title": "t", "description": "d"}),
		engine.NewReply(engine.KindMusic, m{"title": "t", "description": "d", "music_url": "u", "hq_music_url": "hq", "thumb_media_id": "TH"}),
		engine.NewReply(engine.KindNews, nil, m{"title": "a", "description": "b", "pic_url": "c", "url": "d"}, m{"title": "e", "url": "f"}),
		engine.NewReply(engine.KindTransferService, m{"kf_account": "kf@gh"}),
		engine.NewReply(engine.KindTransferService, nil),
	} {
		body, err := server.EncodeReply(want, sender, testNow)
		if err != nil {
			t.Fatal(err)
		}
		got, err := server.ParseReply(body)
		if err != nil {
			t.Fatalf("%s: %v\n%s", want.Kind, err, body)
		}
		if got.String() != want.String() {
			t.Errorf("%s: read back\n%s\nwant\n%s\nXML: %s", want.Kind, got, want, body)
		}
	}
}

func TestEncodeReplyDropsWhatXMLCannotCarry(t *testing.T) {
	body, err := server.EncodeReply(engine.NewReply(engine.KindText, map[string]string{"text": "a\x00b\x01c\x1bd\xffe\uFFFEf"}), sender, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, err := server.ParseReply(body)
	if err != nil {
		t.Fatalf("%v\n%q", err, body)
	}
	if got.Text() != "abcdef" {
		t.Errorf("text %q, want %q", got.Text(), "abcdef")
	}
}

// FuzzEncodeReply: whatever a rule renders, the reply parses and carries the
// text, less only what XML cannot hold.
func FuzzEncodeReply(f *testing.F) {
	for _, s := range []string{"hello", "a]]>b", "</Content>", "\x00", "中文🧋", "\r\n", "]]]]><![CDATA[>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		body, err := server.EncodeReply(engine.NewReply(engine.KindText, map[string]string{"text": text}), sender, testNow)
		if err != nil {
			t.Fatal(err)
		}
		got, err := server.ParseReply(body)
		if err != nil {
			t.Fatalf("%q: the reply does not parse: %v\n%q", text, err, body)
		}
		want := xmlText(text)
		if got.Text() != want {
			t.Errorf("%q: read back %q, want %q", text, got.Text(), want)
		}
	})
}

// xmlText is what survives a trip through an XML document: valid characters
// only, with CR and CRLF read as LF.
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000) {
			continue
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", "\n"), "\r", "\n")
}

// FuzzDecodeFields: no body makes the decoder panic, and whatever it accepts
// survives EncodeFields and a second decode unchanged.
func FuzzDecodeFields(f *testing.F) {
	for _, seed := range []string{
		"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content></xml>",
		"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList></SendPicsInfo></xml>",
		`<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><xml>&b;</xml>`,
		"<xml><a><![CDATA[x]]]]><![CDATA[>y]]></a></xml>",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := server.DecodeFields(strings.NewReader(string(body)))
		if err != nil {
			return
		}
		again, err := server.DecodeFields(strings.NewReader(string(server.EncodeFields(fields))))
		if err != nil {
			t.Fatalf("re-encoded fields do not decode: %v", err)
		}
		for k, v := range fields {
			if again[k] != xmlText(v) && again[k] != v {
				t.Errorf("field %s: %q became %q", k, v, again[k])
			}
		}
	})
}
