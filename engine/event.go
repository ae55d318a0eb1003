package engine

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Now and Time must tell business hours right in a bare container.
)

// DefaultLocation is the account time zone used when none is configured.
var DefaultLocation = mustLoadLocation("Asia/Shanghai")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// MsgTypes are the message types WeChat pushes today; "event" carries Events.
var MsgTypes = []string{"text", "image", "voice", "video", "shortvideo", "location", "link", "event"}

// Events are the events WeChat pushes today, spelled as WeChat spells them.
var Events = []string{"subscribe", "unsubscribe", "SCAN", "LOCATION", "CLICK", "VIEW",
	"scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
	"location_select", "view_miniprogram", "TEMPLATESENDJOBFINISH", "MASSSENDJOBFINISH"}

// Event is the envelope of one message or event pushed by WeChat. Field names
// are WeChat's XML element names, so a rule author can copy them from WeChat's
// documentation. Fields that a message type does not carry are zero.
//
// Every element of the incoming XML, known here or not, is also in Raw, keyed by
// its path: "Content", "ScanCodeInfo/ScanType",
// "SendPicsInfo/PicList/item[0]/PicMd5Sum". A field WeChat adds tomorrow is
// usable today as Raw["NewField"].
type Event struct {
	// Common to every push.
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string

	// Messages (MsgType other than event).
	MsgId        string
	MsgDataId    string
	Idx          int
	Content      string
	PicUrl       string
	MediaId      string
	MediaId16K   string
	Format       string
	Recognition  string
	ThumbMediaId string
	Location_X   float64
	Location_Y   float64
	Scale        int
	Label        string
	Title        string
	Description  string
	Url          string

	// Events (MsgType event).
	Event            string
	EventKey         string
	Ticket           string
	Latitude         float64
	Longitude        float64
	Precision        float64
	MenuId           string
	ScanCodeInfo     ScanCodeInfo
	SendPicsInfo     SendPicsInfo
	SendLocationInfo SendLocationInfo
	MsgID            string // capital D: template and mass-send job reports
	Status           string
	TotalCount       int
	FilterCount      int
	SentCount        int
	ErrorCount       int

	// Derived once by NewEvent.

	// Text is what the user said: Content for a text message, Recognition
	// (speech recognition) for a voice message, else empty.
	Text string
	// Scene is the QR-code scene: EventKey without "qrscene_" on subscribe,
	// EventKey itself on SCAN, else empty.
	Scene string
	// OpenID is the user (FromUserName).
	OpenID string
	// Account is the official account's original ID (ToUserName).
	Account string
	// Time is CreateTime in the account's time zone.
	Time time.Time

	// Raw holds every element of the push by path, as text.
	Raw map[string]string
}

// ScanCodeInfo is sent with the scancode_push and scancode_waitmsg menu events.
type ScanCodeInfo struct {
	ScanType   string // qrcode or barcode
	ScanResult string
}

// SendPicsInfo is sent with the pic_sysphoto, pic_photo_or_album and
// pic_weixin menu events.
type SendPicsInfo struct {
	Count   int
	PicList []PicItem
}

// PicItem is one photo of SendPicsInfo.
type PicItem struct {
	PicMd5Sum string
}

// SendLocationInfo is sent with the location_select menu event.
type SendLocationInfo struct {
	Location_X float64
	Location_Y float64
	Scale      int
	Label      string
	Poiname    string
}

