package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs wxreply with args, as the binary would, and returns its exit
// code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeRules makes a rule folder holding one file.
func writeRules(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const shopRules = `vars:
  shop: Blue Bottle
rules:
  - id: welcome
    event: subscribe
    reply: { text: "Welcome to {{ .Vars.shop }}! (scene {{ .Scene | default \"none\" }})" }
  - id: price
    keywords: [price, "how much"]
    reply:
      news:
        - { title: Prices, url: "https://example.com/prices" }
  - id: opening-hours
    event: CLICK
    event_key: MENU_OPENING_HOURS
    reply: { text: "9:00-21:00" }
  - id: order-status
    when: MsgType == "text" and Text startsWith "order"
    reply: { text: "Looking up your order" }
  - id: fallback
    priority: -100
    msgtype: text
    reply: { text: "Sorry, I did not get that." }
`

func TestCheck(t *testing.T) {
	good := writeRules(t, shopRules)
	bad := writeRules(t, strings.Replace(shopRules, "event: subscribe", "wehn: Event == 1", 1))
	// Anything named like a rule file that is not one is named, not skipped.
	withFolder := writeRules(t, shopRules)
	if err := os.Mkdir(filepath.Join(withFolder, "x.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	sendsAll := writeRules(t, `rules:
  - id: hello-all
    keywords: [hello]
    pick: all
    replies:
      - text: Hello!
      - text: And again.
`)
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{"good folder", []string{"check", good}, exitOK, "5 rules OK\n", ""},
		{"the examples", []string{"check"}, exitOK, "", ""},
		{"bad folder", []string{"check", bad}, exitFailure, "",
			filepath.ToSlash(bad) + "/shop.yaml:5:5: rule \"welcome\": unknown field \"wehn\": did you mean \"when\"?\n1 error: the server would keep its current rules\n"},
		{"folder named like a rule file", []string{"check", withFolder}, exitFailure, "",
			filepath.ToSlash(withFolder) + "/x.yaml: is a folder, not a rule file: folders inside the rules folder are not read; rename it so that its name does not end in .yaml\n"},
		{"missing folder", []string{"check", filepath.Join(good, "nope")}, exitFailure, "", "no such file or directory"},
		{"two folders", []string{"check", good, bad}, exitFailure, good + ": 5 rules OK\n",
			filepath.ToSlash(bad) + ": 1 error: the server would keep its current rules\n"},
		{"--rules, as serve takes it", []string{"check", "--rules", good}, exitOK, "5 rules OK\n", ""},
		{"a flag after the folder", []string{"check", bad, "--rules", good}, exitFailure, good + ": 5 rules OK\n", "did you mean \"when\""},
		// serve refuses, without the API, what sends through it.
		{"rules that need the API", []string{"check", sendsAll}, exitOK, "1 rule OK\nnote: serve loads these rules only when given the API: " +
			"rules send through WeChat's customer-service API, which needs --appid and --appsecret (give both, or set WXREPLY_APPID and WXREPLY_APPSECRET); the rules:\n\t" +
			filepath.ToSlash(sendsAll) + "/shop.yaml:2:5: rule \"hello-all\" (pick: all)\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if tt.stdout != "" && stdout != tt.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.stdout)
			}
			if !strings.Contains(stderr, tt.stderrHas) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, tt.stderrHas)
			}
		})
	}
}

func TestCheckExamplesHaveNoWarnings(t *testing.T) {
	code, stdout, stderr := runCLI(t, "check", "examples/rules")
	if code != exitOK || strings.Contains(stdout, "warning") || !strings.HasSuffix(stdout, " rules OK\n") {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

func TestExplain(t *testing.T) {
	dir := writeRules(t, shopRules)
	prefix := filepath.ToSlash(dir) + "/shop.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"text falls back", []string{"--text", "hello"}, `message: text message "hello"
rule: fallback (PREFIX:19:5)
reply:
  text:
    Sorry, I did not get that.
not matched, in order:
  price (PREFIX:7:5): keywords (contains): "hello" matches none of ["price", "how much"]
  order-status (PREFIX:16:5): when: MsgType == "text" and Text startsWith "order" is false
not tried: 2 rules for other message types or events
`},
		{"menu click", []string{"--event", "click", "--key", "MENU_OPENING_HOURS"}, `message: click event (EventKey "MENU_OPENING_HOURS")
rule: opening-hours (PREFIX:12:5)
reply:
  text:
    9:00-21:00
not tried: 2 rules for other message types or events
`},
		{"a fixture", []string{"--file", "server/testdata/fixtures/event_subscribe_qrscene.xml"}, `message: subscribe event (EventKey "qrscene_100023")
rule: welcome (PREFIX:4:5)
reply:
  text:
    Welcome to Blue Bottle! (scene 100023)
`},
		{"no rule", []string{"--event", "unsubscribe"}, `message: unsubscribe event
rule: none matched; the server answers "success" (no reply)
not matched, in order:
  order-status (PREFIX:16:5): when: MsgType == "text" and Text startsWith "order" is false
not tried: 4 rules for other message types or events
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, append([]string{"explain", "--rules", dir}, tt.args...)...)
			want := strings.ReplaceAll(tt.want, "PREFIX", prefix)
			if code != exitOK || stdout != want {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, stderr, stdout, want)
			}
		})
	}
}

