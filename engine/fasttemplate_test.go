package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// diffVars are Vars of every type YAML gives, and some it does not.
var diffVars = map[string]any{
	"shop": "wxreply 小店", "empty": "", "none": nil,
	"n": 3, "big": int64(math.MaxInt64), "neg": -7,
	"f": 1.5, "whole": 100.0, "tiny": 1e-7, "huge": 1e21, "inf": math.Inf(1), "nan": math.NaN(),
	"yes": true, "no": false,
	"hours": map[string]any{"open": "09:00", "close": 21, "nested": map[string]any{"x": "deep"}},
	"strs":  map[string]string{"a": "b"},
	"list":  []any{"拿铁", 3},
	"when":  time.Date(2024, 6, 12, 13, 26, 41, 0, time.UTC),
	"u":     uint(5),
	"ptr":   new(string),
	"long":  strings.Repeat("长", MaxRenderBytes/3/2+1), // two of them are over the cap
}

// diffTemplates are templates for the differential test besides those in
// the example and test rule files.
func diffTemplates() []string {
	out := []string{
		"Hello {{ .FromUserName }}", "{{ .Content }}", "{{.Content}}!", "a{{ .Content }}b{{ .Text }}c",
		"{{ .ScanCodeInfo.ScanResult }}", "{{ .SendLocationInfo.Location_X }}", "{{ .SendLocationInfo }}",
		"{{ .ScanCodeInfo }}", "{{ .SendPicsInfo.PicList }}", "{{ .SendPicsInfo.Count }}",
		"{{ .Now }}", "{{ .Time }}", "{{ .Now.Year }}", `{{ .Now.Format "15:04" }}`, "{{ .Weekday }}", "{{ .IsWeekend }}",
		"{{ .Session.step }}", "{{ .Session.name }}", "{{ .Session.nope }}", "{{ .Session }}",
		"{{ .Raw.Content }}", "{{ .Raw.EventKey }}", "{{ .Raw.Nope }}", "{{ .Raw.Content.x }}", "{{ .Raw }}",
		"{{ .Vars.hours.open }}-{{ .Vars.hours.close }}", "{{ .Vars.hours.nested.x }}", "{{ .Vars.hours.nope }}",
		"{{ .Vars.shop.x }}", "{{ .Vars.strs.a }}", "{{ .Vars.nope }}", "{{ .Vars }}", "{{ .Vars.long }}{{ .Vars.long }}",
		"{{ .Nope }}", "{{ .meter }}", "{{ .Content.Nope }}", "{{ .Event.Nope }}", "{{ . }}", "{{ $ }}",
		"{{- .Content -}} x {{- .OpenID }}", "{{/* a comment */}}{{ .OpenID }}", "{{ .OpenID }}{{ .Account }}",
		"{{ $x := .Content }}{{ $x }}", "{{ .Content | lower }}", "{{ print .Content }}", "{{ (.Content) }}",
		"{{ .Vars.list }}", "{{ .Vars.when }}",
		"{{ if .Content }}{{ .Content }}{{ end }}", "欢迎关注！{{ if .Scene }}（渠道 {{ .Scene }}）{{ end }}",
		"{{ if .Scene }}a{{ else }}b{{ .OpenID }}{{ end }}", "{{ if .Session.step }}s{{ else if .Session.name }}n{{ else }}-{{ end }}",
		"{{ if .Raw.Nope }}x{{ end }}", "{{ if .Raw.Content }}{{ .Raw.Content }}{{ end }}", "{{ if .ScanCodeInfo }}x{{ end }}",
		"{{ if .Vars.hours }}x{{ end }}", "{{ if .Vars.hours.nope }}x{{ else }}y{{ end }}", "{{ if .Content | lower }}x{{ end }}",
		"{{ if .Content }}{{ print .Content }}{{ end }}", "{{ with .Content }}{{ . }}{{ end }}", "{{ if $x := .Content }}{{ $x }}{{ end }}",
		"{{ if .Weekday }}x{{ end }}", "{{ if .Now }}{{ .Now }}{{ end }}", "{{ if .Time }}t{{ end }}",
	}
	for name := range diffVars {
		out = append(out, "{{ .Vars."+name+" }}", "v={{ .Vars."+name+" }};", "{{ if .Vars."+name+" }}t{{ else }}f{{ end }}")
	}
	// Every field of Env, nested structs included.
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for _, f := range reflect.VisibleFields(t) {
			if !f.IsExported() || f.Anonymous {
				continue
			}
			out = append(out, "{{ "+prefix+"."+f.Name+" }}", "<{{ "+prefix+"."+f.Name+" }}>",
				"{{ if "+prefix+"."+f.Name+" }}<{{ "+prefix+"."+f.Name+" }}>{{ else }}none{{ end }}")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				walk(prefix+"."+f.Name, f.Type)
			}
		}
	}
	walk("", reflect.TypeFor[Env]())
	for _, fields := range SampleFields {
		for k := range fields {
			if !strings.Contains(k, "/") {
				out = append(out, "{{ .Raw."+k+" }}")
			}
		}
	}
	return out
}

