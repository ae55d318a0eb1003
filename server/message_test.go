package server_test

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
)

func TestMessageFields(t *testing.T) {
	at := time.Unix(1718170001, 0)
	base := func(extra map[string]string) map[string]string {
		fields := map[string]string{"ToUserName": "gh_a", "FromUserName": "o_b", "CreateTime": "1718170001"}
		maps.Copy(fields, extra)
		return fields
	}
	tests := []struct {
		name  string
		m     server.Message
		want  map[string]string
		scene string // what the event's Scene reads
	}{
		{"a text", server.Message{Text: "hi", MsgID: "42"}, base(map[string]string{"MsgType": "text", "Content": "hi", "MsgId": "42"}), ""},
		{"a click", server.Message{Event: "CLICK", Key: "MENU_A"}, base(map[string]string{"MsgType": "event", "Event": "CLICK", "EventKey": "MENU_A"}), ""},
		{"a follow by QR code", server.Message{Event: "subscribe", Scene: "7"}, base(map[string]string{"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_7"}), "7"},
		{"a follower's scan", server.Message{Event: "SCAN", Scene: "7"}, base(map[string]string{"MsgType": "event", "Event": "SCAN", "EventKey": "7"}), "7"},
		{"neither", server.Message{}, base(nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.To, tt.m.From, tt.m.Time = "gh_a", "o_b", at
			got := tt.m.Fields()
			if !maps.Equal(got, tt.want) {
				t.Fatalf("Fields() = %v, want %v", got, tt.want)
			}
			if _, ok := got["MsgType"]; !ok {
				return
			}
			fields, err := server.DecodeFields(bytes.NewReader(server.EncodeFields(got)))
			if err != nil {
				t.Fatal(err)
			}
			ev, err := engine.NewEvent(fields, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Scene != tt.scene {
				t.Fatalf("the push's Scene is %q, want %q", ev.Scene, tt.scene)
			}
		})
	}
}
