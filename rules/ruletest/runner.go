package ruletest

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/linediff"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
)

// Options adjust a Run.
type Options struct {
	// Run selects the cases whose name it matches; nil runs every case.
	Run *regexp.Regexp
	// Seed makes the picks among a rule's alternative replies repeatable.
	// Each case draws from its own stream, seeded with Seed and its name, so
	// selecting cases with Run does not change what the others get.
	Seed uint64
	// Verbose writes a line for each case that passes, too.
	Verbose bool
	// Coverage lists the rules no case was answered by.
	Coverage bool
	// MinCoverage fails the run when the share of rules answering at least
	// one case is below it (0.9 for 90%). Zero checks nothing.
	MinCoverage float64
}

// Report is what a Run found.
type Report struct {
	// Files are the test files, in the order they ran, each with its cases.
	Files          []*FileResult
	Passed, Failed int
	// Rules counts the rules of the folders whose cases ran; Uncovered are
	// those no case was answered by, in the order of the files. A rule with
	// enabled: false is in neither.
	Rules     int
	Uncovered []*engine.Rule
	// BelowMinCoverage is set when Options.MinCoverage was not reached.
	BelowMinCoverage bool

	errs []error
}

// FileResult is one test file.
type FileResult struct {
	// File is the test file as displayed, or the path given when it could
	// not be read.
	File string
	// Cases are the cases that ran.
	Cases []*CaseResult
	// Err is set when the file, or the rule folder it tests, is invalid: then
	// no case of the file ran.
	Err      error
	Duration time.Duration
}

// CaseResult is one case that ran.
type CaseResult struct {
	Name string
	Pos  rules.Pos
	// Rule is the rule that answered, "" for none.
	Rule string
	// Failure is the report of a failed case, as written by Run; empty when
	// the case passed.
	Failure  string
	Duration time.Duration
}

// Passed reports whether the case got what it wanted.
func (c *CaseResult) Passed() bool { return c.Failure == "" }

// Coverage is the share of rules at least one case was answered by: 1 when
// there are no rules.
func (r *Report) Coverage() float64 {
	if r.Rules == 0 {
		return 1
	}
	return float64(r.Rules-len(r.Uncovered)) / float64(r.Rules)
}

// Errors are the problems that kept test files from running, each as it
// was written: a rule folder that does not load, an invalid test file (as
// Errors), a path that cannot be read.
func (r *Report) Errors() []error { return r.errs }

// OK reports whether every case ran and passed and the coverage is enough.
func (r *Report) OK() bool {
	return r.Failed == 0 && !r.BelowMinCoverage && len(r.Errors()) == 0
}

// Run runs the rule tests of each path: a rule folder (every *_test.yaml in
// it) or one test file (which tests the rules of the folder it is in). The
// rules are loaded with rules.Load, as the server loads them.
//
// Everything goes to w: each failing case (with the rule, the reply wanted
// and the reply got), each invalid file with its positions, a summary and
// the coverage. The error is non-nil when a test file or a rule folder is
// invalid, or a path cannot be read: the cases it holds did not run. Failing
// cases are not an error; see Report.OK.
func Run(w io.Writer, opts Options, paths ...string) (*Report, error) {
	return run(w, opts, resolve(paths))
}

// RunFS is Run over one rule folder in a file system (such as the examples
// embedded in the binary) whose root is the folder; positions show files
// under name. It loads the rules with rules.LoadFS.
func RunFS(w io.Writer, opts Options, fsys fs.FS, name string) (*Report, error) {
	return run(w, opts, []*folder{fsFolder(fsys, name)})
}

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

