package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
)

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply check [DIR]\n\nChecks every rule file in DIR (default %s) as the server would load it,\nand prints \"N rules OK\" or every problem as file:line:col: message.\n", defaultRulesDir)
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	if rulesDir(fs.Arg(0)) == "" {
		fmt.Fprintln(stderr, "wxreply check: "+builtInNote)
	}
	res, err := loadRules(fs.Arg(0))
	if res != nil {
		for _, w := range res.Warnings {
			fmt.Fprintln(stdout, w.Warning())
		}
	}
	if err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stderr, "%d %s: the server would keep its current rules\n", len(list), text.Plural(len(list), "error", "errors"))
		} else {
			fmt.Fprintf(stderr, "wxreply check: %v\n", err)
		}
		return exitFailure
	}
	n := len(res.RuleSet.Rules())
	fmt.Fprintf(stdout, "%d %s OK\n", n, text.Plural(n, "rule", "rules"))
	return exitOK
}
