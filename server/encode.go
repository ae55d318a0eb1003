package server

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxreply/wxreply/engine"
)

// Success is the body that tells WeChat "no reply": it then neither shows the
// user an error nor retries.
var Success = []byte("success")

// cdata is a text element written as <![CDATA[...]]>, as WeChat writes them.
// encoding/xml splits a "]]>" inside the text, so no content can break out.
type cdata struct {
	Text string `xml:",cdata"`
}

// EncodeReply writes reply as the passive reply XML to the push ev: addressed
// back to its sender, from the account, created at now. The elements are
// those engine.Schema gives the reply's kind, in its order. The XML is
// appended into one buffer sized for it: element names are the schema's
// own, and every value goes through appendCDATA, which escapes as
// encoding/xml does.
func EncodeReply(reply *engine.Reply, ev *engine.Event, now time.Time) ([]byte, error) {
	s := reply.Schema()
	if s == nil {
		return nil, fmt.Errorf("unknown reply kind %q", reply.Kind)
	}
	size := 256 + len(ev.FromUserName) + len(ev.ToUserName)
	for _, v := range reply.Values {
		size += 32 + len(v)
	}
	for _, item := range reply.Items {
		for _, v := range item {
			size += 32 + len(v)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, "<xml>"...)
	b = appendCDATA(b, "ToUserName", ev.FromUserName)
	b = appendCDATA(b, "FromUserName", ev.ToUserName)
	b = appendInt(b, "CreateTime", now.Unix())
	b = appendCDATA(b, "MsgType", string(reply.Kind))
	switch {
	case s.Shape == engine.ShapeList:
		b = appendInt(b, s.CountXML, int64(len(reply.Items)))
		b = append(append(append(b, '<'), s.XML...), '>')
		for _, item := range reply.Items {
			b = append(b, "<item>"...)
			b = appendFields(b, s, item)
			b = append(b, "</item>"...)
		}
		b = append(append(append(b, "</"...), s.XML...), '>')
	case s.XML == "":
		b = appendFields(b, s, reply.Values)
	case written(s, reply.Values):
		b = append(append(append(b, '<'), s.XML...), '>')
		b = appendFields(b, s, reply.Values)
		b = append(append(append(b, "</"...), s.XML...), '>')
	}
	return append(b, "</xml>"...), nil
}

// appendFields appends values, one per field of s, leaving out the empty
// ones the schema lets go.
func appendFields(b []byte, s *engine.KindSchema, values []string) []byte {
	for i, f := range s.Fields {
		if v := values[i]; v != "" || !f.OmitEmpty {
			b = appendCDATA(b, f.XML, v)
		}
	}
	return b
}

// cdataEscape ends a CDATA section before a "]]>" in the text and starts
// another, as encoding/xml does, so that no text can close it early.
const cdataEscape = "]]]]><![CDATA[>"

// appendCDATA appends <name><![CDATA[s]]></name>, s less what XML cannot
// carry; an empty s is <name></name>, as encoding/xml writes it.
func appendCDATA(b []byte, name, s string) []byte {
	b = append(append(append(b, '<'), name...), '>')
	if s = sanitize(s); s != "" {
		b = append(b, "<![CDATA["...)
		for {
			before, after, found := strings.Cut(s, "]]>")
			if !found {
				break
			}
			b = append(append(b, before...), cdataEscape...)
			s = after
		}
		b = append(append(b, s...), "]]>"...)
	}
	return append(append(append(b, "</"...), name...), '>')
}

func appendInt(b []byte, name string, n int64) []byte {
	b = append(append(append(b, '<'), name...), '>')
	b = strconv.AppendInt(b, n, 10)
	return append(append(append(b, "</"...), name...), '>')
}

// written reports whether fields would write anything: a kind whose fields
// are all left out leaves out the element around them too.
func written(s *engine.KindSchema, values []string) bool {
	for i, f := range s.Fields {
		if values[i] != "" || !f.OmitEmpty {
			return true
		}
	}
	return false
}

// sanitize drops what XML 1.0 cannot carry (control characters, invalid
// UTF-8), so that a rule echoing what a user sent still yields a reply WeChat
// can parse.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if !isXMLChar(r) {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !isXMLChar(r) {
			return -1
		}
		return r
	}, s)
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// ParseReply reads a passive reply, as EncodeReply writes it, back into an
// engine.Reply; `wxreply send` prints replies with it. The body "success"
// (or an empty one) is no reply: nil, nil.
func ParseReply(body []byte) (*engine.Reply, error) {
	if len(bytes.TrimSpace(body)) == 0 || string(body) == string(Success) {
		return nil, nil
	}
	f, err := decodeFields(body)
	if err != nil {
		return nil, err
	}
	r := &engine.Reply{Kind: engine.Kind(f["MsgType"])}
	s := r.Schema()
	if s == nil {
		return nil, fmt.Errorf("%w: reply MsgType %q", ErrNotWeChatXML, r.Kind)
	}
	values := func(prefix string) []string {
		v := make([]string, len(s.Fields))
		for i, field := range s.Fields {
			v[i] = f[prefix+field.XML]
		}
		return v
	}
	switch {
	case s.Shape == engine.ShapeList:
		for i := 0; ; i++ {
			item := fmt.Sprintf("%s/item[%d]/", s.XML, i)
			if _, ok := f[item+s.Fields[0].XML]; !ok {
				break
			}
			r.Items = append(r.Items, values(item))
		}
	case s.XML == "":
		r.Values = values("")
	default:
		r.Values = values(s.XML + "/")
	}
	return r, nil
}
