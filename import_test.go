package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/internal/linediff"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
	"github.com/wxreply/wxreply/wxpanel"
)

// The sample answer of get_current_autoreply_info, and the folder wxpanel's
// own tests hold as golden for it.
const (
	panelSample = "wxpanel/testdata/autoreply-info.json"
	panelGolden = "wxpanel/testdata/autoreply-info.golden"
)

var update = flag.Bool("update", false, "rewrite testdata/import/stdout.golden")

// readGolden reads a file of testdata, relative to the package's folder
// even after a test's Chdir.
func readGolden(t *testing.T, root, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameFile fails the test when the file at got differs from want.
func sameFile(t *testing.T, got, want string) {
	t.Helper()
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s differs from what it should be:\n%s", got, linediff.Text(want, string(b)))
	}
}

// TestImportFromFile imports the sample as a user would, from its folder:
// the two files are wxpanel's golden ones, and the command prints each
// warning at its place in the file, then what the check and tests said.
func TestImportFromFile(t *testing.T) {
	root, _ := os.Getwd()
	sample := readGolden(t, root, panelSample)
	t.Chdir(t.TempDir())
	if err := os.WriteFile("autoreply-info.json", []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "import", "--from", "autoreply-info.json", "--out", "rules")
	t.Logf("$ wxreply import --from autoreply-info.json --out rules\n%s%s", stdout, stderr)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	want := readGolden(t, root, "testdata/import/stdout.golden")
	if *update {
		os.WriteFile(filepath.Join(root, "testdata/import/stdout.golden"), []byte(stdout), 0o644)
	} else if stdout != want {
		t.Errorf("stdout differs from testdata/import/stdout.golden (go test -run TestImportFromFile -update rewrites it):\n%s", linediff.Text(want, stdout))
	}
	for _, f := range []string{wxpanel.DefaultRulesFile, wxpanel.DefaultTestsFile} {
		sameFile(t, filepath.Join("rules", f), readGolden(t, root, filepath.Join(panelGolden, f)))
	}
	// The README shows this run: it must not drift from what the command prints.
	if readme := readGolden(t, root, "README.md"); !strings.Contains(readme, "$ wxreply import --from autoreply-info.json --out rules\n"+want+"```") {
		t.Errorf("README.md does not show the output of wxreply import --from autoreply-info.json --out rules:\n%s", want)
	}
	// What the command says passes does pass, as a user would run it.
	// The panel's "reply all" rules send through the API, which check notes.
	if code, out, errOut := runCLI(t, "check", "rules"); code != exitOK || !strings.HasPrefix(out, "7 rules OK\nnote: serve loads these rules only when given the API") {
		t.Errorf("wxreply check rules: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "test", "--min-coverage", "1", "rules"); code != exitOK {
		t.Errorf("wxreply test --min-coverage 1 rules: exit %d\n%s%s", code, out, errOut)
	}
}

// TestImportRefusesToOverwrite: a second import into the same folder
// changes nothing unless --force, and says how to go on.
func TestImportRefusesToOverwrite(t *testing.T) {
	out := t.TempDir()
	if code, _, stderr := runCLI(t, "import", "--from", panelSample, "--out", out); code != exitOK {
		t.Fatalf("first import: exit %d\n%s", code, stderr)
	}
	rulesFile := filepath.Join(out, wxpanel.DefaultRulesFile)
	edited := "# edited by hand\nrules: []\n"
	if err := os.WriteFile(rulesFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	testsBefore := readGolden(t, out, wxpanel.DefaultTestsFile)

	code, stdout, stderr := runCLI(t, "import", "--from", panelSample, "--out", out)
	if code != exitFailure || stdout != "" || stderr != "wxreply import: "+rulesFile+" exists: give --force to overwrite it, or another --out\n" {
		t.Errorf("second import: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	sameFile(t, rulesFile, edited)
	sameFile(t, filepath.Join(out, wxpanel.DefaultTestsFile), testsBefore)

	code, _, stderr = runCLI(t, "import", "--from", panelSample, "--out", out, "--force")
	if code != exitOK {
		t.Fatalf("import --force: exit %d\n%s", code, stderr)
	}
	golden := readGolden(t, ".", filepath.Join(panelGolden, wxpanel.DefaultRulesFile))
	sameFile(t, rulesFile, strings.Replace(golden, "# Imported from autoreply-info.json.", "# Imported from "+panelSample+".", 1))
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("the folder holds %d files, want the 2 written (no temporary file left): %v", len(entries), entries)
	}
}

// TestImportFromAPI imports from a fake WeChat: the AppSecret and the
// access_token are never printed nor written.
func TestImportFromAPI(t *testing.T) {
	fake := fakeWeChat(t)
	fake.AutoreplyInfo = []byte(readGolden(t, ".", panelSample))
	t.Setenv("WXREPLY_APPSECRET", menuSecret)
	out := t.TempDir()
	code, stdout, stderr := runCLI(t, "import", "--appid", menuAppID, "--api-base", fake.URL, "--out", out)
	t.Logf("$ wxreply import --appid %s --api-base %s --out DIR\n%s%s", menuAppID, fake.URL, stdout, stderr)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := fake.Calls(wxapitest.AutoreplyInfoPath); n != 1 {
		t.Errorf("%d calls to %s, want 1", n, wxapitest.AutoreplyInfoPath)
	}
	if !strings.Contains(stdout, " cases) from the API of "+menuAppID+"\n") || !strings.Contains(stdout, ": 7 rules OK, 7 cases passed\n") {
		t.Errorf("stdout does not say where the rules came from, or that they pass:\n%s", stdout)
	}
	rulesSrc := readGolden(t, out, wxpanel.DefaultRulesFile)
	golden := readGolden(t, ".", filepath.Join(panelGolden, wxpanel.DefaultRulesFile))
	if want := strings.Replace(golden, "# Imported from autoreply-info.json.", "# Imported from the API of "+menuAppID+".", 1); rulesSrc != want {
		t.Errorf("the rules from the API differ from those from the file:\n%s", linediff.Text(want, rulesSrc))
	}
	for name, s := range map[string]string{"stdout": stdout, "stderr": stderr, "the rule file": rulesSrc, "the test file": readGolden(t, out, wxpanel.DefaultTestsFile)} {
		if strings.Contains(s, menuSecret) || strings.Contains(s, fake.Token()) {
			t.Errorf("%s holds a secret:\n%s", name, s)
		}
	}
}

func TestImportAPIErrors(t *testing.T) {
	fake := fakeWeChat(t)
	fake.Fail(wxapitest.AutoreplyInfoPath, wxapitest.Fault{ErrCode: 48001, ErrMsg: "api unauthorized"})
	out := filepath.Join(t.TempDir(), "rules")

	t.Setenv("WXREPLY_APPSECRET", "")
	code, _, stderr := runCLI(t, "import", "--appid", menuAppID, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "no AppSecret: set WXREPLY_APPSECRET") || !strings.Contains(stderr, "or give --from FILE") {
		t.Errorf("without an AppSecret: exit %d\n%s", code, stderr)
	}

	// --appsecret, as serve takes it, works as menu's --secret does.
	code, stdout, stderr := runCLI(t, "import", "--appid", menuAppID, "--appsecret", menuSecret, "--out", out)
	if code != exitFailure || !strings.Contains(stderr, "/cgi-bin/get_current_autoreply_info: WeChat error 48001") || !strings.Contains(stderr, "接口权限") {
		t.Errorf("refused by WeChat: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, menuSecret) {
		t.Errorf("printed the AppSecret:\n%s%s", stdout, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was made, though nothing was imported", out)
	}
}

// TestImportBadInput: what is not the API's answer is refused, with where
// and why, and nothing is written.
func TestImportBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file string
		code       int
		stderr     string
	}{
		{"bad JSON", write("bad.json", "{\n  \"is_autoreply_open\": 1,\n  \"keyword_autoreply_info\": {\"list\": [}\n}\n"), exitFailure,
			":3:39: not valid JSON: invalid character '}' looking for beginning of value\n"},
		{"an error saved instead", write("error.json", `{"errcode": 40001, "errmsg": "invalid credential"}`), exitFailure,
			": this is an error from WeChat, not the auto-reply rules: errcode 40001, errmsg \"invalid credential\": save the answer of a successful call\n"},
		{"another API's answer", write("menu.json", `{"menu": {"button": []}}`), exitFailure,
			": not the answer of get_current_autoreply_info: it has none of is_autoreply_open, "},
		{"a panel with nothing", write("empty.json", `{"is_add_friend_reply_open": 0, "is_autoreply_open": 0}`), exitFailure,
			": the panel has no auto-reply: no keyword rule, no follow reply and no default reply: nothing written\n"},
		{"no such file", filepath.Join(dir, "nope.json"), exitFailure, "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+filepath.Base(tt.file))
			code, stdout, stderr := runCLI(t, "import", "--from", tt.file, "--out", out)
			if code != tt.code || stdout != "" || !strings.HasPrefix(stderr, "wxreply import: ") || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant it to contain: %s", code, stdout, stderr, tt.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was made", out)
			}
		})
	}
}

