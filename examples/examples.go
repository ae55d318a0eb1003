// Package examples is a complete example account, a coffee shop, in rule
// files. The wxreply binary embeds it, so that `wxreply check`, `explain` and
// `serve` work with no rule folder of one's own.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed rules/*.yaml
var files embed.FS

// Rules returns the example rule folder.
func Rules() fs.FS {
	sub, err := fs.Sub(files, "rules")
	if err != nil {
		panic(err) // the pattern above guarantees the folder
	}
	return sub
}

// RulesDir is the example rule folder's path in the source tree.
const RulesDir = "examples/rules"
