package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
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
// Kubernetes ConfigMap mount works. A rule file must be a regular file (or
// a link to one) of at most MaxFileSize bytes: a FIFO, a device, a folder or
// a dangling link named like one is an error naming it. An error lists every
// problem in the folder (as Errors when they are in the files); the Result
// then has no RuleSet but still lists the files and the warnings.
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

// Files yields each rule file that could be read, as displayed, with its
// contents, in the order the folder lists them. The contents must not be
// modified.
func (s *Snapshot) Files() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		for i, f := range s.files {
			if s.sources[i] != nil && !yield(f, s.sources[i]) {
				return
			}
		}
	}
}

// Read reads the rule files of the folder fsys; positions show them under
// name. It fails when the folder cannot be listed or holds no rule file.
// Files it cannot use (see Load) make the Snapshot fail to Compile, naming
// them. A file system that may hold links to FIFOs should implement
// fs.StatFS, as os.DirFS does: without it, fs.Stat opens the file to look
// at it. (embed.FS does not need to: it holds regular files only.)
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
			s.warnings = append(s.warnings, ignored(fsys, entry, display)...)
			continue
		}
		src, err := readRuleFile(fsys, entry)
		if errors.Is(err, errVanished) {
			continue // deleted since the listing: the event that says so reloads again
		}
		if err == nil && len(src) == 0 {
			// Most often a file being written in place, caught between the
			// truncation and the first write: loading it would answer with
			// no rules at all.
			err = errors.New("the file is empty: give it rules, or remove it")
		}
		if err != nil {
			s.errs = append(s.errs, &Error{Pos: Pos{File: display}, Err: err})
			// The problem is part of the version, so that a FIFO replaced by
			// an oversized file is reported anew rather than as unchanged.
			fmt.Fprintf(sum, "%s\x00unreadable\x00%s\x00", base, err)
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
	var lostVars []string // files with vars that did not parse
	for i, display := range s.files {
		f, ferrs := parseFile(display, s.sources[i])
		errs = append(errs, ferrs...)
		if f != nil {
			files = append(files, f)
		} else if definesVars.Match(s.sources[i]) {
			lostVars = append(lostVars, display)
		}
	}
	c := newCompiler()
	c.compile(files, s.Version)
	errs = append(errs, collapseLostVars(c.errs, lostVars)...)
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

// MaxFileSize is the largest rule file read, 8 MB: hundreds of times a
// large account's rules, yet small enough that a log or a dump saved under a
// rule file's name by mistake cannot make every reload hold it in memory.
const MaxFileSize = 8 << 20

// errVanished is a rule file deleted between the folder's listing and its
// reading.
var errVanished = errors.New("vanished")

// readRuleFile reads the rule file of the folder's entry, refusing anything
// but a regular file (after links) of at most MaxFileSize bytes. Its errors
// say what the entry is and what to do; they are positioned by the caller.
func readRuleFile(fsys fs.FS, entry fs.DirEntry) ([]byte, error) {
	name := entry.Name()
	// Look before opening: opening a FIFO for reading blocks until someone
	// writes to it, which would hang every reload. The listing already
	// tells what an entry is unless it is a link; a link is followed by
	// fs.Stat, which os.DirFS answers with stat(2) without opening.
	if t := entry.Type(); t&fs.ModeSymlink == 0 && !t.IsRegular() {
		return nil, notRegular(t)
	}
	info, err := fs.Stat(fsys, name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot read: %w", err)
		}
		if entry.Type()&fs.ModeSymlink == 0 {
			return nil, errVanished
		}
		if target, lerr := fs.ReadLink(fsys, name); lerr == nil {
			return nil, fmt.Errorf("is a link to %s, which does not exist: point it at a rule file, or remove it", target)
		}
		return nil, errors.New("is a link to a file that does not exist: point it at a rule file, or remove it")
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(info.Mode())
	}
	if info.Size() > MaxFileSize {
		return nil, tooLarge(info.Size())
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	defer f.Close()
	// The file may grow between the Stat and the read: read one byte past
	// the limit to tell.
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	if len(src) > MaxFileSize {
		return nil, tooLarge(-1)
	}
	return src, nil
}

// notRegular says what a rule file that is not a file is, and what to do.
func notRegular(mode fs.FileMode) error {
	if mode.IsDir() {
		return errors.New("is a folder, not a rule file: folders inside the rules folder are not read; rename it so that its name does not end in .yaml")
	}
	what := fmt.Sprintf("a special file (mode %s)", mode)
	switch {
	case mode&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case mode&fs.ModeCharDevice != 0:
		what = "a character device"
	case mode&fs.ModeDevice != 0:
		what = "a device"
	case mode&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("is %s, not a regular file: only regular files, or links to them, are read as rules; replace it with a file, or rename it so that its name does not end in .yaml", what)
}

// tooLarge is the error for a rule file over MaxFileSize; size is -1 when
// the file grew past it while being read.
func tooLarge(size int64) error {
	is := "is larger than"
	if size >= 0 {
		is = fmt.Sprintf("is %d bytes, over", size)
	}
	return fmt.Errorf("%s the %d MB limit for a rule file: split its rules across several files", is, MaxFileSize>>20)
}

// IsRuleFile reports whether a file of that name in a rule folder holds
// rules: *.yaml, but neither a test file (*_test.yaml) nor a hidden one
// (an editor's .rules.yaml.swp, a ConfigMap's ..data).
func IsRuleFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, "_test.yaml") && !strings.HasPrefix(name, ".")
}

