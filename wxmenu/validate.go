package wxmenu

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/internal/yamlpos"
	"github.com/wxreply/wxreply/rules"
)

// WeChat's limits on a menu, in bytes of UTF-8 (a Chinese character is 3).
const (
	MaxButtons      = 3
	MaxSubButtons   = 5
	MaxNameBytes    = 16 // a menu bar button's name
	MaxSubNameBytes = 60 // a sub-menu button's name
	MaxKeyBytes     = 128
	MaxURLBytes     = 1024
	maxOtherIDBytes = 1024 // media_id, article_id, appid, pagepath: no documented limit; a sanity bound
)

// Types maps each button type to the fields it needs, in WeChat's order.
// Every other field is an error on a button of that type.
var Types = map[string][]string{
	"click":                {"key"},
	"view":                 {"url"},
	"scancode_push":        {"key"},
	"scancode_waitmsg":     {"key"},
	"pic_sysphoto":         {"key"},
	"pic_photo_or_album":   {"key"},
	"pic_weixin":           {"key"},
	"location_select":      {"key"},
	"media_id":             {"media_id"},
	"view_limited":         {"media_id"}, // older: article_view_limited replaces it
	"article_id":           {"article_id"},
	"article_view_limited": {"article_id"},
	"miniprogram":          {"appid", "pagepath", "url"},
}

// typeOrder lists the types as WeChat's documentation does, for messages.
var typeOrder = []string{
	"click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
	"pic_weixin", "location_select", "media_id", "view_limited", "article_id", "article_view_limited", "miniprogram",
}

// Event is the Event of the push a button of type t sends when tapped, or ""
// for types that send none (media_id, view_limited, article_id,
// article_view_limited: WeChat answers those itself).
func Event(t string) string {
	switch t {
	case "click":
		return "CLICK"
	case "view":
		return "VIEW"
	case "miniprogram":
		return "view_miniprogram"
	case "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select":
		return t
	}
	return ""
}

// EventKey is the EventKey of the push b sends: its key, or its URL for a
// view button, or its page path for a mini program.
func (b *Button) EventKey() string {
	switch b.Type {
	case "view":
		return b.URL
	case "miniprogram":
		return b.PagePath
	}
	return b.Key
}

// field returns the value of a field by its YAML name.
func (b *Button) field(name string) string {
	switch name {
	case "key":
		return b.Key
	case "url":
		return b.URL
	case "media_id":
		return b.MediaID
	case "article_id":
		return b.ArticleID
	case "appid":
		return b.AppID
	case "pagepath":
		return b.PagePath
	}
	return ""
}

var valueFields = []string{"key", "url", "media_id", "article_id", "appid", "pagepath"}

// Validate checks m against WeChat's limits, as Parse does for a file; its
// errors name buttons by place, without file positions.
func (m *Menu) Validate() error {
	if errs := validate(m, &File{Name: "menu"}); len(errs) > 0 {
		return errs
	}
	return nil
}

// label names button i (sub-button j) for messages: `button 2.3 "拉花教学"`.
func label(i, j int, b *Button) string {
	s := fmt.Sprintf("button %d", i+1)
	if j >= 0 {
		s += fmt.Sprintf(".%d", j+1)
	}
	if b.Name != "" {
		s += fmt.Sprintf(" %q", b.Name)
	}
	return s
}

// validate returns every problem of m, positioned in f.
func validate(m *Menu, f *File) rules.Errors {
	var errs rules.Errors
	add := func(p rules.Pos, format string, args ...any) {
		errs = append(errs, &rules.Error{Pos: p, Err: fmt.Errorf(format, args...)})
	}
	switch n := len(m.Buttons); {
	case n == 0:
		p := f.at(yamlpos.Lookup(f.root, "button"))
		if yamlpos.Lookup(f.root, "button") == nil {
			p = f.at(f.root)
		}
		add(p, "the menu has no buttons: give 1 to %d under button", MaxButtons)
	case n > MaxButtons:
		add(f.at(f.buttonNode(MaxButtons, -1)), "%d buttons: the menu bar holds at most %d", n, MaxButtons)
	}
	for i := range m.Buttons {
		b := &m.Buttons[i]
		errs = append(errs, validateButton(b, i, -1, f)...)
		if len(b.SubButtons) == 0 {
			continue
		}
		if len(b.SubButtons) > MaxSubButtons {
			add(f.at(f.buttonNode(i, MaxSubButtons)), "%s: %d sub-menu buttons: a sub-menu holds at most %d", label(i, -1, b), len(b.SubButtons), MaxSubButtons)
		}
		for j := range b.SubButtons {
			errs = append(errs, validateButton(&b.SubButtons[j], i, j, f)...)
		}
	}
	sortErrors(errs)
	return errs
}

