package main

import (
	"os"

	"github.com/wxreply/wxreply/examples"
	"github.com/wxreply/wxreply/rules"
)

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