// ignored warns about the entry of the folder, not a rule file, when its
// author may have meant it to hold rules: a .yml or .YAML file, or the
// rule files of a subfolder, which are not read.
func ignored(fsys fs.FS, entry fs.DirEntry, display string) Errors {
	base := entry.Name()
	if strings.HasPrefix(base, ".") {
		return nil // an editor's file, a ConfigMap's ..data
	}
	warn := func(file, msg string) Errors { return Errors{{Pos: Pos{File: file}, Err: errors.New(msg)}} }
	switch ext := strings.ToLower(path.Ext(base)); {
	case entry.IsDir():
		subs, err := fs.ReadDir(fsys, base)
		if err != nil {
			return nil
		}
		var out Errors
		for _, sub := range subs {
			if IsRuleFile(sub.Name()) && !sub.IsDir() {
				out = append(out, warn(display+"/"+sub.Name(), "ignored: rule files in a subfolder are not read; move it into the rules folder")...)
			}
		}
		return out
	case ext == ".yml" && strings.HasSuffix(strings.ToLower(base), "_test.yml"):
		return warn(display, "ignored: test files end in _test.yaml")
	case ext == ".yml":
		return warn(display, "ignored: rule files end in .yaml")
	case ext == ".yaml" && !strings.HasSuffix(strings.ToLower(base), "_test.yaml"):
		return warn(display, "ignored: rule files end in .yaml, in lower case")
	}
	return nil
}

// definesVars finds a top-level vars: key in a file that may not parse.
var definesVars = regexp.MustCompile(`(?m)^vars:`)

// collapseLostVars replaces, when a file with vars did not parse, the errors
// that only follow from its vars being missing (an unknown var in a
// condition, a missing key of .Vars in a template) by one line that says
// so: the error to fix is the file's own, and twenty others would bury it.
func collapseLostVars(errs Errors, lostVars []string) Errors {
	if len(lostVars) == 0 {
		return errs
	}
	var kept Errors
	n := 0
	for _, e := range errs {
		msg := e.Err.Error()
		if strings.Contains(msg, "unknown var ") || strings.Contains(msg, "<.Vars.") && strings.Contains(msg, "map has no entry for key") {
			n++
			continue
		}
		kept = append(kept, e)
	}
	if n == 0 {
		return errs
	}
	return append(kept, &Error{Pos: Pos{File: lostVars[0]},
		Err: fmt.Errorf("%d %s in other files %s from the vars of this file, which does not load: fix it first",
			n, text.Plural(n, "error", "errors"), text.Plural(n, "comes", "come"))})
}
