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
	// One lookup for each field the push has, rather than one for each
	// field an Event has: a push has a handful of them.
	ev := &Event{Raw: raw}
	// Of several fields that are not numbers, the error names the first
	// in eventFields, whatever order the map gives them in.
	var failed error
	failedAt := len(eventFields)
	for name, v := range raw {
		i, ok := eventFieldIndex[name]
		if !ok {
			continue
		}
		if err := eventFields[i].set(ev, v); err != nil && i < failedAt {
			failed, failedAt = notANumber(name, v, err), i
		}
	}
	// Only the photo events have a PicList: the others skip the lookups.
	if _, ok := raw["SendPicsInfo/PicList/item[0]/PicMd5Sum"]; ok {
		for i := 0; ; i++ {
			sum, ok := raw["SendPicsInfo/PicList/item["+strconv.Itoa(i)+"]/PicMd5Sum"]
			if !ok {
				break
			}
			ev.SendPicsInfo.PicList = append(ev.SendPicsInfo.PicList, PicItem{PicMd5Sum: sum})
		}
	}
	if ev.MsgId != "" && failed == nil {
		if _, err := strconv.ParseUint(ev.MsgId, 10, 64); err != nil {
			failed = notANumber("MsgId", ev.MsgId, err)
		}
	}
	if ev.CreateTime < 0 && failed == nil {
		failed = fmt.Errorf("field CreateTime: %d is before 1970", ev.CreateTime)
	}
	if failed != nil {
		return nil, failed
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

// eventField sets a field of Event from its text; the error is a number's
// that is not one.
type eventField struct {
	name string
	set  func(ev *Event, v string) error
}

// eventFields are the fields NewEvent sets, in the order that decides
// which of several fields that are not numbers its error names. Names and
// ids are trimmed (the official samples pad them with newlines); what the
// user wrote, in Content and the like, is not.
var eventFields = []eventField{
	{"ToUserName", func(ev *Event, v string) error { ev.ToUserName = strings.TrimSpace(v); return nil }},
	{"FromUserName", func(ev *Event, v string) error { ev.FromUserName = strings.TrimSpace(v); return nil }},
	{"CreateTime", func(ev *Event, v string) (err error) { ev.CreateTime, err = parseInt(v); return err }},
	{"MsgType", func(ev *Event, v string) error { ev.MsgType = strings.TrimSpace(v); return nil }},
	{"MsgId", func(ev *Event, v string) error { ev.MsgId = strings.TrimSpace(v); return nil }},
	{"MsgDataId", func(ev *Event, v string) error { ev.MsgDataId = v; return nil }},
	{"Idx", func(ev *Event, v string) error { n, err := parseInt(v); ev.Idx = int(n); return err }},
	{"Content", func(ev *Event, v string) error { ev.Content = v; return nil }},
	{"PicUrl", func(ev *Event, v string) error { ev.PicUrl = v; return nil }},
	{"MediaId", func(ev *Event, v string) error { ev.MediaId = v; return nil }},
	{"MediaId16K", func(ev *Event, v string) error { ev.MediaId16K = v; return nil }},
	{"Format", func(ev *Event, v string) error { ev.Format = v; return nil }},
	{"Recognition", func(ev *Event, v string) error { ev.Recognition = v; return nil }},
	{"ThumbMediaId", func(ev *Event, v string) error { ev.ThumbMediaId = v; return nil }},
	{"Location_X", func(ev *Event, v string) (err error) { ev.Location_X, err = parseFloat(v); return err }},
	{"Location_Y", func(ev *Event, v string) (err error) { ev.Location_Y, err = parseFloat(v); return err }},
	{"Scale", func(ev *Event, v string) error { n, err := parseInt(v); ev.Scale = int(n); return err }},
	{"Label", func(ev *Event, v string) error { ev.Label = v; return nil }},
	{"Title", func(ev *Event, v string) error { ev.Title = v; return nil }},
	{"Description", func(ev *Event, v string) error { ev.Description = v; return nil }},
	{"Url", func(ev *Event, v string) error { ev.Url = v; return nil }},

	{"Event", func(ev *Event, v string) error { ev.Event = strings.TrimSpace(v); return nil }},
	{"EventKey", func(ev *Event, v string) error { ev.EventKey = v; return nil }},
	{"Ticket", func(ev *Event, v string) error { ev.Ticket = v; return nil }},
	{"Latitude", func(ev *Event, v string) (err error) { ev.Latitude, err = parseFloat(v); return err }},
	{"Longitude", func(ev *Event, v string) (err error) { ev.Longitude, err = parseFloat(v); return err }},
	{"Precision", func(ev *Event, v string) (err error) { ev.Precision, err = parseFloat(v); return err }},
	{"MenuId", func(ev *Event, v string) error { ev.MenuId = v; return nil }},
	{"MsgID", func(ev *Event, v string) error { ev.MsgID = strings.TrimSpace(v); return nil }},
	{"Status", func(ev *Event, v string) error { ev.Status = v; return nil }},
	{"TotalCount", func(ev *Event, v string) error { n, err := parseInt(v); ev.TotalCount = int(n); return err }},
	{"FilterCount", func(ev *Event, v string) error { n, err := parseInt(v); ev.FilterCount = int(n); return err }},
	{"SentCount", func(ev *Event, v string) error { n, err := parseInt(v); ev.SentCount = int(n); return err }},
	{"ErrorCount", func(ev *Event, v string) error { n, err := parseInt(v); ev.ErrorCount = int(n); return err }},

	{"ScanCodeInfo/ScanType", func(ev *Event, v string) error { ev.ScanCodeInfo.ScanType = v; return nil }},
	{"ScanCodeInfo/ScanResult", func(ev *Event, v string) error { ev.ScanCodeInfo.ScanResult = v; return nil }},
	{"SendPicsInfo/Count", func(ev *Event, v string) error { n, err := parseInt(v); ev.SendPicsInfo.Count = int(n); return err }},
	{"SendLocationInfo/Location_X", func(ev *Event, v string) (err error) { ev.SendLocationInfo.Location_X, err = parseFloat(v); return err }},
	{"SendLocationInfo/Location_Y", func(ev *Event, v string) (err error) { ev.SendLocationInfo.Location_Y, err = parseFloat(v); return err }},
	{"SendLocationInfo/Scale", func(ev *Event, v string) error { n, err := parseInt(v); ev.SendLocationInfo.Scale = int(n); return err }},
	{"SendLocationInfo/Label", func(ev *Event, v string) error { ev.SendLocationInfo.Label = v; return nil }},
	{"SendLocationInfo/Poiname", func(ev *Event, v string) error { ev.SendLocationInfo.Poiname = v; return nil }},
}

// eventFieldIndex finds a field in eventFields by name.
var eventFieldIndex = func() map[string]int {
	index := make(map[string]int, len(eventFields))
	for i, f := range eventFields {
		index[f.name] = i
	}
	return index
}()

func notANumber(name, value string, err error) error {
	return fmt.Errorf("field %s: %.40q is not a number: %w", name, strings.TrimSpace(value), err)
}

// parseInt reads a whole number, trimmed; none is 0.
func parseInt(v string) (int64, error) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// parseFloat reads a number, trimmed; none is 0.
func parseFloat(v string) (float64, error) {
	if v = strings.TrimSpace(v); v == "" {
		return 0, nil
	}
	return strconv.ParseFloat(v, 64)
}
