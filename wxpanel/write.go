package wxpanel

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/wxreply/wxreply/engine"
)

// writeRules writes the rule file, and notes where each warning's place is.
func (c *converter) writeRules() []byte {
	d := &doc{}
	d.line(0, "# yaml-language-server: $schema=%s/rules.json", c.opts.Schema)
	d.comment(0, "The account's auto-reply from the admin panel (自动回复), written by wxreply import.")
	if c.opts.Source != "" {
		// One line, whatever its length, and no line break from a file name
		// may end the comment.
		d.line(0, "# Imported from %s.", strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return '?'
			}
			return r
		}, c.opts.Source))
	}
	d.line(0, "#")
	d.comment(0, "Once the account enables a server URL, WeChat stops answering with the panel's "+
		"auto-reply and forwards every message here. These rules answer as the panel did. "+
		"Keyword rules are tried from the top down, in the order WeChat's API lists them: WeChat "+
		"does not document which rule answers when several match, so put the one you want first. "+
		"Every comment that starts with \"Left out\" or \"A temporary media id\" asks for a change; "+
		"wxreply import listed each as a warning.")
	d.line(0, "")
	d.line(0, "rules:")
	section := func(title string) {
		d.line(2, "# --- %s %s", title, strings.Repeat("-", max(3, 68-width(title))))
		d.line(0, "")
	}
	if c.follow != nil {
		section("Follow reply (被关注回复)")
		c.writeRule(d, c.follow)
	}
	if len(c.keywords) > 0 {
		section("Keyword replies (关键词回复)")
		for _, r := range c.keywords {
			c.writeRule(d, r)
		}
	}
	if c.fallback != nil {
		section("Default reply (收到消息回复)")
		c.writeRule(d, c.fallback)
	}
	return []byte(strings.TrimSuffix(d.b.String(), "\n\n") + "\n")
}

func (c *converter) writeRule(d *doc, r *rule) {
	if r.head != "" {
		d.comment(2, r.head)
	}
	r.line = d.line(2, "- id: %s", scalar(r.id, false))
	for _, p := range r.warnings {
		p.line, p.col = r.line, 5
	}
	d.line(4, "description: %s", scalar(r.description, false))
	if !r.enabled {
		d.line(4, "enabled: false  # %s", r.offNote)
	}
	if r.priority != 0 {
		d.line(4, "priority: %d", r.priority)
	}
	if r.event != "" {
		d.line(4, "event: %s", scalar(r.event, false))
	}
	if len(r.keywords) > 0 {
		d.line(4, "keywords: %s", flowList(r.keywords))
		d.line(4, "match: %s", r.match)
	}
	if r.when != "" {
		d.line(4, "when: %s", scalar(r.when, false))
	}
	if r.cooldown != "" {
		d.line(4, "cooldown: %s", r.cooldown)
	}
	for _, l := range r.leftOut {
		l.line, l.col = d.lines+1, 5
		if l.warn != nil {
			l.warn.line, l.warn.col = l.line, l.col
		}
		d.comment(4, l.comment)
	}
	if len(r.replies) == 1 {
		d.line(4, "reply:")
		writeReply(d, 6, "", r.replies[0])
	} else {
		d.line(4, "pick: %s  # %s", r.pick, r.pickNote)
		d.line(4, "replies:")
		for _, rp := range r.replies {
			writeReply(d, 6, "- ", rp)
		}
	}
	d.line(0, "")
}

// writeReply writes rp at indent; prefix is "- " for an item of replies.
func writeReply(d *doc, indent int, prefix string, rp *reply) {
	inner := indent + len(prefix)
	switch rp.kind {
	case engine.KindText:
		rp.line = d.keyValue(indent, prefix, "text", template(rp.text))
		rp.col = inner + 1
	case engine.KindImage, engine.KindVoice:
		d.line(indent, "%s%s:", prefix, rp.kind)
		if rp.note != "" {
			d.comment(inner+2, rp.note)
		}
		rp.line = d.line(inner+2, "media_id: %s", scalar(template(rp.mediaID), false))
		rp.col = inner + 3
	case engine.KindNews:
		rp.line = d.line(indent, "%snews:", prefix)
		rp.col = inner + 1
		for _, a := range rp.articles {
			p := "- "
			for _, f := range [][2]string{{"title", a.title}, {"description", a.description}, {"pic_url", a.picURL}, {"url", a.url}} {
				if f[1] == "" && f[0] != "title" {
					continue
				}
				d.keyValue(inner+2, p, f[0], template(f[1]))
				p = "  "
			}
		}
	default:
		panic(fmt.Sprintf("wxpanel: no writer for a %s reply", rp.kind))
	}
	if rp.warn != nil {
		rp.warn.line, rp.warn.col = rp.line, rp.col
	}
}

// width is how many columns s takes in a terminal: two for each CJK
// character.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x2E80 {
			n++
		}
	}
	return n
}
