package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ruleFolder makes a rule folder holding files, by name.
func ruleFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDiff(t *testing.T) {
	const tests = `tests:
  - name: a follower is welcomed
    event: {MsgType: event, Event: subscribe}
    want: {rule: welcome}
  - name: hours
    text: hours
    want: {rule: hours}
  - name: goodbye
    text: bye
    want: {rule: bye}
`
	old := ruleFolder(t, map[string]string{"shop.yaml": `rules:
  - id: welcome
    event: subscribe
    reply: {text: Welcome!}
  - id: hours
    keywords: [hours]
    reply: {text: "9:00-21:00"}
  - id: bye
    keywords: [bye]
    reply: {text: Bye!}
`, "shop_test.yaml": tests})
	edited := ruleFolder(t, map[string]string{"shop.yaml": `rules:
  - id: welcome
    event: subscribe
    reply: {text: Welcome to the new shop!}
  - id: hours
    keywords: [hours]
    reply: {text: "9:00-21:00"}
  - id: menu
    keywords: [menu]
    reply: {text: "Latte, mocha"}
`})

	code, out, errOut := runCLI(t, "diff", old, filepath.Join(old, "."))
	if code != exitOK || !strings.HasSuffix(out, "0 of 3 pushes answered otherwise; 0 rules added, removed or changed\n") {
		t.Errorf("a folder against itself: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "diff", old, edited)
	for _, want := range []string{
		`shop_test.yaml:2:5: "a follower is welcomed"` + "\n  before: rule welcome\n    text:\n      Welcome!\n  after:  rule welcome\n    text:\n      Welcome to the new shop!\n",
		`shop_test.yaml:8:5: "goodbye"` + "\n  before: rule bye\n    text:\n      Bye!\n  after:  no reply\n",
		"changed: rule welcome (" + filepath.Join(edited, "shop.yaml") + ":2:5)\n",
		"removed: rule bye (" + filepath.Join(old, "shop.yaml") + ":8:5)\n",
		"added: rule menu (" + filepath.Join(edited, "shop.yaml") + ":8:5)\n",
		"2 of 3 pushes answered otherwise; 3 rules added, removed or changed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks\n%s\nin:\n%s%s", want, out, errOut)
		}
	}
	if code != exitFailure || strings.Contains(out, `"hours"`) {
		t.Errorf("exit %d, want 1, and the unchanged push not shown:\n%s", code, out)
	}

	if code, _, errOut := runCLI(t, "diff", old); code != exitUsage || !strings.Contains(errOut, "Usage: wxreply diff OLD NEW") {
		t.Errorf("one folder: exit %d, %q", code, errOut)
	}
	broken := ruleFolder(t, map[string]string{"shop.yaml": "rules:\n  - id: x\n    wehn: true\n"})
	if code, _, errOut := runCLI(t, "diff", old, broken); code != exitFailure || !strings.Contains(errOut, "does not load") {
		t.Errorf("a broken folder: exit %d, %q", code, errOut)
	}
}

// TestDiffSeesStateAndPickAll: a change to a pick: all rule's later reply,
// or to what a rule keeps of the user, is a change.
func TestDiffSeesStateAndPickAll(t *testing.T) {
	folder := func(second, cooldown string) string {
		src := "rules:\n  - id: hello\n    keywords: [hello]\n    pick: all\n    replies:\n      - text: one\n      - text: " + second + "\n    cooldown: " + cooldown + "\n"
		tests := "tests:\n  - name: hello\n    text: hello\n    want: {rule: hello}\n"
		return ruleFolder(t, map[string]string{"shop.yaml": src, "shop_test.yaml": tests})
	}
	old := folder("two", "1h")
	for _, tc := range []struct{ name, new, shows string }{
		{"the second reply of pick: all", folder("deux", "1h"), "deux"},
		{"the cooldown", folder("two", "2h"), "then does not answer this user again for 2h"},
	} {
		code, out, errOut := runCLI(t, "diff", old, tc.new)
		if code != exitFailure || !strings.Contains(out, "changed: rule hello") || !strings.Contains(out, tc.shows) || !strings.Contains(out, "1 of 1 push answered otherwise") {
			t.Errorf("%s: exit %d\n%s%s", tc.name, code, out, errOut)
		}
	}
}

// TestDiffPlaysConversations: a case of steps is played whole, from the
// session it starts with, each folder's answers leaving their own state:
// a change that shows only at a later step, or only from a session, is a
// change.
func TestDiffPlaysConversations(t *testing.T) {
	folder := func(confirm string) string {
		src := `rules:
  - id: start
    keywords: [book]
    set: {step: party}
    reply: {text: "How many?"}
  - id: party
    when: Session.step == "party"
    unset: [step]
    reply: {text: "` + confirm + `"}
`
		tests := `tests:
  - name: a booking
    steps:
      - {text: book, want: {rule: start}}
      - {text: "2", want: {rule: party}}
  - name: from a session
    session: {step: party}
    text: "3"
    want: {rule: party}
`
		return ruleFolder(t, map[string]string{"shop.yaml": src, "shop_test.yaml": tests})
	}
	old, new := folder("Booked."), folder("Booked, see you.")
	code, out, errOut := runCLI(t, "diff", old, new)
	for _, want := range []string{`"a booking" step 2 of 2`, `"from a session"`, "Booked, see you.", "2 of 3 pushes answered otherwise"} {
		if code != exitFailure || !strings.Contains(out, want) {
			t.Errorf("exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
		}
	}
}

// TestDiffHidesBackendKeys: a backend's address is shown as the logs show
// it, without the user info or query that may hold its keys.
func TestDiffHidesBackendKeys(t *testing.T) {
	folder := func(url string) string {
		src := "rules:\n  - id: order\n    keywords: [order]\n    backend: {url: \"" + url + "\"}\n    on_error: {text: later}\n"
		tests := "tests:\n  - name: order\n    text: order 42\n    want: {rule: order}\n"
		return ruleFolder(t, map[string]string{"shop.yaml": src, "shop_test.yaml": tests})
	}
	old, edited := folder("https://bot:pw1@api.example.com/order?key=k1"), folder("https://bot:pw2@api.example.com/orders?key=k2")
	code, out, errOut := runCLI(t, "diff", old, edited)
	if code != exitFailure || !strings.Contains(out, "backend https://api.example.com/orders") {
		t.Errorf("exit %d, want the new backend's address shown\n%s%s", code, out, errOut)
	}
	for _, secret := range []string{"pw1", "pw2", "k1", "k2"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("the output shows %q:\n%s%s", secret, out, errOut)
		}
	}
}
