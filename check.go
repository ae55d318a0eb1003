package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
)

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesFlag := fs.String("rules", "", "a rule folder to check, as serve and explain take it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply check [--rules DIR] [DIR ...]\n\nChecks every rule file of each folder (default %s) as the server would load\nit, and prints \"N rules OK\" or every problem as file:line:col: message.\n\n", defaultRulesDir)
		fs.PrintDefaults()
	}
	dirs, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if *rulesFlag != "" {
		dirs = append([]string{*rulesFlag}, dirs...)
	}
	if len(dirs) == 0 {
		dirs = []string{""}
	}
	code = exitOK
	for _, dir := range dirs {
		if checkFolder(dir, len(dirs) > 1, stdout, stderr) != exitOK {
			code = exitFailure
		}
	}
	return code
}

// checkFolder checks one folder ("" for the default), naming it when
// several are checked.
func checkFolder(dir string, named bool, stdout, stderr io.Writer) int {
	if rulesDir(dir) == "" {
		fmt.Fprintln(stderr, "wxreply check: "+builtInNote)
	}
	res, err := loadRules(dir)
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(stdout, w.Warning())
		}
	}
	prefix := ""
	if named {
		prefix = cmp.Or(rulesDir(dir), defaultRulesDir) + ": "
	}
	if err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stderr, "%s%d %s: the server would keep its current rules\n", prefix, len(list), text.Plural(len(list), "error", "errors"))
		} else {
			fmt.Fprintf(stderr, "wxreply check: %v\n", err)
		}
		return exitFailure
	}
	n := len(res.RuleSet.Rules())
	fmt.Fprintf(stdout, "%s%d %s OK\n", prefix, n, text.Plural(n, "rule", "rules"))
	// What serve refuses depends on its settings, which check does not
	// know: it says what these rules need.
	if err := server.CheckAPI(res.RuleSet, false); err != nil {
		fmt.Fprintf(stdout, "%snote: serve loads these rules only when given the API: %v\n", prefix, err)
	}
	return exitOK
}
