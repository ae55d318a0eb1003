package examples_test

import (
	"testing"

	"github.com/wxreply/wxreply/examples"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/wxmenu"
)

// TestExampleMenu: the example menu is valid, holds the buttons the example
// rules answer, and `wxreply menu check` finds nothing to warn about: every
// key it sends has a rule, and every menu rule has its button.
func TestExampleMenu(t *testing.T) {
	f, err := wxmenu.ParseFile("menu.yaml")
	if err != nil {
		t.Fatalf("the example menu:\n%v", err)
	}
	res, err := rules.LoadFS(examples.Rules(), examples.RulesDir)
	if err != nil {
		t.Fatal(err)
	}
	if w := wxmenu.CheckRules(f, res.RuleSet); len(w) > 0 {
		t.Errorf("warnings:\n%v", w)
	}
	if b, _ := f.Menu.Count(); b != wxmenu.MaxButtons {
		t.Errorf("%d buttons on the menu bar; the example uses all %d", b, wxmenu.MaxButtons)
	}
	want := map[string]string{
		"MENU_OPENING_HOURS": "click", "MENU_CONTACT": "click", "MENU_FIND_US": "click",
		"MENU_TODAY_SPECIAL": "click", "MENU_LATTE_ART": "click", "MENU_PLAYLIST": "click",
		"MENU_SCAN_COUPON": "scancode_waitmsg",
	}
	views := 0
	for _, top := range f.Menu.Buttons {
		for _, b := range append([]wxmenu.Button{top}, top.SubButtons...) {
			switch {
			case b.Type == "view":
				views++
			case b.Key != "":
				if want[b.Key] != b.Type {
					t.Errorf("button %q: key %s with type %s, want type %q", b.Name, b.Key, b.Type, want[b.Key])
				}
				delete(want, b.Key)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("no button for %v", want)
	}
	if views == 0 {
		t.Error("no view button")
	}
}
