package rules_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

// loadOne loads a single file of testdata as if it were a rule folder.
func loadOne(t *testing.T, name string) (*rules.Result, error) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return rules.LoadFS(fstest.MapFS{name: {Data: src}}, "testdata")
}

// TestLoadFailure is the catalogue of mistakes a rule author makes, each with
// the exact message and position they get.
func TestLoadFailure(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"over_indented_key.bad.yaml", `testdata/over_indented_key.bad.yaml:3:7: mapping values are not allowed in this context: this key is indented more than the one above it; line it up with the other keys of its mapping`},
		{"yaml_syntax.bad.yaml", `testdata/yaml_syntax.bad.yaml:3:20: found unexpected end of stream: the quote that opens here is not closed`},
		// yaml.v3 blames the start of the list, a line early for a tab, or
		// no column: the real place is found.
		{"yaml_bad_indent.bad.yaml", `testdata/yaml_bad_indent.bad.yaml:4:4: did not find expected '-' indicator: this line does not line up with the ones above it: check its indentation`},
		{"yaml_dedent_in_list.bad.yaml", `testdata/yaml_dedent_in_list.bad.yaml:7:4: did not find expected '-' indicator: this line does not line up with the ones above it: check its indentation`},
		{"yaml_tab.bad.yaml", `testdata/yaml_tab.bad.yaml:3:1: a tab in the indentation: indent with spaces only`},
		{"yaml_bad_block.bad.yaml", `testdata/yaml_bad_block.bad.yaml:6:7: could not find expected ':': the lines of a block (| or >) are indented more than its key`},
		// A Chinese input method's punctuation where YAML needs ASCII is
		// named, wherever yaml.v3 places the error it causes.
		{"fullwidth_colon.bad.yaml", `testdata/fullwidth_colon.bad.yaml:3:13: "：" is a full-width colon: YAML needs the ASCII ":" (switch the input method to English punctuation)`},
		{"fullwidth_colon_id.bad.yaml", `testdata/fullwidth_colon_id.bad.yaml:2:7: "：" is a full-width colon: YAML needs the ASCII ":" (switch the input method to English punctuation)`},
		{"fullwidth_space.bad.yaml", `testdata/fullwidth_space.bad.yaml:3:1: U+3000 is a full-width space: YAML needs ASCII spaces (switch the input method to half-width)`},
		{"fullwidth_braces.bad.yaml", `testdata/fullwidth_braces.bad.yaml:4:12: "｛" is a full-width brace: YAML needs the ASCII "{" (switch the input method to English punctuation)`},
		{"fullwidth_colon_in_flow.bad.yaml", `testdata/fullwidth_colon_in_flow.bad.yaml:4:13: rule "a": reply: unknown field "text： hi" (known: text, image, voice, video, music, news, transfer_customer_service): "：" is a full-width colon: YAML needs the ASCII ":" (switch the input method to English punctuation)`},
		{"fullwidth_bracket.bad.yaml", `testdata/fullwidth_bracket.bad.yaml:3:15: rule "wifi": want a list of text, got text "［wifi］": "［" is a full-width bracket: YAML needs the ASCII "[" (switch the input method to English punctuation)`},
		// A quote that runs on to the next lines, quotes inside quotes, a
		// file cut off while saved.
		{"yaml_unclosed_quote.bad.yaml", `testdata/yaml_unclosed_quote.bad.yaml:3:11: did not find expected key: the quote that opens here is not closed: close it at the end of the value`},
		{"yaml_quote_in_quotes.bad.yaml", `testdata/yaml_quote_in_quotes.bad.yaml:3:11: did not find expected key: the value in quotes that opens here ends at the " in column 24, and more follows: write the quotes inside the value as the other kind (' or ")`},
		{"yaml_unclosed_bracket.bad.yaml", `testdata/yaml_unclosed_bracket.bad.yaml:6:15: did not find expected ',' or ']': the [ that opens here is not closed: end the list with ]`},
		// Columns count characters, as yaml.v3's and editors' do.
		{"yaml_unclosed_quote_cjk.bad.yaml", `testdata/yaml_unclosed_quote_cjk.bad.yaml:2:44: found unexpected end of stream: the quote that opens here is not closed`},
		// An apostrophe in plain text is no quote.
		{"yaml_apostrophe_indent.bad.yaml", `testdata/yaml_apostrophe_indent.bad.yaml:4:4: did not find expected '-' indicator: this line does not line up with the ones above it: check its indentation`},
		{"yaml_cut_off.bad.yaml", `testdata/yaml_cut_off.bad.yaml:6:5: could not find expected ':': the file ends in the middle of this line: was it cut off? finish the line (key: value) or remove it`},
		// Windows Notepad's "ANSI" for Chinese.
		{"gbk.bad.yaml", `testdata/gbk.bad.yaml:4:19: this is not UTF-8 text: the file was saved in another encoding (Windows Notepad's "ANSI" is GBK); save the file as UTF-8`},
		{"not_a_mapping.bad.yaml", `testdata/not_a_mapping.bad.yaml:1:1: want a mapping with the keys vars, settings, rules, got a list`},
		{"unknown_field.bad.yaml", `testdata/unknown_field.bad.yaml:3:5: rule "welcome": unknown field "wehn": did you mean "when"?`},
		{"typo_hides_condition.bad.yaml", `testdata/typo_hides_condition.bad.yaml:3:5: rule "welcome": unknown field "evnt": did you mean "event"?`},
		{"duplicate_key.bad.yaml", `testdata/duplicate_key.bad.yaml:5:5: rule "hello": "reply" is given twice (first at line 4)`},
		// yaml.v3 drops a rule that gives a key twice: the rules after it
		// keep their own ids and positions.
		{"duplicate_key_shift.bad.yaml", `testdata/duplicate_key_shift.bad.yaml:5:5: rule "a": "reply" is given twice (first at line 4)
testdata/duplicate_key_shift.bad.yaml:8:28: rule "b": reply.text: <.Vars.nope>: map has no entry for key "nope" (rendering a sample text message)`},
		// yaml.v3 drops an item that is not a rule at all, too.
		{"rule_not_a_mapping.bad.yaml", `testdata/rule_not_a_mapping.bad.yaml:2:5: rule #1: want a mapping, got text "oops"
testdata/rule_not_a_mapping.bad.yaml:5:28: rule "b": reply.text: <.Vars.nope>: map has no entry for key "nope" (rendering a sample text message)`},
		// yaml.v3 drops a keyword that is not text: the ones after it keep
		// their own numbers and places.
		{"keyword_not_text.bad.yaml", "testdata/keyword_not_text.bad.yaml:4:19: rule \"a\": want text, got a mapping\ntestdata/keyword_not_text.bad.yaml:4:27: rule \"a\": keywords[2]: not a regular expression: error parsing regexp: missing closing ): `(bad`"},
		{"duplicate_key_cjk.bad.yaml", `testdata/duplicate_key_cjk.bad.yaml:2:30: rule "营业": "id" is given twice (first at line 2)`},
		{"wrong_type.bad.yaml", `testdata/wrong_type.bad.yaml:3:15: rule "urgent": want a whole number, got text "high"`},
		{"missing_id.bad.yaml", `testdata/missing_id.bad.yaml:4:5: rule #2: missing id: every rule needs a unique id, used in logs, metrics and tests`},
		{"duplicate_id.bad.yaml", `testdata/duplicate_id.bad.yaml:5:9: rule "hours": duplicate id: first defined at testdata/duplicate_id.bad.yaml:2:9; ids must be unique across the folder`},
		{"expr_syntax.bad.yaml", `testdata/expr_syntax.bad.yaml:3:33: rule "welcome": when: unexpected token EOF (1:23)
 | Event == "subscribe" &&
 | ......................^`},
		// An unquoted # ends the condition: YAML reads the rest as a comment.
		{"expr_comment.bad.yaml", `testdata/expr_comment.bad.yaml:3:22: rule "wifi": when: unexpected token EOF (1:12): # starts a YAML comment: put the condition in quotes
 | all(1..1000,
 | ...........^`},
		{"unknown_name.bad.yaml", `testdata/unknown_name.bad.yaml:3:11: rule "welcome": when: unknown name Evnt: did you mean Event? (1:1)
 | Evnt == "subscribe"
 | ^`},
		{"non_bool.bad.yaml", `testdata/non_bool.bad.yaml:3:11: rule "echo": when: expected bool, but got string`},
		{"type_mismatch.bad.yaml", `testdata/type_mismatch.bad.yaml:3:19: rule "big": when: invalid operation: > (mismatched types string and int) (1:9)
 | Content > 3
 | ........^`},
		{"block_condition.bad.yaml", `testdata/block_condition.bad.yaml:5:42: rule "lunch": when: unknown name Contnt: did you mean Content? (2:36)
 |   TimeBetween("11:30", "13:30") && Contnt contains "lunch"
 | ...................................^`},
		// Folding joins the lines: the block's first line, and the snippet.
		{"folded_condition.bad.yaml", `testdata/folded_condition.bad.yaml:4: rule "lunch": when: unknown name Contnt: did you mean Content? (1:23)
 | MsgType == "text" and Contnt contains "lunch"
 | ......................^`},
		{"unknown_var.bad.yaml", `testdata/unknown_var.bad.yaml:5:27: rule "city": when: unknown var "citty": did you mean "city"? (1:17)
 | Content == Vars.citty
 | ................^`},
		{"bad_regex.bad.yaml", "testdata/bad_regex.bad.yaml:3:31: rule \"order\": keywords[1]: not a regular expression: error parsing regexp: missing closing ): `(unclosed`"},
		// Every bad pattern of a list, as written: without the (?i) the
		// engine puts before it, in what it shows and what it counts.
		{"regex_each.bad.yaml", "testdata/regex_each.bad.yaml:5:9: rule \"order\": keywords[0]: not a regular expression: error parsing regexp: missing closing ): `(abc`\ntestdata/regex_each.bad.yaml:7:9: rule \"order\": keywords[2]: not a regular expression: error parsing regexp: missing closing ): `b(`\ntestdata/regex_each.bad.yaml:8:9: rule \"order\": keywords[3]: the pattern is 1030 bytes long; a pattern may have at most 1024: split it into several keywords or rules"},
		{"bad_match.bad.yaml", `testdata/bad_match.bad.yaml:4:12: rule "order": match: unknown match mode "fuzzy": use contains, equal, prefix or regex`},
		{"keywords_on_event.bad.yaml", `testdata/keywords_on_event.bad.yaml:4:15: rule "click": keywords never match here: they are compared with Text, which only text and voice messages have`},
		{"template_parse.bad.yaml", `testdata/template_parse.bad.yaml:4:20: rule "welcome": reply.text: unclosed action`},
		{"template_unexpected.bad.yaml", `testdata/template_unexpected.bad.yaml:7:39: rule "w": reply.text: unexpected "}" in operand`},
		{"template_func.bad.yaml", `testdata/template_func.bad.yaml:4:20: rule "shout": reply.text: function "shout" not defined`},
		{"template_missing_var.bad.yaml", `testdata/template_missing_var.bad.yaml:7:56: rule "welcome": reply.text: <.Vars.hours>: map has no entry for key "hours" (rendering a sample subscribe event)`},
		{"template_var_typo.bad.yaml", `testdata/template_var_typo.bad.yaml:7:33: rule "welcome": reply.text: <.Vars.shopp>: map has no entry for key "shopp": did you mean .Vars.shop? (rendering a sample subscribe event)`},
		{"template_unknown_field.bad.yaml", `testdata/template_unknown_field.bad.yaml:4:33: rule "echo": reply.text: <.Contnt>: no field Contnt: did you mean .Content? (rendering a sample text message)`},
		{"template_cjk.bad.yaml", `testdata/template_cjk.bad.yaml:4:29: rule "echo": reply.text: <.Contnt>: no field Contnt: did you mean .Content? (rendering a sample text message)`},
		{"no_reply.bad.yaml", `testdata/no_reply.bad.yaml:2:5: rule "silent": no reply: give reply (or replies, for one picked at random)`},
		{"no_kind.bad.yaml", `testdata/no_kind.bad.yaml:4:12: rule "empty": reply: no reply kind: give one of text, image, voice, video, music, news, transfer_customer_service`},
		{"two_kinds.bad.yaml", `testdata/two_kinds.bad.yaml:5:7: rule "both": reply: text and image: a reply has exactly one kind; use replies for alternatives`},
		{"missing_media_id.bad.yaml", `testdata/missing_media_id.bad.yaml:5:14: rule "poster": reply: image: media_id is required: the id of a file uploaded with WeChat's media upload API`},
		{"news_empty.bad.yaml", `testdata/news_empty.bad.yaml:5:13: rule "news": reply: news has no articles: give 1 to 8`},
		// Rules that cannot be bounded, or would go over their budget for
		// an ordinary push (see "Limits of a rule" in the README).
		{"budget_range.bad.yaml", `testdata/budget_range.bad.yaml:3:16: rule "count": when: the range 1..500000 has 500000 items: a rule may build at most 65536 (its memory budget, 1048576 bytes, at 16 bytes an item) (1:6)
 | all(1..500000, {lower(Text) != "x"})
 | .....^`},
		{"budget_repeat.bad.yaml", `testdata/budget_repeat.bad.yaml:4:11: rule "echo-loud": when: over the memory budget of a rule (1048576 bytes) for a sample text message: loop over fewer items or build smaller values (see "Limits of a rule" in the README)`},
		{"budget_regex.bad.yaml", `testdata/budget_regex.bad.yaml:3:16: rule "words": keywords[0]: the pattern is 3000 bytes long; a pattern may have at most 1024: split it into several keywords or rules`},
		{"budget_template_range.bad.yaml", `testdata/budget_template_range.bad.yaml:5:23: rule "spin": reply.text: range 2000000000: more iterations than a rule's work budget allows (100000 units, 5 an iteration)`},
		{"budget_template_loop.bad.yaml", `testdata/budget_template_loop.bad.yaml:7:13: rule "nested": reply.text: over the work budget of a rule (100000 units) (rendering a sample text message): loop over fewer items or build smaller values (see "Limits of a rule" in the README)`},
		{"budget_template_define.bad.yaml", `testdata/budget_template_define.bad.yaml:5:13: rule "recurse": reply.text: {{ define }} and {{ block }} are not available in a reply`},
		{"budget_tojson.bad.yaml", `testdata/budget_tojson.bad.yaml:3:11: rule "json": when: toJSON is not available in wxreply conditions: what it costs cannot be told before it runs (1:1)
 | toJSON(Vars) != ""
 | ^`},
		// Per-user state: cooldowns and sessions.
		{"session_typo.bad.yaml", `testdata/session_typo.bad.yaml:7:19: rule "answer": when: no rule sets Session.stpe: did you mean Session.step? (1:9)
 | Session.stpe == "asked" && Content == "1"
 | ........^`},
		{"session_template_typo.bad.yaml", `testdata/session_template_typo.bad.yaml:9:38: rule "hello": reply.text: no rule sets .Session.nmae: did you mean .Session.name? (rendering a sample text message)`},
		{"cooldown_bad.bad.yaml", `testdata/cooldown_bad.bad.yaml:3:15: rule "anything": cooldown: "60" is not a duration: write a number and a unit, e.g. 90s, 30m, 1h30m or 1d`},
		{"cooldown_long.bad.yaml", `testdata/cooldown_long.bad.yaml:3:15: rule "anything": cooldown: 365d is more than 30d, the longest a user's state is kept`},
		{"session_ttl_alone.bad.yaml", `testdata/session_ttl_alone.bad.yaml:4:18: rule "hello": session_ttl applies to set and unset, and this rule has neither`},
		{"session_names.bad.yaml", `testdata/session_names.bad.yaml:42:7: rule "more": set.n32: the folder's rules set 32 session names already, as many as a user may keep (each value up to 1024 bytes): reuse a name, or keep such data in a backend`},
		{"set_name.bad.yaml", `testdata/set_name.bad.yaml:4:12: rule "pick": set: "order-id" is not a session name: use letters, digits and _, starting with a letter (step, order_id)`},
		{"backend.bad.yaml", `testdata/backend.bad.yaml:9:56: rule "order": on_error.text: <.Vars.nope>: map has no entry for key "nope" (rendering a sample text message)
testdata/backend.bad.yaml:12:21: rule "bad": backend.url: "ftp://x" is not an http:// or https:// URL
testdata/backend.bad.yaml:12:41: rule "bad": backend.timeout: 10m is more than 5m
testdata/backend.bad.yaml:12:60: rule "bad": backend.passive_wait: 5s is more than 4s
testdata/backend.bad.yaml:15:15: rule "oe": on_error applies to a backend, and this rule has none`},
		{"news_nine.bad.yaml", `testdata/news_nine.bad.yaml:6:9: rule "news": reply: news has 9 articles: WeChat accepts at most 8`},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			res, err := loadOne(t, tt.file)
			if err == nil {
				t.Fatalf("loaded with no error; want\n%s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
			var list rules.Errors
			if !errors.As(err, &list) {
				t.Errorf("error is %T, want rules.Errors", err)
			}
			if res == nil || res.RuleSet != nil {
				t.Errorf("a failed load returned a RuleSet")
			}
			if res != nil && len(res.Warnings) > 0 {
				t.Errorf("warnings beside the error bury it:\n%v", res.Warnings)
			}
		})
	}
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no case in TestLoadFailure", f)
		}
	}
}

