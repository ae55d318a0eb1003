package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
)

func TestTemplate_Render(t *testing.T) {
	vars := map[string]any{
		"shop":   "wxreply 小店",
		"hours":  map[string]any{"open": "09:00", "close": "21:00"},
		"drinks": []any{"拿铁", "美式", 3},
		"tags":   []string{"a", "b"},
		"empty":  "",
		"none":   nil,
	}
	text := textMsg(t, "  Hello 你好  ")
	subscribe := eventMsg(t, "subscribe", "qrscene_100023")
	search := eventMsg(t, "subscribe", "")
	tests := []struct {
		src  string
		ev   *engine.Event
		want string
	}{
		{"no template at all {not one}", text, "no template at all {not one}"},
		{"{{ .Content }}", text, "  Hello 你好  "},
		{"{{ .Text | trim }}", text, "Hello 你好"},
		{"{{ .Content | upper | trim }}", text, "HELLO 你好"},
		{"{{ .Content | lower | trim }}", text, "hello 你好"},
		{`{{ replace "Hello" "Hi" .Content | trim }}`, text, "Hi 你好"},
		{"{{ .Vars.shop }} {{ .Vars.hours.open }}-{{ .Vars.hours.close }}", text, "wxreply 小店 09:00-21:00"},
		{`{{ join "、" .Vars.drinks }}`, text, "拿铁、美式、3"},
		{`{{ join "," .Vars.tags }}`, text, "a,b"},
		{`{{ .Now.Format "2006-01-02 15:04" }} {{ .Now.Weekday }}`, text, "2024-06-12 13:26 Wednesday"},
		{`{{ .Time.Format "15:04:05" }}`, text, "13:26:41"},
		{`{{ .OpenID }} {{ .Account }}`, text, "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A gh_5e8a1c2f9b3d"},
		{`{{ .Event }}/{{ .EventKey }}`, subscribe, "subscribe/qrscene_100023"},
		{`{{ .Scene | default "搜索" }}`, subscribe, "100023"},
		{`{{ .Scene | default "搜索" }}`, search, "搜索"},
		{`{{ default "空" .Vars.empty }}`, text, "空"},
		{`{{ default "无" .Vars.none }}`, text, "无"},
		{`{{ if .IsWeekend }}周末{{ else }}工作日{{ end }}`, text, "工作日"},
		{`{{ .Raw.MsgId }}`, text, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tmpl := mustTemplate(t, tt.src)
			if tmpl.Source() != tt.src {
				t.Errorf("Source = %q, want %q", tmpl.Source(), tt.src)
			}
			got, err := tmpl.Render(engine.NewEnv(tt.ev, vars, testNow))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Render = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplate_Render_missingKey(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]any
	}{
		{"other vars", map[string]any{"y": 1}},
		{"no vars", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := mustTemplate(t, "营业时间：{{ .Vars.x }}")
			got, err := tmpl.Render(engine.NewEnv(textMsg(t, "hi"), tt.vars, testNow))
			if err == nil {
				t.Fatalf("Render = %q, want an error for the missing var", got)
			}
			if !strings.Contains(err.Error(), `map has no entry for key "x"`) {
				t.Errorf("error = %q, want it to name the key", err)
			}
			if strings.Contains(got, "<no value>") {
				t.Errorf("Render = %q, printed <no value>", got)
			}
		})
	}
}

