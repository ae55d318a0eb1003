package ruletest

import (
	"io/fs"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

// Folder is a rule folder with its rules loaded and its test files parsed,
// ready to run case by case, as package ruletesting does inside go test.
// [Run] loads and runs in one call.
type Folder struct {
	// Name is the folder as displayed.
	Name string
	// Err is set when the folder cannot be used: a path that cannot be
	// read, a folder without test files, rules that do not load. Then
	// Suites is empty.
	Err    error
	Suites []*Suite
}

// Suite is one test file of a Folder.
type Suite struct {
	// File is the test file as displayed.
	File string
	// Err is set when the file is invalid (as Errors when it has
	// positions): then Cases is empty.
	Err   error
	Cases []*Case
}

// Case is one case of a Suite.
type Case struct {
	Name string
	tc   *testCase
	rs   *engine.RuleSet
}

// Push is the push the case sends, and Now the time its rules see: what
// wxreply diff answers with two rule folders. For a case of steps, it is
// the first step's.
func (c *Case) Push() (ev *engine.Event, now time.Time) {
	return c.tc.steps[0].event, c.tc.steps[0].now
}

// Pos is where the case stands in its test file.
func (c *Case) Pos() rules.Pos { return c.tc.pos }

// Run runs the case as [Run] does with Options.Seed 0.
func (c *Case) Run() *CaseResult {
	res, _ := c.tc.run(c.rs, 0)
	return res
}

// Load reads the rule folders of paths (a rule folder, or one of its
// *_test.yaml files) and parses their test files, as [Run] does, without
// running a case.
func Load(paths ...string) []*Folder { return loadFolders(resolve(paths)) }

// LoadFS is Load over one rule folder in a file system, as [RunFS] reads it.
func LoadFS(fsys fs.FS, name string) *Folder {
	return loadFolders([]*folder{fsFolder(fsys, name)})[0]
}

func loadFolders(folders []*folder) []*Folder {
	var out []*Folder
	for _, f := range folders {
		l := f.load()
		lf := &Folder{Name: f.name, Err: l.err}
		out = append(out, lf)
		if l.err != nil {
			continue
		}
		for _, s := range l.suites {
			ls := &Suite{File: s.file, Err: s.err}
			lf.Suites = append(lf.Suites, ls)
			for _, c := range s.cases {
				ls.Cases = append(ls.Cases, &Case{Name: c.name, tc: c, rs: l.rs})
			}
		}
	}
	return out
}
