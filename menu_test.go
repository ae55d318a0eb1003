package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
	"github.com/wxreply/wxreply/wxmenu"
)

const (
	menuAppID  = "wx5c2a9e0b7d4f1a36"
	menuSecret = "S3CR3T-0123456789abcdef0123456789ab"
)

// fakeWeChat starts a fake API and points the menu commands at it through
// the environment, so that no test can reach WeChat.
func fakeWeChat(t *testing.T) *wxapitest.Server {
	t.Helper()
	fake := wxapitest.NewServer(t, menuAppID, menuSecret)
	t.Setenv("WXREPLY_API_BASE", fake.URL)
	t.Setenv("WXREPLY_APPID", "")
	t.Setenv("WXREPLY_APPSECRET", "")
	return fake
}

// runMenuCmd runs wxreply menu with args, as the binary would, and checks
// that no output holds the AppSecret or the fake's access token.
func runMenuCmd(t *testing.T, fake *wxapitest.Server, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"menu"}, args...), &out, &errOut)
	for _, s := range []string{out.String(), errOut.String()} {
		if strings.Contains(s, menuSecret) || (fake != nil && fake.Token() != "" && strings.Contains(s, fake.Token())) {
			t.Errorf("wxreply menu %s printed a secret:\n%s", strings.Join(args, " "), s)
		}
	}
	return code, out.String(), errOut.String()
}

