package engine_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// header is the part every push carries.
func header(fields map[string]string) map[string]string {
	all := map[string]string{
		"ToUserName":   "gh_5e8a1c2f9b3d",
		"FromUserName": "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A",
		"CreateTime":   "1718170001",
	}
	maps.Copy(all, fields)
	return all
}

func TestNewEvent_derived(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		text   string
		scene  string
	}{
		{"text", map[string]string{"MsgType": "text", "Content": "你好，营业时间？"}, "你好，营业时间？", ""},
		{"voice is its recognition", map[string]string{"MsgType": "voice", "MediaId": "m", "Recognition": "明天天气怎么样"}, "明天天气怎么样", ""},
		{"voice without recognition", map[string]string{"MsgType": "voice", "MediaId": "m"}, "", ""},
		{"image", map[string]string{"MsgType": "image", "PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": "m"}, "", ""},
		{"event ignores a stray Content", map[string]string{"MsgType": "event", "Event": "CLICK", "EventKey": "K", "Content": "hi"}, "", ""},
		{"subscribe from a QR code", map[string]string{"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_123"}, "", "123"},
		{"subscribe from search", map[string]string{"MsgType": "event", "Event": "subscribe", "EventKey": ""}, "", ""},
		{"subscribe without EventKey", map[string]string{"MsgType": "event", "Event": "subscribe"}, "", ""},
		{"SCAN", map[string]string{"MsgType": "event", "Event": "SCAN", "EventKey": "123"}, "", "123"},
		{"SCAN in lower case", map[string]string{"MsgType": "event", "Event": "scan", "EventKey": "123"}, "", "123"},
		{"CLICK", map[string]string{"MsgType": "event", "Event": "CLICK", "EventKey": "123"}, "", ""},
		{"unsubscribe", map[string]string{"MsgType": "event", "Event": "unsubscribe", "EventKey": "qrscene_123"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := engine.NewEvent(header(tt.fields), nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Text != tt.text {
				t.Errorf("Text = %q, want %q", ev.Text, tt.text)
			}
			if ev.Scene != tt.scene {
				t.Errorf("Scene = %q, want %q", ev.Scene, tt.scene)
			}
			if ev.OpenID != "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A" || ev.OpenID != ev.FromUserName {
				t.Errorf("OpenID = %q, FromUserName = %q", ev.OpenID, ev.FromUserName)
			}
			if ev.Account != "gh_5e8a1c2f9b3d" || ev.Account != ev.ToUserName {
				t.Errorf("Account = %q, ToUserName = %q", ev.Account, ev.ToUserName)
			}
			if ev.MsgType != tt.fields["MsgType"] || ev.Event != tt.fields["Event"] || ev.EventKey != tt.fields["EventKey"] {
				t.Errorf("MsgType, Event, EventKey = %q, %q, %q; want them as sent", ev.MsgType, ev.Event, ev.EventKey)
			}
		})
	}
}

func TestNewEvent_time(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		loc     *time.Location
		wantLoc *time.Location
		want    string
	}{
		{"nil is the default zone", nil, engine.DefaultLocation, "2024-06-12 13:26:41 +08:00"},
		{"UTC", time.UTC, time.UTC, "2024-06-12 05:26:41 +00:00"},
		{"New York", newYork, newYork, "2024-06-12 01:26:41 -04:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := engine.NewEvent(header(map[string]string{"MsgType": "text", "Content": "hi"}), tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if ev.CreateTime != 1718170001 || ev.Time.Unix() != 1718170001 {
				t.Errorf("CreateTime = %d, Time.Unix() = %d, want 1718170001", ev.CreateTime, ev.Time.Unix())
			}
			if got := ev.Time.Format("2006-01-02 15:04:05 -07:00"); got != tt.want {
				t.Errorf("Time = %s, want %s", got, tt.want)
			}
			if ev.Time.Location() != tt.wantLoc {
				t.Errorf("Time is in %v, want %v", ev.Time.Location(), tt.wantLoc)
			}
		})
	}
	if got := engine.DefaultLocation.String(); got != "Asia/Shanghai" {
		t.Errorf("DefaultLocation = %s, want Asia/Shanghai", got)
	}
}

