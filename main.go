// Command wxreply answers WeChat Official Account messages from rule files.
//
//	wxreply serve [flags]        answer WeChat's callbacks
//	wxreply send [flags]         send the server a message as WeChat would
//	wxreply check [DIR]          check a rule folder
//	wxreply diff OLD NEW         show the pushes two rule folders answer differently
//	wxreply explain [flags]      show which rule answers a message, and why
//	wxreply test [DIR|FILE ...]  run the rule tests in *_test.yaml files
//	wxreply menu COMMAND [FILE]  check, diff, push, get or delete the custom menu
//	wxreply import --out DIR     write the admin panel's auto-reply as a rule folder
//	wxreply schema KIND          print the JSON Schema of rules, tests or menu files
//	wxreply bench [flags]        measure how many pushes a server answers, and how fast
//	wxreply fakeapi [flags]      answer as WeChat's API does, for development and tests
//	wxreply health [--url URL]   exit 0 when a server answers its health check
//	wxreply version              print the version, the source revision and the Go version
//
// Run "wxreply COMMAND -h" for a command's flags.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/wxreply/wxreply/server"
)

// Exit codes, as promtool has them.
const (
	exitOK      = 0
	exitFailure = 1 // the check found problems, or the command failed
	exitUsage   = 2 // the command line is wrong
)

// version is set at build time with -ldflags "-X main.version=...";
// without it, the module's version from the build information is used
// (v1.2.3 for go install ...@v1.2.3, (devel) in a checkout).
var version = ""

// build says which wxreply this is: its version, the revision of the source
// it was built from (with "+dirty" for uncommitted changes), and the Go that
// built it.
func build() server.BuildInfo {
	b := server.BuildInfo{Version: version, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.Version = cmp.Or(b.Version, info.Main.Version)
		b.GoVersion = info.GoVersion
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && b.Revision != "" {
			b.Revision += "+dirty"
		}
	}
	b.Version = cmp.Or(b.Version, "(devel)")
	return b
}

// versionLine is what version prints: version, revision, Go.
func versionLine() string {
	b := build()
	return strings.Join(slices.DeleteFunc([]string{"wxreply", b.Version, b.Revision, b.GoVersion}, func(s string) bool { return s == "" }), " ")
}

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"serve", "answer WeChat's callbacks with a rule folder", runServe},
	{"send", "send the server a message as WeChat would, and print the reply", runSend},
	{"check", "check a rule folder and report every problem with its position", runCheck},
	{"test", "run the rule tests in *_test.yaml files", runTest},
	{"diff", "show which pushes of the rule tests two rule folders answer differently", runDiff},
	{"explain", "show which rule answers a message, its reply, and why earlier rules did not", runExplain},
	{"menu", "check, diff, push, get or delete the account's custom menu", runMenu},
	{"import", "write the admin panel's auto-reply as a rule folder, with its tests", runImport},
	{"schema", "print the JSON Schema of rule, test or menu files, for editors", runSchema},
	{"bench", "send signed pushes for a while and print pushes per second, latency and errors", runBench},
	{"fakeapi", "answer as WeChat's API does (tokens, menu, customer-service messages), for development and tests", runFakeAPI},
	{"health", "exit 0 when a server's /healthz or /readyz answers 200 (for container health checks)", runHealth},
	{"version", "print wxreply's version, its source revision and the Go it was built with", func(_ []string, stdout, _ io.Writer) int {
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	}},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return dispatch("wxreply", "wxreply answers WeChat Official Account messages from rule files.", commands, args, stdout, stderr)
}

// dispatch runs the command that args name, or prints the usage of prog.
// "help CMD" is "CMD -h".
func dispatch(prog, intro string, cmds []command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "help" {
		args = []string{args[1], "-h"}
	}
	if len(args) > 0 && args[0] == "--version" && prog == "wxreply" {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, prog, intro, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prog, args[0])
	usage(stderr, prog, intro, cmds)
	return exitUsage
}

func usage(w io.Writer, prog, intro string, cmds []command) {
	fmt.Fprintf(w, "%s\n\nUsage: %s COMMAND [flags]\n\nCommands:\n", intro, prog)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"%s COMMAND -h\" for a command's flags.\n", prog)
}

// parseFlags parses a subcommand's flags and maps the outcome to an exit code:
// -h is not a failure, a bad flag is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	default:
		return exitUsage, false
	}
}

// parseInterspersed parses flags that may come before or after the
// positional arguments (wxreply test rules --run welcome) and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, code int, ok bool) {
	for {
		if code, ok := parseFlags(fs, args); !ok {
			return nil, code, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, exitOK, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