// fileTemplates are the templates of the example rules and the rule
// loader's test files: every YAML string with an action in it.
func fileTemplates(t *testing.T) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if strings.Contains(v, "{{") {
				out = append(out, v)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, pattern := range []string{"../examples/rules/*.yaml", "../rules/testdata/*.yaml", "testdata/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if yaml.Unmarshal(data, &doc) == nil {
				walk(doc)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no templates in the example rules")
	}
	return out
}

// diffEnvs are the sample pushes, with and without a session.
func diffEnvs() []func() *Env {
	now := time.Date(2024, 6, 12, 13, 26, 41, 0, DefaultLocation)
	var out []func() *Env
	for _, name := range slices.Sorted(maps.Keys(SampleFields)) {
		for _, session := range []map[string]string{nil, {"step": "2", "name": ""}} {
			out = append(out, func() *Env {
				env := NewEnv(SampleEvent(name, DefaultLocation), diffVars, now)
				env.Session = session
				return env
			})
		}
	}
	long := func() *Env {
		env := NewEnv(SampleEvent("text", DefaultLocation), nil, now)
		env.Content = strings.Repeat("x", MaxRenderBytes+1)
		return env
	}
	return append(out, long)
}

// checkFastPath renders tmpl over a fresh env from mk both ways, with
// budget, and reports whether the fast path rendered it.
func checkFastPath(t *testing.T, tmpl *Template, mk func() *Env, budget Budget) bool {
	t.Helper()
	if tmpl.fast == nil {
		return false
	}
	fastEnv, slowEnv := mk(), mk()
	budget.Hold(fastEnv)
	budget.Hold(slowEnv)
	w := cappedWriter{meter: fastEnv.meter}
	ok, err := tmpl.fast.render(fastEnv, &w)
	if !ok {
		if w.Len() != 0 || fastEnv.meter.work != 0 {
			t.Errorf("%q: the fast path gave up after writing", tmpl.src)
		}
		return false
	}
	got, gotErr := w.result(err)
	want, wantErr := tmpl.execute(slowEnv, &cappedWriter{meter: slowEnv.meter})
	if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("%q (%s %s): fast path %.60q, %v; text/template %.60q, %v", tmpl.src, slowEnv.MsgType, slowEnv.Event, got, gotErr, want, wantErr)
	}
	if errors.Is(wantErr, ErrRenderTooLarge) != errors.Is(gotErr, ErrRenderTooLarge) || (AsBudgetError(wantErr) == nil) != (AsBudgetError(gotErr) == nil) {
		t.Errorf("%q: fast path's error %T, text/template's %T", tmpl.src, gotErr, wantErr)
	}
	if fastEnv.meter.work != slowEnv.meter.work {
		t.Errorf("%q: fast path charged %d units, text/template %d", tmpl.src, fastEnv.meter.work, slowEnv.meter.work)
	}
	return true
}

