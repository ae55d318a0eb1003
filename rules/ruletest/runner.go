package ruletest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"slices"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/store"
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
				res, rules := c.run(l.rs, opts.Seed)
				for _, r := range rules {
					answered[r] = true
				}
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

// run sends the case's pushes as the server would, from one user whose
// session and cooldowns a store.Memory keeps between them, and compares
// each decision with what the step wants. It stops at the first step that
// fails. It returns the rules that answered.
func (c *testCase) run(rs *engine.RuleSet, seed uint64) (*CaseResult, []*engine.Rule) {
	start := time.Now()
	h := fnv.New64a()
	h.Write([]byte(c.name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	res := &CaseResult{Name: c.name, Pos: c.pos}
	var answered []*engine.Rule
	c.play(func(s *step, opts engine.MatchOptions) (engine.Decision, bool) {
		d, failure := s.run(rs, opts, func(n int) int { return rng.IntN(n) })
		if d.Rule != nil {
			res.Rule = d.Rule.ID
			answered = append(answered, d.Rule)
		} else {
			res.Rule = ""
		}
		res.Failure = failure
		return d, failure == ""
	})
	res.Duration = time.Since(start)
	return res, answered
}

// play sends the case's steps in turn, each with the user's state as the
// steps before it left it, from the case's starting session: each answers
// a step given its options, and says whether to go on.
func (c *testCase) play(each func(s *step, opts engine.MatchOptions) (d engine.Decision, more bool)) {
	users := store.NewMemory(store.MemoryOptions{})
	ctx := context.Background()
	const user = "test"
	if len(c.session) > 0 {
		// The session a case starts from lives as long as the case may.
		users.SaveUser(ctx, user, store.UserChange{Now: c.steps[0].now, Set: c.session, SessionTTL: 100 * 365 * 24 * time.Hour})
	}
	for _, s := range c.steps {
		state, _ := users.LoadUser(ctx, user, s.now)
		d, more := each(s, engine.MatchOptions{Now: s.now, Session: state.Session, Cooldowns: state.Cooldowns})
		if !more {
			return
		}
		users.SaveUser(ctx, user, store.ChangeOf(d, s.now))
	}
}

// run matches the step's push with opts and compares the decision with
// what the step wants: the failure's report, or "" when it passes.
func (c *step) run(rs *engine.RuleSet, opts engine.MatchOptions, random func(int) int) (engine.Decision, string) {
	pick := opts
	pick.Rand = random
	d := rs.Match(c.event, pick)
	var probs []problem
	for _, e := range d.Errors {
		probs = append(probs, problem{pos: c.pos, msg: fmt.Sprintf("rule %q (%s) failed at run time and was skipped: %v", e.Rule.ID, e.Rule.Source, e.Err)})
	}
	var why string
	alts := []*engine.Reply{d.Reply}
	switch {
	case d.Rule == nil && c.want.rule != "" || d.Rule != nil && d.Rule.ID != c.want.rule:
		probs = append(probs, c.ruleProblem(d))
		why = c.why(rs, d, opts)
	case d.Rule != nil && d.Reply == nil && c.want.checksReply():
		probs = append(probs, problem{pos: c.want.pos, msg: fmt.Sprintf("rule %q answers from its backend, which tests do not call: want only its rule, or give the rule a reply for a late backend and check that", d.Rule.ID)})
	case d.Rule != nil && c.want.checksReply():
		var altErrs []string
		if n := len(d.Rule.Replies); n > 1 && d.Rule.Pick != engine.PickAll {
			// Any of the alternatives will do: render each one as the
			// server would if it drew it.
			alts = nil
			for i := range n {
				each := opts
				each.Rand = func(int) int { return i }
				di := rs.Match(c.event, each)
				if di.Rule != d.Rule {
					altErrs = append(altErrs, fmt.Sprintf("reply %d of %d does not render", i+1, n))
					continue
				}
				alts = append(alts, di.Reply)
			}
		}
		probs = append(probs, c.replyProblems(d.Rule, alts, altErrs)...)
	}
	if len(probs) == 0 {
		return d, ""
	}
	return d, c.failure(probs, d, alts, why, opts)
}
