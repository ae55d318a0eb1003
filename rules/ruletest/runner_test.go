package ruletest_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
	"github.com/wxreply/wxreply/rules/ruletest/ruletesting"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt with the output of the runs")

// TestGolden pins the exact output of runs, positions included: the
// failures of testdata/shop/fail_test.yaml, each mistake a test author makes
// in testdata/invalid, and a rule folder that does not load.
func TestGolden(t *testing.T) {
	tests := []struct {
		golden  string
		opts    ruletest.Options
		paths   []string
		invalid bool // Run returns an error
		ok      bool // Report.OK
	}{
		{"pass", ruletest.Options{Verbose: true}, []string{"testdata/shop/pass_test.yaml"}, false, true},
		{"fail", ruletest.Options{Coverage: true}, []string{"testdata/shop/fail_test.yaml"}, false, false},
		{"invalid", ruletest.Options{}, []string{"testdata/invalid"}, true, false},
		{"badrules", ruletest.Options{}, []string{"testdata/badrules"}, true, false},
		{"paths", ruletest.Options{}, []string{"testdata/nope", "testdata/shop/shop.yaml", "testdata/golden"}, true, false},
		{"run", ruletest.Options{Run: regexp.MustCompile("^hours"), Coverage: true, MinCoverage: 0.5}, []string{"testdata/shop/pass_test.yaml"}, false, false},
		{"run-nothing", ruletest.Options{Run: regexp.MustCompile("no such case")}, []string{"testdata/shop/pass_test.yaml"}, false, true},
		{"conversation-pass", ruletest.Options{Verbose: true}, []string{"testdata/conversation/pass_test.yaml"}, false, true},
		{"conversation-fail", ruletest.Options{}, []string{"testdata/conversation/fail_test.yaml"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			rep, err := ruletest.Run(&out, tt.opts, tt.paths...)
			if (err != nil) != tt.invalid {
				t.Errorf("error %v; want one: %v", err, tt.invalid)
			}
			if rep.OK() != tt.ok {
				t.Errorf("OK() = %v, want %v", rep.OK(), tt.ok)
			}
			file := filepath.Join("testdata", "golden", tt.golden+".txt")
			if *update {
				if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got := out.String(); got != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", file, got, want)
			}
		})
	}
}

