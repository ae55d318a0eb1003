package wxmenu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

// CheckRules cross-checks the menu of f with a rule set and returns warnings:
// each button whose push no rule answers, and each event_key of a rule for a
// menu event that no button sends.
//
// A rule answers a button when its event_key lists the button's key and its
// event, if it has one, is the button's event (CLICK for click, ...): a rule
// that answers every CLICK (a catch-all) does not count, nor does a key
// tested only in when. Only buttons that send a key are checked: view and
// miniprogram buttons take the user elsewhere, and WeChat answers media_id
// and article buttons itself.
func CheckRules(f *File, set *engine.RuleSet) rules.Errors {
	var warnings rules.Errors
	all := set.Rules()

	type sent struct{ event, key string }
	sends := map[sent]bool{}
	f.each(func(i, j int, b *Button) {
		ev := Event(b.Type)
		if ev == "" {
			return
		}
		sends[sent{strings.ToLower(ev), b.EventKey()}] = true
		if b.Key == "" {
			return // view and miniprogram
		}
		var answered bool
		var otherEvent []string
		for _, r := range all {
			if !slices.Contains(r.EventKeys, b.Key) {
				continue
			}
			if r.Event == "" || strings.EqualFold(r.Event, ev) {
				answered = true
				break
			}
			otherEvent = append(otherEvent, fmt.Sprintf("rule %q has event %s", r.ID, r.Event))
		}
		if answered {
			return
		}
		msg := fmt.Sprintf("%s: no rule answers key %s (the %s push of %s button)", label(i, j, b), b.Key, ev, aType(b.Type))
		if len(otherEvent) > 0 {
			msg += ": " + strings.Join(otherEvent, ", ") + fmt.Sprintf(", not %s", ev)
		}
		warnings = append(warnings, &rules.Error{Pos: f.fieldPos(i, j, "key"), Err: fmt.Errorf("%s", msg)})
	})

	for _, r := range all {
		ev := strings.ToLower(r.Event)
		if !isMenuEvent(ev) {
			continue
		}
		for _, key := range r.EventKeys {
			if sends[sent{ev, key}] {
				continue
			}
			warnings = append(warnings, &rules.Error{Pos: r.Source, Rule: r.ID,
				Err: fmt.Errorf("event_key %s: no button of %s sends a %s push with it", key, f.Name, r.Event)})
		}
	}
	return warnings
}

func isMenuEvent(lower string) bool {
	for _, t := range typeOrder {
		if ev := Event(t); ev != "" && strings.ToLower(ev) == lower {
			return true
		}
	}
	return false
}

// each calls fn for every button that sends something: the menu bar buttons
// without a sub-menu, and the sub-menu buttons.
func (f *File) each(fn func(i, j int, b *Button)) {
	for i := range f.Menu.Buttons {
		b := &f.Menu.Buttons[i]
		if len(b.SubButtons) == 0 {
			fn(i, -1, b)
		}
		for j := range b.SubButtons {
			fn(i, j, &b.SubButtons[j])
		}
	}
}
