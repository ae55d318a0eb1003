package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/wxreply/wxreply/examples"
	"github.com/wxreply/wxreply/rules/ruletest"
)

// exitInvalid is test's exit code for a rule folder or test file with
// errors: its cases did not run. It is exitUsage's number, as promtool's
// lint errors share theirs.
const exitInvalid = 2

func runTest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runPattern := fs.String("run", "", "run only the cases whose name matches `REGEX`")
	junit := fs.String("junit", "", "also write the results as JUnit XML to `FILE`, for CI")
	coverage := fs.Bool("coverage", false, "list the rules no case was answered by")
	minCoverage := fs.Float64("min-coverage", 0, "fail when less than `SHARE` of the rules (0 to 1, e.g. 0.9) answered a case")
	seed := fs.Uint64("seed", 0, "seed `N` for the picks among a rule's alternative replies")
	verbose := fs.Bool("v", false, "also list the cases that pass")
	rulesFlag := fs.String("rules", "", "a rule folder whose tests to run, as serve and explain take it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply test [flags] [DIR|FILE ...]\n\nRuns the rule tests of each folder (every *_test.yaml in it; default %s) or\ntest file against the rules of its folder, loaded as the server loads them.\nExits 0 when every case passes, 1 when one fails (or coverage is too low),\n2 when a rule or test file is invalid.\n\n", defaultRulesDir)
		fs.PrintDefaults()
	}
	paths, code, ok := parseInterspersed(fs, args)
	if ok && *rulesFlag != "" {
		paths = append([]string{*rulesFlag}, paths...)
	}
	if !ok {
		return code
	}
	opts := ruletest.Options{Seed: *seed, Verbose: *verbose, Coverage: *coverage, MinCoverage: *minCoverage}
	if *runPattern != "" {
		re, err := regexp.Compile(*runPattern)
		if err != nil {
			fmt.Fprintf(stderr, "wxreply test: --run: %v\n", err)
			return exitUsage
		}
		opts.Run = re
	}
	if !(*minCoverage >= 0 && *minCoverage <= 1) { // NaN too
		fmt.Fprintf(stderr, "wxreply test: --min-coverage %g: give a share between 0 and 1, e.g. 0.9\n", *minCoverage)
		return exitUsage
	}

	var rep *ruletest.Report
	var err error
	switch {
	case len(paths) > 0:
		rep, err = ruletest.Run(stdout, opts, paths...)
	case rulesDir("") != "":
		rep, err = ruletest.Run(stdout, opts, defaultRulesDir)
	default:
		fmt.Fprintln(stderr, "wxreply test: "+builtInNote)
		rep, err = ruletest.RunFS(stdout, opts, examples.Rules(), defaultRulesDir)
	}
	if *junit != "" {
		if werr := writeJUnit(*junit, rep); werr != nil {
			fmt.Fprintf(stderr, "wxreply test: --junit: %v\n", werr)
			// A report that cannot be written fails the run, but never
			// hides an invalid file's exit code.
			if err == nil {
				return exitFailure
			}
		}
	}
	switch {
	case err != nil:
		return exitInvalid
	case !rep.OK():
		return exitFailure
	}
	return exitOK
}

func writeJUnit(name string, rep *ruletest.Report) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