// TestInvalidFilesAllFail: every file in testdata/invalid is reported, and
// its cases do not run, so that no mistake goes unnoticed behind another.
func TestInvalidFilesAllFail(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*_test.yaml")
	if len(files) < 8 {
		t.Fatalf("%d invalid test files; want the catalogue in testdata/invalid", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rep, err := ruletest.Run(io.Discard, ruletest.Options{}, f)
			if err == nil {
				t.Fatal("no error")
			}
			var list rules.Errors
			var rerr *rules.Error
			if !errors.As(err, &list) && !errors.As(err, &rerr) {
				t.Errorf("error %T is not positioned: %v", err, err)
			}
			if rep.Passed+rep.Failed != 0 {
				t.Errorf("%d cases ran", rep.Passed+rep.Failed)
			}
			if !strings.HasPrefix(err.Error(), filepath.ToSlash(f)+":") {
				t.Errorf("error does not start with the file's position:\n%v", err)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	rep, err := ruletest.Run(io.Discard, ruletest.Options{MinCoverage: 0.9}, "testdata/shop/pass_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 14 rules in shop.yaml, one of them switched off (enabled: false): it
	// counts neither way. Only never-tested is left.
	if rep.Rules != 13 || len(rep.Uncovered) != 1 || rep.Uncovered[0].ID != "never-tested" {
		t.Errorf("rules %d, uncovered %v; want 13 with never-tested left", rep.Rules, rep.Uncovered)
	}
	if got, want := rep.Coverage(), 12.0/13; got != want {
		t.Errorf("coverage %v, want %v", got, want)
	}
	if rep.BelowMinCoverage || !rep.OK() {
		t.Errorf("92%% is above the minimum of 90%%: BelowMinCoverage %v, OK %v", rep.BelowMinCoverage, rep.OK())
	}

	rep, _ = ruletest.Run(io.Discard, ruletest.Options{MinCoverage: 0.95}, "testdata/shop/pass_test.yaml")
	if !rep.BelowMinCoverage || rep.OK() {
		t.Errorf("92%% is below 95%%: BelowMinCoverage %v, OK %v", rep.BelowMinCoverage, rep.OK())
	}

	// Both files of the folder: the failing cases count as well, since
	// coverage says which rules answered, not which passed.
	rep, _ = ruletest.Run(io.Discard, ruletest.Options{}, "testdata/shop/pass_test.yaml", "testdata/shop/fail_test.yaml")
	if rep.Passed != 13 || rep.Failed != 17 || len(rep.Uncovered) != 1 {
		t.Errorf("passed %d, failed %d, uncovered %d; want 13, 17, 1", rep.Passed, rep.Failed, len(rep.Uncovered))
	}
}

func TestRunSelectsByName(t *testing.T) {
	var out bytes.Buffer
	rep, err := ruletest.Run(&out, ruletest.Options{Run: regexp.MustCompile(`^(menu photo|video)$`)}, "testdata/shop")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range rep.Files {
		for _, c := range f.Cases {
			names = append(names, filepath.Base(f.File)+": "+c.Name)
		}
	}
	if got, want := strings.Join(names, ", "), "pass_test.yaml: menu photo, pass_test.yaml: video"; got != want {
		t.Errorf("ran %s; want %s", got, want)
	}
}

// TestAlternatives: a rule with several replies passes a case when any of
// them is wanted, whatever the seed; what a failure shows of the pick is
// the same for the same seed.
func TestAlternatives(t *testing.T) {
	folder := func(want string) fstest.MapFS {
		return fstest.MapFS{
			"shop.yaml": {Data: []byte(`rules:
  - id: greeting
    keywords: [hi]
    replies:
      - text: one
      - text: two
      - text: three
`)},
			"shop_test.yaml": {Data: []byte("tests:\n  - name: hi\n    text: hi\n    want: " + want + "\n")},
		}
	}
	for seed := range uint64(20) {
		for _, want := range []string{"{rule: greeting, text: one}", "{rule: greeting, text: three}"} {
			rep, err := ruletest.RunFS(io.Discard, ruletest.Options{Seed: seed}, folder(want), "rules")
			if err != nil || !rep.OK() {
				t.Fatalf("seed %d, want %s: err %v, %d failed", seed, want, err, rep.Failed)
			}
		}
	}
	picks := map[string]bool{}
	for seed := range uint64(20) {
		var a, b bytes.Buffer
		ruletest.RunFS(&a, ruletest.Options{Seed: seed}, folder("{rule: none}"), "rules")
		ruletest.RunFS(&b, ruletest.Options{Seed: seed}, folder("{rule: none}"), "rules")
		if a.String() != b.String() {
			t.Fatalf("seed %d gives two outputs:\n%s\n%s", seed, a.String(), b.String())
		}
		picks[regexp.MustCompile(`(?m)^ +(one|two|three)$`).FindString(a.String())] = true
	}
	if len(picks) < 2 {
		t.Errorf("20 seeds picked only %v", picks)
	}
}

// TestRunFS: a folder in a file system, such as the embedded examples,
// runs as it does on disk, with the name given in positions.
func TestRunFS(t *testing.T) {
	src := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "shop", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fsys := fstest.MapFS{
		"shop.yaml":      {Data: src("shop.yaml")},
		"fail_test.yaml": {Data: src("fail_test.yaml")},
	}
	var fromFS, fromDisk bytes.Buffer
	if _, err := ruletest.RunFS(&fromFS, ruletest.Options{Coverage: true}, fsys, "testdata/shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := ruletest.Run(&fromDisk, ruletest.Options{Coverage: true}, "testdata/shop/fail_test.yaml"); err != nil {
		t.Fatal(err)
	}
	if fromFS.String() != fromDisk.String() {
		t.Errorf("fs.FS:\n%s\ndisk:\n%s", fromFS.String(), fromDisk.String())
	}
}

// TestJUnit parses the XML back: one testsuite per file, one testcase per
// case, failures and errors where the text report has them.
func TestJUnit(t *testing.T) {
	rep, _ := ruletest.Run(io.Discard, ruletest.Options{}, "testdata/shop/pass_test.yaml", "testdata/shop/fail_test.yaml", "testdata/badrules", "testdata/invalid/want_test.yaml")
	var out bytes.Buffer
	if err := rep.WriteJUnit(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML header:\n%.200s", out.String())
	}
	type testcase struct {
		Name      string `xml:"name,attr"`
		Classname string `xml:"classname,attr"`
		Line      int    `xml:"line,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Error *struct {
			Message string `xml:"message,attr"`
		} `xml:"error"`
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name     string     `xml:"name,attr"`
			Tests    int        `xml:"tests,attr"`
			Failures int        `xml:"failures,attr"`
			Errors   int        `xml:"errors,attr"`
			Cases    []testcase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	dec := xml.NewDecoder(&out)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if doc.Tests != 13+17+1+1 || doc.Failures != 17 || doc.Errors != 2 || len(doc.Suites) != 4 {
		t.Errorf("tests %d, failures %d, errors %d, suites %d; want 32, 17, 2, 4", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites))
	}
	wantSuites := []string{"testdata/shop/pass_test.yaml", "testdata/shop/fail_test.yaml", "testdata/badrules/shop_test.yaml", "testdata/invalid/want_test.yaml"}
	for i, s := range doc.Suites {
		if i < len(wantSuites) && s.Name != wantSuites[i] {
			t.Errorf("suite %d is %s, want %s", i, s.Name, wantSuites[i])
		}
	}
	fail := doc.Suites[1]
	if fail.Tests != 17 || fail.Failures != 17 {
		t.Errorf("fail_test.yaml: %d tests, %d failures", fail.Tests, fail.Failures)
	}
	first := fail.Cases[0]
	if first.Name != "door follower" || first.Line != 2 || first.Failure == nil ||
		first.Failure.Message != `testdata/shop/fail_test.yaml:4:12: "door follower": rule: want "welcome-window", got "welcome" (testdata/shop/shop.yaml:9:5)` ||
		!strings.Contains(first.Failure.Text, `why: welcome-window (testdata/shop/shop.yaml:4:5) did not match: when: Scene == "window" is false`) {
		t.Errorf("first failure: %+v", first)
	}
	if e := doc.Suites[2].Cases[0].Error; e == nil || !strings.Contains(e.Message, "testdata/badrules/shop.yaml:4:17") {
		t.Errorf("badrules: %+v", doc.Suites[2].Cases[0])
	}
	if e := doc.Suites[3].Cases[0].Error; e == nil || !strings.HasPrefix(e.Message, `testdata/invalid/want_test.yaml:2:5: test "no want"`) {
		t.Errorf("invalid: %+v", doc.Suites[3].Cases[0])
	}
}

// TestHelper runs passing cases through the go test helper, from disk and
// from an fs.FS; each case is a subtest.
func TestHelper(t *testing.T) {
	ruletesting.Test(t, "testdata/shop/pass_test.yaml")
	fsys := fstest.MapFS{
		"shop.yaml":      {Data: []byte("rules:\n  - id: hi\n    keywords: [hi]\n    reply: {text: hello}\n")},
		"shop_test.yaml": {Data: []byte("tests:\n  - {name: hi, text: hi, want: {rule: hi, text: hello}}\n")},
	}
	ruletesting.TestFS(t, fsys, "rules")
}

func TestDefaults(t *testing.T) {
	// The event a case builds carries the documented defaults; templates
	// see them.
	fsys := fstest.MapFS{
		"shop.yaml": {Data: []byte(`rules:
  - id: echo
    reply: {text: "{{ .ToUserName }} {{ .FromUserName }} {{ .CreateTime }} {{ .MsgType }} {{ .MsgId }} {{ .Now.Format \"2006-01-02 15:04 Mon\" }}"}
`)},
		"shop_test.yaml": {Data: []byte(`tests:
  - name: a text
    text: hi
    want: {rule: echo, text: "gh_5e8a1c2f9b3d oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A 1718157600 text 7382914650000000001 2024-06-12 10:00 Wed"}
  - name: an event at a time of its own, given without an offset
    event: {Event: CLICK, EventKey: K, FromUserName: oOther}
    now: 2024-06-15 21:30
    want: {rule: echo, text: "gh_5e8a1c2f9b3d oOther 1718458200 event  2024-06-15 21:30 Sat"}
`)},
	}
	var out bytes.Buffer
	rep, err := ruletest.RunFS(&out, ruletest.Options{}, fsys, "rules")
	if err != nil || !rep.OK() {
		t.Errorf("err %v\n%s", err, out.String())
	}
}