func run(w io.Writer, opts Options, folders []*folder) (*Report, error) {
	rep := &Report{}
	for _, f := range folders {
		l := f.load()
		if l.err != nil {
			fmt.Fprintln(w, l.err)
			rep.errs = append(rep.errs, l.err)
			if len(l.suites) == 0 {
				rep.Files = append(rep.Files, &FileResult{File: f.name, Err: l.err})
			}
			for _, s := range l.suites {
				rep.Files = append(rep.Files, &FileResult{File: s.file, Err: l.err})
			}
			continue
		}
		answered := map[*engine.Rule]bool{}
		for _, s := range l.suites {
			fr := &FileResult{File: s.file, Err: s.err}
			rep.Files = append(rep.Files, fr)
			if s.err != nil {
				fmt.Fprintln(w, s.err)
				rep.errs = append(rep.errs, s.err)
				continue
			}
			start := time.Now()
			for _, c := range s.cases {
				if opts.Run != nil && !opts.Run.MatchString(c.name) {
					continue
				}
				res, rule := c.run(l.rs, opts.Seed)
				answered[rule] = true
				fr.Cases = append(fr.Cases, res)
				switch {
				case !res.Passed():
					rep.Failed++
					fmt.Fprint(w, res.Failure)
				case opts.Verbose:
					rep.Passed++
					fmt.Fprintf(w, "%s: %q: ok (%s)\n", res.Pos, res.Name, cmp.Or(res.Rule, "none"))
				default:
					rep.Passed++
				}
			}
			fr.Duration = time.Since(start)
		}
		var uncovered []*engine.Rule
		for _, r := range l.rs.Rules() {
			rep.Rules++
			if !answered[r] {
				uncovered = append(uncovered, r)
			}
		}
		slices.SortStableFunc(uncovered, func(a, b *engine.Rule) int {
			return a.Source.Compare(b.Source)
		})
		rep.Uncovered = append(rep.Uncovered, uncovered...)
	}
	rep.summary(w, opts)
	if len(rep.errs) > 0 {
		return rep, errors.Join(rep.errs...)
	}
	return rep, nil
}

func (rep *Report) summary(w io.Writer, opts Options) {
	fmt.Fprintf(w, "%d passed, %d failed", rep.Passed, rep.Failed)
	notRun := 0
	for _, f := range rep.Files {
		if f.Err != nil {
			notRun++
		}
	}
	if notRun > 0 {
		fmt.Fprintf(w, ", %d %s not run (errors above)", notRun, text.Plural(notRun, "file", "files"))
	}
	fmt.Fprintln(w)
	if opts.Run != nil && rep.Passed+rep.Failed == 0 && notRun == 0 {
		fmt.Fprintf(w, "no case matches --run %q\n", opts.Run.String())
	}
	if rep.Rules == 0 {
		return
	}
	covered := rep.Rules - len(rep.Uncovered)
	fmt.Fprintf(w, "coverage: %d of %d rules answered a case (%.1f%%)", covered, rep.Rules, 100*rep.Coverage())
	if opts.Coverage && len(rep.Uncovered) > 0 {
		fmt.Fprintf(w, "; not reached by any case:\n")
		for _, r := range rep.Uncovered {
			fmt.Fprintf(w, "  %s: %s\n", r.Source, r.ID)
		}
	} else {
		fmt.Fprintln(w)
	}
	if opts.MinCoverage > 0 && rep.Coverage() < opts.MinCoverage {
		rep.BelowMinCoverage = true
		fmt.Fprintf(w, "coverage %.1f%% is below the minimum of %.1f%%\n", 100*rep.Coverage(), 100*opts.MinCoverage)
	}
}

// problem is one way a case did not get what it wanted.
type problem struct {
	pos    rules.Pos
	msg    string
	detail []string // more lines, indented under the first
	// diff is set for a text that differs from the one wanted at length.
	diff *[2]string
}

