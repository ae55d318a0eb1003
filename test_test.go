package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const ruletestData = "rules/ruletest/testdata/"

func TestTestCommand(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		stdoutHas string // a regular expression
		stderrHas string
	}{
		{"the examples by default", nil, exitOK, `(?m)^\d+ passed, 0 failed\ncoverage: (\d+) of (\d+) rules answered a case \(100\.0%\)\n\z`, ""},
		{"the examples named", []string{"examples/rules"}, exitOK, `(?m)^\d+ passed, 0 failed\n`, ""},
		{"a passing file", []string{ruletestData + "shop/pass_test.yaml"}, exitOK, `\A13 passed, 0 failed\ncoverage: 12 of 13 rules answered a case \(92\.3%\)\n\z`, ""},
		{"failing cases", []string{ruletestData + "shop/fail_test.yaml"}, exitFailure,
			`(?m)^rules/ruletest/testdata/shop/fail_test.yaml:4:12: "door follower": rule: want "welcome-window", got "welcome" \(rules/ruletest/testdata/shop/shop.yaml:9:5\)\n  want:\n    rule: welcome-window\n  got:\n`, ""},
		{"an invalid test file", []string{ruletestData + "invalid/want_test.yaml"}, exitInvalid,
			`(?m)^rules/ruletest/testdata/invalid/want_test.yaml:2:5: test "no want": want is required`, ""},
		{"an invalid rule folder", []string{ruletestData + "badrules"}, exitInvalid,
			`(?m)^rules/ruletest/testdata/badrules/shop.yaml:4:17: rule "welcome": when: unexpected token`, ""},
		{"invalid beats failing", []string{ruletestData + "shop/fail_test.yaml", ruletestData + "badrules"}, exitInvalid, `17 failed, 1 file not run`, ""},
		{"no such folder", []string{"nope"}, exitInvalid, `(?m)^nope: no such file or directory$`, ""},
		{"--run", []string{"--run", "^(menu photo|song)$", "-v", ruletestData + "shop"}, exitOK,
			`\Arules/ruletest/testdata/shop/pass_test.yaml:28:5: "menu photo": ok \(menu\)\nrules/ruletest/testdata/shop/pass_test.yaml:36:5: "song": ok \(song\)\n2 passed, 0 failed\n`, ""},
		{"--run on failures", []string{"--run", "door", ruletestData + "shop"}, exitFailure, `(?m)^0 passed, 1 failed$`, ""},
		{"--coverage", []string{"--coverage", ruletestData + "shop/pass_test.yaml"}, exitOK,
			`coverage: 12 of 13 rules answered a case \(92\.3%\); not reached by any case:\n  rules/ruletest/testdata/shop/shop.yaml:70:5: never-tested\n\z`, ""},
		{"--min-coverage met", []string{"--min-coverage", "0.9", ruletestData + "shop/pass_test.yaml"}, exitOK, `92\.3%`, ""},
		{"--min-coverage missed", []string{"--min-coverage", "0.95", ruletestData + "shop/pass_test.yaml"}, exitFailure,
			`coverage 92\.3% is below the minimum of 95\.0%\n\z`, ""},
		{"a bad --run", []string{"--run", "(", ruletestData + "shop"}, exitUsage, `\A\z`, "wxreply test: --run: error parsing regexp"},
		{"a bad --min-coverage", []string{"--min-coverage", "90"}, exitUsage, `\A\z`, "give a share between 0 and 1"},
		{"an unknown flag", []string{"--cover"}, exitUsage, `\A\z`, "Usage: wxreply test [flags] [DIR|FILE ...]"},
		{"help", []string{"-h"}, exitOK, `\A\z`, "-min-coverage SHARE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"test"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			if !regexp.MustCompile(tt.stdoutHas).MatchString(stdout) {
				t.Errorf("stdout:\n%s\nwant it to match:\n%s", stdout, tt.stdoutHas)
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, tt.stderrHas)
			}
		})
	}
}

// TestTestCommandExamplesCoverEveryRule: the summary's two counts are equal
// for the examples, and match `check`'s count of rules.
func TestTestCommandExamplesCoverEveryRule(t *testing.T) {
	_, stdout, _ := runCLI(t, "test")
	m := regexp.MustCompile(`coverage: (\d+) of (\d+) rules`).FindStringSubmatch(stdout)
	if m == nil || m[1] != m[2] {
		t.Fatalf("coverage line: %q", m)
	}
	var out, errOut bytes.Buffer
	if code := runCheck(nil, &out, &errOut); code != exitOK || out.String() != m[2]+" rules OK\n" {
		t.Errorf("check says %q; test counted %s rules", out.String(), m[2])
	}
}

func TestTestCommandJUnit(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.xml")
	code, _, stderr := runCLI(t, "test", "--junit", file, ruletestData+"shop/pass_test.yaml", ruletestData+"shop/fail_test.yaml")
	if code != exitFailure {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, src)
	}
	if doc.Tests != 30 || doc.Failures != 17 || len(doc.Suites) != 2 || doc.Suites[1].Name != ruletestData+"shop/fail_test.yaml" {
		t.Errorf("tests %d, failures %d, suites %d; want 30, 17, 2\n%s", doc.Tests, doc.Failures, len(doc.Suites), src)
	}

	code, _, stderr = runCLI(t, "test", "--junit", filepath.Join(t.TempDir(), "no", "such", "dir.xml"), ruletestData+"shop/pass_test.yaml")
	if code != exitFailure || !strings.Contains(stderr, "--junit") {
		t.Errorf("an unwritable --junit: exit %d, stderr %q", code, stderr)
	}
}

// TestTestIsACommand: wxreply dispatches "test" and lists it.
func TestTestIsACommand(t *testing.T) {
	code, stdout, _ := runCLI(t, "test", ruletestData+"shop/pass_test.yaml")
	if code != exitOK || !strings.HasPrefix(stdout, "13 passed, 0 failed\n") {
		t.Errorf("wxreply test: exit %d\n%s", code, stdout)
	}
	if _, _, stderr := runCLI(t, "help"); !strings.Contains(stderr, "  test      run the rule tests in *_test.yaml files\n") {
		t.Errorf("usage does not list test:\n%s", stderr)
	}
}

// TestTestFlagsAfterPaths: flags may follow the folder, as with go test.
func TestTestFlagsAfterPaths(t *testing.T) {
	code, stdout, stderr := runCLI(t, "test", "examples/rules", "--run", "^nothing matches this$")
	if code != exitOK || !strings.Contains(stdout, "0 passed, 0 failed") || stderr != "" {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if code, _, _ := runCLI(t, "test", "--min-coverage", "NaN", "examples/rules"); code != exitUsage {
		t.Errorf("--min-coverage NaN: exit %d, want %d", code, exitUsage)
	}
}

// TestTestMisnamedFile: a test file named *_test.yml would not run, and
// its folder would pass without its cases: it is an error naming it.
func TestTestMisnamedFile(t *testing.T) {
	dir := writeRules(t, shopRules)
	if err := os.WriteFile(filepath.Join(dir, "shop_test.yml"), []byte("tests: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "test", dir)
	want := filepath.ToSlash(dir) + "/shop_test.yml: test files end in _test.yaml: rename it shop_test.yaml"
	if code != exitInvalid || !strings.Contains(stdout+stderr, want) {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", code, exitInvalid, stdout, stderr, want)
	}
}
