package ruletest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

// folder is a rule folder and the test files to run in it.
type folder struct {
	name  string // as displayed
	disk  string // the folder on disk; "" for an fs.FS
	fsys  fs.FS
	files []string // test file names in the folder
	err   error    // the path given cannot be used
}

func fsFolder(fsys fs.FS, name string) *folder {
	f := &folder{name: name, fsys: fsys}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		f.err = fmt.Errorf("rules folder %s: %w", name, err)
		return f
	}
	for _, e := range entries {
		if IsTestFile(e.Name()) && !e.IsDir() {
			f.files = append(f.files, e.Name())
		}
		if base, ok := strings.CutSuffix(e.Name(), "_test.yml"); ok && !e.IsDir() {
			// Its cases would not run, and the folder pass without them.
			f.err = fmt.Errorf("%s/%s: test files end in _test.yaml: rename it %s_test.yaml", name, e.Name(), base)
			return f
		}
	}
	if len(f.files) == 0 {
		f.err = fmt.Errorf("%s: no test files (*_test.yaml)", name)
	}
	return f
}

// resolve groups the paths by rule folder, keeping their order. A folder
// runs all its test files, a test file only itself.
func resolve(paths []string) []*folder {
	var out []*folder
	byDir := map[string]*folder{}
	all := map[*folder]bool{}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = fmt.Errorf("%s: %w", filepath.ToSlash(p), pe.Err)
			}
			out = append(out, &folder{name: filepath.ToSlash(p), err: err})
			continue
		}
		dir, file := p, ""
		if !info.IsDir() {
			dir, file = filepath.Dir(p), filepath.Base(p)
			if !IsTestFile(file) {
				out = append(out, &folder{name: filepath.ToSlash(p), err: fmt.Errorf("%s: not a test file: test files end in _test.yaml and test the rules of their folder", filepath.ToSlash(p))})
				continue
			}
		}
		f, seen := byDir[filepath.Clean(dir)]
		if !seen {
			f = &folder{name: filepath.ToSlash(dir), disk: dir, fsys: os.DirFS(dir)}
			byDir[filepath.Clean(dir)] = f
			out = append(out, f)
		}
		if file == "" {
			all[f] = true
		} else if !slices.Contains(f.files, file) {
			f.files = append(f.files, file)
		}
	}
	for f := range all {
		listed := fsFolder(f.fsys, f.name)
		f.files, f.err = listed.files, listed.err
	}
	return out
}

// loaded is a folder with its rules loaded and its test files parsed.
type loaded struct {
	folder *folder
	rs     *engine.RuleSet
	err    error // the folder cannot be used: no case of it runs
	suites []*suite
}

// suite is one test file.
type suite struct {
	file  string // as displayed
	cases []*testCase
	err   error
}

// load reads the folder's rules the way the server does, then its test files.
func (f *folder) load() *loaded {
	l := &loaded{folder: f, err: f.err}
	if l.err != nil {
		return l
	}
	var res *rules.Result
	var err error
	if f.disk != "" {
		res, err = rules.Load(f.disk)
	} else {
		res, err = rules.LoadFS(f.fsys, f.name)
	}
	if err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			err = fmt.Errorf("%w\n%s: the rules do not load, so no test of the folder ran", err, f.name)
		}
		l.err = err
		for _, name := range f.files {
			l.suites = append(l.suites, &suite{file: path.Join(f.name, name), err: err})
		}
		return l
	}
	l.rs = res.RuleSet
	for _, name := range f.files {
		s := &suite{file: path.Join(f.name, name)}
		l.suites = append(l.suites, s)
		src, err := fs.ReadFile(f.fsys, name)
		if err != nil {
			s.err = fmt.Errorf("%s: %w", s.file, err)
			continue
		}
		cases, errs := parseFile(s.file, src)
		if len(errs) == 0 {
			errs = checkRules(cases, l.rs, f.name)
		}
		if len(errs) > 0 {
			s.err = errs
			continue
		}
		s.cases = cases
	}
	return l
}