func TestLoadGood(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.good.yaml")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res, err := loadOne(t, filepath.Base(f))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.RuleSet.Rules()) == 0 {
				t.Error("no rules loaded")
			}
		})
	}
}

// TestLoadReportsEveryProblemAtOnce: an author fixing a folder sees every
// error in one run, across files, in file order.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(`vars:
  shop: Blue Bottle
rules:
  - id: welcome
    event: subscribe
    reply: { text: "hi" }
  - id: bad-when
    when: Evnt == "x"
    reply: { text: "{{ .Vars.missing }}" }
`)},
		"b.yaml": {Data: []byte(`vars:
  shop: Red Bottle
rules:
  - id: welcome
    keywords: [hi]
    reply: { text: "again" }
`)},
	}
	_, err := rules.LoadFS(fsys, "rules")
	var list rules.Errors
	if !errors.As(err, &list) {
		t.Fatalf("err = %v, want rules.Errors", err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Pos.String()+" "+e.Rule)
	}
	want := []string{
		"rules/a.yaml:8:11 bad-when", // the unknown name
		"rules/a.yaml:9:29 bad-when", // the missing var, found by the dry run
		"rules/b.yaml:2:3 ",          // the var defined twice
		"rules/b.yaml:4:9 welcome",   // the id used twice
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors at:\n%s\nwant:\n%s\n\nfull text:\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"), err)
	}
	if !strings.Contains(err.Error(), `rules/b.yaml:4:9: rule "welcome": duplicate id: first defined at rules/a.yaml:4:9`) {
		t.Errorf("the duplicate id does not name both places:\n%v", err)
	}
	if !strings.Contains(err.Error(), `rules/b.yaml:2:3: var "shop" is already defined at rules/a.yaml:2:3`) {
		t.Errorf("the duplicate var does not name both places:\n%v", err)
	}
}

func TestLoadWarnings(t *testing.T) {
	long := strings.Repeat("咖", 700) // 2,100 bytes
	fsys := fstest.MapFS{
		"shop.yaml": {Data: []byte(`rules:
  - id: two-articles-for-a-keyword
    keywords: [menu]
    reply:
      news:
        - { title: Drinks, url: "https://example.com/drinks" }
        - { title: Cakes, url: "https://example.com/cakes" }
  - id: two-articles-on-follow
    event: subscribe
    reply:
      news:
        - { title: Drinks, url: "https://example.com/drinks" }
        - { title: Cakes, url: "https://example.com/cakes" }
  - id: long
    keywords: [story]
    reply: { text: "` + long + `" }
  - id: everything
    reply: { text: "catch-all" }
  - id: after-everything
    keywords: [late]
    reply: { text: late }
  - id: odd-type
    msgtype: miniprogrampage
    reply: { text: odd }
