package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
	"github.com/wxreply/wxreply/wxpanel"
)

// autoreplyInfoAPI is where WeChat gives the admin panel's auto-reply rules.
const autoreplyInfoAPI = "/cgi-bin/get_current_autoreply_info"

func runImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "read the panel's rules from `FILE`, the answer of get_current_autoreply_info saved as JSON (- for standard input), instead of calling WeChat")
	out := fs.String("out", "", "write the rule folder to `DIR` (made if missing)")
	force := fs.Bool("force", false, "overwrite "+wxpanel.DefaultRulesFile+" and "+wxpanel.DefaultTestsFile+" when DIR has them")
	schema := fs.String("schema", wxpanel.DefaultSchema, "where editors find rules.json and tests.json for the files' first line: a URL, or a path relative to DIR")
	api := addAPIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: wxreply import --out DIR [--from FILE | --appid ID] [--force] [flags]

Writes the admin panel's auto-reply (自动回复: keyword replies, the follow reply
and the default reply) as a rule folder: DIR/%s and DIR/%s,
tests that cover every rule. Enabling a server URL turns the panel's
auto-reply off: this carries its rules over. The rules come from WeChat's
get_current_autoreply_info (with --appid and the AppSecret) or from that
answer saved to a file (--from). What cannot carry over as it is (videos,
temporary media ids, replies wxreply cannot send) is printed as a warning
with the place in the file that says what to do. The folder is then loaded
and tested as wxreply check and wxreply test would.

Exits 0 when the folder is written and passes, 1 when it cannot be written
or does not pass, 2 on a wrong command line.

`, wxpanel.DefaultRulesFile, wxpanel.DefaultTestsFile)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 || *out == "" {
		if *out == "" {
			fmt.Fprintln(stderr, "wxreply import: give --out DIR, the folder to write the rules to")
		}
		fs.Usage()
		return exitUsage
	}
	files := []string{filepath.Join(*out, wxpanel.DefaultRulesFile), filepath.Join(*out, wxpanel.DefaultTestsFile)}
	if !*force {
		// Before calling WeChat: a refusal costs nothing then.
		for _, f := range files {
			if _, err := os.Lstat(f); err == nil {
				fmt.Fprintf(stderr, "wxreply import: %s exists: give --force to overwrite it, or another --out\n", f)
				return exitFailure
			}
		}
	}

	data, source, code := readPanel(*from, api, stdin, stderr)
	if code != exitOK {
		return code
	}
	info, err := wxpanel.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply import: %s:%v\n", source, spaced(err))
		return exitFailure
	}
	folder, err := wxpanel.Convert(info, wxpanel.Options{Schema: *schema, Source: source})
	if err != nil {
		if folder != nil {
			printWarnings(stdout, *out, folder.Warnings)
		}
		fmt.Fprintf(stderr, "wxreply import: %s: %v: nothing written\n", source, err)
		return exitFailure
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "wxreply import: %v\n", err)
		return exitFailure
	}
	for i, content := range [][]byte{folder.Rules, folder.Tests} {
		if err := writeFileAtomic(files[i], content); err != nil {
			fmt.Fprintf(stderr, "wxreply import: %v\n", err)
			return exitFailure
		}
	}
	fmt.Fprintf(stdout, "wrote %s (%d %s) and %s (%d %s) from %s\n",
		files[0], folder.RuleCount, text.Plural(folder.RuleCount, "rule", "rules"),
		files[1], folder.Cases, text.Plural(folder.Cases, "case", "cases"), source)
	printWarnings(stdout, *out, folder.Warnings)
	checked, ok := verifyImport(*out, files[1], stdout, stderr)
	if !ok {
		return exitFailure
	}
	if n := len(folder.Warnings) + checked; n > 0 {
		fmt.Fprintf(stdout, "%d %s above: the rules they name need a change before they go live\n", n, text.Plural(n, "warning", "warnings"))
	}
	return exitOK
}

// spaced puts a space after the source name, unless the error starts with
// a position (file:3:5: ...).
func spaced(err error) string {
	s := err.Error()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		return s
	}
	return " " + s
}

// readPanel reads the API's answer from the file, or from WeChat, and says
// where it came from.
func readPanel(from string, api *apiFlags, in io.Reader, stderr io.Writer) (data []byte, source string, code int) {
	switch from {
	case "-":
		data, err := readSavedAnswer(in, "standard input")
		if err != nil {
			fmt.Fprintf(stderr, "wxreply import: %v\n", err)
			return nil, "", exitFailure
		}
		return data, "standard input", exitOK
	case "":
	default:
		f, err := os.Open(from)
		if err == nil {
			defer f.Close()
			data, err = readSavedAnswer(f, from)
		}
		if err != nil {
			fmt.Fprintf(stderr, "wxreply import: --from: %v\n", err)
			return nil, "", exitFailure
		}
		return data, from, exitOK
	}
	c, err := api.client(stderr)
	defer api.close()
	if err != nil {
		fmt.Fprintf(stderr, "wxreply import: %v; or give --from FILE, the API's answer saved to a file\n", err)
		return nil, "", exitUsage
	}
	ctx, cancel := menuContext()
	defer cancel()
	var raw json.RawMessage
	if err := c.Call(ctx, http.MethodGet, autoreplyInfoAPI, nil, nil, &raw); err != nil {
		fmt.Fprintf(stderr, "wxreply import: %v\n", err)
		return nil, "", exitFailure
	}
	return raw, "the API of " + c.AppID, exitOK
}

func printWarnings(w io.Writer, dir string, warnings []wxpanel.Warning) {
	for _, x := range warnings {
		x.File = filepath.Join(dir, x.File)
		fmt.Fprintln(w, x)
	}
}

// verifyImport loads the folder and runs the imported tests, as check and
// test would: a folder that already held rules may answer otherwise. It
// prints check's warnings and returns how many there were.
func verifyImport(dir, tests string, stdout, stderr io.Writer) (warnings int, ok bool) {
	res, err := rules.Load(dir)
	if err != nil {
		fmt.Fprintf(stderr, "%v\nwxreply import: the folder %s does not load (did it hold other rule files?): fix it, and run wxreply check %s\n", err, dir, dir)
		return 0, false
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stdout, w.Warning())
	}
	var report bytes.Buffer
	rep, err := ruletest.Run(&report, ruletest.Options{}, tests)
	if err != nil || !rep.OK() {
		stderr.Write(report.Bytes())
		fmt.Fprintf(stderr, "wxreply import: the imported tests do not pass in %s (did it hold other rule files?): run wxreply test %s\n", dir, dir)
		return len(res.Warnings), false
	}
	n := len(res.RuleSet.Rules())
	fmt.Fprintf(stdout, "%s: %d %s OK, %d %s passed\n", dir, n, text.Plural(n, "rule", "rules"), rep.Passed, text.Plural(rep.Passed, "case", "cases"))
	return len(res.Warnings), true
}

// writeFileAtomic writes name through a temporary file renamed over it, so
// that a rule folder being watched never sees half a file.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	// CreateTemp makes the file 0600; a rule file is for everyone to read.
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
