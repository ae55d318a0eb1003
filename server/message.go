package server

import (
	"strconv"
	"strings"
	"time"
)

// Message is a text or an event as a person describes one: what the
// commands and the admin page build a push from, in WeChat's fields.
type Message struct {
	To, From string    // ToUserName and FromUserName
	Time     time.Time // CreateTime
	MsgID    string    // a text's MsgId; none when ""

	Text string // a text message saying Text, when not ""; else an event:

	Event string // none when "": the fields common to all, for the caller to add the rest
	Key   string // EventKey
	// Scene is a QR code's scene, which WeChat sends in EventKey as
	// qrscene_X when the scan makes a follower (subscribe), and as X
	// alone when a follower scans (SCAN). It wins over Key.
	Scene string
}

// Fields is the push's fields, keyed as DecodeFields reads them and
// engine.NewEvent takes them.
func (m Message) Fields() map[string]string {
	fields := map[string]string{
		"ToUserName":   m.To,
		"FromUserName": m.From,
		"CreateTime":   strconv.FormatInt(m.Time.Unix(), 10),
	}
	switch {
	case m.Text != "":
		fields["MsgType"], fields["Content"] = "text", m.Text
		if m.MsgID != "" {
			fields["MsgId"] = m.MsgID
		}
		return fields
	case m.Event == "":
		return fields
	}
	key := m.Key
	if m.Scene != "" {
		key = m.Scene
		if strings.EqualFold(m.Event, "subscribe") {
			key = "qrscene_" + m.Scene
		}
	}
	fields["MsgType"], fields["Event"], fields["EventKey"] = "event", m.Event, key
	return fields
}
