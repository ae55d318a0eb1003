package wxmenu

import (
	"fmt"
	"strings"
)

// Diff compares two menus as their files would read, in the unified diff
// format with three lines of context: what changes when the menu named
// fromName is replaced by the one named toName. A nil menu is no menu. Diff
// returns "" when the two are the same.
func Diff(fromName string, from *Menu, toName string, to *Menu) string {
	a, b := lines(from), lines(to)
	ops := diffLines(a, b)
	changed := false
	for _, op := range ops {
		if op.kind != ' ' {
			changed = true
			break
		}
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", fromName, toName)
	const context = 3
	for start := 0; start < len(ops); {
		// Find the next change, and the hunk around it.
		first := start
		for first < len(ops) && ops[first].kind == ' ' {
			first++
		}
		if first == len(ops) {
			break
		}
		lo := max(first-context, start)
		hi := first
		for last := first; last < len(ops); last++ {
			if ops[last].kind != ' ' {
				hi = last
			} else if last-hi > 2*context {
				break
			}
		}
		end := min(hi+context+1, len(ops))
		aStart, bStart := ops[lo].a, ops[lo].b
		aLen, bLen := 0, 0
		for _, op := range ops[lo:end] {
			if op.kind != '+' {
				aLen++
			}
			if op.kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, op := range ops[lo:end] {
			fmt.Fprintf(&out, "%c%s\n", op.kind, op.line)
		}
		start = end
	}
	return out.String()
}

func lines(m *Menu) []string {
	if m == nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(Format(m)), "\n"), "\n")
}

func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

// op is one line of a diff: kept (' '), removed ('-') or added ('+'); a and
// b are how many lines of each side come before it.
type op struct {
	kind rune
	line string
	a, b int
}

// diffLines is a longest-common-subsequence diff: menus are a few dozen lines.
func diffLines(a, b []string) []op {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, op{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, op{'+', b[j], i, j})
			j++
		}
	}
	return ops
}