// TestFastTemplateAgreesWithTextTemplate: for every template the fast path
// takes, it renders what text/template does, fails as it does, and charges
// the meter as much, within the budget or over it.
func TestFastTemplateAgreesWithTextTemplate(t *testing.T) {
	srcs := append(diffTemplates(), fileTemplates(t)...)
	budgets := []Budget{{}, {Work: 1}, {Work: 2}, {Work: 3}, {Work: 7}}
	compiled, fast, rendered := 0, 0, 0
	for _, src := range srcs {
		tmpl, err := CompileTemplate("t", src)
		if err != nil {
			continue
		}
		compiled++
		if tmpl.fast != nil {
			fast++
		}
		for _, mk := range diffEnvs() {
			for _, b := range budgets {
				if checkFastPath(t, tmpl, mk, b) {
					rendered++
				}
			}
		}
	}
	t.Logf("%d templates, %d with a fast form, %d fast renders compared", compiled, fast, rendered)
	if fast < compiled/3 || rendered < 1000 {
		t.Errorf("only %d of %d templates have a fast form, %d renders: the test exercises too little", fast, compiled, rendered)
	}
}

// TestFastTemplateTakes names what the fast path takes and what it leaves
// to text/template, so that a change in either direction is seen.
func TestFastTemplateTakes(t *testing.T) {
	for src, want := range map[string]bool{
		"Hello {{ .FromUserName }}":           true,
		"{{ .ScanCodeInfo.ScanResult }}":      true,
		"{{ .Session.name }} {{ .Vars.x.y }}": true,
		"{{ .Raw.Foo }}{{ .CreateTime }}":     true,
		"{{ .Now }} {{ .Location_X }}":        true,
		"{{ .Weekday }}":                      false, // a method
		`{{ .Now.Format "15:04" }}`:           false,
		"{{ .Content | lower }}":              false,
		"{{ $x := .Content }}{{ $x }}":        false,
		"{{ if .Content }}x{{ end }}":         true,
		"{{ if .Scene }}a{{ else if .Session.x }}b{{ else }}{{ .OpenID }}{{ end }}": true,
		"{{ if .Content | lower }}x{{ end }}":                                       false,
		"{{ with .Content }}{{ . }}{{ end }}":                                       false,
		"{{ if .Content }}{{ . }}{{ end }}":                                         false,
		"{{ if .ScanCodeInfo }}x{{ end }}":                                          false,
		"{{ range .SendPicsInfo.PicList }}x{{ end }}":                               false,
		"{{ .ScanCodeInfo }}":                                                       false, // a struct
		"{{ .Raw }}":                                                                false,
		"{{ .Raw.a.b }}":                                                            false,
		"{{ .Nope }}":                                                               false,
		"{{ .meter }}":                                                              false,
		"{{ .SendPicsInfo.PicList }}":                                               false,
		"{{ .Content.Len }}":                                                        false,
		"{{ . }}":                                                                   false,
		"{{ (.Content) }}":                                                          false,
		"{{ .Vars }}":                                                               false,
		"{{ .OpenID }}{{ template \"x\" }}":                                         false,
		"{{ .OpenID }}{{ print \"x\" .OpenID }}":                                    false,
	} {
		tmpl, err := CompileTemplate("t", src)
		if err != nil {
			if want {
				t.Errorf("%q: %v", src, err)
			}
			continue
		}
		if got := tmpl.fast != nil; got != want {
			t.Errorf("%q: fast form %v, want %v", src, got, want)
		}
	}
}

// FuzzFastTemplate compares the fast path with text/template on templates
// and texts the fuzzer makes.
func FuzzFastTemplate(f *testing.F) {
	for _, src := range diffTemplates()[:40] {
		f.Add(src, "hello", 0.5)
	}
	f.Fuzz(func(t *testing.T, src, content string, x float64) {
		tmpl, err := CompileTemplate("t", src)
		if err != nil || tmpl.fast == nil {
			return
		}
		vars := maps.Clone(diffVars)
		vars["x"] = x
		for _, mk := range diffEnvs()[:4] {
			checkFastPath(t, tmpl, func() *Env {
				env := mk()
				env.Content, env.Raw, env.Vars = content, map[string]string{"Content": content}, vars
				env.Latitude = x
				return env
			}, Budget{})
		}
	})
}