func TestImportUsage(t *testing.T) {
	code, stdout, stderr := runCLI(t, "import", "--from", panelSample)
	if code != exitUsage || stdout != "" || !strings.HasPrefix(stderr, "wxreply import: give --out DIR") {
		t.Errorf("without --out: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "help", "import")
	if code != exitOK || !strings.Contains(stderr, "Usage: wxreply import --out DIR") || !strings.Contains(stderr, "-appsecret") {
		t.Errorf("help import: exit %d\n%s", code, stderr)
	}
	var out bytes.Buffer
	usage(&out, "wxreply", "", commands)
	if !strings.Contains(out.String(), "  import    write the admin panel's auto-reply as a rule folder") {
		t.Errorf("the command list has no import:\n%s", out.String())
	}
}

// TestImportFromStdin: --from - reads the answer from standard input, and
// names it so in what it says.
func TestImportFromStdin(t *testing.T) {
	defer func(old io.Reader) { stdin = old }(stdin)
	out := t.TempDir()

	stdin = strings.NewReader("{\"is_autoreply_open\": 1,\n")
	code, _, stderr := runCLI(t, "import", "--from", "-", "--out", out)
	if code != exitFailure || stderr != "wxreply import: standard input:2:1: not valid JSON: unexpected end of JSON input\n" {
		t.Errorf("cut short: exit %d\n%s", code, stderr)
	}

	stdin = strings.NewReader(strings.Repeat(" ", maxAutoreplyFile+1))
	code, _, stderr = runCLI(t, "import", "--from", "-", "--out", out)
	if want := "wxreply import: standard input is over 4 MB: is it a saved answer of get_current_autoreply_info?\n"; code != exitFailure || stderr != want {
		t.Errorf("too long: exit %d\n%s", code, stderr)
	}

	stdin = strings.NewReader(`{"is_autoreply_open": 1, "message_default_autoreply_info": {"type": "text", "content": "收到"}}`)
	code, stdout, stderr := runCLI(t, "import", "--from", "-", "--out", out)
	if code != exitOK || !strings.Contains(stdout, "(1 rule) and "+filepath.Join(out, wxpanel.DefaultTestsFile)+" (1 case) from standard input\n") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}