// TestMenuPushThenGet is the end-to-end test: push the example menu to a
// fake WeChat, and get prints the same menu back in the file's format.
func TestMenuPushThenGet(t *testing.T) {
	fake := fakeWeChat(t)
	t.Setenv("WXREPLY_APPSECRET", menuSecret)
	file, err := wxmenu.ParseFile("examples/menu.yaml")
	if err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runMenuCmd(t, fake, "diff", "examples/menu.yaml", "--appid", menuAppID)
	if code != exitFailure || !strings.HasPrefix(stdout, "--- live menu of "+menuAppID+" (none)\n+++ examples/menu.yaml\n@@ -0,0 +1,") {
		t.Errorf("diff before push: exit %d\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runMenuCmd(t, fake, "push", "examples/menu.yaml", "--api-base", fake.URL, "--appid", menuAppID)
	t.Logf("$ wxreply menu push examples/menu.yaml --api-base %s\n%s%s", fake.URL, stdout, stderr)
	if code != exitOK {
		t.Fatalf("push: exit %d\n%s%s", code, stdout, stderr)
	}
	wantPush := "pushed examples/menu.yaml to " + menuAppID + ": 3 buttons, 8 sub-menu buttons\n" + cacheNote + "\n"
	if stdout != wantPush || stderr != "" {
		t.Errorf("push printed:\n%s%s\nwant:\n%s", stdout, stderr, wantPush)
	}

	code, stdout, stderr = runMenuCmd(t, fake, "get", "--api-base", fake.URL, "--appid", menuAppID)
	t.Logf("$ wxreply menu get --api-base %s\n%s%s", fake.URL, stdout, stderr)
	if code != exitOK || stderr != "" {
		t.Fatalf("get: exit %d\n%s", code, stderr)
	}
	if want := string(wxmenu.Format(file.Menu)); stdout != want {
		t.Errorf("get printed:\n%s\nwant:\n%s", stdout, want)
	}
	got, err := wxmenu.Parse("get", []byte(stdout))
	if err != nil {
		t.Fatalf("get's output does not parse: %v", err)
	}
	if !reflect.DeepEqual(got.Menu, file.Menu) {
		t.Errorf("get's menu:\n%#v\nwant:\n%#v", got.Menu, file.Menu)
	}

	code, stdout, _ = runMenuCmd(t, fake, "diff", "examples/menu.yaml", "--appid", menuAppID)
	if code != exitOK || stdout != "no changes: the live menu is examples/menu.yaml\n" {
		t.Errorf("diff after push: exit %d\n%s", code, stdout)
	}
	changed := filepath.Join(t.TempDir(), "menu.yaml")
	src, _ := os.ReadFile("examples/menu.yaml")
	os.WriteFile(changed, bytes.Replace(src, []byte("key: MENU_PLAYLIST"), []byte("key: MENU_SONGS"), 1), 0o644)
	code, stdout, _ = runMenuCmd(t, fake, "diff", changed, "--appid", menuAppID)
	if code != exitFailure || !strings.Contains(stdout, "\n-        key: MENU_PLAYLIST\n+        key: MENU_SONGS\n") {
		t.Errorf("diff of a change: exit %d\n%s", code, stdout)
	}
	if got := fake.TokenFetches(); got != 5 {
		t.Errorf("%d token fetches for 5 commands, want 5 (one each)", got)
	}

	code, stdout, _ = runMenuCmd(t, fake, "delete", "--yes", "--appid", menuAppID)
	if code != exitOK || !strings.HasPrefix(stdout, "deleted the custom menu of "+menuAppID+"\n") {
		t.Errorf("delete: exit %d\n%s", code, stdout)
	}
	code, _, stderr = runMenuCmd(t, fake, "get", "--appid", menuAppID)
	if code != exitFailure || stderr != "wxreply menu get: the account has no custom menu made through the API (WeChat error 46003)\n" {
		t.Errorf("get after delete: exit %d\n%s", code, stderr)
	}
}

func TestMenuCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", "button:\n  - name: 一二三四五六\n    type: click\n    key: MENU_OPENING_HOURS\n  - name: B\n    type: clik\n    key: K\n")
	unanswered := write("unanswered.yaml", "button:\n  - name: 营业时间\n    type: click\n    key: MENU_OPENING_HOURS\n  - name: 新品\n    type: click\n    key: MENU_NEW\n")
	rulesDir := filepath.Join(dir, "rules")
	os.Mkdir(rulesDir, 0o755)
	os.WriteFile(filepath.Join(rulesDir, "menu.yaml"), []byte(`rules:
  - id: hours
    event: CLICK
    event_key: MENU_OPENING_HOURS
    reply: { text: "8-20" }
  - id: contact
    event: CLICK
    event_key: [MENU_CONTACT, MENU_OPENING_HOURS]
    reply: { text: "call us" }
`), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"the example menu", []string{"check"}, exitOK, "menu OK: 3 buttons, 8 sub-menu buttons\n", ""},
		{"the example menu, named", []string{"check", "examples/menu.yaml", "--rules", "examples/rules"}, exitOK,
			"menu OK: 3 buttons, 8 sub-menu buttons\n", ""},
		{"errors", []string{"check", bad}, exitFailure, "",
			filepath.ToSlash(bad) + `:2:11: button 1 "一二三四五六": name is 18 bytes: a menu bar button's name may have at most 16 (UTF-8: a Chinese character takes 3)` + "\n" +
				filepath.ToSlash(bad) + `:6:11: button 2 "B": type "clik" is not a menu button type: did you mean "click"?` + "\n2 errors\n"},
		{"keys and rules that do not meet", []string{"check", "--rules", rulesDir, unanswered}, exitOK,
			filepath.ToSlash(unanswered) + `:7:10: warning: button 2 "新品": no rule answers key MENU_NEW (the CLICK push of a click button)` + "\n" +
				filepath.ToSlash(rulesDir) + `/menu.yaml:6:5: warning: rule "contact": event_key MENU_CONTACT: no button of ` + unanswered + " sends a CLICK push with it\n" +
				"menu OK: 2 buttons, 0 sub-menu buttons\n",
			""},
		{"missing file", []string{"check", filepath.Join(dir, "nope.yaml")}, exitFailure, "", "no such file or directory"},
		{"two files", []string{"check", bad, bad}, exitUsage, "", "Usage: wxreply menu check"},
		{"rules that do not load", []string{"check", "--rules", dir}, exitFailure, "",
			"wxreply menu check: the rules do not load, so the keys they answer are unknown (run wxreply check):\n" + filepath.ToSlash(dir) + `/bad.yaml:1:1: unknown field "button"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMenuCmd(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != "" && stdout != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, tt.stderr)
			}
		})
	}
}

func TestMenuCommandLine(t *testing.T) {
	fake := fakeWeChat(t)
	fourButtons := filepath.Join(t.TempDir(), "fourbuttons.yaml")
	os.WriteFile(fourButtons, []byte("button:\n"+strings.Repeat("  - name: A\n    type: click\n    key: K\n", 4)), 0o644)
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"no command", nil, nil, exitUsage, "Usage: wxreply menu COMMAND"},
		{"help", nil, []string{"-h"}, exitOK, "Usage: wxreply menu COMMAND"},
		{"unknown command", nil, []string{"publish"}, exitUsage, `wxreply menu: unknown command "publish"`},
		{"push without a file", nil, []string{"push", "--appid", menuAppID}, exitUsage, "Usage: wxreply menu push [flags] FILE"},
		{"get with a file", nil, []string{"get", "examples/menu.yaml"}, exitUsage, "Usage: wxreply menu get"},
		{"no AppID", nil, []string{"get"}, exitUsage, "wxreply menu get: no AppID: give --appid or set WXREPLY_APPID"},
		{"no secret", nil, []string{"get", "--appid", menuAppID}, exitUsage, "wxreply menu get: no AppSecret: set WXREPLY_APPSECRET or give --appsecret"},
		{"bad token endpoint", nil, []string{"get", "--appid", menuAppID, "--secret", menuSecret, "--token-endpoint", "stable"}, exitUsage,
			`--token-endpoint: token endpoint "stable": want stable_token or token`},
		{"bad api base", nil, []string{"get", "--appid", menuAppID, "--secret", menuSecret, "--api-base", "api.weixin.qq.com"}, exitUsage,
			`--api-base "api.weixin.qq.com": want an http:// or https:// address`},
		{"bad timeout", nil, []string{"get", "--appid", menuAppID, "--secret", menuSecret, "--api-timeout", "3"}, exitUsage,
			`--api-timeout "3": want a duration such as 3s`},
		{"credentials from the environment", map[string]string{"WXREPLY_APPID": menuAppID, "WXREPLY_APPSECRET": menuSecret},
			[]string{"get"}, exitFailure, "no custom menu made through the API"},
		{"wrong secret", nil, []string{"get", "--appid", menuAppID, "--secret", "wrong"}, exitFailure,
			`wxreply menu get: /cgi-bin/stable_token: WeChat error 40125 "invalid appsecret rid: `},
		{"classic token endpoint", map[string]string{"WXREPLY_APPSECRET": menuSecret},
			[]string{"get", "--appid", menuAppID, "--token-endpoint", "token"}, exitFailure, "no custom menu made through the API"},
		{"invalid menu is not pushed", map[string]string{"WXREPLY_APPSECRET": menuSecret},
			[]string{"push", "--appid", menuAppID, fourButtons}, exitFailure, "fourbuttons.yaml:11:5: 4 buttons: the menu bar holds at most 3\n1 error: nothing was pushed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runMenuCmd(t, fake, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, tt.stderr)
			}
		})
	}
	if n := fake.Calls(wxapitest.MenuCreatePath); n != 0 {
		t.Errorf("%d menus pushed", n)
	}
	if n := fake.Calls(wxapitest.TokenPath); n != 1 {
		t.Errorf("%d calls to /cgi-bin/token, want the 1 of --token-endpoint token", n)
	}
}