func TestNewEvent_numbers(t *testing.T) {
	ev, err := engine.NewEvent(header(map[string]string{
		"MsgType":                                "event",
		"Event":                                  "pic_sysphoto",
		"Idx":                                    "2",
		"Location_X":                             "31.230416",
		"Location_Y":                             "121.473701",
		"Scale":                                  " 15 ", // WeChat's XML may pad numbers
		"Latitude":                               "-33.856",
		"Longitude":                              "151.215",
		"Precision":                              "65.000000",
		"SendPicsInfo/Count":                     "2",
		"SendPicsInfo/PicList/item[0]/PicMd5Sum": "46db78df94f91d366709232d36470c19",
		"SendPicsInfo/PicList/item[1]/PicMd5Sum": "9f5e5d7e0c3c4b2a8e1d6f7a8b9c0d1e",
		"SendLocationInfo/Location_X":            "39.908823",
		"SendLocationInfo/Location_Y":            "116.397470",
		"SendLocationInfo/Scale":                 "16",
		"SendLocationInfo/Poiname":               "天安门广场",
		"TotalCount":                             "100",
		"FilterCount":                            "80",
		"SentCount":                              "75",
		"ErrorCount":                             "5",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Idx", ev.Idx, 2},
		{"Location_X", ev.Location_X, 31.230416},
		{"Location_Y", ev.Location_Y, 121.473701},
		{"Scale", ev.Scale, 15},
		{"Latitude", ev.Latitude, -33.856},
		{"Longitude", ev.Longitude, 151.215},
		{"Precision", ev.Precision, 65.0},
		{"SendPicsInfo.Count", ev.SendPicsInfo.Count, 2},
		{"len(SendPicsInfo.PicList)", len(ev.SendPicsInfo.PicList), 2},
		{"SendLocationInfo.Location_X", ev.SendLocationInfo.Location_X, 39.908823},
		{"SendLocationInfo.Location_Y", ev.SendLocationInfo.Location_Y, 116.397470},
		{"SendLocationInfo.Scale", ev.SendLocationInfo.Scale, 16},
		{"SendLocationInfo.Poiname", ev.SendLocationInfo.Poiname, "天安门广场"},
		{"TotalCount", ev.TotalCount, 100},
		{"FilterCount", ev.FilterCount, 80},
		{"SentCount", ev.SentCount, 75},
		{"ErrorCount", ev.ErrorCount, 5},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	want := []engine.PicItem{{PicMd5Sum: "46db78df94f91d366709232d36470c19"}, {PicMd5Sum: "9f5e5d7e0c3c4b2a8e1d6f7a8b9c0d1e"}}
	for i := range min(len(want), len(ev.SendPicsInfo.PicList)) {
		if ev.SendPicsInfo.PicList[i] != want[i] {
			t.Errorf("PicList[%d] = %+v, want %+v", i, ev.SendPicsInfo.PicList[i], want[i])
		}
	}
}

func TestNewEvent_missingNumbersAreZero(t *testing.T) {
	ev, err := engine.NewEvent(map[string]string{"MsgType": "text", "Content": "hi", "Scale": ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.CreateTime != 0 || ev.Scale != 0 || ev.Latitude != 0 || ev.SendPicsInfo.Count != 0 || ev.SendPicsInfo.PicList != nil {
		t.Errorf("numbers not sent should be zero, got %+v", ev)
	}
}

func TestNewEvent_raw(t *testing.T) {
	fields := header(map[string]string{
		"MsgType":                "event",
		"Event":                  "scancode_push",
		"EventKey":               "SCAN_1",
		"ScanCodeInfo/ScanType":  "qrcode",
		"NewField":               "tomorrow's field",
		"Nested/Unknown/item[0]": "deep",
	})
	ev, err := engine.NewEvent(fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(ev.Raw, fields) {
		t.Errorf("Raw = %v, want every field: %v", ev.Raw, fields)
	}
	if ev.Raw["NewField"] != "tomorrow's field" || ev.Raw["Nested/Unknown/item[0]"] != "deep" {
		t.Errorf("Raw lost unknown elements: %v", ev.Raw)
	}
	if ev.ScanCodeInfo.ScanType != "qrcode" {
		t.Errorf("ScanCodeInfo.ScanType = %q, want qrcode", ev.ScanCodeInfo.ScanType)
	}
}

// TestNewEvent_rawIsNeverNil: an event built from no fields still has a Raw
// that a rule check may copy and add to.
func TestNewEvent_rawIsNeverNil(t *testing.T) {
	ev, err := engine.NewEvent(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Raw == nil {
		t.Error("Raw is nil")
	}
}

func TestNewEvent_notANumber(t *testing.T) {
	tests := []struct {
		field, value string
	}{
		{"CreateTime", "abc"},
		{"CreateTime", "1718170001.5"},
		{"Location_X", "north"},
		{"Scale", "1.5"},
		{"Latitude", "31,23"},
		{"SendPicsInfo/Count", "two"},
		{"SendLocationInfo/Location_Y", "east"},
		{"TotalCount", "lots"},
	}
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.value, func(t *testing.T) {
			fields := header(map[string]string{"MsgType": "text", "Content": "hi"})
			fields[tt.field] = tt.value
			ev, err := engine.NewEvent(fields, nil)
			if err == nil {
				t.Fatalf("NewEvent = %+v, want an error", ev)
			}
			if ev != nil {
				t.Errorf("NewEvent returned an event with its error: %+v", ev)
			}
			for _, want := range []string{"field " + tt.field + ":", strconv.Quote(tt.value)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if !errors.Is(err, strconv.ErrSyntax) {
				t.Errorf("error %q does not wrap strconv.ErrSyntax", err)
			}
		})
	}
}

func TestSampleEvent(t *testing.T) {
	for name, fields := range engine.SampleFields {
		t.Run(name, func(t *testing.T) {
			ev := engine.SampleEvent(name, time.UTC)
			if ev == nil {
				t.Fatal("SampleEvent = nil")
			}
			if ev.MsgType != fields["MsgType"] || ev.Event != fields["Event"] {
				t.Errorf("MsgType, Event = %q, %q; want %q, %q", ev.MsgType, ev.Event, fields["MsgType"], fields["Event"])
			}
			if want, _ := strings.CutPrefix(name, "event."); want != ev.MsgType && want != ev.Event {
				t.Errorf("sample %q is a %s %s push", name, ev.MsgType, ev.Event)
			}
			if ev.OpenID == "" || ev.Account == "" || ev.CreateTime == 0 || ev.Time.Location() != time.UTC {
				t.Errorf("sample lacks the common header: OpenID %q, Account %q, Time %v", ev.OpenID, ev.Account, ev.Time)
			}
		})
	}
	if ev := engine.SampleEvent("event.nope", nil); ev != nil {
		t.Errorf("SampleEvent(event.nope) = %+v, want nil", ev)
	}
}

// TestNewEvent_everyField: every field of Event that an element of the
// push fills is set from it, so that a field added to Event without a line
// in NewEvent's table fails here.
func TestNewEvent_everyField(t *testing.T) {
	derived := map[string]bool{"Text": true, "Scene": true, "OpenID": true, "Account": true, "Time": true, "Raw": true, "SendPicsInfo/PicList": true}
	fields := header(nil)
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			path := prefix + f.Name
			switch {
			case derived[path]:
			case f.Type.Kind() == reflect.Struct:
				walk(path+"/", f.Type)
			case f.Type.Kind() == reflect.String:
				fields[path] = "v-" + path
			default: // a number
				fields[path] = "7"
			}
		}
	}
	walk("", reflect.TypeFor[engine.Event]())
	fields["CreateTime"], fields["MsgId"] = "1718170001", "42"
	ev, err := engine.NewEvent(maps.Clone(fields), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := reflect.ValueOf(*ev)
	for path, text := range fields {
		v := got
		for _, name := range strings.Split(path, "/") {
			v = v.FieldByName(name)
		}
		if fmt.Sprint(v.Interface()) != text {
			t.Errorf("%s = %v, want %s", path, v.Interface(), text)
		}
	}
}
