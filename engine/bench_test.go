package engine_test

import (
	"fmt"
	"testing"

	"github.com/wxreply/wxreply/engine"
)

// benchAccount is a generated account of n rules shaped like a real one:
// about 70% keyword rules for text (mostly contains, some equal and prefix, a
// few regex), 20% menu CLICK rules with distinct keys, 10% rules with a when
// condition, a welcome rule for subscribe and a fallback at priority -100.
// Every fifth reply is a template; the rest are literal.
type benchAccount struct {
	rules      []*engine.Rule
	middleWord string // a keyword of a rule in the middle of the set
	middleID   string
	lastKey    string // the EventKey of the last CLICK rule
	lastKeyID  string
}

func newBenchAccount(tb testing.TB, n int) benchAccount {
	tb.Helper()
	var a benchAccount
	for i := range n {
		id := fmt.Sprintf("r%05d", i)
		r := &engine.Rule{ID: id, Source: engine.Pos{File: "account.yaml", Line: 10*i + 3, Col: 5}}
		reply := fmt.Sprintf("回复 %d：感谢您的关注，详情请见菜单。", i)
		if i%5 == 0 {
			reply = fmt.Sprintf("{{ .OpenID }} 您好，关于「{{ .Content }}」请见 %d 号说明（{{ .Now.Format \"15:04\" }}）", i)
		}
		r.Replies = textReplies(tb, reply)
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5, 6:
			word := fmt.Sprintf("kw%05d", i)
			r.MsgType = "text"
			switch {
			case i%100 == 3:
				r.Keywords = mustKeywords(tb, engine.MatchRegex, fmt.Sprintf(`^%s\s*\d+$`, word), fmt.Sprintf(`^问题%05d`, i))
			case i%4 == 1:
				r.Keywords = mustKeywords(tb, engine.MatchEqual, word, fmt.Sprintf("关键词%05d", i))
			case i%4 == 2:
				r.Keywords = mustKeywords(tb, engine.MatchPrefix, word, fmt.Sprintf("查询%05d", i))
			default:
				r.Keywords = mustKeywords(tb, engine.MatchContains, word, fmt.Sprintf("关键词%05d", i))
			}
			if r.Keywords.Mode() != engine.MatchRegex && (a.middleID == "" || i <= n/2) {
				a.middleWord, a.middleID = word, id
			}
		case 7, 8:
			r.Event = "CLICK"
			r.EventKeys = []string{fmt.Sprintf("MENU_%05d", i)}
			a.lastKey, a.lastKeyID = r.EventKeys[0], id
		case 9:
			r.When = mustCondition(tb, fmt.Sprintf(`MsgType == "text" && Content startsWith "order%05d"`, i), nil)
		}
		a.rules = append(a.rules, r)
	}
	a.rules = append(a.rules,
		&engine.Rule{ID: "welcome", Event: "subscribe", Replies: textReplies(tb, `欢迎关注！{{ if .Scene }}（渠道 {{ .Scene }}）{{ end }}`)},
		&engine.Rule{ID: "fallback", Priority: -100, Replies: textReplies(tb, "收到，我们会尽快回复。")},
	)
	return a
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		a := newBenchAccount(b, n)
		rs := engine.NewRuleSet(a.rules, nil, "bench")
		cases := []struct {
			name string
			ev   *engine.Event
			want string
		}{
			{"text/fallback", textMsg(b, "请问你们周末几点开门？有没有停车位？"), "fallback"},
			{"text/middle", textMsg(b, a.middleWord), a.middleID},
			{"click/last", eventMsg(b, "CLICK", a.lastKey), a.lastKeyID},
			{"subscribe", eventMsg(b, "subscribe", "qrscene_100023"), "welcome"},
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					opts := engine.MatchOptions{Now: testNow}
					if got := ruleID(rs.Match(c.ev, opts)); got != c.want {
						b.Fatalf("rule %q, want %q", got, c.want)
					}
					b.ReportAllocs()
					for b.Loop() {
						rs.Match(c.ev, opts)
					}
				})
			}
		})
	}
}

// BenchmarkRender renders reply templates as a push's rule does: one that
// reads a field of the push, the commonest, and others for comparison.
func BenchmarkRender(b *testing.B) {
	vars := map[string]any{"shop": "wxreply 小店", "hours": map[string]any{"open": "09:00"}}
	ev := engine.SampleEvent("event.scancode_push", nil)
	ev.Content = "hello"
	for _, c := range []struct{ name, src string }{
		{"field", "Hello {{ .FromUserName }}"},
		{"content", "{{ .Content }}"},
		{"fields", "{{ .OpenID }} 您好，{{ .Vars.shop }} 营业至 {{ .Vars.hours.open }}，扫码结果：{{ .ScanCodeInfo.ScanResult }}（{{ .CreateTime }}）"},
		{"method", `{{ .OpenID }} 您好（{{ .Now.Format "15:04" }}）`},
	} {
		tmpl := mustTemplate(b, c.src)
		b.Run(c.name, func(b *testing.B) {
			env := engine.NewEnv(ev, vars, testNow)
			if _, err := tmpl.Render(env); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				tmpl.Render(env)
			}
		})
	}
}

// BenchmarkNewEvent builds the envelope of a text push from its fields, as
// the server does for every push.
func BenchmarkNewEvent(b *testing.B) {
	fields := map[string]string{"ToUserName": "gh_5e8a1c2f9b3d", "FromUserName": "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A",
		"CreateTime": "1718170001", "MsgType": "text", "MsgId": "7382914650123456701", "Content": "hello"}
	b.ReportAllocs()
	for b.Loop() {
		// NewEvent does not change the map: each event may have it.
		if _, err := engine.NewEvent(fields, nil); err != nil {
			b.Fatal(err)
		}
	}
}
