// Package linediff compares texts line by line, for the reports of wxreply:
// the diff of a reply text a rule test wanted against the one it got, and of
// a menu file against the live menu.
//
// The diff is a longest common subsequence over whole lines, whose table is
// quadratic: the texts compared are short (a WeChat text is at most 2,048
// bytes, a menu a few dozen lines).
package linediff

import (
	"fmt"
	"strings"
)

// Op is one line of a diff: kept (' '), removed ('-') or added ('+'). A and
// B count the lines of each side that come before it.
type Op struct {
	Kind byte
	Line string
	A, B int
}

// String writes the line after its mark: "-removed", "+added", " kept".
func (o Op) String() string { return string(o.Kind) + o.Line }

// Lines diffs a against b: every line of both, in order, each marked. Where
// a line is removed and another added at one place, the removal comes first.
func Lines(a, b []string) []Op {
	n, m := len(a), len(b)
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
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
	var ops []Op
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, Op{' ', a[i], i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, Op{'-', a[i], i, j})
			i++
		default:
			ops = append(ops, Op{'+', b[j], i, j})
			j++
		}
	}
	return ops
}

// Text diffs the lines of want against those of got and writes every line,
// marked, one a line.
func Text(want, got string) string {
	var out strings.Builder
	for _, op := range Lines(strings.Split(want, "\n"), strings.Split(got, "\n")) {
		out.WriteString(op.String() + "\n")
	}
	return out.String()
}

// Unified writes the changes that turn a (named fromName) into b (named
// toName) in the unified diff format, with three lines of context; "" when
// the two are the same.
func Unified(fromName string, a []string, toName string, b []string) string {
	ops := Lines(a, b)
	changed := false
	for _, op := range ops {
		if op.Kind != ' ' {
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
		for first < len(ops) && ops[first].Kind == ' ' {
			first++
		}
		if first == len(ops) {
			break
		}
		lo := max(first-context, start)
		hi := first
		for last := first; last < len(ops); last++ {
			if ops[last].Kind != ' ' {
				hi = last
			} else if last-hi > 2*context {
				break
			}
		}
		end := min(hi+context+1, len(ops))
		aStart, bStart := ops[lo].A, ops[lo].B
		aLen, bLen := 0, 0
		for _, op := range ops[lo:end] {
			if op.Kind != '+' {
				aLen++
			}
			if op.Kind != '-' {
				bLen++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(aStart, aLen), hunkRange(bStart, bLen))
		for _, op := range ops[lo:end] {
			out.WriteString(op.String() + "\n")
		}
		start = end
	}
	return out.String()
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
