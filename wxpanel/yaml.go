package wxpanel

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The files are written as text rather than encoded from nodes, so that
// they read like the examples: comments where they help, flow lists of
// keywords, blank lines between rules, Chinese kept as it is. Only scalars
// need care, and they go through scalar and block below, which fuzzing
// checks against yaml.v3's reading.

// doc is a YAML file being written, line by line.
type doc struct {
	b     strings.Builder
	lines int
}

// line writes one line at indent (in spaces) and returns its number.
func (d *doc) line(indent int, format string, args ...any) int {
	s := fmt.Sprintf(format, args...)
	if s == "" {
		d.b.WriteString("\n")
	} else {
		d.b.WriteString(strings.Repeat(" ", indent) + s + "\n")
	}
	d.lines++
	return d.lines
}

// comment writes text as # comment lines at indent, wrapped at about 80
// columns.
func (d *doc) comment(indent int, text string) {
	for _, para := range strings.Split(text, "\n") {
		if strings.HasPrefix(para, "  ") {
			d.line(indent, "#%s", para) // pre-formatted: an example to copy
			continue
		}
		words := strings.Fields(para)
		cur := "#"
		width := 80 - indent
		for _, w := range words {
			if len(cur)+1+len(w) > width && cur != "#" {
				d.line(indent, "%s", cur)
				cur = "#"
			}
			cur += " " + w
		}
		d.line(indent, "%s", cur)
	}
}

// keyValue writes key: value at indent, value as a block when it has
// several lines, and returns the line of the key.
func (d *doc) keyValue(indent int, prefix, key, value string) int {
	if lines, chomp, ok := block(value); ok {
		n := d.line(indent, "%s%s: |%s", prefix, key, chomp)
		inner := indent + len(prefix) + 2
		for _, l := range lines {
			if l == "" {
				d.line(0, "")
			} else {
				d.line(inner, "%s", l)
			}
		}
		return n
	}
	return d.line(indent, "%s%s: %s", prefix, key, scalar(value, false))
}

// scalar returns s as a YAML scalar on one line that reads back as the
// string s: plain when that is safe, else quoted. In a flow collection
// (flow), the flow indicators are quoted too.
func scalar(s string, flow bool) string {
	if s == "" {
		return `""`
	}
	out, err := yaml.Marshal(s)
	o := strings.TrimSuffix(string(out), "\n")
	if err == nil && !strings.ContainsAny(o, "\n") && printable(s) && readsAs(o, s, flow) {
		return o
	}
	return quote(s)
}

// readsAs reports whether the scalar o reads back as s where it is put:
// yaml.v3 writes a few strings plainly that it cannot read back (":0").
func readsAs(o, s string, flow bool) bool {
	if flow {
		var got []string
		return yaml.Unmarshal([]byte("["+o+", x]"), &got) == nil && len(got) == 2 && got[0] == s
	}
	var got map[string]string
	return yaml.Unmarshal([]byte("v: "+o), &got) == nil && got["v"] == s
}

// quote double-quotes s. Go's escapes (\n, \t, \\, \", \xNN, \uNNNN,
// \UNNNNNNNN) are all YAML escapes with the same meaning for valid UTF-8.
func quote(s string) string {
	return strconv.Quote(strings.ToValidUTF8(s, "\uFFFD"))
}

// block returns the lines of s for a literal block scalar (|), and its
// chomping indicator, when s has several lines and reads back exactly
// from one.
func block(s string) (lines []string, chomp string, ok bool) {
	orig := s
	if !strings.Contains(strings.TrimSuffix(s, "\n"), "\n") || !printable(strings.ReplaceAll(s, "\n", "")) {
		return nil, "", false
	}
	chomp = "-"
	if strings.HasSuffix(s, "\n") {
		if strings.HasSuffix(s, "\n\n") {
			return nil, "", false
		}
		chomp, s = "", strings.TrimSuffix(s, "\n")
	}
	lines = strings.Split(s, "\n")
	for _, l := range lines {
		if strings.TrimRight(l, " \t") != l || strings.HasPrefix(l, "\t") {
			return nil, "", false // trailing spaces do not survive editors
		}
	}
	// The first line with text sets the indentation: one that starts with
	// a space would need an indentation indicator. Quoting is simpler.
	var b strings.Builder
	b.WriteString("v: |" + chomp + "\n")
	for _, l := range lines {
		if l != "" {
			b.WriteString("  " + l)
		}
		b.WriteString("\n")
	}
	var got map[string]string
	if yaml.Unmarshal([]byte(b.String()), &got) != nil || got["v"] != orig {
		return nil, "", false
	}
	return lines, chomp, true
}

// printable reports whether s has no control characters (tabs aside) and
// nothing yaml.v3 would escape.
func printable(s string) bool {
	for _, r := range s {
		if r == '\t' {
			continue
		}
		if !unicode.IsPrint(r) && r != ' ' || r == '\uFEFF' {
			return false
		}
	}
	return true
}

// flowList writes items as a flow sequence: [a, b, "c, d"].
func flowList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = scalar(s, true)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// template escapes s for a reply field, where every string is a Go
// template: text from the panel is shown as it is, even with {{ in it.
func template(s string) string {
	return strings.ReplaceAll(s, "{{", `{{"{{"}}`)
}
