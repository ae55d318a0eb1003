package wxpanel_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/internal/linediff"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
	"github.com/wxreply/wxreply/wxpanel"
)

var update = flag.Bool("update", false, "rewrite the golden folders in testdata/*.golden")

// TestConvert imports each answer of testdata/*.json and compares the folder
// and the warnings with testdata/NAME.golden/: panel.yaml, panel_test.yaml
// and warnings.txt. Then it loads the folder as the server would and runs
// its tests: each must load without errors and pass, every enabled rule
// answered by a case.
func TestConvert(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no testdata/*.json: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			a, err := wxpanel.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			f, err := wxpanel.Convert(a, wxpanel.Options{Source: filepath.Base(in)})
			if err != nil {
				t.Fatal(err)
			}
			var warnings bytes.Buffer
			for _, w := range f.Warnings {
				warnings.WriteString(w.String() + "\n")
			}
			golden := filepath.Join("testdata", name+".golden")
			files := map[string][]byte{
				wxpanel.DefaultRulesFile: f.Rules,
				wxpanel.DefaultTestsFile: f.Tests,
				"warnings.txt":           warnings.Bytes(),
			}
			for file, got := range files {
				compareGolden(t, filepath.Join(golden, file), got)
			}

			dir := t.TempDir()
			for _, file := range []string{wxpanel.DefaultRulesFile, wxpanel.DefaultTestsFile} {
				if err := os.WriteFile(filepath.Join(dir, file), files[file], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := rules.Load(dir)
			if err != nil {
				t.Fatalf("the imported folder does not load:\n%v", err)
			}
			if got := len(res.RuleSet.Rules()); got > f.RuleCount {
				t.Errorf("the folder has %d rules enabled, and Convert says it wrote %d", got, f.RuleCount)
			}
			var out bytes.Buffer
			rep, err := ruletest.Run(&out, ruletest.Options{Coverage: true}, dir)
			if err != nil || !rep.OK() || rep.Passed != f.Cases {
				t.Fatalf("the imported tests do not pass (%d passed, %d cases written):\n%s", rep.Passed, f.Cases, out.String())
			}
			if len(rep.Uncovered) > 0 && name == "autoreply-info" {
				t.Errorf("rules no case covers:\n%s", out.String())
			}
		})
	}
}

func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", file, linediff.Text(string(want), string(got)))
	}
}

// TestConvertSwitchedOff imports the sample with the panel's two switches
// off: every rule comes in with enabled: false, saying why, and the tests
// want no reply where the panel gave none.
func TestConvertSwitchedOff(t *testing.T) {
	data, err := os.ReadFile("testdata/autoreply-info.json")
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"is_add_friend_reply_open": 1`), []byte(`"is_add_friend_reply_open": 0`), 1)
	data = bytes.Replace(data, []byte(`"is_autoreply_open": 1`), []byte(`"is_autoreply_open": 0`), 1)
	a, err := wxpanel.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	f, err := wxpanel.Convert(a, wxpanel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := string(f.Rules)
	if n, want := strings.Count(src, "\n    enabled: false  # switched off in the panel"), f.RuleCount; n != want {
		t.Errorf("%d rules switched off, want all %d:\n%s", n, want, src)
	}
	for _, why := range []string{"(is_add_friend_reply_open: 0)", "(is_autoreply_open: 0)"} {
		if !strings.Contains(src, why) {
			t.Errorf("no rule says it is off for %s:\n%s", why, src)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, wxpanel.DefaultRulesFile), f.Rules, 0o644)
	os.WriteFile(filepath.Join(dir, wxpanel.DefaultTestsFile), f.Tests, 0o644)
	var out bytes.Buffer
	rep, err := ruletest.Run(&out, ruletest.Options{}, dir)
	if err != nil || !rep.OK() || rep.Passed != f.Cases {
		t.Fatalf("the tests of a switched-off panel do not pass:\n%s", out.String())
	}
	if got := strings.Count(string(f.Tests), "want: {rule: none}"); got != f.Cases {
		t.Errorf("%d of %d cases want no reply; with the panel off, all should:\n%s", got, f.Cases, f.Tests)
	}
}

func TestConvertNothing(t *testing.T) {
	a, err := wxpanel.Parse([]byte(`{"is_add_friend_reply_open": 0, "is_autoreply_open": 0}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wxpanel.Convert(a, wxpanel.Options{}); !errors.Is(err, wxpanel.ErrNothing) || !strings.Contains(err.Error(), "no auto-reply") {
		t.Errorf("Convert of an empty panel: %v, want an error saying there is nothing", err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  \n", "empty: want the JSON the API answers"},
		{"not JSON", "{\n  \"is_autoreply_open\": 1,\n  oops\n}", "3:3: not valid JSON: invalid character 'o' looking for beginning of object key string"},
		{"cut short", `{"is_autoreply_open": 1`, "1:24: not valid JSON: unexpected end of JSON input"},
		{"a list", `[1, 2]`, "1:1: want a JSON object, as the API answers, not a array"},
		{"wrong type", "{\"is_autoreply_open\": 1,\n \"keyword_autoreply_info\": {\"list\": {}}}", "2:37: keyword_autoreply_info.list is a object, where the API gives a []wxpanel.KeywordRule"},
		{"an error answer", `{"errcode": 40001, "errmsg": "invalid credential"}`, `this is an error from WeChat, not the auto-reply rules: errcode 40001, errmsg "invalid credential": save the answer of a successful call`},
		{"another API", `{"button": []}`, "not the answer of get_current_autoreply_info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wxpanel.Parse([]byte(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse(%q):\n got %v\nwant %s", tt.in, err, tt.want)
			}
		})
	}
}
