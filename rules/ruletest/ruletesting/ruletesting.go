// Package ruletesting runs rule tests (package ruletest's *_test.yaml files)
// inside go test. It is apart from ruletest so that the wxreply binary, which
// runs rule tests with ruletest.Run, does not link package testing.
package ruletesting

import (
	"io/fs"
	"path"
	"testing"

	"github.com/wxreply/wxreply/rules/ruletest"
)

// Test runs the rule tests of each path (a rule folder, or one of its
// *_test.yaml files) inside go test: one subtest per test file, and in it
// one per case, named as the case is. A failing case fails its subtest with
// the report `wxreply test` writes; an invalid rule folder or test file fails
// t with its positioned errors. go test's -run selects cases:
//
//	func TestRules(t *testing.T) { ruletesting.Test(t, "rules") }
//
//	go test -run 'TestRules/shop_test.yaml/window'
func Test(t *testing.T, paths ...string) {
	t.Helper()
	test(t, ruletest.Load(paths...))
}

// TestFS is Test over one rule folder in a file system, such as the
// examples embedded in the binary; positions show files under name.
func TestFS(t *testing.T, fsys fs.FS, name string) {
	t.Helper()
	test(t, []*ruletest.Folder{ruletest.LoadFS(fsys, name)})
}

func test(t *testing.T, folders []*ruletest.Folder) {
	t.Helper()
	for _, f := range folders {
		if f.Err != nil {
			t.Errorf("%v", f.Err)
			continue
		}
		for _, s := range f.Suites {
			t.Run(path.Base(s.File), func(t *testing.T) {
				if s.Err != nil {
					t.Fatalf("%v", s.Err)
				}
				for _, c := range s.Cases {
					t.Run(c.Name, func(t *testing.T) {
						if res := c.Run(); !res.Passed() {
							t.Errorf("\n%s", res.Failure)
						}
					})
				}
			})
		}
	}
}
