package yamlpos

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is a place in a YAML file. Line and Col count from 1; zero means unknown.
type Pos struct {
	File      string
	Line, Col int
}

// String writes file:line:col, file:line when the column is unknown, or
// file alone.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// ParsePos reads a position that String wrote as "file:line:col", such as
// an engine.Rule's Source. Anything else is a file name alone.
func ParsePos(s string) Pos {
	rest, colText, ok1 := cutLast(s)
	file, lineText, ok2 := cutLast(rest)
	line, err1 := strconv.Atoi(lineText)
	col, err2 := strconv.Atoi(colText)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		return Pos{File: s}
	}
	return Pos{File: file, Line: line, Col: col}
}

func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// Compare orders positions by file name, then as they stand in the file.
func (p Pos) Compare(q Pos) int {
	return cmp.Or(cmp.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}

// At is the position of node n in the file named file; the file alone when n
// is nil.
func At(file string, n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: file}
	}
	return Pos{File: file, Line: n.Line, Col: n.Column}
}

// Error is one problem in a YAML file, at its position.
type Error struct {
	Pos Pos
	Err error
}

// Error writes "file:line:col: message".
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }
