package ruletest

import (
	"io/fs"
	"path"
	"testing"
)

// Test runs the rule tests of each path (a rule folder, or one of its
// *_test.yaml files) inside go test: one subtest per test file, and in it
// one per case, named as the case is. A failing case fails its subtest with
// the report `wxreply test` writes; an invalid rule folder or test file fails
// t with its positioned errors. go test's -run selects cases:
//
//	func TestRules(t *testing.T) { ruletest.Test(t, "rules") }
//
//	go test -run 'TestRules/shop_test.yaml/window'
func Test(t *testing.T, paths ...string) {
	t.Helper()
	test(t, resolve(paths))
}

// TestFS is Test over one rule folder in a file system, such as the
// examples embedded in the binary; positions show files under name.
func TestFS(t *testing.T, fsys fs.FS, name string) {
	t.Helper()
	test(t, []*folder{fsFolder(fsys, name)})
}

func test(t *testing.T, folders []*folder) {
	t.Helper()
	for _, f := range folders {
		l := f.load()
		if l.err != nil {
			t.Errorf("%v", l.err)
			continue
		}
		for _, s := range l.suites {
			t.Run(path.Base(s.file), func(t *testing.T) {
				if s.err != nil {
					t.Fatalf("%v", s.err)
				}
				for _, c := range s.cases {
					t.Run(c.name, func(t *testing.T) {
						if res, _ := c.run(l.rs, 0); !res.Passed() {
							t.Errorf("\n%s", res.Failure)
						}
					})
				}
			})
		}
	}
}
