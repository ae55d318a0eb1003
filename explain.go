package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/server"
)

func runExplain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	text := fs.String("text", "", "a text message saying `TEXT`")
	event := fs.String("event", "", "an event such as subscribe, SCAN or CLICK")
	key := fs.String("key", "", "the event's EventKey: a menu key, or qrscene_X for a QR-code follow")
	xmlFile := fs.String("file", "", "a push as WeChat sends it, e.g. a fixture's XML")
	from := fs.String("from", "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A", "the user's OpenID")
	at := fs.String("now", "", "the time rules see: RFC 3339, or 2024-06-12 22:30 in the account's time zone (default now)")
	session := pairFlag{}
	fs.Var(session, "session", "a value in the user's session, as `NAME=VALUE` (repeatable)")
	cooling := pairFlag{}
	fs.Var(cooling, "cooling", "a rule cooling down for the user, as `RULE` or RULE=TIME LEFT, e.g. fallback=20m (repeatable)")
	// The rules and their limits as serve reads them, so that what is
	// explained is what serve answers with (the image sets WXREPLY_RULES),
	// and a rule over them here is one serve skips too.
	limits := newSettings(fs)
	limits.shared = true
	limits.add("config", "", "serve's config file, for the rule folder and the rules' limits below")
	limits.add("rules", "", "rule folder (default "+defaultRulesDir+", or the bundled examples)")
	addBudgetSettings(limits)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply explain [--rules DIR | DIR] (--text S | --event E [--key K] | --file MSG.xml)\n       [--session NAME=VALUE]... [--cooling RULE[=TIME LEFT]]...\n\nShows the rule that answers the message, its reply, what it changes in the\nuser's session, and why each rule before it did not match.\n\n")
		fs.PrintDefaults()
	}
	dirs, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	budget, err := explainBudget(limits)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply explain: %v\n", err)
		return exitUsage
	}
	rulesDir := limits.get("rules")
	rulesFlag := false
	fs.Visit(func(f *flag.Flag) { rulesFlag = rulesFlag || f.Name == "rules" })
	switch {
	case len(dirs) > 1 || len(dirs) == 1 && rulesFlag:
		fmt.Fprintln(stderr, "wxreply explain: give one rule folder, as DIR or --rules DIR")
		return exitUsage
	case len(dirs) == 1:
		rulesDir = dirs[0]
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
	fields := server.Message{To: "gh_wxreply_explain", From: *from, Time: now, Text: *text, Event: *event, Key: *key}.Fields()
	if *xmlFile != "" {
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

	res, err := loadRules(rulesDir)
	if err != nil {
		fmt.Fprintf(stderr, "wxreply explain: %v\n", err)
		return exitFailure
	}
	opts := engine.MatchOptions{Now: now, Explain: true, Budget: budget}
	if opts.Session, opts.Cooldowns, err = userState(res.RuleSet, session, cooling, now); err != nil {
		fmt.Fprintf(stderr, "wxreply explain: %v\n", err)
		return exitUsage
	}
	d := res.RuleSet.Match(ev, opts)
	writeExplanation(stdout, ev, d, opts.Cooldowns, now)
	return exitOK
}

// explainBudget reads the limits from flags, the environment and serve's
// config file.
func explainBudget(limits *settings) (engine.Budget, error) {
	if err := limits.resolveWithConfig(); err != nil {
		return engine.Budget{}, err
	}
	return budgetSettings(limits)
}

// pairFlag collects NAME=VALUE flags; a NAME alone has the value "".
type pairFlag map[string]string

func (p pairFlag) String() string { return "" }

func (p pairFlag) Set(s string) error {
	name, value, _ := strings.Cut(s, "=")
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: give NAME=VALUE", s)
	}
	p[strings.TrimSpace(name)] = value
	return nil
}

// userState is the session and cooldowns --session and --cooling give, each
// name checked against the rules.
func userState(rs *engine.RuleSet, session, cooling pairFlag, now time.Time) (map[string]string, map[string]time.Time, error) {
	for name := range session {
		if !slices.Contains(rs.SessionNames(), name) {
			return nil, nil, fmt.Errorf("--session: %s", engine.UnknownSessionName(name, rs.SessionNames()))
		}
	}
	var ids []string
	for _, r := range rs.Rules() {
		if r.Cooldown > 0 {
			ids = append(ids, r.ID)
		}
	}
	cooldowns := map[string]time.Time{}
	for id, left := range cooling {
		r := rs.Rule(id)
		switch {
		case r == nil || r.Cooldown == 0:
			msg := fmt.Sprintf("--cooling: no rule %q with a cooldown", id)
			if guess := text.Suggest(id, ids); guess != "" {
				msg += fmt.Sprintf(": did you mean %q?", guess)
			}
			return nil, nil, errors.New(msg)
		case left == "":
			cooldowns[id] = now.Add(r.Cooldown)
		default:
			d, err := engine.ParseDuration(left)
			if err != nil {
				return nil, nil, fmt.Errorf("--cooling %s: %w", id, err)
			}
			cooldowns[id] = now.Add(d)
		}
	}
	return map[string]string(session), cooldowns, nil
}

// writeState says what the user's state was when the push came.
func writeState(w io.Writer, d engine.Decision, cooldowns map[string]time.Time, now time.Time) {
	set, cooling := engine.DescribeState(d.Session, cooldowns, now)
	if len(set) > 0 {
		fmt.Fprintf(w, "session: %s\n", strings.Join(set, ", "))
	}
	if len(cooling) > 0 {
		fmt.Fprintf(w, "cooling down: %s\n", strings.Join(cooling, ", "))
	}
}

// writeChange says what the answer changes in the user's state.
func writeChange(w io.Writer, d engine.Decision) {
	if then := d.Change.Describe(); len(then) > 0 {
		fmt.Fprintf(w, "then: %s\n", strings.Join(then, "; "))
	}
}

func writeExplanation(w io.Writer, ev *engine.Event, d engine.Decision, cooldowns map[string]time.Time, now time.Time) {
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
	writeState(w, d, cooldowns, now)
	if d.Rule == nil {
		fmt.Fprintf(w, "rule: none matched; the server answers \"success\" (no reply)\n")
	} else {
		fmt.Fprintf(w, "rule: %s (%s)\n", d.Rule.ID, d.Rule.Source)
		switch {
		case d.Reply == nil:
			// A backend rule with no reply of its own.
			fmt.Fprintf(w, "reply: what the backend at %s answers; none (\"success\") if it is late\n", engine.ShownBackendURL(d.Rule.Backend.URL))
		case d.Rule.Backend != nil:
			fmt.Fprintf(w, "reply: what the backend at %s answers; this if it is late:\n", engine.ShownBackendURL(d.Rule.Backend.URL))
		case d.Rule.Pick == engine.PickAll:
			fmt.Fprintf(w, "reply 1 of %d (pick: all):\n", len(d.Rule.Replies))
		case len(d.Rule.Replies) > 1:
			fmt.Fprintf(w, "reply %d of %d, picked at random:\n", d.Alternative+1, len(d.Rule.Replies))
		default:
			fmt.Fprintf(w, "reply:\n")
		}
		if d.Reply != nil {
			fmt.Fprint(w, text.Indent(d.Reply.String(), "  "))
		}
		for i, r := range d.More {
			fmt.Fprintf(w, "reply %d of %d, sent after it through the customer-service API:\n", i+2, len(d.Rule.Replies))
			fmt.Fprint(w, text.Indent(r.String(), "  "))
		}
		writeChange(w, d)
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
