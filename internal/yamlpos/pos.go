package yamlpos

import (
	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/internal/pos"
)

// Pos is a place in a YAML file: file:line:col.
type Pos = pos.Pos

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
