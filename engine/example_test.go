package engine_test

import (
	"fmt"
	"time"

	"github.com/wxreply/wxreply/engine"
)

func ExampleNewEvent() {
	// A user scans a QR code with scene 100023 and follows the account.
	ev, err := engine.NewEvent(map[string]string{
		"ToUserName":   "gh_5e8a1c2f9b3d",
		"FromUserName": "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A",
		"CreateTime":   "1718170001",
		"MsgType":      "event",
		"Event":        "subscribe",
		"EventKey":     "qrscene_100023",
		"Ticket":       "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==",
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Event, ev.Scene)
	fmt.Println(ev.OpenID)
	fmt.Println(ev.Time.Format("2006-01-02 15:04:05 -07:00"))

	_, err = engine.NewEvent(map[string]string{"MsgType": "text", "CreateTime": "yesterday"}, nil)
	fmt.Println(err)
	// Output:
	// subscribe 100023
	// oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A
	// 2024-06-12 13:26:41 +08:00
	// field CreateTime: "yesterday" is not a number: strconv.ParseInt: parsing "yesterday": invalid syntax
}

func ExampleCompileCondition() {
	vars := map[string]any{"close": "21:00"}
	cond, err := engine.CompileCondition(`Content contains "营业" && !IsWeekend() && TimeBetween("09:00", Vars.close)`, vars)
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := engine.SampleEvent("text", nil) // 你好，请问周末营业时间是几点？
	for _, now := range []time.Time{
		time.Date(2024, 6, 12, 10, 0, 0, 0, engine.DefaultLocation), // Wednesday morning
		time.Date(2024, 6, 12, 22, 0, 0, 0, engine.DefaultLocation), // Wednesday night
		time.Date(2024, 6, 15, 10, 0, 0, 0, engine.DefaultLocation), // Saturday morning
	} {
		ok, err := cond.Eval(engine.NewEnv(ev, vars, now))
		fmt.Println(now.Format("Mon 15:04"), ok, err)
	}
	// Output:
	// Wed 10:00 true <nil>
	// Wed 22:00 false <nil>
	// Sat 10:00 false <nil>
}

func ExampleCompileCondition_error() {
	_, err := engine.CompileCondition(`Evnt == "subscribe"`, nil)
	fmt.Println(err)
	_, err = engine.CompileCondition(`Content == Vars.pasword`, map[string]any{"password": "芝麻开门"})
	fmt.Println(err)
	// Output:
	// unknown name Evnt (1:1)
	//  | Evnt == "subscribe"
	//  | ^
	// unknown var "pasword": did you mean "password"? (1:17)
	//  | Content == Vars.pasword
	//  | ................^
}

func ExampleRuleSet_Match() {
	must := func(v any, err error) any {
		if err != nil {
			panic(err)
		}
		return v
	}
	text := func(srcs ...string) []*engine.ReplyTemplate {
		var out []*engine.ReplyTemplate
		for _, src := range srcs {
			t := must(engine.CompileTemplate("text", src)).(*engine.Template)
			out = append(out, engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": t}))
		}
		return out
	}
	rs := engine.NewRuleSet([]*engine.Rule{
		{
			ID:      "welcome",
			Event:   "subscribe",
			Replies: text("欢迎关注！（渠道 {{ .Scene | default \"搜索\" }}）", "Welcome!"),
		},
		{
			ID:       "hours",
			Keywords: must(engine.NewKeywords(engine.MatchContains, []string{"营业时间", "几点"})).(*engine.Keywords),
			Replies:  text("{{ if .IsWeekend }}周末{{ else }}工作日{{ end }} 9:00-21:00"),
		},
		{ID: "fallback", Priority: -100, MsgType: "text", Replies: text("收到，我们会尽快回复。")},
	}, nil, "example")

	opts := engine.MatchOptions{
		Now:  time.Date(2024, 6, 12, 10, 0, 0, 0, engine.DefaultLocation),
		Rand: func(n int) int { return 0 }, // always the first alternative
	}
	for _, name := range []string{"event.subscribe", "text", "event.CLICK"} {
		d := rs.Match(engine.SampleEvent(name, nil), opts)
		if d.Rule == nil {
			fmt.Printf("%s: no reply\n", name)
			continue
		}
		fmt.Printf("%s: rule %s\n%s", name, d.Rule.ID, d.Reply)
	}
	d := rs.Match(engine.SampleEvent("image", nil), opts)
	fmt.Println("image:", d.Rule == nil, d.Reply == nil)
	// Output:
	// event.subscribe: rule welcome
	// text:
	//   欢迎关注！（渠道 100023）
	// text: rule hours
	// text:
	//   工作日 9:00-21:00
	// event.CLICK: no reply
	// image: true true
}

func ExampleEngine_Swap() {
	set := func(version, answer string) *engine.RuleSet {
		t, _ := engine.CompileTemplate("text", answer)
		return engine.NewRuleSet([]*engine.Rule{
			{ID: "hours", Replies: []*engine.ReplyTemplate{engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": t})}},
		}, nil, version)
	}
	e := engine.New(set("v1", "9:00-21:00"), nil)
	ev := engine.SampleEvent("text", nil)

	inFlight := e.RuleSet() // a request that started before the reload
	old := e.Swap(set("v2", "10:00-22:00"))

	fmt.Println("swapped out:", old.Version())
	fmt.Println("in flight:", inFlight.Match(ev, engine.MatchOptions{}).Reply.Text())
	fmt.Println("new requests:", e.Match(ev).Reply.Text())
	// Output:
	// swapped out: v1
	// in flight: 9:00-21:00
	// new requests: 10:00-22:00
}
