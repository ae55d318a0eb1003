package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
)

// Result is a loaded rule folder.
type Result struct {
	// RuleSet is the compiled folder; nil when Load failed.
	RuleSet *engine.RuleSet
	// Files are the rule files read, as displayed in positions.
	Files []string
	// Warnings are problems that do not stop the folder from loading, such as
	// a platform limit WeChat enforces by dropping part of a reply.
	Warnings Errors
	// Version is a checksum of the files' names and contents.
	Version string
}

// Load reads every *.yaml file directly in dir, except *_test.yaml files,
// and compiles them into one RuleSet. Symbolic links are followed, so a
// Kubernetes ConfigMap mount works. An error lists every problem in the
// folder (as Errors when they are in the files); the Result then has no
// RuleSet but still lists the files and the warnings.
func Load(dir string) (*Result, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("rules folder %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("rules folder %s is a file: give the folder that holds the rule files", dir)
	}
	return LoadFS(os.DirFS(dir), filepath.ToSlash(dir))
}

// LoadFS is Load over a file system (such as the examples embedded in the
// binary) whose root is the rule folder; positions show files under name.
func LoadFS(fsys fs.FS, name string) (*Result, error) {
	snap, err := Read(fsys, name)
	if err != nil {
		return nil, err
	}
	return snap.Compile()
}

// Snapshot is a rule folder's files as read at one moment, not yet compiled.
// Reading is cheap next to compiling: a reload reads, compares Version with
// the last snapshot's, and compiles only when the files changed.
type Snapshot struct {
	// Version is a checksum of the rule files' names and contents.
	Version string

	name     string
	files    []string // as displayed
	sources  [][]byte
	errs     Errors // files that could not be read
	warnings Errors
}

// Read reads the rule files of the folder fsys; positions show them under
// name. It fails when the folder cannot be listed or holds no rule file.
func Read(fsys fs.FS, name string) (*Snapshot, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("rules folder %s: %w", name, err)
	}
	s := &Snapshot{name: name}
	sum := sha256.New()
	for _, entry := range entries {
		base := entry.Name()
		display := path.Join(name, base)
		if !IsRuleFile(base) {
			if strings.HasSuffix(base, ".yml") && !strings.HasPrefix(base, ".") {
				s.warnings = append(s.warnings, &Error{Pos: Pos{File: display}, Err: errors.New("ignored: rule files end in .yaml")})
			}
			continue
		}
		if info, err := fs.Stat(fsys, base); err != nil || info.IsDir() {
			continue // a dangling link, or a folder named like a file
		}
		src, err := fs.ReadFile(fsys, base)
		if err != nil {
			err = fmt.Errorf("cannot read: %w", err)
		} else if len(src) == 0 {
			// Most often a file being written in place, caught between the
			// truncation and the first write: loading it would answer with
			// no rules at all.
			err = errors.New("the file is empty: give it rules, or remove it")
		}
		if err != nil {
			s.errs = append(s.errs, &Error{Pos: Pos{File: display}, Err: err})
			fmt.Fprintf(sum, "%s\x00unreadable\x00", base)
			continue
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", base, len(src))
		sum.Write(src)
		s.files = append(s.files, display)
		s.sources = append(s.sources, src)
	}
	if len(s.files) == 0 && len(s.errs) == 0 {
		return nil, fmt.Errorf("rules folder %s has no rule files (*.yaml)", name)
	}
	s.Version = hex.EncodeToString(sum.Sum(nil))[:12]
	return s, nil
}

// Compile parses, checks and compiles the snapshot into a RuleSet. An error
// lists every problem (as Errors); the Result then has no RuleSet but still
// lists the files and the warnings.
func (s *Snapshot) Compile() (*Result, error) {
	res := &Result{Files: s.files, Version: s.Version, Warnings: slices.Clone(s.warnings)}
	errs := slices.Clone(s.errs)
	var files []*parsedFile
	for i, display := range s.files {
		f, ferrs := parseFile(display, s.sources[i])
		errs = append(errs, ferrs...)
		if f != nil {
			files = append(files, f)
		}
	}
	c := newCompiler()
	c.compile(files, s.Version)
	errs = append(errs, c.errs...)
	// Warnings about rules that did not decode whole (an unknown field left
	// out) would only bury the error that says why.
	if len(errs) == 0 {
		res.Warnings = append(res.Warnings, c.warnings...)
	}
	sortByPos(errs)
	sortByPos(res.Warnings)
	if len(errs) > 0 {
		return res, errs
	}
	res.RuleSet = c.set
	return res, nil
}

// IsRuleFile reports whether a file of that name in a rule folder holds
// rules: *.yaml, but neither a test file (*_test.yaml) nor a hidden one
// (an editor's .rules.yaml.swp, a ConfigMap's ..data).
func IsRuleFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, "_test.yaml") && !strings.HasPrefix(name, ".")
}
