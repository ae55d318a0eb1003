package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/server"
)

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rulesDir := fs.String("rules", "", "rule folder (default "+defaultRulesDir+", or the bundled examples)")
	text := fs.String("text", "", "a text message saying `TEXT`")
	event := fs.String("event", "", "an event such as subscribe, SCAN or CLICK")
	key := fs.String("key", "", "the event's EventKey: a menu key, or qrscene_X for a QR-code follow")
	xmlFile := fs.String("file", "", "a push as WeChat sends it, e.g. a fixture's XML")
	from := fs.String("from", "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A", "the user's OpenID")
	at := fs.String("now", "", "the time rules see: RFC 3339, or 2024-06-12 22:30 in the account's time zone (default now)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply explain [--rules DIR | DIR] (--text S | --event E [--key K] | --file MSG.xml)\n\nShows the rule that answers the message, its reply, and why each rule before it\ndid not match.\n\n")
		fs.PrintDefaults()
	}
	dirs, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	switch {
	case len(dirs) > 1 || len(dirs) == 1 && *rulesDir != "":
		fmt.Fprintln(stderr, "wxreply explain: give one rule folder, as DIR or --rules DIR")
		return exitUsage
	case len(dirs) == 1:
		*rulesDir = dirs[0]
	}
	given := 0
	for _, s := range []string{*text, *event, *xmlFile} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		fmt.Fprintln(stderr, "wxreply explain: give exactly one of --text, --event or --file")
		return exitUsage
	}

	now := time.Now().In(engine.DefaultLocation)
	if *at != "" {
		t, err := engine.ParseTime(*at, engine.DefaultLocation)
		if err != nil {
			fmt.Fprintf(stderr, "wxreply explain: --now: %v\n", err)
			return exitUsage
		}
		now = t
	}
	fields := map[string]string{
		"ToUserName":   "gh_wxreply_explain",
		"FromUserName": *from,
		"CreateTime":   strconv.FormatInt(now.Unix(), 10),
	}
	switch {
	case *text != "":
		fields["MsgType"], fields["Content"] = "text", *text
	case *event != "":
		fields["MsgType"], fields["Event"], fields["EventKey"] = "event", *event, *key
	default:
		f, err := os.Open(*xmlFile)
		if err != nil {
			fmt.Fprintf(stderr, "wxreply explain: %v\n", err)
			return exitFailure
		}
		fields, err = server.DecodeFields(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "wxreply explain: %s: %v\n", *xmlFile, err)
			return exitFailure
		}
	}
	ev, err := engine.NewEvent(fields, engine.DefaultLocation)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply explain: %v\n", err)
		return exitFailure
	}

	res, err := loadRules(*rulesDir)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply explain: %v\n", err)
		return exitFailure
	}
	d := res.RuleSet.Match(ev, engine.MatchOptions{Now: now, Explain: true})
	writeExplanation(stdout, ev, d)
	return exitOK
}

func writeExplanation(w io.Writer, ev *engine.Event, d engine.Decision) {
	what := ev.MsgType + " message"
	if ev.MsgType == "event" {
		what = ev.Event + " event"
	}
	fmt.Fprintf(w, "message: %s", what)
	if ev.Text != "" {
		fmt.Fprintf(w, " %q", ev.Text)
	}
	if ev.EventKey != "" {
		fmt.Fprintf(w, " (EventKey %q)", ev.EventKey)
	}
	fmt.Fprintln(w)
	if d.Rule == nil {
		fmt.Fprintf(w, "rule: none matched; the server answers \"success\" (no reply)\n")
	} else {
		fmt.Fprintf(w, "rule: %s (%s)\n", d.Rule.ID, d.Rule.Source)
		if len(d.Rule.Replies) > 1 {
			fmt.Fprintf(w, "reply %d of %d, picked at random:\n", d.Alternative+1, len(d.Rule.Replies))
		} else {
			fmt.Fprintf(w, "reply:\n")
		}
		fmt.Fprint(w, text.Indent(d.Reply.String(), "  "))
	}
	tried := d.Trace
	if d.Rule != nil && len(tried) > 0 {
		tried = tried[:len(tried)-1]
	}
	if len(tried) == 0 {
		return
	}
	// Rules for other message types or events are counted, not listed: they
	// could never have answered, and they would bury the ones that could.
	var lines []string
	other := 0
	for _, s := range tried {
		switch {
		case s.OtherKind:
			other++
		case s.Err != nil:
			lines = append(lines, fmt.Sprintf("  %s (%s): error: %v", s.Rule.ID, s.Rule.Source, s.Err))
		default:
			lines = append(lines, fmt.Sprintf("  %s (%s): %s", s.Rule.ID, s.Rule.Source, s.Reason))
		}
	}
	if len(lines) > 0 {
		fmt.Fprintf(w, "not matched, in order:\n%s\n", strings.Join(lines, "\n"))
	}
	if other > 0 {
		fmt.Fprintf(w, "not tried: %d %s for other message types or events\n", other, text.Plural(other, "rule", "rules"))
	}
}