`)},
		// An input method's punctuation that makes a keyword nobody types.
		"cjk.yaml": {Data: []byte(`rules:
  - id: quoted
    keywords: [“wifi”, 密码]
    reply: { text: quoted }
  - id: one-keyword
    keywords: [营业，开门, hours]
    reply: { text: one }
  - id: block-list
    keywords:
      - 营业，开门
    reply: { text: block }
`)},
		"notes.yml":       {Data: []byte("rules: []\n")},
		"extra.YAML":      {Data: []byte("rules: []\n")},
		"sub/x.yaml":      {Data: []byte("rules: []\n")},
		"sub/x_test.yaml": {Data: []byte("tests: []\n")},
		"shop_test.yaml":  {Data: []byte("this is not a rule file: {\n")},
		".shop.yaml.swp":  {Data: []byte("\x00\x01")},
	}
	res, err := rules.LoadFS(fsys, "rules")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.Warning())
	}
	want := []string{
		`rules/cjk.yaml:3:16: warning: rule "quoted": keywords[0] "“wifi”" starts and ends with curly quotes, so it matches only text that holds them too: write it without them, or in ASCII quotes (switch the input method to English punctuation)`,
		`rules/cjk.yaml:6:16: warning: rule "one-keyword": keywords[0] "营业，开门" is one keyword: "，" is a full-width comma, and keywords in [...] are separated by the ASCII "," (switch the input method to English punctuation)`,
		`rules/extra.YAML: warning: ignored: rule files end in .yaml, in lower case`,
		`rules/notes.yml: warning: ignored: rule files end in .yaml`,
		`rules/shop.yaml:6:20: warning: rule "two-articles-for-a-keyword": news has 2 articles and may answer a user message: WeChat then shows only the first; restrict the rule to events to send up to 8`,
		`rules/shop.yaml:16:20: warning: rule "long": reply.text renders to 2100 bytes for a sample text message: WeChat may cut or drop text over 2048 bytes`,
		`rules/shop.yaml:19:5: warning: rule "after-everything": never matches: rule "everything" (rules/shop.yaml:17:5) comes first and has no condition; lower its priority`,
		`rules/shop.yaml:22:5: warning: rule "odd-type": never matches: rule "everything" (rules/shop.yaml:17:5) comes first and has no condition; lower its priority`,
		`rules/shop.yaml:23:14: warning: rule "odd-type": msgtype "miniprogrampage" is not one WeChat sends today (text, image, voice, video, shortvideo, location, link, event)`,
		`rules/sub/x.yaml: warning: ignored: rule files in a subfolder are not read; move it into the rules folder`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := strings.Join(res.Files, " "), "rules/cjk.yaml rules/shop.yaml"; got != want {
		t.Errorf("Files = %q, want %q: test, hidden and .yml files are not rule files", got, want)
	}
}

// Curly quotes in replies are text, however many come before the
// full-width colon that breaks the file.
func TestLoadFullWidthAfterManyQuotes(t *testing.T) {
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range 40 {
		fmt.Fprintf(&b, "  - id: r%d\n    keywords: [k%d]\n    reply: {text: 说“你好”}\n", i, i)
	}
	b.WriteString("  - id: last\n    keywords： [wifi]\n    reply: {text: hi}\n")
	_, err := rules.LoadFS(fstest.MapFS{"a.yaml": {Data: []byte(b.String())}}, "rules")
	want := `rules/a.yaml:123:13: "：" is a full-width colon: YAML needs the ASCII ":" (switch the input method to English punctuation)`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// A test file not named *_test.yaml is read as rules: the error says how
// to name it.
func TestLoadMisnamedTestFile(t *testing.T) {
	tests := []struct{ file, want string }{
		{"keywords-test.yaml", `rules/keywords-test.yaml:2:1: unknown field "tests" (known: vars, settings, rules): test files end in _test.yaml: rename this one keywords_test.yaml`},
		{"shop.tests.yaml", `rules/shop.tests.yaml:2:1: unknown field "tests" (known: vars, settings, rules): test files end in _test.yaml: rename this one shop_test.yaml`},
		{"tests.yaml", `rules/tests.yaml:2:1: unknown field "tests" (known: vars, settings, rules): test files end in _test.yaml: rename this one tests_test.yaml`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			fsys := fstest.MapFS{tt.file: {Data: []byte("# cases\ntests:\n  - event: {Content: x}\n    want: {rule: a}\n")}}
			_, err := rules.LoadFS(fsys, "rules")
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestLoadOrderAndDisabled(t *testing.T) {
	fsys := fstest.MapFS{
		"b.yaml": {Data: []byte(`rules:
  - { id: b1, keywords: [x], reply: { text: b1 } }
  - { id: b-urgent, priority: 10, keywords: [x], reply: { text: b-urgent } }
