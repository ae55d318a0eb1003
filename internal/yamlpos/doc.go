// Package yamlpos reads YAML files with positions, for the file formats of
// wxreply (rule files, rule test files, the menu file): the place of a node as
// file:line:col ([Pos] and [At]), a
// strict decoder that reports every problem of a file in one pass with its
// position and in words a rule author reads ([DecodeStrict], [KindOf],
// [UnknownField]), lookups in the yaml.Node tree that tolerate missing nodes
// ([Lookup], [Key], [Keys], [Item], [NameAt]). Its "did you mean" is
// text.Suggest, which the engine uses too.
//
// It knows no file format: each caller brings its own Go types, and its own
// error type, which it fills from each [Error] (rules.Error adds the rule or
// the rule test the problem is in).
package yamlpos