// TestTemplate_Render_indexMissing: index into a map with a key it does not
// have is an error (the rule fails and the next answers), never the
// "<no value>" text/template's own index prints.
func TestTemplate_Render_indexMissing(t *testing.T) {
	vars := map[string]any{"drinks": map[string]any{"latte": "32 元"}, "sizes": []any{"S", "M"}}
	tmpl := mustTemplate(t, `{{ index .Vars.drinks .Content }}`)
	got, err := tmpl.Render(engine.NewEnv(textMsg(t, "mocha"), vars, testNow))
	if !errors.Is(err, engine.ErrNoEntry) || strings.Contains(got, "<no value>") || !strings.Contains(err.Error(), `"mocha"`) {
		t.Errorf("Render = %q, %v; want ErrNoEntry naming the key", got, err)
	}
	got, err = tmpl.Render(engine.NewEnv(textMsg(t, "latte"), vars, testNow))
	if err != nil || got != "32 元" {
		t.Errorf("Render = %q, %v; want the latte's price", got, err)
	}
	got, err = mustTemplate(t, `{{ index .Vars.sizes 1 }}`).Render(engine.NewEnv(textMsg(t, "x"), vars, testNow))
	if err != nil || got != "M" {
		t.Errorf("Render = %q, %v; want the second size", got, err)
	}
	// Raw holds text: an element some pushes lack reads as empty.
	got, err = mustTemplate(t, `[{{ index .Raw "bizmsgmenuid" }}]`).Render(engine.NewEnv(textMsg(t, "x"), vars, testNow))
	if err != nil || got != "[]" {
		t.Errorf("Render = %q, %v; want an empty element", got, err)
	}
}

func TestTemplate_Render_funcErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{`{{ join "," .Content }}`, "join: want a list, got string"},
		{`{{ index .SendPicsInfo.PicList 5 }}`, "index out of range: 5 (of 0)"},
		{`{{ index .Content "x" }}`, "index out of range: x (of 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := mustTemplate(t, tt.src).Render(engine.NewEnv(textMsg(t, "hi"), nil, testNow))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestCompileTemplate_error(t *testing.T) {
	for _, src := range []string{"{{ .Content ", "{{ nosuchfunc .Content }}", "{{ if .Content }}open"} {
		t.Run(src, func(t *testing.T) {
			tmpl, err := engine.CompileTemplate("welcome.text", src)
			if err == nil {
				t.Fatalf("CompileTemplate = %v, want an error", tmpl)
			}
			if !strings.Contains(err.Error(), "welcome.text:1") {
				t.Errorf("error = %q, want it to name the template and line", err)
			}
		})
	}
}

func TestTemplate_Render_tooLarge(t *testing.T) {
	// 64 bytes an item, so that the output cap comes before the work budget.
	const line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"
	vars := map[string]any{
		"big":   make([]int, engine.MaxRenderBytes/len(line)+1),
		"exact": make([]int, engine.MaxRenderBytes/len(line)),
		"huge":  strings.Repeat("长", engine.MaxRenderBytes),
		"line":  line,
	}
	env := engine.NewEnv(textMsg(t, "hi"), vars, testNow)
	tests := []struct {
		src     string
		wantErr bool
	}{
		{"{{ range .Vars.big }}{{ $.Vars.line }}{{ end }}", true},
		{"{{ range $i, $_ := .Vars.big }}{{ $i }}{{ $.Vars.line }}{{ end }}", true},
		{"{{ .Vars.huge }}", true},
		{"{{ range .Vars.exact }}{{ $.Vars.line }}{{ end }}", false}, // exactly the cap is fine
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := mustTemplate(t, tt.src).Render(env)
			if !tt.wantErr {
				if err != nil || len(got) != engine.MaxRenderBytes {
					t.Errorf("Render = %d bytes, %v; want %d bytes", len(got), err, engine.MaxRenderBytes)
				}
				return
			}
			if !errors.Is(err, engine.ErrRenderTooLarge) {
				t.Errorf("Render error = %v, want ErrRenderTooLarge", err)
			}
			if got != "" {
				t.Errorf("Render returned %d bytes with its error", len(got))
			}
		})
	}

	// In a rule, the reply is skipped like any other failure.
	bad := &engine.Rule{ID: "big", Replies: textReplies(t, "{{ range .Vars.big }}{{ $.Vars.line }}{{ end }}")}
	rs := engine.NewRuleSet([]*engine.Rule{bad, {ID: "next", Replies: textReplies(t, "ok")}}, vars, "")
	d := rs.Match(textMsg(t, "hi"), engine.MatchOptions{Now: testNow})
	if ruleID(d) != "next" || len(d.Errors) != 1 || !errors.Is(d.Errors[0], engine.ErrRenderTooLarge) {
		t.Errorf("Match = %q, errors %v; want next, and big skipped with ErrRenderTooLarge", ruleID(d), d.Errors)
	}
}

