package yamlpos

import (
	"fmt"

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
