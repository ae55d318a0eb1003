package text

import (
	"fmt"
	"strings"
)

// Suggest returns the name in known that s is most likely a typo of (within
// two edits), or "": the "did you mean" of wxreply's files.
func Suggest(s string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance counts the edits (insert, delete, replace, or swap two
// neighbours: "kye" is one edit from "key") between a and b.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Unknown says that name, a what, is not one of known, and which of them
// it may be a typo of: `unknown field "wehn": did you mean "when"?`, else
// `unknown field "x" (known: a, b)`. The name is cut to 40 characters: it
// may come from anyone.
func Unknown(what, name string, known []string) string {
	msg := fmt.Sprintf("unknown %s %.40q", what, name)
	if guess := Suggest(name, known); guess != "" {
		return msg + fmt.Sprintf(": did you mean %q?", guess)
	}
	if len(known) > 0 {
		msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
	}
	return msg
}