func TestExplainUsage(t *testing.T) {
	for _, args := range [][]string{
		{"explain"},
		{"explain", "--text", "a", "--event", "CLICK"},
		{"explain", "--now", "tomorrow", "--text", "a"},
	} {
		if code, _, _ := runCLI(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, stderr := runCLI(t, "explain", "--file", "main.go"); code != exitFailure || !strings.Contains(stderr, "not WeChat's XML") {
		t.Errorf("explain --file main.go: exit %d, stderr %q", code, stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runCLI(t, "serv")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "serv"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestVersionAndHelp: version and --version say which build this is; help
// CMD is CMD -h.
func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCLI(t, args...)
		if code != exitOK || !regexp.MustCompile(`^wxreply \S+( [0-9a-f]{12}(\+dirty)?)? go1\.\d+`).MatchString(out) {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
	code, _, errOut := runCLI(t, "help", "check")
	_, _, direct := runCLI(t, "check", "-h")
	if code != exitOK || errOut != direct || !strings.Contains(errOut, "check") {
		t.Errorf("help check: exit %d\n%s\nwant what check -h prints:\n%s", code, errOut, direct)
	}
}

// TestExplainNow: explain takes the times test files take.
func TestExplainNow(t *testing.T) {
	for _, now := range []string{"2024-06-12 22:30", "2024-06-12T22:30:00+08:00", "2024-06-12"} {
		if code, out, errOut := runCLI(t, "explain", "--rules", "examples/rules", "--now", now, "--text", "hello"); code != exitOK || !strings.Contains(out, "rule: ") {
			t.Errorf("--now %q: exit %d\n%s%s", now, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "explain", "--now", "tomorrow", "--text", "hello"); code != exitUsage || !strings.Contains(errOut, `"tomorrow" is not a time: write RFC 3339`) {
		t.Errorf("--now tomorrow: exit %d, %q", code, errOut)
	}
}

// TestExplainState: explain takes the user's session and cooldowns, shows
// them, and says what the answer changes.
func TestExplainState(t *testing.T) {
	dir := "rules/ruletest/testdata/conversation"
	tests := []struct {
		args []string
		code int
		want []string // lines of stdout, or of stderr when code is not exitOK
	}{
		{[]string{"--text", "4", "--session", "step=rating"}, exitOK, []string{
			`session: step="rating"`, "rule: survey-rating (", `then: sets rating="4"; sets step="comment"`}},
		{[]string{"--text", "ok", "--session", "step=comment", "--session", "rating=5"}, exitOK, []string{
			`session: rating="5", step="comment"`, "    Noted, with your 5 stars.", "then: unsets step"}},
		{[]string{"--text", "hi"}, exitOK, []string{"rule: fallback (", "then: does not answer this user again for 1h"}},
		{[]string{"--text", "hi", "--cooling", "fallback=20m", "--now", "2024-06-12 10:00"}, exitOK, []string{
			"cooling down: fallback (for 20m more)", `rule: none matched; the server answers "success" (no reply)`,
			"  fallback (" + dir + "/survey.yaml:21:5): cooldown: the rule answered this user less than 1h ago; it may again from 2024-06-12 10:20:00"}},
		{[]string{"--text", "hi", "--session", "stpe=1"}, exitUsage, []string{"wxreply explain: --session: no rule sets Session.stpe: did you mean Session.step?"}},
		{[]string{"--text", "hi", "--cooling", "fallbak"}, exitUsage, []string{`wxreply explain: --cooling: no rule "fallbak" with a cooldown: did you mean "fallback"?`}},
		{[]string{"--text", "hi", "--cooling", "fallback=soon"}, exitUsage, []string{`wxreply explain: --cooling fallback: "soon" is not a duration`}},
	}
	for _, tt := range tests {
		code, out, errOut := runCLI(t, append([]string{"explain", dir}, tt.args...)...)
		got := out
		if tt.code != exitOK {
			got = errOut
		}
		if code != tt.code {
			t.Errorf("explain %q: exit %d, want %d\n%s%s", tt.args, code, tt.code, out, errOut)
			continue
		}
		for _, line := range tt.want {
			if !strings.Contains(got, line) {
				t.Errorf("explain %q: no %q in\n%s", tt.args, line, got)
			}
		}
	}
}

// TestTestRules: test takes --rules as serve and explain do.
func TestTestRules(t *testing.T) {
	code, out, errOut := runCLI(t, "test", "--rules", "examples/rules")
	if code != exitOK || !strings.Contains(out, " passed, 0 failed") {
		t.Errorf("test --rules examples/rules: exit %d\n%s%s", code, out, errOut)
	}
}

// TestExplainFolder: explain takes its folder as DIR or --rules DIR.
func TestExplainFolder(t *testing.T) {
	for _, args := range [][]string{{"explain", "examples/rules", "--text", "菜单"}, {"explain", "--rules", "examples/rules", "--text", "菜单"}} {
		if code, out, errOut := runCLI(t, args...); code != exitOK || !strings.Contains(out, "rule: menu-board") {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "explain", "examples/rules", "--rules", "examples/rules", "--text", "x"); code != exitUsage || !strings.Contains(errOut, "give one rule folder") {
		t.Errorf("two folders: exit %d, %q", code, errOut)
	}
}

// TestBackendRuleInExplainAndTest: a rule answered by its backend is
// explained, and tested for its rule, without calling the backend; a test
// that checks its reply says why it cannot.
func TestBackendRuleInExplainAndTest(t *testing.T) {
	dir := "testdata/backend-rules"
	code, out, errOut := runCLI(t, "explain", dir, "--text", "order 1")
	if code != exitOK || !strings.Contains(out, `reply: what the backend at https://api.example.com/order answers; none ("success") if it is late`) {
		t.Errorf("explain: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "test", dir)
	if code != exitFailure || !strings.Contains(out, `"order text cannot be checked": rule "order" answers from its backend, which tests do not call`) || !strings.Contains(out, "2 passed, 1 failed") {
		t.Errorf("test: exit %d\n%s", code, out)
	}
}

// TestExplainBudget: explain holds the rules to the limits serve would, from
// its flags, the environment or serve's config file, so that a rule over
// them is shown skipped, as serve skips it.
func TestExplainBudget(t *testing.T) {
	dir := writeRules(t, `rules:
  - id: costly
    when: 'Text == "hi" && len(filter(1..200, # % 2 == 0)) > 0'
    reply:
      text: costly answered
  - id: fallback
    priority: -100
    reply:
      text: the fallback answered
`)
	config := filepath.Join(t.TempDir(), "wxreply.yaml")
	if err := os.WriteFile(config, []byte("token: serve-only\nrule_work: \"50\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"the default limits", nil, nil, "rule: costly"},
		{"--rule-work", nil, []string{"--rule-work", "50"}, "rule: fallback"},
		{"the environment", map[string]string{"WXREPLY_RULE_WORK": "50"}, nil, "rule: fallback"},
		{"serve's config file", nil, []string{"--config", config}, "rule: fallback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			code, out, errOut := runCLI(t, append([]string{"explain", dir, "--text", "hi"}, tc.args...)...)
			if code != exitOK || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %q\n%s%s", code, tc.want, out, errOut)
			}
			if over := strings.Contains(out, "costly (") && strings.Contains(out, "): error: over the work budget of a rule (50 units)"); tc.want == "rule: fallback" && !over {
				t.Errorf("the costly rule is not said to be over its budget:\n%s", out)
			}
		})
	}
	if code, _, errOut := runCLI(t, "explain", dir, "--text", "hi", "--push-time", "soon"); code != exitUsage || !strings.Contains(errOut, `--push-time "soon": give a duration`) {
		t.Errorf("a bad --push-time: exit %d, %q", code, errOut)
	}
}

// TestExplainReadsServeRules: explain explains the folder serve would
// answer from: WXREPLY_RULES, or the config file's rules, as the container
// image sets them; a folder given on the command line comes first.
func TestExplainReadsServeRules(t *testing.T) {
	dir := writeRules(t, shopRules)
	want := "rule: price (" + filepath.ToSlash(dir) + "/shop.yaml:7:5)"
	config := filepath.Join(t.TempDir(), "wxreply.yaml")
	if err := os.WriteFile(config, []byte("rules: "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("environment", func(t *testing.T) {
		t.Setenv("WXREPLY_RULES", dir)
		if code, stdout, stderr := runCLI(t, "explain", "--text", "price"); code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("exit %d\n%s%s\nwant %s", code, stdout, stderr, want)
		}
		// The command line's folder comes first.
		if _, stdout, _ := runCLI(t, "explain", "examples/rules", "--text", "price"); strings.Contains(stdout, want) {
			t.Errorf("the folder given was not explained:\n%s", stdout)
		}
	})
	t.Run("config file", func(t *testing.T) {
		if code, stdout, stderr := runCLI(t, "explain", "--config", config, "--text", "price"); code != exitOK || !strings.Contains(stdout, want) {
			t.Errorf("exit %d\n%s%s\nwant %s", code, stdout, stderr, want)
		}
	})
}

// TestExplainHidesBackendKeys: explain names a backend without the
// password or the query a URL may carry, as the logs and the admin page do.
func TestExplainHidesBackendKeys(t *testing.T) {
	dir := writeRules(t, `rules:
  - id: order
    keywords: [order]
    backend: { url: "https://user:PASSWORD1@api.example.com/x?api_key=QUERYKEY1" }
    reply: { text: "Looking it up" }
`)
	code, stdout, stderr := runCLI(t, "explain", dir, "--text", "order")
	if code != exitOK || !strings.Contains(stdout, "the backend at https://api.example.com/x answers") || strings.Contains(stdout+stderr, "PASSWORD1") || strings.Contains(stdout+stderr, "QUERYKEY1") {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}