// NewEvent builds the envelope from WeChat's fields, keyed by element path as
// described on [Event]. Time is set in loc, or in [DefaultLocation] when loc is
// nil. It fails only when a numeric field holds something that is not a number,
// naming the field.
//
// The map becomes the event's Raw, not a copy of it (a push's fields are
// decoded for it alone): the caller must not change it afterwards.
func NewEvent(fields map[string]string, loc *time.Location) (*Event, error) {
	if loc == nil {
		loc = DefaultLocation
	}
	raw := fields
	if raw == nil {
		raw = map[string]string{} // Raw is never nil
	}
	// Names and ids are trimmed (the official samples pad them with
	// newlines); what the user wrote, in Content and the like, is not.
	p := fieldParser{fields: raw}
	ev := &Event{
		ToUserName:   p.text("ToUserName"),
		FromUserName: p.text("FromUserName"),
		CreateTime:   p.int64("CreateTime"),
		MsgType:      p.text("MsgType"),
		MsgId:        p.text("MsgId"),
		MsgDataId:    raw["MsgDataId"],
		Idx:          p.int("Idx"),
		Content:      raw["Content"],
		PicUrl:       raw["PicUrl"],
		MediaId:      raw["MediaId"],
		MediaId16K:   raw["MediaId16K"],
		Format:       raw["Format"],
		Recognition:  raw["Recognition"],
		ThumbMediaId: raw["ThumbMediaId"],
		Location_X:   p.float("Location_X"),
		Location_Y:   p.float("Location_Y"),
		Scale:        p.int("Scale"),
		Label:        raw["Label"],
		Title:        raw["Title"],
		Description:  raw["Description"],
		Url:          raw["Url"],

		Event:       p.text("Event"),
		EventKey:    raw["EventKey"],
		Ticket:      raw["Ticket"],
		Latitude:    p.float("Latitude"),
		Longitude:   p.float("Longitude"),
		Precision:   p.float("Precision"),
		MenuId:      raw["MenuId"],
		MsgID:       p.text("MsgID"),
		Status:      raw["Status"],
		TotalCount:  p.int("TotalCount"),
		FilterCount: p.int("FilterCount"),
		SentCount:   p.int("SentCount"),
		ErrorCount:  p.int("ErrorCount"),

		ScanCodeInfo: ScanCodeInfo{
			ScanType:   raw["ScanCodeInfo/ScanType"],
			ScanResult: raw["ScanCodeInfo/ScanResult"],
		},
		SendPicsInfo: SendPicsInfo{Count: p.int("SendPicsInfo/Count")},
		SendLocationInfo: SendLocationInfo{
			Location_X: p.float("SendLocationInfo/Location_X"),
			Location_Y: p.float("SendLocationInfo/Location_Y"),
			Scale:      p.int("SendLocationInfo/Scale"),
			Label:      raw["SendLocationInfo/Label"],
			Poiname:    raw["SendLocationInfo/Poiname"],
		},
		Raw: raw,
	}
	// Only the photo events have a PicList: the others skip the lookups.
	for i := 0; p.has("SendPicsInfo/PicList/item[0]/PicMd5Sum"); i++ {
		sum, ok := raw["SendPicsInfo/PicList/item["+strconv.Itoa(i)+"]/PicMd5Sum"]
		if !ok {
			break
		}
		ev.SendPicsInfo.PicList = append(ev.SendPicsInfo.PicList, PicItem{PicMd5Sum: sum})
	}
	if ev.MsgId != "" {
		if _, err := strconv.ParseUint(strings.TrimSpace(ev.MsgId), 10, 64); err != nil {
			p.fail("MsgId", ev.MsgId, err)
		}
	}
	if ev.CreateTime < 0 && p.err == nil {
		p.err = fmt.Errorf("field CreateTime: %d is before 1970", ev.CreateTime)
	}
	if p.err != nil {
		return nil, p.err
	}

	switch ev.MsgType {
	case "text":
		ev.Text = ev.Content
	case "voice":
		ev.Text = ev.Recognition
	}
	switch strings.ToLower(ev.Event) {
	case "subscribe":
		ev.Scene = strings.TrimPrefix(ev.EventKey, "qrscene_")
	case "scan":
		ev.Scene = ev.EventKey
	}
	ev.OpenID = ev.FromUserName
	ev.Account = ev.ToUserName
	ev.Time = time.Unix(ev.CreateTime, 0).In(loc)
	return ev, nil
}

// fieldParser converts numeric fields and keeps the first failure, so that
// NewEvent reads as a list of fields rather than a list of error checks.
type fieldParser struct {
	fields map[string]string
	err    error
}

func (p *fieldParser) has(name string) bool {
	_, ok := p.fields[name]
	return ok
}

func (p *fieldParser) text(name string) string {
	return strings.TrimSpace(p.fields[name])
}

func (p *fieldParser) fail(name, value string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("field %s: %.40q is not a number: %w", name, value, err)
	}
}

func (p *fieldParser) int64(name string) int64 {
	s := p.text(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail(name, s, err)
	}
	return n
}

func (p *fieldParser) int(name string) int {
	return int(p.int64(name))
}

func (p *fieldParser) float(name string) float64 {
	s := p.text(name)
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.fail(name, s, err)
	}
	return f
}
