package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
)

// expectedFixtures reads testdata/fixtures/expected.json: for each fixture,
// every element path and its text.
func expectedFixtures(t *testing.T) map[string]map[string]string {
	t.Helper()
	data, err := os.ReadFile("testdata/fixtures/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]string
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

func decodeFixture(t *testing.T, name string) *engine.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata/fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fields, err := server.DecodeFields(f)
	if err != nil {
		t.Fatalf("DecodeFields: %v", err)
	}
	ev, err := engine.NewEvent(fields, nil)
	if err != nil {
		t.Fatalf("NewEvent: %v", err)
	}
	return ev
}

// TestFixturesDecode checks that every fixture becomes an Event whose raw
// fields are exactly the documented values.
func TestFixturesDecode(t *testing.T) {
	want := expectedFixtures(t)
	files, _ := filepath.Glob("testdata/fixtures/*.xml")
	if len(files) != len(want) {
		t.Fatalf("%d fixtures but %d in expected.json", len(files), len(want))
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t.Run(name, func(t *testing.T) {
			ev := decodeFixture(t, name)
			if !maps.Equal(ev.Raw, want[name]) {
				t.Errorf("Raw:\n got %v\nwant %v", ev.Raw, want[name])
			}
		})
	}
}

// TestFixturesMatchARuleOnEachField checks the typed envelope: for each field
// of each fixture, a condition written the way a rule author would write it
// (WeChat's names, nested blocks with dots, numbers as numbers) holds, and so
// does the same test on Raw.
func TestFixturesMatchARuleOnEachField(t *testing.T) {
	want := expectedFixtures(t)
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t.Run(name, func(t *testing.T) {
			ev := decodeFixture(t, name)
			var conds []string
			for _, path := range slices.Sorted(maps.Keys(want[name])) {
				value := want[name][path]
				conds = append(conds,
					fmt.Sprintf("%s == %s", exprPath(path), exprLiteral(path, value)),
					fmt.Sprintf("Raw[%q] == %q", path, value))
			}
			for _, src := range conds {
				cond, err := engine.CompileCondition(src, nil)
				if err != nil {
					t.Errorf("%s: %v", src, err)
					continue
				}
				rule := &engine.Rule{ID: "field", When: cond, Replies: []*engine.ReplyTemplate{textReply(t, "ok")}}
				d := engine.NewRuleSet([]*engine.Rule{rule}, nil, "test").Match(ev, engine.MatchOptions{})
				if d.Rule == nil {
					t.Errorf("rule `%s` did not match (errors: %v)", src, d.Errors)
				}
			}
		})
	}
}

var itemIndex = regexp.MustCompile(`/item\[(\d+)\]`)

// exprPath writes a fixture path as an expression:
// SendPicsInfo/PicList/item[1]/PicMd5Sum → SendPicsInfo.PicList[1].PicMd5Sum.
func exprPath(path string) string {
	return strings.ReplaceAll(itemIndex.ReplaceAllString(path, "[$1]"), "/", ".")
}

var numericFields = []string{"CreateTime", "Location_X", "Location_Y", "Scale", "Latitude", "Longitude",
	"Precision", "Idx", "Count", "TotalCount", "FilterCount", "SentCount", "ErrorCount"}

func exprLiteral(path, value string) string {
	if slices.Contains(numericFields, path[strings.LastIndex(path, "/")+1:]) {
		return value
	}
	return fmt.Sprintf("%q", value)
}

func textReply(t *testing.T, text string) *engine.ReplyTemplate {
	t.Helper()
	tmpl, err := engine.CompileTemplate("text", text)
	if err != nil {
		t.Fatal(err)
	}
	return engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": tmpl})
}

func TestFixturesDerivedFields(t *testing.T) {
	tests := []struct {
		fixture, text, scene string
	}{
		{"text.xml", "你好，请问周末营业时间是几点？", ""},
		{"voice_recognition.xml", "明天上海天气怎么样？", ""},
		{"voice.xml", "", ""},
		{"image.xml", "", ""},
		{"event_subscribe.xml", "", ""},
		{"event_subscribe_qrscene.xml", "", "100023"},
		{"event_scan.xml", "", "100023"},
		{"event_click.xml", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ev := decodeFixture(t, tt.fixture)
			if ev.Text != tt.text || ev.Scene != tt.scene {
				t.Errorf("Text, Scene = %q, %q; want %q, %q", ev.Text, ev.Scene, tt.text, tt.scene)
			}
			if ev.OpenID != ev.FromUserName || ev.Account != ev.ToUserName {
				t.Errorf("OpenID, Account = %q, %q; want FromUserName, ToUserName", ev.OpenID, ev.Account)
			}
			if ev.Time.Unix() != ev.CreateTime || ev.Time.Location() != engine.DefaultLocation {
				t.Errorf("Time = %v; want CreateTime %d in %v", ev.Time, ev.CreateTime, engine.DefaultLocation)
			}
		})
	}
}