// run matches the case's event as the server would and compares the
// decision with what the case wants. It returns the rule that answered.
func (c *testCase) run(rs *engine.RuleSet, seed uint64) (*CaseResult, *engine.Rule) {
	start := time.Now()
	h := fnv.New64a()
	h.Write([]byte(c.name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	d := rs.Match(c.event, engine.MatchOptions{Now: c.now, Rand: func(n int) int { return rng.IntN(n) }})
	res := &CaseResult{Name: c.name, Pos: c.pos}
	if d.Rule != nil {
		res.Rule = d.Rule.ID
	}

	var probs []problem
	for _, e := range d.Errors {
		probs = append(probs, problem{pos: c.pos, msg: fmt.Sprintf("rule %q (%s) failed at run time and was skipped: %v", e.Rule.ID, e.Rule.Source, e.Err)})
	}
	var why string
	alts := []*engine.Reply{d.Reply}
	switch {
	case res.Rule != c.want.rule:
		probs = append(probs, c.ruleProblem(d))
		why = c.why(rs, d)
	case d.Rule != nil && c.want.checksReply():
		var altErrs []string
		if n := len(d.Rule.Replies); n > 1 {
			// Any of the alternatives will do: render each one as the
			// server would if it drew it.
			alts = nil
			for i := range n {
				di := rs.Match(c.event, engine.MatchOptions{Now: c.now, Rand: func(int) int { return i }})
				if di.Rule != d.Rule {
					altErrs = append(altErrs, fmt.Sprintf("reply %d of %d does not render", i+1, n))
					continue
				}
				alts = append(alts, di.Reply)
			}
		}
		probs = append(probs, c.replyProblems(d.Rule, alts, altErrs)...)
	}
	if len(probs) > 0 {
		res.Failure = c.failure(probs, d, alts, why)
	}
	res.Duration = time.Since(start)
	return res, d.Rule
}

func (c *testCase) ruleProblem(d engine.Decision) problem {
	p := problem{pos: c.want.rulePos}
	switch {
	case d.Rule == nil:
		p.msg = fmt.Sprintf("rule: want %q, got none (no rule matched)", c.want.rule)
	case c.want.rule == "":
		p.msg = fmt.Sprintf("rule: want none, got %q (%s)", d.Rule.ID, d.Rule.Source)
	default:
		p.msg = fmt.Sprintf("rule: want %q, got %q (%s)", c.want.rule, d.Rule.ID, d.Rule.Source)
	}
	return p
}

// why explains, with the engine's own words, why the rule wanted did not
// answer.
func (c *testCase) why(rs *engine.RuleSet, d engine.Decision) string {
	if c.want.rule == "" {
		return ""
	}
	wanted := rs.Rule(c.want.rule)
	// The wanted rule on its own: would it have answered, had no rule come
	// before it? Only then did it lose on order.
	alone := engine.NewRuleSet([]*engine.Rule{wanted}, rs.Vars(), rs.Version())
	de := alone.Match(c.event, engine.MatchOptions{Now: c.now, Rand: func(int) int { return 0 }, Explain: true})
	for _, s := range de.Trace {
		switch {
		case s.Err != nil:
			return fmt.Sprintf("%s (%s) failed at run time: %v", wanted.ID, wanted.Source, s.Err)
		case !s.Matched:
			return fmt.Sprintf("%s (%s) did not match: %s", wanted.ID, wanted.Source, s.Reason)
		}
	}
	if d.Rule == nil {
		return ""
	}
	order := fmt.Sprintf("it has the same priority and comes before %s in file order", wanted.ID)
	if d.Rule.Priority != wanted.Priority {
		order = fmt.Sprintf("its priority %d is above %s's %d", d.Rule.Priority, wanted.ID, wanted.Priority)
	}
	return fmt.Sprintf("%s (%s) matched first: %s", d.Rule.ID, d.Rule.Source, order)
}

// replyProblems compares the reply, or each alternative of a rule with
// several, with what the case wants. Any one alternative will do.
func (c *testCase) replyProblems(rule *engine.Rule, alts []*engine.Reply, altErrs []string) []problem {
	if len(alts) == 1 && len(altErrs) == 0 {
		return c.want.check(alts[0])
	}
	var lines []string
	for i, r := range alts {
		probs := c.want.check(r)
		if len(probs) == 0 {
			return nil
		}
		// An alternative's diff would bury the others: name the problem only.
		lines = append(lines, fmt.Sprintf("reply %d of %d: %s", i+1, len(rule.Replies), strings.TrimSuffix(probs[0].msg, " (diff below)")))
	}
	lines = append(lines, altErrs...)
	return []problem{{
		pos:    c.want.pos,
		msg:    fmt.Sprintf("reply: none of the %d replies of %q is the reply wanted", len(rule.Replies), rule.ID),
		detail: lines,
	}}
}

// check compares one reply with the expectations.
func (w *want) check(r *engine.Reply) []problem {
	var probs []problem
	if w.kinds != nil && !slices.Contains(w.kinds, r.Kind) {
		names := make([]string, len(w.kinds))
		for i, k := range w.kinds {
			names[i] = string(k)
		}
		at := w.kindPos
		switch {
		case w.kind != "":
		case len(w.fields) > 0:
			at = w.fields[0].pos
		default:
			at = w.listPos
		}
		return []problem{{pos: at, msg: fmt.Sprintf("kind: want %s, got %s", orList(names), r.Kind)}}
	}
	for _, f := range w.fields {
		got, _ := replyField(r, f.key)
		switch f.key {
		case "text_contains":
			if !strings.Contains(got, f.value) {
				probs = append(probs, problem{pos: f.pos, msg: fmt.Sprintf("text_contains: %q is not in the text", f.value)})
			}
		case "text_regex":
			if !f.re.MatchString(got) {
				probs = append(probs, problem{pos: f.pos, msg: fmt.Sprintf("text_regex: %q does not match the text", f.value)})
			}
		default:
			if got != f.value {
				probs = append(probs, differs(f.pos, f.key, f.value, got))
			}
		}
	}
	if w.items != nil {
		s := w.list
		if len(w.items) != len(r.Items) {
			probs = append(probs, problem{pos: w.listPos, msg: fmt.Sprintf("%s: want %d %s, got %d", s.Kind, len(w.items), text.Plural(len(w.items), s.Item, s.Item+"s"), len(r.Items))})
			return probs
		}
		for i, item := range w.items {
			for j, f := range s.Fields {
				if want := item.values[j]; want != nil && *want != r.Items[i][j] {
					probs = append(probs, differs(item.pos, fmt.Sprintf("%s[%d].%s", s.Kind, i, f.Name), *want, r.Items[i][j]))
				}
			}
		}
	}
	return probs
}

// differs words an exact comparison that failed: inline when both sides are
// short, else with a line diff.
func differs(pos rules.Pos, key, want, got string) problem {
	if short(want) && short(got) {
		return problem{pos: pos, msg: fmt.Sprintf("%s: want %q, got %q", key, want, got)}
	}
	return problem{pos: pos, msg: fmt.Sprintf("%s: not the text wanted (diff below)", key), diff: &[2]string{want, got}}
}

func short(s string) bool {
	return !strings.Contains(s, "\n") && len([]rune(s)) <= 60
}

func orList(list []string) string {
	if len(list) == 1 {
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// replyField is the value of a reply field by its name in test files, and
// whether the reply's kind has that field.
func replyField(r *engine.Reply, key string) (string, bool) {
	if key == "text_contains" || key == "text_regex" {
		key = "text"
	}
	if s := r.Schema(); s == nil || s.Shape == engine.ShapeList {
		return "", false
	} else if _, i := s.Field(key); i >= 0 {
		return r.Values[i], true
	}
	return "", false
}

// failure writes the report of a failed case: the first problem on a line
// of its own, as file:line:col, then the rest, what was wanted, what was
// got, and why.
func (c *testCase) failure(probs []problem, d engine.Decision, alts []*engine.Reply, why string) string {
	var b strings.Builder
	first := probs[0]
	fmt.Fprintf(&b, "%s: %q: %s\n", first.pos, c.name, first.msg)
	for _, l := range first.detail {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	for _, p := range probs[1:] {
		fmt.Fprintf(&b, "  also: %s\n", p.msg)
		for _, l := range p.detail {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	b.WriteString("  want:\n")
	b.WriteString(text.Indent(c.want.String(), "    "))
	b.WriteString("  got:\n")
	if d.Rule == nil {
		b.WriteString("    rule: none (no reply)\n")
	} else {
		fmt.Fprintf(&b, "    rule: %s (%s)\n", d.Rule.ID, d.Rule.Source)
		switch {
		case len(alts) > 1:
			for i, r := range alts {
				fmt.Fprintf(&b, "    reply %d of %d:\n", i+1, len(d.Rule.Replies))
				b.WriteString(text.Indent(r.String(), "      "))
			}
		case len(d.Rule.Replies) > 1:
			fmt.Fprintf(&b, "    reply %d of %d, picked at random:\n", d.Alternative+1, len(d.Rule.Replies))
			b.WriteString(text.Indent(d.Reply.String(), "      "))
		default:
			b.WriteString(text.Indent(d.Reply.String(), "    "))
		}
	}
	for _, p := range probs {
		if p.diff != nil {
			fmt.Fprintf(&b, "  diff (-want +got):\n")
			b.WriteString(text.Indent(linediff.Text(p.diff[0], p.diff[1]), "    "))
			break
		}
	}
	if why != "" {
		fmt.Fprintf(&b, "  why: %s\n", why)
	}
	return b.String()
}

// String writes the expectations as the test file would, one field a line.
func (w *want) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule: %s\n", cmp.Or(w.rule, "none"))
	if w.kind != "" {
		fmt.Fprintf(&b, "kind: %s\n", w.kind)
	}
	for _, f := range w.fields {
		switch {
		case f.key == "text_contains" || f.key == "text_regex":
			fmt.Fprintf(&b, "%s: %q\n", f.key, f.value)
		case strings.Contains(f.value, "\n") || f.key == "text":
			fmt.Fprintf(&b, "%s:\n", f.key)
			b.WriteString(text.Indent(f.value, "  "))
		default:
			fmt.Fprintf(&b, "%s: %s\n", f.key, f.value)
		}
	}
	if w.items != nil {
		fmt.Fprintf(&b, "%s:\n", w.list.Kind)
		for _, item := range w.items {
			lead := "  - "
			for j, f := range w.list.Fields {
				if v := item.values[j]; v != nil {
					fmt.Fprintf(&b, "%s%s: %s\n", lead, f.Name, *v)
					lead = "    "
				}
			}
			if lead == "  - " {
				fmt.Fprintf(&b, "  - {} (any %s)\n", w.list.Item)
			}
		}
	}
	return b.String()
}
