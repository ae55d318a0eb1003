// Package pos is a place in a file, as file:line:col: where a rule, a test
// case or an error stands. It is the one position type of engine (a rule's
// Source), of positioned YAML and of the errors that rules, tests and menus
// report, so that none of them writes a position out only to parse it back.
package pos

import (
	"cmp"
	"fmt"
)

// Pos is a place in a file. Line and Col count from 1; zero means unknown.
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

// MarshalText writes the position as String does, so that logs show
// file:line:col whatever their format.
func (p Pos) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Compare orders positions by file name, then as they stand in the file.
func (p Pos) Compare(q Pos) int {
	return cmp.Or(cmp.Compare(p.File, q.File), cmp.Compare(p.Line, q.Line), cmp.Compare(p.Col, q.Col))
}