func TestReplyTemplate_Render(t *testing.T) {
	tmpl := func(src string) *engine.Template { return mustTemplate(t, src) }
	tests := []struct {
		name string
		rt   *engine.ReplyTemplate
		want string // Reply.String()
	}{
		{
			"text",
			engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": tmpl("您好 {{ .OpenID }}\n营业时间 9:00-21:00")}),
			"text:\n  您好 oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A\n  营业时间 9:00-21:00\n",
		},
		{
			"image",
			engine.NewReplyTemplate(engine.KindImage, map[string]*engine.Template{"media_id": tmpl("menu-{{ .Vars.season }}")}),
			"image:\n  media_id: menu-summer\n",
		},
		{
			"voice",
			engine.NewReplyTemplate(engine.KindVoice, map[string]*engine.Template{"media_id": tmpl("greeting-voice")}),
			"voice:\n  media_id: greeting-voice\n",
		},
		{
			"video",
			engine.NewReplyTemplate(engine.KindVideo, map[string]*engine.Template{"media_id": tmpl("v1"), "title": tmpl("门店巡礼"), "description": tmpl("{{ .Vars.season }} 新品")}),
			"video:\n  media_id: v1\n  title: 门店巡礼\n  description: summer 新品\n",
		},
		{
			"video without description",
			engine.NewReplyTemplate(engine.KindVideo, map[string]*engine.Template{"media_id": tmpl("v1")}),
			"video:\n  media_id: v1\n",
		},
		{
			"music",
			engine.NewReplyTemplate(engine.KindMusic, map[string]*engine.Template{
				"title": tmpl("店内歌单"), "description": tmpl("本周"),
				"music_url": tmpl("http://example.com/a.mp3"), "hq_music_url": tmpl("http://example.com/a.flac"), "thumb_media_id": tmpl("thumb"),
			}),
			"music:\n  title: 店内歌单\n  description: 本周\n  music_url: http://example.com/a.mp3\n  hq_music_url: http://example.com/a.flac\n  thumb_media_id: thumb\n",
		},
		{
			"music with only the thumb",
			engine.NewReplyTemplate(engine.KindMusic, map[string]*engine.Template{"thumb_media_id": tmpl("thumb")}),
			"music:\n  thumb_media_id: thumb\n",
		},
		{
			"news",
			engine.NewReplyTemplate(engine.KindNews, nil,
				map[string]*engine.Template{"title": tmpl("夏季新品"), "description": tmpl("{{ .Vars.season }}"), "pic_url": tmpl("https://example.com/p.jpg"), "url": tmpl("https://example.com/?u={{ .OpenID }}")},
				map[string]*engine.Template{"title": tmpl("会员日")},
			),
			"news:\n  - title: 夏季新品\n    description: summer\n    pic_url: https://example.com/p.jpg\n    url: https://example.com/?u=oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A\n  - title: 会员日\n",
		},
		{
			"transfer to an agent",
			engine.NewReplyTemplate(engine.KindTransferService, map[string]*engine.Template{"kf_account": tmpl("kf2001@gh_5e8a1c2f9b3d")}),
			"transfer_customer_service:\n  kf_account: kf2001@gh_5e8a1c2f9b3d\n",
		},
		{
			"transfer to anyone",
			engine.NewReplyTemplate(engine.KindTransferService, nil),
			"transfer_customer_service:\n",
		},
	}
	env := engine.NewEnv(textMsg(t, "hi"), map[string]any{"season": "summer"}, testNow)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := tt.rt.Render(env)
			if err != nil {
				t.Fatal(err)
			}
			if reply.Kind != tt.rt.Kind {
				t.Errorf("Kind = %q, want %q", reply.Kind, tt.rt.Kind)
			}
			if got := reply.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestReply_String_unknownKind(t *testing.T) {
	r := &engine.Reply{Kind: "sticker"}
	if got := r.String(); got != "sticker\n" {
		t.Errorf("String() = %q, want %q", got, "sticker\n")
	}
}

func TestReplyTemplate_Render_errors(t *testing.T) {
	env := engine.NewEnv(textMsg(t, "hi"), map[string]any{}, testNow)

	_, err := (&engine.ReplyTemplate{Kind: "sticker"}).Render(env)
	if err == nil || !strings.Contains(err.Error(), `"sticker"`) {
		t.Errorf("Render(kind sticker) = %v, want an error naming the kind", err)
	}

	// The error names the field that failed: here the second article's URL.
	badURL := mustTemplate(t, "https://example.com/{{ .Vars.path }}")
	rt := engine.NewReplyTemplate(engine.KindNews, nil,
		map[string]*engine.Template{"title": mustTemplate(t, "one")},
		map[string]*engine.Template{"title": mustTemplate(t, "two"), "url": badURL},
	)
	reply, err := rt.Render(env)
	var terr *engine.TemplateError
	if !errors.As(err, &terr) {
		t.Fatalf("Render = %v, %v; want a *TemplateError", reply, err)
	}
	if terr.Template != badURL || !strings.Contains(terr.Error(), `map has no entry for key "path"`) {
		t.Errorf("TemplateError = {%q, %q}, want the URL template and the missing key", terr.Template.Source(), terr)
	}
	if reply != nil {
		t.Errorf("Render returned a reply with its error: %v", reply)
	}
}

func TestReplyTemplate_Templates(t *testing.T) {
	title, desc, url, text := mustTemplate(t, "t"), mustTemplate(t, "d"), mustTemplate(t, "u"), mustTemplate(t, "x")
	news := engine.NewReplyTemplate(engine.KindNews, nil,
		map[string]*engine.Template{"title": title, "description": desc},
		map[string]*engine.Template{"url": url},
	)
	got := news.Templates()
	if len(got) != 3 || got[0] != title || got[1] != desc || got[2] != url {
		t.Errorf("Templates() = %v, want the three set fields in order", got)
	}
	plain := engine.NewReplyTemplate(engine.KindText, map[string]*engine.Template{"text": text})
	if got := plain.Templates(); len(got) != 1 || got[0] != text {
		t.Errorf("Templates() = %v, want [text]", got)
	}
}

// TestTemplateWithVars: a template that reads only Vars is rendered once,
// for the rule set; any other keeps rendering for each push.
func TestTemplateWithVars(t *testing.T) {
	vars := map[string]any{"site": "https://example.com", "n": 3}
	for _, tc := range []struct {
		src      string
		constant bool
	}{
		{"{{ .Vars.site }}/menu", true},
		{"{{.Vars.site}} has {{ .Vars.n }} shops", true},
		{"no action", false}, // a literal already
		{"{{ .Content }}", false},
		{"{{ .Vars.site }}{{ .Now.Year }}", false},
		{"{{ upper .Vars.site }}", false},
		{"{{ if .Vars.n }}x{{ end }}", false},
		{"{{ $x := .Vars.site }}{{ $x }}", false},
	} {
		tmpl, err := engine.CompileTemplate("t", tc.src)
		if err != nil {
			t.Fatal(err)
		}
		frozen := tmpl.WithVars(vars)
		if got := frozen != tmpl; got != tc.constant {
			t.Errorf("%q: rendered once: %v, want %v", tc.src, got, tc.constant)
		}
		if frozen.Source() != tc.src {
			t.Errorf("%q: Source() = %q", tc.src, frozen.Source())
		}
		env := engine.NewEnv(&engine.Event{MsgType: "text", Content: "hi"}, vars, time.Date(2024, 6, 12, 10, 0, 0, 0, engine.DefaultLocation))
		want, err1 := tmpl.Render(env)
		got, err2 := frozen.Render(env)
		if got != want || (err1 == nil) != (err2 == nil) {
			t.Errorf("%q: renders %q, %v once frozen; %q, %v before", tc.src, got, err2, want, err1)
		}
	}
	// A Vars key the set lacks stays an error for each push, as before.
	tmpl, _ := engine.CompileTemplate("t", "{{ .Vars.missing }}")
	if tmpl.WithVars(vars) != tmpl {
		t.Error("a template whose render fails was frozen")
	}
}