`)},
		"a.yaml": {Data: []byte(`rules:
  - { id: a-off, enabled: false, keywords: [x], reply: { text: a-off } }
  - { id: a1, keywords: [x], reply: { text: a1 } }
  - { id: a-last, priority: -1, keywords: [x], reply: { text: a-last } }
`)},
	}
	res, err := rules.LoadFS(fsys, "rules")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res.RuleSet.Rules() {
		ids = append(ids, r.ID)
	}
	if got, want := strings.Join(ids, " "), "b-urgent a1 b1 a-last"; got != want {
		t.Errorf("order = %s, want %s (priority, then file name, then position; disabled left out)", got, want)
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	_, err := rules.Load(filepath.Join(dir, "missing"))
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing folder: err = %v", err)
	}
	_, err = rules.Load(dir)
	if err == nil || !strings.Contains(err.Error(), "has no rule files (*.yaml)") {
		t.Errorf("empty folder: err = %v", err)
	}

	// A ConfigMap mount: the rule file is a link into a ..data folder.
	if err := os.MkdirAll(filepath.Join(dir, "..2024_06_12", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("..2024_06_12/shop.yaml", "rules:\n  - { id: hi, keywords: [hi], reply: { text: hello } }\n")
	if err := os.Symlink("..2024_06_12", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/shop.yaml", filepath.Join(dir, "shop.yaml")); err != nil {
		t.Fatal(err)
	}
	res, err := rules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.RuleSet.Rules()) != 1 || res.RuleSet.Rules()[0].ID != "hi" {
		t.Errorf("rules through a symlink: %v", res.Files)
	}
	if res.Version == "" || res.RuleSet.Version() != res.Version {
		t.Errorf("Version = %q, RuleSet.Version() = %q", res.Version, res.RuleSet.Version())
	}

	// The version changes with the content, and only with it.
	again, _ := rules.Load(dir)
	write("..2024_06_12/shop.yaml", "rules:\n  - { id: hi, keywords: [hi], reply: { text: hello! } }\n")
	changed, _ := rules.Load(dir)
	if again.Version != res.Version || changed.Version == res.Version {
		t.Errorf("versions: first %s, same content %s, new content %s", res.Version, again.Version, changed.Version)
	}
}

func TestLoadRejectsHugeCondition(t *testing.T) {
	terms := make([]string, 20000)
	for i := range terms {
		terms[i] = "1"
	}
	src := "rules:\n  - id: huge\n    when: " + strings.Join(terms, " + ") + " > 0\n    reply: { text: x }\n"
	_, err := rules.LoadFS(fstest.MapFS{"huge.yaml": {Data: []byte(src)}}, "rules")
	if err == nil || err.Error() != `rules/huge.yaml:3:11: rule "huge": when: the condition is too large: more than 10000 terms` {
		t.Errorf("err = %.300v", err)
	}
}

func TestLoadedRulesAnswer(t *testing.T) {
	res, err := loadOne(t, "all_kinds.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text string
		rule string
		kind engine.Kind
	}{
		{"Hi!", "text", engine.KindText},
		{"a POSTER please", "image", engine.KindImage},
		{"play a song", "voice", engine.KindVoice},
		{"video", "video", engine.KindVideo},
		{"music", "music", engine.KindMusic},
		{"转人工", "human", engine.KindTransferService},
		{"joke", "random", engine.KindText},
		{"never", "", ""},
	}
	for _, tt := range tests {
		ev, err := engine.NewEvent(map[string]string{"MsgType": "text", "Content": tt.text}, nil)
		if err != nil {
			t.Fatal(err)
		}
		d := res.RuleSet.Match(ev, engine.MatchOptions{})
		switch {
		case tt.rule == "" && d.Rule != nil:
			t.Errorf("%q: answered by %s, want no reply", tt.text, d.Rule.ID)
		case tt.rule != "" && (d.Rule == nil || d.Rule.ID != tt.rule || d.Reply.Kind != tt.kind):
			t.Errorf("%q: decision %+v, want rule %s with a %s reply", tt.text, d, tt.rule, tt.kind)
		}
	}
}

// TestLoadReadsLinksToFiles: a link to a regular file is read as the file,
// wherever it points; so are the files of a ConfigMap mount, linked through
// ..data (see TestLoadDirectory).
func TestLoadReadsLinksToFiles(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	target := writeTemp(t, elsewhere, "shared.yaml", "rules:\n  - { id: hi, keywords: [hi], reply: { text: hello } }\n")
	symlink(t, target, filepath.Join(dir, "shop.yaml"))
	res, err := rules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.RuleSet.Rules()) != 1 || res.Files[0] != filepath.ToSlash(dir)+"/shop.yaml" {
		t.Errorf("files %v, %d rules: want shop.yaml's one rule", res.Files, len(res.RuleSet.Rules()))
	}
}

// growingFS reports a rule file smaller than it is, as when the file grows
// between the look at its size and its reading.
type growingFS struct{ fstest.MapFS }

func (g growingFS) Stat(name string) (fs.FileInfo, error) {
	info, err := g.MapFS.Stat(name)
	if err != nil || info.IsDir() {
		return info, err
	}
	return smallInfo{info}, nil
}

type smallInfo struct{ fs.FileInfo }

func (smallInfo) Size() int64 { return 10 }

// TestLoadSizeLimitWhileReading: the limit holds for what is read, not only
// for the size the file had when looked at.
func TestLoadSizeLimitWhileReading(t *testing.T) {
	big := bytes.Repeat([]byte("#"), rules.MaxFileSize+1)
	_, err := rules.LoadFS(growingFS{fstest.MapFS{"big.yaml": {Data: big}}}, "rules")
	want := "rules/big.yaml: is larger than the 8 MB limit for a rule file: split its rules across several files"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// TestLoadAtSizeLimit: a file of exactly MaxFileSize bytes is read. Its
// first line is a YAML error, so that the test does not wait for 8 MB to be
// parsed: the error proves the file was read, not refused.
func TestLoadAtSizeLimit(t *testing.T) {
	src := append([]byte("\tx\n#"), bytes.Repeat([]byte("x"), rules.MaxFileSize-5)...)
	src = append(src, '\n')
	_, err := rules.LoadFS(fstest.MapFS{"big.yaml": {Data: src}}, "rules")
	want := "rules/big.yaml: found character that cannot start any token"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error:\n%.300v\nwant it to start with:\n%s", err, want)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// writeTemp writes src to dir/name and returns its path.
func writeTemp(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadLostVars: when the file that holds the vars does not parse, the
// errors of other files that only follow from it collapse into one line,
// beside the error to fix.
func TestLoadLostVars(t *testing.T) {
	fsys := fstest.MapFS{
		"00-shop.yaml": {Data: []byte("vars:\n  shop: Demo\n  hours: 9-21\nrules:\n  - id: welcome\n      description: indented too far\n    event: subscribe\n    reply: { text: hi }\n")},
		"keywords.yaml": {Data: []byte("rules:\n  - id: hours\n    keywords: [hours]\n    when: Vars.hours != \"\"\n    reply: { text: \"{{ .Vars.shop }}: {{ .Vars.hours }}\" }\n" +
			"  - id: typo\n    keywords: [x]\n    wehn: true\n    reply: { text: x }\n")},
	}
	_, err := rules.LoadFS(fsys, "rules")
	want := `rules/00-shop.yaml: 2 errors in other files come from the vars of this file, which does not load: fix it first
