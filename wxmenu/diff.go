package wxmenu

import (
	"strings"

	"github.com/wxreply/wxreply/internal/linediff"
)

// Diff compares two menus as their files would read, in the unified diff
// format with three lines of context: what changes when the menu named
// fromName is replaced by the one named toName. A nil menu is no menu. Diff
// returns "" when the two are the same.
func Diff(fromName string, from *Menu, toName string, to *Menu) string {
	return linediff.Unified(fromName, lines(from), toName, lines(to))
}

func lines(m *Menu) []string {
	if m == nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(Format(m)), "\n"), "\n")
}