func TestMenuDeleteAsks(t *testing.T) {
	fake := fakeWeChat(t)
	t.Setenv("WXREPLY_APPSECRET", menuSecret)
	if code, _, stderr := runMenuCmd(t, fake, "push", "examples/menu.yaml", "--appid", menuAppID); code != exitOK {
		t.Fatal(stderr)
	}
	old := stdin
	defer func() { stdin = old }()
	for _, answer := range []string{"", "no\n", "n\n"} {
		stdin = strings.NewReader(answer)
		code, _, stderr := runMenuCmd(t, fake, "delete", "--appid", menuAppID)
		if code != exitFailure || !strings.Contains(stderr, "Delete the custom menu of "+menuAppID+", and every conditional menu? Type yes to delete: ") ||
			!strings.Contains(stderr, "not deleted (give --yes to delete without asking)") {
			t.Errorf("answer %q: exit %d\n%s", answer, code, stderr)
		}
	}
	if n := fake.Calls(wxapitest.MenuDeletePath); n != 0 {
		t.Fatalf("deleted %d times without a yes", n)
	}
	stdin = strings.NewReader("yes\n")
	if code, stdout, stderr := runMenuCmd(t, fake, "delete", "--appid", menuAppID); code != exitOK || !strings.Contains(stdout, "deleted") {
		t.Errorf("yes: exit %d\n%s%s", code, stdout, stderr)
	}
	if fake.Menu() != nil {
		t.Error("the menu is still there")
	}
}
