package main

import (
	"os"

	"github.com/wxreply/wxreply/examples"
	"github.com/wxreply/wxreply/rules"
)

// builtInNote says, when no folder was named and none is here, which rules a
// command works on: a CI step that forgot its DIR must not pass unnoticed.
const builtInNote = "no DIR given and no " + defaultRulesDir + " here: using the examples built into wxreply"

// defaultRulesDir is where commands look for rules when none is named.
const defaultRulesDir = examples.RulesDir

// loadRules loads dir. With no dir it loads the examples folder when run from
// a checkout, or else the examples built into the binary, so that wxreply
// works from anywhere without a rule folder of one's own.
func loadRules(dir string) (*rules.Result, error) {
	if dir = rulesDir(dir); dir != "" {
		return rules.Load(dir)
	}
	return rules.LoadFS(examples.Rules(), defaultRulesDir)
}

// rulesDir is the folder loadRules reads for dir, or "" for the examples
// built into the binary.
func rulesDir(dir string) string {
	if dir != "" {
		return dir
	}
	if _, err := os.Stat(defaultRulesDir); err == nil {
		return defaultRulesDir
	}
	return ""
}
