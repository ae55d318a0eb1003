package rules_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wxreply/wxreply/rules"
)

// TestConditionFailingEverySample: a condition that fails for every sample
// push the rule could answer (a pattern in Vars that does not compile, text
// compared with a number) is warned of with its position; one that fails
// for some samples only, or holds, is not.
func TestConditionFailingEverySample(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(`vars: {re: "(abc", n: "5"}
rules:
  - id: bad-pattern
    when: Text matches Vars.re
    reply: { text: a }
  - id: text-and-number
    when: Vars.n > 3
    reply: { text: b }
  - id: some-samples
    when: MsgType == "text" and Vars.n > 3
    reply: { text: c }
  - id: fine
    when: MsgType == "image"
    reply: { text: d }
`)}}
	res, err := rules.LoadFS(fsys, "rules")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Warnings {
		got = append(got, strings.SplitN(w.Warning(), "\n", 2)[0])
	}
	want := []string{
		`rules/a.yaml:4:11: warning: rule "bad-pattern": when: fails for every sample push the rule could answer, and would be skipped with an error for each push; for a sample CLICK event: matches: error parsing regexp: missing closing ): ` + "`(abc`" + ` (1:6)`,
		`rules/a.yaml:7:11: warning: rule "text-and-number": when: fails for every sample push the rule could answer, and would be skipped with an error for each push; for a sample CLICK event: invalid operation: string > int (1:8)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLongReplyField: a field longer than a reply may render to is an error
// at its position, literal text too, and the only one for that field.
func TestLongReplyField(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(`rules:
  - id: news
    keywords: [n]
    reply:
      news:
        - { title: "` + strings.Repeat("b", 100_000) + `", url: "https://example.com/" }
`)}}
	_, err := rules.LoadFS(fsys, "rules")
	want := `rules/a.yaml:6:20: rule "news": reply.news[0].title: 100000 bytes: a reply field may hold at most 65536 (WeChat shows a text of 2,048 bytes at most)`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// TestRegexKeywordAtTheLimit: a regex keyword may be as long as any pattern;
// the (?i) that makes it ignore case does not count.
func TestRegexKeywordAtTheLimit(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(`rules:
  - id: long
    match: regex
    keywords: ['` + strings.Repeat("a", 1024) + `']
    reply: { text: a }
`)}}
	if _, err := rules.LoadFS(fsys, "rules"); err != nil {
		t.Errorf("a regex keyword of 1024 bytes: %v", err)
	}
}

// TestConditionDidYouMean: a misspelled field or helper in a condition is
// named with what it may be a typo of.
func TestConditionDidYouMean(t *testing.T) {
	for src, want := range map[string]string{
		`Contnet == "x"`:                 "unknown name Contnet: did you mean Content? (1:1)",
		`Timebetween("09:00", "18:00")`:  "unknown name Timebetween: did you mean TimeBetween? (1:1)",
		`MsgType == "text" and Weekdy()`: "unknown name Weekdy: did you mean Weekday? (1:23)",
		`Zzzzzz == "x"`:                  "unknown name Zzzzzz (1:1)",
	} {
		fsys := fstest.MapFS{"a.yaml": {Data: []byte("rules:\n  - id: a\n    when: '" + src + "'\n    reply: { text: a }\n")}}
		_, err := rules.LoadFS(fsys, "rules")
		if err == nil || !strings.Contains(err.Error(), `rules/a.yaml:3:`) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one with %q", src, err, want)
		}
	}
}

// TestReplyKindNotIndented: a reply kind on the line after reply:, not
// indented under it, is named as such, not taken for a typo of a rule's
// field.
func TestReplyKindNotIndented(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("rules:\n  - id: a\n    keywords: [x]\n    reply:\n    text: hi\n")}}
	_, err := rules.LoadFS(fsys, "rules")
	want := `rules/a.yaml:5:5: rule "a": unknown field "text": a reply kind belongs inside reply: indent it under reply:, or write reply: { text: … }`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant one line:\n%s", err, want)
	}
}

// TestReplyKeyGivenTwice: a key given twice inside a reply, which a YAML
// node keeps both of, is an error at the second.
func TestReplyKeyGivenTwice(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(`rules:
  - id: a
    keywords: [x]
    reply: {text: a, text: b}
  - id: b
    keywords: [y]
    reply:
      image: {media_id: a, media_id: b}
`)}}
	_, err := rules.LoadFS(fsys, "rules")
	for _, want := range []string{
		`rules/a.yaml:4:22: rule "a": reply: "text" is given twice (first at line 4): a reply has exactly one kind; use replies for alternatives`,
		`rules/a.yaml:8:28: rule "b": reply: image: "media_id" is given twice (first at line 8): which one should be sent?`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
		}
	}
}

// TestReplyWithFullWidthColon: a reply's kind typed with a full-width colon
// is text, not a mapping; the error says which character it is.
func TestReplyWithFullWidthColon(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte("rules:\n  - id: a\n    keywords: [x]\n    reply:\n      text： hi\n")}}
	_, err := rules.LoadFS(fsys, "rules")
	want := `rules/a.yaml:5:7: rule "a": reply: want a mapping of one reply kind (text, image, voice, video, music, news, transfer_customer_service), got text: "：" is a full-width colon: YAML needs the ASCII ":" (switch the input method to English punctuation)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
