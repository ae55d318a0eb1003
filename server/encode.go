package server

import (
	"bytes"
	"encoding/xml"
	"fmt"
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

func cdataOf(s string) cdata { return cdata{Text: sanitize(s)} }

// EncodeReply writes reply as the passive reply XML to the push ev: addressed
// back to its sender, from the account, created at now. The elements are
// those engine.Schema gives the reply's kind, in its order.
func EncodeReply(reply *engine.Reply, ev *engine.Event, now time.Time) ([]byte, error) {
	s := reply.Schema()
	if s == nil {
		return nil, fmt.Errorf("unknown reply kind %q", reply.Kind)
	}
	var b bytes.Buffer
	w := replyWriter{enc: xml.NewEncoder(&b)}
	w.start("xml")
	w.text("ToUserName", ev.FromUserName)
	w.text("FromUserName", ev.ToUserName)
	w.element("CreateTime", now.Unix())
	w.text("MsgType", string(reply.Kind))
	switch {
	case s.Shape == engine.ShapeList:
		w.element(s.CountXML, len(reply.Items))
		w.start(s.XML)
		for _, item := range reply.Items {
			w.start("item")
			w.fields(s, item)
			w.end("item")
		}
		w.end(s.XML)
	case s.XML == "":
		w.fields(s, reply.Values)
	case written(s, reply.Values):
		w.start(s.XML)
		w.fields(s, reply.Values)
		w.end(s.XML)
	}
	w.end("xml")
	if w.err == nil {
		w.err = w.enc.Flush()
	}
	return b.Bytes(), w.err
}

// replyWriter writes elements through encoding/xml, keeping the first error.
type replyWriter struct {
	enc *xml.Encoder
	err error
}

func (w *replyWriter) start(name string) {
	if w.err == nil {
		w.err = w.enc.EncodeToken(xml.StartElement{Name: xml.Name{Local: name}})
	}
}

func (w *replyWriter) end(name string) {
	if w.err == nil {
		w.err = w.enc.EncodeToken(xml.EndElement{Name: xml.Name{Local: name}})
	}
}

func (w *replyWriter) element(name string, v any) {
	if w.err == nil {
		w.err = w.enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: name}})
	}
}

func (w *replyWriter) text(name, s string) { w.element(name, cdataOf(s)) }

// fields writes values, one per field of s, leaving out the empty ones the
// schema lets go.
func (w *replyWriter) fields(s *engine.KindSchema, values []string) {
	for i, f := range s.Fields {
		if v := values[i]; v != "" || !f.OmitEmpty {
			w.text(f.XML, v)
		}
	}
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
	f, err := DecodeFields(bytes.NewReader(body))
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
