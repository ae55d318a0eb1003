package ruletest

import (
	"io/fs"

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

// Step is one push of a case as Play sends it: where it stands, and the
// options to match it with (its time, and the user's state the steps
// before it left).
type Step struct {
	Label   string // "name", or "name" step 2 of 3
	Pos     rules.Pos
	Event   *engine.Event
	Options engine.MatchOptions
}

// Play sends the case's pushes in turn to answer, which matches each with
// rules of its choosing: wxreply diff plays a case with two rule folders.
// The decision answer returns changes the user's state for the next step,
// from the session the case starts with.
func (c *Case) Play(answer func(Step) engine.Decision) {
	c.tc.play(func(s *step, opts engine.MatchOptions) (engine.Decision, bool) {
		return answer(Step{Label: s.label(), Pos: s.pos, Event: s.event, Options: opts}), true
	})
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
