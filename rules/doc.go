// Package rules owns wxreply's rule files: the YAML format, reading a folder
// of them with positions, validating every rule, and compiling the folder into
// one engine.RuleSet.
//
// [Load] is the only loader: the server, `wxreply check`, `wxreply explain` and
// the rule-test runner all call it, so a folder that passes `check` is the
// folder the server answers with. Every problem in the folder is reported at
// once, each as "file:line:col: rule "id": message"; a folder with any error
// yields no RuleSet at all, so that a caller keeps the set it had.
//
// The package knows nothing of HTTP.
package rules
