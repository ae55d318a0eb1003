package wxpanel

import (
	"fmt"
	"strings"

	"github.com/wxreply/wxreply/engine"
)

// The tests are worked out here, by matching each case's text against the
// keywords written, as the engine would with this file alone: a case wants
// the rule that answers, which is the rule it was written for unless an
// earlier rule takes all of its keywords (a warning says so) or the panel
// has switched it off.

// answer returns the rule that answers text, or nil for none.
func (c *converter) answer(text string) *rule {
	low := strings.ToLower(strings.TrimSpace(text))
	for _, r := range c.keywords {
		if r.enabled && r.kw.Match(text, low) {
			return r
		}
	}
	if c.fallback != nil && c.fallback.enabled {
		return c.fallback
	}
	return nil
}

// unmatched are messages to try, in order, for a case of the default reply:
// the first that no keyword matches is used.
var unmatched = []string{"随便说一句：这条消息不含关键词", "a message that no keyword matches", "zq0427xv"}

// testCase is one case of the test file.
type testCase struct {
	name  string
	text  string            // a text message, or
	event map[string]string // another push (flow order: keys)
	keys  []string
	want  *rule
	steps bool // the cooldown: three steps
}

func (c *converter) cases() []*testCase {
	var out []*testCase
	if r := c.follow; r != nil {
		tc := &testCase{event: map[string]string{"Event": "subscribe"}, keys: []string{"Event"}}
		if r.enabled {
			tc.name, tc.want = "a follow gets the follow reply", r
		} else {
			tc.name = "a follow gets no reply: the follow reply is switched off in the panel"
		}
		out = append(out, tc)
	}
	for _, r := range c.keywords {
		out = append(out, c.keywordCase(r))
	}
	if r := c.fallback; r != nil {
		tc := &testCase{text: "", want: c.fallback}
		for _, s := range unmatched {
			if c.answer(s) == r || !r.enabled && c.answer(s) == nil {
				tc.text = s
				break
			}
		}
		if tc.text == "" {
			// Keywords in every one of them: a photo matches no keyword.
			tc.event = map[string]string{"MsgType": "image", "PicUrl": "https://example.com/photo.jpg", "MediaId": "PHOTO_MEDIA_ID"}
			tc.keys = []string{"MsgType", "PicUrl", "MediaId"}
		}
		if r.enabled {
			tc.name, tc.steps = "a message no keyword matches gets the default reply, once an hour", true
		} else {
			tc.name, tc.want = "a message no keyword matches gets no reply: the default reply is switched off in the panel", nil
		}
		out = append(out, tc)
	}
	seen := map[string]int{}
	for _, tc := range out {
		if seen[tc.name]++; seen[tc.name] > 1 {
			tc.name += fmt.Sprintf(" (%d)", seen[tc.name])
		}
	}
	return out
}

// keywordCase is the case of keyword rule r: the first of its keywords that
// r answers, or else its first keyword and whatever answers it.
func (c *converter) keywordCase(r *rule) *testCase {
	for _, k := range r.keywords {
		texts := []string{k}
		if r.match == engine.MatchContains {
			// An earlier equal keyword may take the keyword alone, and
			// leave the sentences around it to r.
			texts = append(texts, "请问"+k+"？")
		}
		for _, t := range texts {
			if c.answer(t) == r {
				return &testCase{name: fmt.Sprintf("%q gets %s%s", t, r.panel, modeNote(r)), text: t, want: r}
			}
		}
	}
	k := r.keywords[0]
	got := c.answer(k)
	gets := "no reply"
	if got != nil {
		gets = "rule " + got.id
	}
	tc := &testCase{text: k, want: got}
	if !r.enabled {
		tc.name = fmt.Sprintf("%q gets %s: %s%s is switched off", k, gets, r.panel, modeNote(r))
		return tc
	}
	tc.name = fmt.Sprintf("%q gets %s, before %s%s", k, gets, r.panel, modeNote(r))
	r.warnings = append(r.warnings, &pending{msg: fmt.Sprintf(
		"never answers: an earlier rule answers each of its keywords (%q: %s); move it up, or change its keywords", k, gets)})
	return tc
}

func modeNote(r *rule) string {
	if strings.HasSuffix(r.id, "-"+string(engine.MatchContains)) || strings.HasSuffix(r.id, "-"+string(engine.MatchEqual)) {
		return fmt.Sprintf(" (%s)", r.match)
	}
	return ""
}

// writeTests writes the test file.
func (c *converter) writeTests(cases []*testCase) []byte {
	d := &doc{}
	d.line(0, "# yaml-language-server: $schema=%s/tests.json", c.opts.Schema)
	d.comment(0, fmt.Sprintf("Tests of %s, written by wxreply import: a case for each rule, "+
		"which shows what the panel answered. Run them with `wxreply test` after each edit; "+
		"when you change an answer on purpose, change its case too.", c.opts.RulesFile))
	d.line(0, "")
	d.line(0, "tests:")
	for _, tc := range cases {
		d.line(2, "- name: %s", scalar(tc.name, false))
		if tc.steps {
			d.line(4, "steps:")
			push := func(after string) {
				if after != "" {
					d.line(6, "- after: %s", after)
					c.writePush(d, 8, "", tc)
				} else {
					c.writePush(d, 6, "- ", tc)
				}
			}
			push("")
			writeWant(d, 8, tc.want)
			push("5m")
			writeWant(d, 8, nil)
			push("55m")
			writeWant(d, 8, tc.want)
		} else {
			c.writePush(d, 4, "", tc)
			writeWant(d, 4, tc.want)
		}
		d.line(0, "")
	}
	return []byte(strings.TrimSuffix(d.b.String(), "\n\n") + "\n")
}

func (c *converter) writePush(d *doc, indent int, prefix string, tc *testCase) {
	if tc.event == nil {
		d.keyValue(indent, prefix, "text", tc.text)
		return
	}
	fields := make([]string, len(tc.keys))
	for i, k := range tc.keys {
		fields[i] = k + ": " + scalar(tc.event[k], true)
	}
	d.line(indent, "%sevent: {%s}", prefix, strings.Join(fields, ", "))
}

// writeWant writes what a case wants of rule r: the rule, and its first
// reply (a case passes when any of a rule's replies picked at random is
// the one wanted).
func writeWant(d *doc, indent int, r *rule) {
	if r == nil {
		d.line(indent, "want: {rule: none}")
		return
	}
	d.line(indent, "want:")
	d.line(indent+2, "rule: %s", scalar(r.id, false))
	rp := r.replies[0]
	switch rp.kind {
	case engine.KindText:
		d.keyValue(indent+2, "", "text", rp.text)
	case engine.KindImage, engine.KindVoice:
		d.line(indent+2, "kind: %s", rp.kind)
		d.line(indent+2, "media_id: %s", scalar(rp.mediaID, false))
	case engine.KindNews:
		d.line(indent+2, "kind: news")
		d.line(indent+2, "news:")
		for _, a := range rp.articles {
			d.keyValue(indent+4, "- ", "title", a.title)
		}
	}
}
