// Package text holds the small English helpers of wxreply's messages and
// reports, so that the commands, the rule engine, the rule tests and the menu
// word things the same way: plurals, articles, indentation, cutting text on a
// character boundary, and "did you mean" (Suggest).
package text

import (
	"strings"
	"unicode/utf8"
)

// Plural returns one when n is 1, else many: "1 rule", "2 rules".
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Article is the indefinite article for word: "an" before a vowel ("an
// image", "an article_id"), else "a".
func Article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// Indent prefixes every line of s; s ends with a newline, or gets one.
func Indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

// Cut cuts s to at most n bytes without splitting a character.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