// checkLengths checks the length of the key, the URL (and its form) and
// the other ids WeChat limits.
func checkLengths(b *Button, pos func(field string) rules.Pos, add func(rules.Pos, string, ...any)) {
	if n := len(b.Key); n > MaxKeyBytes {
		add(pos("key"), "key is %d bytes: at most %d", n, MaxKeyBytes)
	}
	if b.URL != "" {
		if n := len(b.URL); n > MaxURLBytes {
			add(pos("url"), "url is %d bytes: at most %d", n, MaxURLBytes)
		} else if err := checkURL(b.URL); err != nil {
			add(pos("url"), "url %q: %v", b.URL, err)
		}
	}
	for _, name := range []string{"media_id", "article_id", "appid", "pagepath"} {
		if n := len(b.field(name)); n > maxOtherIDBytes {
			add(pos(name), "%s is %d bytes: at most %d", name, n, maxOtherIDBytes)
		}
	}
}

// validateButton checks one button: its name, its type and the fields the
// type needs, or its sub-menu.
func validateButton(b *Button, i, j int, f *File) rules.Errors {
	var errs rules.Errors
	add := func(p rules.Pos, format string, args ...any) {
		errs = append(errs, &rules.Error{Pos: p, Err: fmt.Errorf("%s: "+format, append([]any{label(i, j, b)}, args...)...)})
	}
	pos := func(field string) rules.Pos { return f.fieldPos(i, j, field) }
	sub := j >= 0

	maxName, where := MaxNameBytes, "a menu bar button's"
	if sub {
		maxName, where = MaxSubNameBytes, "a sub-menu button's"
	}
	switch {
	case strings.TrimSpace(b.Name) == "":
		add(pos("name"), "no name: every button has one")
	case len(b.Name) > maxName:
		add(pos("name"), "name is %d bytes: %s name may have at most %d (UTF-8: a Chinese character takes 3)", len(b.Name), where, maxName)
	}

	if sub && len(b.SubButtons) > 0 {
		add(pos("sub_button"), "a sub-menu button cannot open a sub-menu of its own: menus have two levels")
		return errs
	}
	if !sub && len(b.SubButtons) > 0 {
		// A menu bar button that opens a sub-menu has a name and nothing else.
		if b.Type != "" {
			add(pos("type"), "has both type and sub_button: a button that opens a sub-menu has no type of its own; remove type")
		}
		for _, name := range valueFields {
			if b.field(name) != "" {
				add(pos(name), "%s is not used by a button that opens a sub-menu: remove it", name)
			}
		}
		return errs
	}

	if b.Type == "" {
		what := "no type: give one of " + strings.Join(typeOrder, ", ")
		if !sub {
			what += fmt.Sprintf(", or 1 to %d buttons under sub_button", MaxSubButtons)
		}
		add(f.at(f.buttonNode(i, j)), "%s", what)
		return errs
	}
	needs, ok := Types[b.Type]
	if !ok {
		msg := fmt.Sprintf("type %q is not a menu button type", b.Type)
		if s := text.Suggest(b.Type, typeOrder); s != "" {
			msg += fmt.Sprintf(": did you mean %q?", s)
		} else {
			msg += ": want one of " + strings.Join(typeOrder, ", ")
		}
		add(pos("type"), "%s", msg)
		return errs
	}
	for _, name := range needs {
		if b.field(name) == "" {
			add(f.at(f.buttonNode(i, j)), "%s button needs %s", aType(b.Type), name)
		}
	}
	for _, name := range valueFields {
		if b.field(name) != "" && !slices.Contains(needs, name) {
			add(pos(name), "%s is not used by %s button: remove it", name, aType(b.Type))
		}
	}
	checkLengths(b, pos, add)
	return errs
}

// aType is "a click", "an article_id".
func aType(t string) string { return text.Article(t) + " " + t }

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want a full http:// or https:// address")
	}
	return nil
}

// sortErrors puts errors in file order, keeping the order of those at one place.
func sortErrors(errs rules.Errors) {
	slices.SortStableFunc(errs, func(a, b *rules.Error) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
}