rules/00-shop.yaml:6:7: mapping values are not allowed in this context: this key is indented more than the one above it; line it up with the other keys of its mapping
rules/keywords.yaml:8:5: rule "typo": unknown field "wehn": did you mean "when"?`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// TestLoadSessionAndPick: what check says of unset and pick: all.
func TestLoadSessionAndPick(t *testing.T) {
	reply := func(s string) string { return "      - text: " + s + "\n" }
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(`settings:
  session_ttl: 2h
rules:
  - id: start
    keywords: [book]
    set: { step: party }
    reply: { text: "How many" }
  - id: stop
    keywords: [cancel]
    unset: [stpe]
    reply: { text: Cancelled }
  - id: menu-all
    event: CLICK
    pick: all
    replies:
` + reply("1") + reply("2") + reply("3") + reply("4") + reply("5") + `
  - id: keyword-all
    keywords: [news]
    pick: all
    replies:
` + reply("1") + reply("2") + reply("3") + reply("4") + reply("5") + reply("6") + `
`)},
	}
	res, err := rules.LoadFS(fsys, "rules")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.Warning())
	}
	want := []string{
		`rules/a.yaml:10:13: warning: rule "stop": unset: no rule sets Session.stpe: did you mean Session.step?`,
		`rules/a.yaml:14:11: warning: rule "menu-all": pick: all sends 5 replies: the first as the reply, 4 through the customer-service API, and WeChat accepts 3 after an event (a menu click, a follow, a scan): the rest would be refused (45047)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rs := res.RuleSet
	if r := rs.Rule("start"); r.SessionTTL != 2*time.Hour || len(r.Set) != 1 {
		t.Errorf("start: session_ttl %v, set %v; want the folder's 2h and one value", r.SessionTTL, r.Set)
	}
	if r := rs.Rule("keyword-all"); r.Pick != engine.PickAll || len(r.Replies) != 6 {
		t.Errorf("keyword-all: pick %q with %d replies", r.Pick, len(r.Replies))
	}
	if r := rs.Rule("stop"); r.Pick != engine.PickRandom {
		t.Errorf("stop: pick %q, want random by default", r.Pick)
	}

	// A backend rule needs no reply; its defaults fill what it leaves out.
	fsys["c.yaml"] = &fstest.MapFile{Data: []byte("rules:\n  - id: order\n    keywords: [order]\n    backend: {url: \"http://127.0.0.1:9/order\", passive_wait: 2s}\n    on_error: {text: later}\n")}
	res, err = rules.LoadFS(fsys, "rules")
	if err != nil {
		t.Fatal(err)
	}
	r := res.RuleSet.Rule("order")
	if b := r.Backend; b == nil || b.URL != "http://127.0.0.1:9/order" || b.Timeout != engine.DefaultBackendTimeout || b.PassiveWait != 2*time.Second || r.OnError == nil || len(r.Replies) != 0 {
		t.Errorf("order: backend %+v, on_error %v, %d replies", r.Backend, r.OnError, len(r.Replies))
	}
	delete(fsys, "c.yaml")

	// Two files may not both give a setting; pick needs replies.
	fsys["b.yaml"] = &fstest.MapFile{Data: []byte("settings: {session_ttl: 10m}\nrules:\n  - id: one\n    pick: all\n    reply: {text: one}\n")}
	_, err = rules.LoadFS(fsys, "rules")
	for _, want := range []string{
		`rules/b.yaml:1:25: settings.session_ttl is already given at rules/a.yaml:2:16`,
		`rules/b.yaml:4:11: rule "one": pick applies to replies, and this rule has one reply`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %s", err, want)
		}
	}
}