// header is the start of a push, without its closing </xml>.
const header = `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>` +
	`<CreateTime>1718170001</CreateTime><MsgType><![CDATA[text]]></MsgType>`

func TestDecodeFieldsRejects(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"empty", "", "the body is empty"},
		{"json", `{"MsgType":"text"}`, "text outside <xml>"},
		{"wrong root", `<msg><MsgType>text</MsgType></msg>`, "the root element is <msg>, not <xml>"},
		{"unclosed", `<xml><ToUserName>a</ToUserName>`, "XML syntax error"},
		{"missing MsgType", `<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime></xml>`, "<MsgType> is missing"},
		{"two roots", `<xml><MsgType>text</MsgType></xml><xml></xml>`, "more than one root element"},
		{"a field twice", `<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>a</Content><Content>b</Content></xml>`, "<Content> appears twice"},
		{"too deep", `<xml><a><b><c><d><e><f><g><h><i>x</i></h></g></f></e></d></c></b></a></xml>`, "nest deeper than"},
		// An element in a namespace is not WeChat's, whatever its local name.
		{"undeclared prefix", header + `<x:Content>evil</x:Content></xml>`, "<Content> is in the namespace"},
		{"declared prefix", `<xml xmlns:x="urn:x">` + header[len("<xml>"):] + `<x:Content>evil</x:Content></xml>`, "<Content> is in the namespace"},
		{"prefixed beside the real one", header + `<Content>hi</Content><x:Content>evil</x:Content></xml>`, "<Content> is in the namespace"},
		{"prefixed header field", `<xml><x:ToUserName>gh_1</x:ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>`, "<ToUserName> is in the namespace"},
		{"default namespace", `<xml xmlns="urn:x">` + header[len("<xml>"):] + `</xml>`, "in the namespace"},
		{"prefixed root", `<x:xml>` + header[len("<xml>"):] + `</x:xml>`, "<xml> is in the namespace"},
		{"nested prefixed", header + `<ScanCodeInfo><x:ScanResult>1</x:ScanResult></ScanCodeInfo></xml>`, "<ScanResult> is in the namespace"},
		{"BOM twice", "\xEF\xBB\xBF\xEF\xBB\xBF" + header + "</xml>", "text outside <xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := server.DecodeFields(strings.NewReader(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, server.ErrNotWeChatXML) {
				t.Errorf("err = %v; want ErrNotWeChatXML saying %q", err, tt.want)
			}
		})
	}
}

func TestDecodeFieldsKeepsTextExactly(t *testing.T) {
	body := "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o1]]></FromUserName>" +
		"<CreateTime>1718170001</CreateTime><MsgType><![CDATA[text]]></MsgType>" +
		"<Content><![CDATA[  <b>hi</b> & ]]]]><![CDATA[> bye\n]]></Content><Brand_New>x</Brand_New></xml>"
	fields, err := server.DecodeFields(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fields["Content"], "  <b>hi</b> & ]]> bye\n"; got != want {
		t.Errorf("Content = %q; want %q", got, want)
	}
	if fields["Brand_New"] != "x" {
		t.Errorf("an unknown element was not kept: %v", fields)
	}
}

// TestDecodeFieldsAccepts: what some writers add around WeChat's XML.
func TestDecodeFieldsAccepts(t *testing.T) {
	const content = `<Content><![CDATA[hi]]></Content></xml>`
	tests := []struct{ name, body string }{
		{"plain", header + content},
		{"byte-order mark", "\xEF\xBB\xBF" + header + content},
		{"byte-order mark and declaration", "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + header + content},
		{"byte-order mark and a newline", "\xEF\xBB\xBF\n" + header + content},
		// An attribute in a namespace is no field: it changes nothing.
		{"namespace declared, unused", `<xml xmlns:x="urn:x">` + header[len("<xml>"):] + content},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := server.DecodeFields(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if fields["Content"] != "hi" || fields["ToUserName"] != "gh_1" || len(fields) != 5 {
				t.Errorf("fields %v", fields)
			}
		})
	}
}
