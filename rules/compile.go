package rules

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/internal/yamlpos"
)

// compiler turns parsed files into a RuleSet, collecting every problem.
type compiler struct {
	errs, warnings Errors
	set            *engine.RuleSet
	sites          map[*engine.Template]site // where each template was written
	whenPos        map[*engine.Rule]Pos      // where each rule's condition was written
	whenSites      map[*engine.Rule]site     // the node of each rule's condition
	unsetSites     map[*engine.Rule]site     // the node of each rule's unset
	samples        map[string]*engine.Event
	varNames       []string // for "did you mean"
	sessionTTL     time.Duration
	sessionNames   []string        // what the rules set, sorted
	setNames       map[string]bool // the names set so far, to bound them
}

type site struct {
	file  *parsedFile
	node  *yaml.Node
	rule  string
	field string
}

func newCompiler() *compiler {
	return &compiler{sites: map[*engine.Template]site{}, whenPos: map[*engine.Rule]Pos{},
		whenSites: map[*engine.Rule]site{}, unsetSites: map[*engine.Rule]site{}}
}

func (c *compiler) compile(files []*parsedFile, version string) {
	vars := c.vars(files)
	c.varNames = slices.Sorted(maps.Keys(vars))
	c.settings(files)
	var good, all []*engine.Rule
	seen := map[string]Pos{}
	for _, f := range files {
		rulesNode := yamlpos.Lookup(f.root, "rules")
		for i, def := range f.def.Rules {
			rn := yamlpos.Item(rulesNode, i)
			if rn != nil && !isRule(rn) {
				continue // the decoder said it is no rule
			}
			r, ok := c.rule(f, i, def, rn, vars)
			if def.ID != "" {
				if first, dup := seen[def.ID]; dup {
					c.errs = append(c.errs, &Error{Pos: f.pos(yamlpos.Lookup(rn, "id")), Rule: def.ID,
						Err: fmt.Errorf("duplicate id: first defined at %s; ids must be unique across the folder", first)})
				} else {
					seen[def.ID] = f.pos(yamlpos.Lookup(rn, "id"))
				}
			}
			all = append(all, r)
			if ok && (def.Enabled == nil || *def.Enabled) {
				good = append(good, r)
			}
		}
	}
	allSet := engine.NewRuleSet(all, vars, version)
	c.sessionNames = allSet.SessionNames()
	c.checkSession(allSet)
	// Dry-run every reply that compiled, even of rules with other errors,
	// so that one pass reports all there is to fix.
	c.dryRun(allSet)
	if len(c.errs) == 0 {
		for _, r := range good {
			withVars(r, vars)
		}
		c.set = engine.NewRuleSet(good, vars, version)
		c.unreachable()
	}
}

// withVars renders once, now, what of the rule's templates reads only Vars
// (engine.Template.WithVars): the rule set answers with the output. The
// dry run, which reports problems by template, has run by then.
func withVars(r *engine.Rule, vars map[string]any) {
	for i, rt := range r.Replies {
		r.Replies[i] = rt.WithVars(vars)
	}
	r.OnError = r.OnError.WithVars(vars)
	for i := range r.Set {
		r.Set[i].Value = r.Set[i].Value.WithVars(vars)
	}
}

// sortByPos orders problems as they stand in the files.
func sortByPos(list Errors) {
	slices.SortStableFunc(list, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
}

// vars merges the vars of every file; a name may be defined only once.
func (c *compiler) vars(files []*parsedFile) map[string]any {
	vars := map[string]any{}
	where := map[string]Pos{}
	for _, f := range files {
		for _, name := range yamlpos.Keys(yamlpos.Lookup(f.root, "vars")) {
			p := f.pos(yamlpos.Key(yamlpos.Lookup(f.root, "vars"), name))
			if first, dup := where[name]; dup {
				c.errs = append(c.errs, &Error{Pos: p, Err: fmt.Errorf("var %q is already defined at %s", name, first)})
				continue
			}
			where[name] = p
			vars[name] = f.def.Vars[name]
		}
	}
	return vars
}

// settings reads the folder's settings; each may be given in one file only.
func (c *compiler) settings(files []*parsedFile) {
	var where Pos
	for _, f := range files {
		n := yamlpos.Lookup(yamlpos.Lookup(f.root, "settings"), "session_ttl")
		if n == nil {
			continue
		}
		p := f.pos(n)
		if where.File != "" {
			c.errs = append(c.errs, &Error{Pos: p, Err: fmt.Errorf("settings.session_ttl is already given at %s", where)})
			continue
		}
		where = p
		d, err := boundedDuration(f.def.Settings.SessionTTL, engine.MaxSessionTTL, stateKept)
		if err != nil {
			c.errs = append(c.errs, &Error{Pos: p, Err: fmt.Errorf("settings.session_ttl: %w", err)})
			continue
		}
		c.sessionTTL = d
	}
}

// checkSession refuses a condition that reads a session name no rule sets,
// and warns about an unset of such a name: both are typos, or leftovers.
// Templates are checked by the dry run, which renders them with every name
// the rules set.
func (c *compiler) checkSession(set *engine.RuleSet) {
	for _, r := range set.Rules() {
		if r.When != nil {
			if err := r.When.CheckSession(c.sessionNames); err != nil {
				s := c.whenSites[r]
				c.errs = append(c.errs, c.exprError(s.file, s.node, r.ID, err))
			}
		}
		for i, name := range r.Unset {
			if !slices.Contains(c.sessionNames, name) {
				s := c.unsetSites[r]
				c.warnings = append(c.warnings, &Error{Pos: s.file.pos(yamlpos.Item(s.node, i)), Rule: r.ID,
					Err: fmt.Errorf("unset: %s", engine.UnknownSessionName(name, c.sessionNames))})
			}
		}
	}
}

// rule compiles one rule definition. With errors, it returns what did
// compile and ok false.
func (c *compiler) rule(f *parsedFile, i int, def ruleDef, rn *yaml.Node, vars map[string]any) (r *engine.Rule, ok bool) {
	s := &ruleSite{c: c, f: f, def: def, rn: rn, name: def.ID}
	if s.name == "" {
		s.name = "#" + strconv.Itoa(i+1)
	}
	nerrs := len(c.errs)
	if def.ID == "" {
		s.fail(rn, "missing id: every rule needs a unique id, used in logs, metrics and tests")
	}
	r = &engine.Rule{
		ID:          def.ID,
		Description: def.Description,
		Source:      f.pos(rn),
		Priority:    def.Priority,
		MsgType:     def.MsgType,
		Event:       def.Event,
		EventKeys:   def.EventKey,
	}
	s.checkSugar()
	r.Keywords = s.keywords()
	if r.When = s.when(vars); r.When != nil {
		c.whenPos[r] = f.pos(yamlpos.Lookup(rn, "when"))
		c.whenSites[r] = site{file: f, node: yamlpos.Lookup(rn, "when"), rule: s.name}
	}
	r.Backend = s.backend()
	r.Replies = s.replies(r.Backend != nil)
	r.Pick = s.pick(len(r.Replies))
	if n := yamlpos.Lookup(rn, "on_error"); n != nil {
		if r.Backend == nil {
			s.fail(n, "on_error applies to a backend, and this rule has none")
		} else {
			r.OnError = c.reply(f, s.name, "on_error", n)
		}
	}
	r.Cooldown = s.duration("cooldown", engine.MaxCooldown)
	r.Set = s.sets()
	r.Unset = s.unset()
	if n := yamlpos.Lookup(rn, "unset"); n != nil {
		c.unsetSites[r] = site{file: f, node: n, rule: s.name}
	}
	r.SessionTTL = c.sessionTTL
	if n := yamlpos.Lookup(rn, "session_ttl"); n != nil {
		if r.Set == nil && r.Unset == nil {
			s.fail(n, "session_ttl applies to set and unset, and this rule has neither")
		}
		r.SessionTTL = s.duration("session_ttl", engine.MaxSessionTTL)
	}
	return r, len(c.errs) == nerrs
}

// ruleSite is a rule being compiled, and where its problems are reported.
type ruleSite struct {
	c    *compiler
	f    *parsedFile
	def  ruleDef
	rn   *yaml.Node
	name string // the id, or #N without one
}

func (s *ruleSite) fail(n *yaml.Node, format string, args ...any) {
	s.c.errs = append(s.c.errs, &Error{Pos: s.f.pos(n), Rule: s.name, Err: fmt.Errorf(format, args...)})
}

func (s *ruleSite) warn(n *yaml.Node, format string, args ...any) {
	s.c.warnings = append(s.c.warnings, &Error{Pos: s.f.pos(n), Rule: s.name, Err: fmt.Errorf(format, args...)})
}

// checkSugar checks msgtype, event and event_key.
func (s *ruleSite) checkSugar() {
	def := s.def
	if n := yamlpos.Lookup(s.rn, "msgtype"); n != nil && !slices.Contains(engine.MsgTypes, def.MsgType) {
		s.warn(n, "msgtype %q is not one WeChat sends today (%s)", def.MsgType, strings.Join(engine.MsgTypes, ", "))
	}
	if n := yamlpos.Lookup(s.rn, "event"); n != nil {
		if def.MsgType != "" && def.MsgType != "event" {
			s.fail(n, "event: events come with msgtype event, and this rule asks for msgtype %s", def.MsgType)
		}
		if !slices.ContainsFunc(engine.Events, func(e string) bool { return strings.EqualFold(e, def.Event) }) {
			s.warn(n, "event %q is not one WeChat sends today (%s)", def.Event, strings.Join(engine.Events, ", "))
		}
	}
	if n := yamlpos.Lookup(s.rn, "event_key"); n != nil && len(def.EventKey) == 0 {
		s.fail(n, "event_key is empty: give a key or a list of keys")
	}
}

// duration reads the rule's field key as a duration; 0 when absent or wrong.
func (s *ruleSite) duration(key string, max time.Duration) time.Duration {
	n := yamlpos.Lookup(s.rn, key)
	if n == nil {
		return 0
	}
	if n.Kind != yaml.ScalarNode {
		s.fail(n, "%s: want a duration such as 30m, 1h or 1d, got %s", key, yamlpos.KindOf(n))
		return 0
	}
	d, err := boundedDuration(n.Value, max, stateKept)
	if err != nil {
		s.fail(n, "%s: %v", key, err)
		return 0
	}
	return d
}

// stateKept says why cooldowns and sessions are bounded.
const stateKept = ", the longest a user's state is kept"

// boundedDuration reads a duration of at most max; why, when the value is
// longer, follows the error.
func boundedDuration(value string, max time.Duration, why string) (time.Duration, error) {
	d, err := engine.ParseDuration(value)
	if err == nil && d > max {
		err = fmt.Errorf("%s is more than %s%s", engine.FormatDuration(d), engine.FormatDuration(max), why)
	}
	return d, err
}

// sessionName is what a session name must look like, so that conditions
// can read it as Session.name and templates as {{ .Session.name }}.
var sessionName = regexp.MustCompile("^" + sessionNamePattern + "$")

const sessionNamePattern = `[A-Za-z_][A-Za-z0-9_]*`

// maxSessionNameBytes keeps the names, stored for every user, short.
const maxSessionNameBytes = 64

func (s *ruleSite) checkSessionName(n *yaml.Node, field, name string) bool {
	switch {
	case !sessionName.MatchString(name):
		s.fail(n, "%s: %q is not a session name: use letters, digits and _, starting with a letter (step, order_id)", field, name)
	case len(name) > maxSessionNameBytes:
		s.fail(n, "%s: the name %q is longer than %d bytes", field, text.Cut(name, 20)+"...", maxSessionNameBytes)
	default:
		return true
	}
	return false
}

// sets compiles set: a template for each name, in the file's order.
func (s *ruleSite) sets() []engine.SessionSet {
	n := yamlpos.Lookup(s.rn, "set")
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		s.fail(n, "set: want a mapping of name: value, got %s", yamlpos.KindOf(n))
		return nil
	}
	if len(n.Content) == 0 {
		s.fail(n, "set is empty: give name: value pairs, or leave set out")
		return nil
	}
	var out []engine.SessionSet
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !s.checkSessionName(k, "set", k.Value) {
			continue
		}
		if !s.c.setNames[k.Value] {
			if len(s.c.setNames) == engine.MaxSessionNames {
				s.fail(k, "set.%s: the folder's rules set %d session names already, as many as a user may keep (each value up to %d bytes): reuse a name, or keep such data in a backend",
					k.Value, engine.MaxSessionNames, engine.MaxSessionValueBytes)
				continue
			}
			if s.c.setNames == nil {
				s.c.setNames = map[string]bool{}
			}
			s.c.setNames[k.Value] = true
		}
		if v.Kind != yaml.ScalarNode {
			s.fail(v, "set.%s: want text, got %s", k.Value, yamlpos.KindOf(v))
			continue
		}
		t := s.c.template(s.f, s.name, "set."+k.Value, v.Value, v)
		if t == nil && v.Value == "" {
			t, _ = engine.CompileTemplate("set."+k.Value, "") // stores "": the same as unset, but kept
		}
		if t != nil {
			out = append(out, engine.SessionSet{Name: k.Value, Value: t})
		}
	}
	return out
}

// unset checks the names unset drops.
func (s *ruleSite) unset() []string {
	n := yamlpos.Lookup(s.rn, "unset")
	if n == nil {
		return nil
	}
	if len(s.def.Unset) == 0 {
		s.fail(n, "unset is empty: give a name or a list of names, or leave unset out")
		return nil
	}
	for i, name := range s.def.Unset {
		at := n
		if n.Kind == yaml.SequenceNode {
			at = yamlpos.Item(n, i)
		}
		s.checkSessionName(at, "unset", name)
	}
	return s.def.Unset
}

// keywords compiles keywords and match; nil when the rule has none.
func (s *ruleSite) keywords() *engine.Keywords {
	def := s.def
	kn := yamlpos.Lookup(s.rn, "keywords")
	if kn == nil {
		if mn := yamlpos.Lookup(s.rn, "match"); mn != nil {
			s.fail(mn, "match applies to keywords, and this rule has none")
		}
		return nil
	}
	switch {
	case len(def.Keywords) == 0 && (kn.Kind == yaml.SequenceNode || isNull(kn)):
		// Text or a mapping is refused by the decoder already.
		s.fail(kn, "keywords is empty: give at least one")
	case def.Event != "" || (def.MsgType != "" && def.MsgType != "text" && def.MsgType != "voice"):
		s.fail(kn, "keywords never match here: they are compared with Text, which only text and voice messages have")
	}
	words, at := keywordItems(kn, def.Keywords)
	item := func(i int) *yaml.Node { return yamlpos.Item(kn, at[i]) }
	for i, w := range words {
		if strings.TrimSpace(w) == "" {
			s.fail(item(i), "keywords[%d] is empty: it would match every message", at[i])
		}
		s.checkFullWidth(item(i), kn.Style&yaml.FlowStyle != 0, at[i], w)
	}
	if engine.KeywordMode(def.Match) == engine.MatchRegex {
		// Each pattern on its own first, so that every bad one is named,
		// in the words its author wrote it with.
		bad := false
		for i, w := range words {
			if err := checkKeywordPattern(w); err != nil {
				s.fail(item(i), "keywords[%d]: %v", at[i], err)
				bad = true
			}
		}
		if bad {
			return nil
		}
	}
	k, err := engine.NewKeywords(engine.KeywordMode(def.Match), words)
	var ke *engine.KeywordError
	switch {
	case errors.As(err, &ke) && errors.As(ke.Err, new(*syntax.Error)):
		s.fail(item(ke.Index), "keywords[%d]: not a regular expression: %v", at[ke.Index], ke.Err)
	case errors.As(err, &ke):
		s.fail(item(ke.Index), "keywords[%d]: %v", at[ke.Index], ke.Err)
	case err != nil:
		s.fail(yamlpos.Lookup(s.rn, "match"), "match: %v", err)
	}
	return k
}

// keywordItems pairs the decoded keywords with the items of the list kn
// that hold them: keyword i is item at[i]. yaml.v3 leaves out an item that
// is not text (and says so), so then the words are read from the items
// that are.
func keywordItems(kn *yaml.Node, decoded []string) (words []string, at []int) {
	if kn.Kind == yaml.SequenceNode && len(kn.Content) != len(decoded) {
		for j, n := range kn.Content {
			if n.Kind == yaml.ScalarNode {
				words = append(words, n.Value)
				at = append(at, j)
			}
		}
		return words, at
	}
	at = make([]int, len(decoded))
	for i := range at {
		at[i] = i
	}
	return decoded, at
}

// ignoreCase is what engine.NewKeywords puts before a regex keyword.
const ignoreCase = "(?i)"

// checkKeywordPattern checks one regex keyword, w, as engine.NewKeywords
// compiles it; its error speaks of w as written, without the (?i) the
// engine adds.
func checkKeywordPattern(w string) error {
	_, err := engine.NewKeywords(engine.MatchRegex, []string{w})
	var ke *engine.KeywordError
	if !errors.As(err, &ke) {
		return err
	}
	var se *syntax.Error
	if errors.As(ke.Err, &se) {
		written := *se
		written.Expr = strings.TrimPrefix(se.Expr, ignoreCase)
		return fmt.Errorf("not a regular expression: %w", &written)
	}
	return ke.Err
}

// checkFullWidth warns about keyword j, w, written at n in a [a, b] list
// if flow, when what a Chinese input method types for YAML's punctuation
// made it a keyword nobody types: curly quotes around it, or a full-width
// comma that was meant to separate two keywords of the list.
func (s *ruleSite) checkFullWidth(n *yaml.Node, flow bool, j int, w string) {
	first, _ := utf8.DecodeRuneInString(w)
	last, _ := utf8.DecodeLastRuneInString(w)
	switch {
	case utf8.RuneCountInString(w) >= 2 && strings.ContainsRune("“‘", first) && strings.ContainsRune("”’", last):
		s.warn(n, "keywords[%d] %q starts and ends with curly quotes, so it matches only text that holds them too: write it without them, or in ASCII quotes (switch the input method to English punctuation)", j, w)
	case flow && strings.Contains(w, "，"):
		s.warn(n, "keywords[%d] %q is one keyword: \"，\" is a full-width comma, and keywords in [...] are separated by the ASCII \",\" (switch the input method to English punctuation)", j, w)
	}
}

// when compiles the condition; nil when the rule has none or it fails.
func (s *ruleSite) when(vars map[string]any) *engine.Condition {
	wn := yamlpos.Lookup(s.rn, "when")
	if wn == nil {
		return nil
	}
	if strings.TrimSpace(s.def.When) == "" {
		s.fail(wn, "when is empty: write a condition, or leave when out")
		return nil
	}
	cond, err := engine.CompileCondition(s.def.When, vars)
	if err != nil {
		s.c.errs = append(s.c.errs, s.c.exprError(s.f, wn, s.name, err))
		return nil
	}
	return cond
}

// Customer-service messages WeChat accepts after one push: after a message
// from the user, 5 within 48 hours; after a menu click, a follow or a scan,
// 3 within a minute.
const (
	maxSendsAfterMessage = 5
	maxSendsAfterEvent   = 3
)

// pick checks pick; n is the number of replies.
func (s *ruleSite) pick(n int) engine.Pick {
	pn := yamlpos.Lookup(s.rn, "pick")
	if pn == nil {
		return engine.PickRandom
	}
	p := engine.Pick(s.def.Pick)
	switch {
	case p != engine.PickRandom && p != engine.PickAll:
		s.fail(pn, "pick: %s", yamlpos.UnknownField(s.def.Pick, []string{string(engine.PickRandom), string(engine.PickAll)}))
		return engine.PickRandom
	case yamlpos.Lookup(s.rn, "replies") == nil:
		s.fail(pn, "pick applies to replies, and this rule has one reply")
	case p == engine.PickAll:
		limit, after := maxSendsAfterMessage, "a message"
		if s.def.Event != "" || s.def.MsgType == "event" || s.def.MsgType == "" && len(s.def.Keywords) == 0 {
			// A rule that may answer an event is held to the events' limit.
			limit, after = maxSendsAfterEvent, "an event (a menu click, a follow, a scan)"
		}
		if n-1 > limit {
			s.warn(pn, "pick: all sends %d replies: the first as the reply, %d through the customer-service API, and WeChat accepts %d after %s: the rest would be refused (45047)", n, n-1, limit, after)
		}
	}
	return p
}

// backend compiles backend; nil when the rule has none.
func (s *ruleSite) backend() *engine.Backend {
	bn := yamlpos.Lookup(s.rn, "backend")
	if bn == nil {
		return nil
	}
	def := s.def.Backend
	if def == nil {
		s.fail(bn, "backend: want a mapping with url (and timeout, passive_wait)")
		return nil
	}
	b := &engine.Backend{URL: def.URL, Timeout: engine.DefaultBackendTimeout, PassiveWait: engine.DefaultBackendPassiveWait}
	if yamlpos.Lookup(bn, "url") == nil || def.URL == "" {
		s.fail(bn, "backend: url is required: where wxreply posts the push, e.g. https://api.example.com/wechat")
	} else if _, err := engine.ParseBackendURL(def.URL); err != nil {
		s.fail(yamlpos.Lookup(bn, "url"), "backend.url: %v", err)
	}
	duration := func(key, value string, max time.Duration, into *time.Duration) {
		n := yamlpos.Lookup(bn, key)
		if n == nil {
			return
		}
		d, err := boundedDuration(value, max, "")
		if err != nil {
			s.fail(n, "backend.%s: %v", key, err)
			return
		}
		*into = d
	}
	duration("timeout", def.Timeout, engine.MaxBackendTimeout, &b.Timeout)
	duration("passive_wait", def.PassiveWait, engine.MaxBackendPassiveWait, &b.PassiveWait)
	if b.PassiveWait > b.Timeout {
		b.PassiveWait = b.Timeout
	}
	return b
}

// replies compiles reply, or the alternatives of replies. A rule with a
// backend may have neither.
func (s *ruleSite) replies(backend bool) []*engine.ReplyTemplate {
	replyNode, repliesNode := yamlpos.Lookup(s.rn, "reply"), yamlpos.Lookup(s.rn, "replies")
	switch {
	case replyNode != nil && repliesNode != nil:
		s.fail(repliesNode, "give reply or replies, not both")
	case replyNode == nil && repliesNode == nil && backend:
		return nil
	case replyNode == nil && repliesNode == nil:
		s.fail(s.rn, "no reply: give reply (or replies, for one picked at random)")
	case replyNode != nil:
		if rt := s.c.reply(s.f, s.name, "reply", replyNode); rt != nil {
			return []*engine.ReplyTemplate{rt}
		}
	default:
		if len(s.def.Replies) == 0 {
			s.fail(repliesNode, "replies is empty: give at least one reply")
		}
		var out []*engine.ReplyTemplate
		for j := range s.def.Replies {
			if rt := s.c.reply(s.f, s.name, fmt.Sprintf("replies[%d]", j), yamlpos.Item(repliesNode, j)); rt != nil {
				out = append(out, rt)
			}
		}
		return out
	}
	return nil
}

// exprError places expr's (line:col) inside the file.
func (c *compiler) exprError(f *parsedFile, n *yaml.Node, rule string, err error) *Error {
	p := f.pos(n)
	var fe *file.Error
	if errors.As(err, &fe) && strings.Contains(fe.Message, "maximum allowed nodes") {
		return &Error{Pos: p, Rule: rule, Err: fmt.Errorf("when: the condition is too large: more than %d terms", engine.MaxConditionNodes)}
	}
	if errors.As(err, &fe) && fe.Line > 0 {
		p = f.scalarPos(n, fe.Line, fe.Column+1)
	}
	if fe != nil && fe.Snippet != "" && strings.HasPrefix(fe.Message, "unexpected token EOF") && n.Style == 0 && n.LineComment != "" {
		// when: all(1..9, # > 0): YAML took the rest of the line for a
		// comment, and expr saw the condition end early.
		return &Error{Pos: p, Rule: rule, Err: fmt.Errorf("when: %s (%d:%d): # starts a YAML comment: put the condition in quotes%s", fe.Message, fe.Line, fe.Column+1, fe.Snippet)}
	}
	if fe != nil {
		if m := unknownName.FindStringSubmatch(fe.Message); m != nil {
			if guess := text.Suggest(m[1], conditionNames); guess != "" {
				return &Error{Pos: p, Rule: rule, Err: fmt.Errorf("when: %s: did you mean %s? (%d:%d)%s", fe.Message, guess, fe.Line, fe.Column+1, fe.Snippet)}
			}
		}
	}
	return &Error{Pos: p, Rule: rule, Err: fmt.Errorf("when: %w", err)}
}

var unknownName = regexp.MustCompile(`^unknown name (\w+)$`)

// conditionNames are the names a condition can read at its top level:
// the template's, and Env's methods.
var conditionNames = func() []string {
	names := slices.Clone(envFields)
	t := reflect.TypeOf(engine.Env{})
	for i := range t.NumMethod() {
		names = append(names, t.Method(i).Name)
	}
	return names
}()

// reply compiles one reply; it returns nil when the reply has errors.
func (c *compiler) reply(f *parsedFile, rule, field string, n *yaml.Node) *engine.ReplyTemplate {
	nerrs := len(c.errs)
	fail := func(n *yaml.Node, format string, args ...any) {
		c.errs = append(c.errs, &Error{Pos: f.pos(n), Rule: rule, Err: fmt.Errorf(field+": "+format, args...)})
	}
	kindNames := engine.KindNames()
	if n.Kind != yaml.MappingNode && !isNull(n) {
		fail(n, "want a mapping of one reply kind (%s), got %s", strings.Join(kindNames, ", "), yamlpos.KindOf(n))
		return nil
	}
	if again, first := yamlpos.Repeated(n); again != nil {
		fail(again, "%q is given twice (first at line %d): a reply has exactly one kind; use replies for alternatives", again.Value, first.Line)
		return nil
	}
	var kinds []engine.Kind
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if engine.SchemaOf(engine.Kind(k.Value)) == nil {
			fail(k, "%s", yamlpos.UnknownField(k.Value, kindNames))
			continue
		}
		kinds = append(kinds, engine.Kind(k.Value))
	}
	switch {
	case len(c.errs) > nerrs:
		return nil
	case len(kinds) == 0:
		fail(n, "no reply kind: give one of %s", strings.Join(kindNames, ", "))
		return nil
	case len(kinds) > 1:
		fail(n, "%s and %s: a reply has exactly one kind; use replies for alternatives", kinds[0], kinds[1])
		return nil
	}
	s := engine.SchemaOf(kinds[0])
	kn := yamlpos.Lookup(n, string(s.Kind))
	sub := field + "." + string(s.Kind)
	rt := &engine.ReplyTemplate{Kind: s.Kind}
	switch s.Shape {
	case engine.ShapeValue:
		switch {
		case kn.Kind != yaml.ScalarNode:
			fail(kn, "%s: want text, got %s", s.Kind, yamlpos.KindOf(kn))
		case kn.Value == "":
			fail(kn, "%s is empty: to send nothing, leave the rule out", s.Kind)
		default:
			rt.Values = []*engine.Template{c.template(f, rule, sub, kn.Value, kn)}
		}
	case engine.ShapeFields:
		rt.Values = c.fields(f, rule, sub, s, kn, func(n *yaml.Node, format string, args ...any) {
			fail(n, string(s.Kind)+": "+format, args...)
		})
	case engine.ShapeList:
		items := 0
		if kn.Kind == yaml.SequenceNode {
			items = len(kn.Content)
		} else if !isNull(kn) {
			fail(kn, "%s: want a list of %ss, got %s", s.Kind, s.Item, yamlpos.KindOf(kn))
			break
		}
		switch {
		case items == 0:
			fail(kn, "%s has no %ss: give 1 to %d", s.Kind, s.Item, s.MaxItems)
		case items > s.MaxItems:
			fail(kn, "%s has %d %ss: WeChat accepts at most %d", s.Kind, items, s.Item, s.MaxItems)
		}
		for i := range items {
			at := fmt.Sprintf("%s[%d]", s.Kind, i)
			rt.Items = append(rt.Items, c.fields(f, rule, field+"."+at, s, kn.Content[i], func(n *yaml.Node, format string, args ...any) {
				fail(n, at+": "+format, args...)
			}))
		}
	}
	if len(c.errs) > nerrs {
		return nil
	}
	return rt
}

// fields compiles a mapping of a kind's fields, one template each, in the
// schema's order.
func (c *compiler) fields(f *parsedFile, rule, sub string, s *engine.KindSchema, n *yaml.Node, fail func(*yaml.Node, string, ...any)) []*engine.Template {
	if n.Kind != yaml.MappingNode && !isNull(n) {
		fail(n, "want a mapping of %s, got %s", strings.Join(s.FieldNames(), ", "), yamlpos.KindOf(n))
		return nil
	}
	if again, first := yamlpos.Repeated(n); again != nil {
		fail(again, "%q is given twice (first at line %d): which one should be sent?", again.Value, first.Line)
	}
	out := make([]*engine.Template, len(s.Fields))
	given := make([]bool, len(s.Fields)) // with text, compiled or not
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		_, j := s.Field(k.Value)
		switch {
		case j < 0:
			fail(k, "%s", yamlpos.UnknownField(k.Value, s.FieldNames()))
		case v.Kind != yaml.ScalarNode:
			fail(v, "%s: want text, got %s", k.Value, yamlpos.KindOf(v))
		default:
			out[j] = c.template(f, rule, sub+"."+k.Value, v.Value, v)
			given[j] = strings.TrimSpace(v.Value) != ""
		}
	}
	for j, field := range s.Fields {
		if field.Required && !given[j] {
			fail(n, "%s is required: %s", field.Name, field.Doc)
		}
	}
	return out
}

// isNull reports whether n was left empty (image:), which reads as a
// mapping or list with nothing in it.
func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

var unknownTemplateField = regexp.MustCompile(`^(<.*>): can't evaluate field (\w+) in type \*engine\.Env$`)

// envFields are the names a template can read at its top level.
var envFields = func() []string {
	names := []string{"Vars", "Session", "Now"}
	t := reflect.TypeOf(engine.Event{})
	for i := range t.NumField() {
		names = append(names, t.Field(i).Name)
	}
	return names
}()

var templateMessage = regexp.MustCompile(`^template: [^:]*:(\d+)(?::(\d+))?: (?:executing "[^"]*" at )?(.*)$`)

// template compiles one reply field; an empty field compiles to nil.
func (c *compiler) template(f *parsedFile, rule, field, src string, n *yaml.Node) *engine.Template {
	if src == "" {
		return nil
	}
	t, err := engine.CompileTemplate(field, src)
	if err != nil {
		c.errs = append(c.errs, c.templateError(site{file: f, node: n, rule: rule, field: field}, err, ""))
		return nil
	}
	c.sites[t] = site{file: f, node: n, rule: rule, field: field}
	return t
}

// missingKey is text/template's error for a var no file defines, or a
// session name no rule sets.
var missingKey = regexp.MustCompile(`^<\.(Vars|Session)\.[^>]*>: map has no entry for key "([^"]*)"$`)

// templateError places a text/template error, which counts lines and
// columns inside the field, in the file.
func (c *compiler) templateError(s site, err error, context string) *Error {
	p := s.file.pos(s.node)
	msg := err.Error()
	if m := templateMessage.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col := 0
		if m[2] != "" {
			offset, _ := strconv.Atoi(m[2])
			col = runeColumn(s.node.Value, line, offset)
		}
		msg = m[3]
		if col == 0 {
			col = unexpectedColumn(s.node.Value, line, msg)
		}
		p = s.file.scalarPos(s.node, line, col)
	}
	if m := unknownTemplateField.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s: no field %s", m[1], m[2])
		if guess := text.Suggest(m[2], envFields); guess != "" {
			msg += fmt.Sprintf(": did you mean .%s?", guess)
		}
	}
	if m := missingKey.FindStringSubmatch(msg); m != nil && m[1] == "Vars" {
		if guess := text.Suggest(m[2], c.varNames); guess != "" {
			msg += fmt.Sprintf(": did you mean .Vars.%s?", guess)
		}
	} else if m != nil {
		msg = engine.UnknownSessionName(m[2], c.sessionNames)
		msg = strings.Replace(msg, "Session.", ".Session.", 2)
	}
	return &Error{Pos: p, Rule: s.rule, Err: fmt.Errorf("%s: %s%s", s.field, msg, context)}
}

// unexpectedToken is a text/template parse error that names the token it
// stopped at, and gives no column.
var unexpectedToken = regexp.MustCompile(`^unexpected "([^"]+)" in `)

// unexpectedColumn finds the column of the token a parse error names, in
// the first action of the line: 0 when it cannot tell.
func unexpectedColumn(src string, line int, msg string) int {
	m := unexpectedToken.FindStringSubmatch(msg)
	lines := strings.Split(src, "\n")
	if m == nil || line < 1 || line > len(lines) {
		return 0
	}
	start := strings.Index(lines[line-1], "{{")
	if start < 0 {
		return 0
	}
	i := strings.Index(lines[line-1][start+2:], m[1])
	if i < 0 {
		return 0
	}
	return runeColumn(src, line, start+2+i)
}

// runeColumn turns text/template's column, a byte offset from 0 into the
// line, into the 1-based count of characters editors and YAML use.
func runeColumn(src string, line, offset int) int {
	lines := strings.Split(src, "\n")
	if line < 1 || line > len(lines) || offset > len(lines[line-1]) {
		return offset + 1
	}
	return utf8.RuneCountInString(lines[line-1][:offset]) + 1
}

// trialTime is how long one trial of a rule may take when rules load: long
// enough that a slow machine never refuses an ordinary rule on the clock
// (the work budget refuses a rule that does too much, the same way on any
// machine), short enough that no folder makes a reload slow.
const trialTime = 5 * time.Second

// trialEnv is what a trial at load evaluates a rule over: the sample ev,
// at dryRunNow, within the default budget but trialTime.
func (c *compiler) trialEnv(ev *engine.Event, vars map[string]any) *engine.Env {
	env := engine.NewEnv(ev, vars, dryRunNow)
	env.Session = make(map[string]string, len(c.sessionNames))
	for _, name := range c.sessionNames {
		env.Session[name] = ""
	}
	engine.Budget{Time: trialTime}.Hold(env)
	return env
}

// dryRunNow is the time the dry run renders at: a Wednesday morning.
var dryRunNow = time.Date(2024, 6, 12, 10, 0, 0, 0, engine.DefaultLocation)

// dryRun renders every reply against a sample of each push the rule could
// answer, so that a template reading a var or field that is not there fails
// now rather than when a user writes. It also warns about replies WeChat
// would cut.
func (c *compiler) dryRun(set *engine.RuleSet) {
	names := make([]string, 0, len(engine.SampleFields))
	for name := range engine.SampleFields {
		names = append(names, name)
	}
	slices.Sort(names)
	failed := map[*engine.Template]bool{}
	for _, r := range set.Rules() {
		samples := c.samplesFor(r, names, set.Vars())
		replies := r.Replies
		if r.OnError != nil {
			replies = append(slices.Clip(replies), r.OnError)
		}
		for _, rt := range replies {
			longest, longestSample := 0, ""
			for _, s := range samples {
				env := c.trialEnv(s.event, set.Vars())
				reply, err := rt.Render(env)
				var te *engine.TemplateError
				if errors.As(err, &te) && !errors.Is(te.Err, engine.ErrNoEntry) {
					// (A lookup that misses for a sample may hit for a
					// push: it is not a mistake of the file.)
					if !failed[te.Template] {
						failed[te.Template] = true
						context := fmt.Sprintf(" (rendering a sample %s)", s.name)
						if engine.AsBudgetError(te.Err) != nil {
							context += `: loop over fewer items or build smaller values (see "Limits of a rule" in the README)`
						}
						c.errs = append(c.errs, c.templateError(c.sites[te.Template], te.Err, context))
					}
					continue
				}
				if err == nil && reply.Kind == engine.KindText && len(reply.Text()) > longest {
					longest, longestSample = len(reply.Text()), s.name
				}
			}
			if longest > engine.MaxTextBytes {
				s := c.sites[rt.Values[0]]
				c.warnings = append(c.warnings, &Error{Pos: s.file.pos(s.node), Rule: r.ID,
					Err: fmt.Errorf("%s renders to %d bytes for a sample %s: WeChat may cut or drop text over %d bytes", s.field, longest, longestSample, engine.MaxTextBytes)})
			}
			if rt.Kind == engine.KindNews && len(rt.Items) > 1 && r.MsgType != "event" && r.Event == "" {
				s := c.sites[rt.Items[0][0]]
				c.warnings = append(c.warnings, &Error{Pos: s.file.pos(s.node), Rule: r.ID,
					Err: fmt.Errorf("news has %d articles and may answer a user message: WeChat then shows only the first; restrict the rule to events to send up to %d", len(rt.Items), engine.MaxArticles)})
			}
		}
		for _, sv := range r.Set {
			for _, smp := range samples {
				if _, err := sv.Value.Render(c.trialEnv(smp.event, set.Vars())); err != nil {
					context := fmt.Sprintf(" (rendering a sample %s)", smp.name)
					c.errs = append(c.errs, c.templateError(c.sites[sv.Value], err, context))
					break
				}
			}
		}
	}
}

// sampleEvent is the sample push of the given name, made once for all the
// rules of a load: rules only read it.
func (c *compiler) sampleEvent(name string) *engine.Event {
	if c.samples == nil {
		c.samples = map[string]*engine.Event{}
	}
	ev, ok := c.samples[name]
	if !ok {
		ev = engine.SampleEvent(name, engine.DefaultLocation)
		c.samples[name] = ev
	}
	return ev
}

type sample struct {
	name  string
	event *engine.Event
}

// samplesFor picks the sample pushes the rule's msgtype, event and
// keywords allow.
func (c *compiler) samplesFor(r *engine.Rule, names []string, vars map[string]any) []sample {
	var out []sample
	for _, name := range names {
		ev := c.sampleEvent(name)
		if r.MsgType != "" && ev.MsgType != r.MsgType {
			continue
		}
		if r.Event != "" && !strings.EqualFold(ev.Event, r.Event) {
			continue
		}
		if r.Keywords != nil && ev.Text == "" {
			continue
		}
		if len(r.EventKeys) > 0 {
			withKey := *ev
			withKey.Raw = maps.Clone(ev.Raw)
			withKey.EventKey = r.EventKeys[0]
			withKey.Raw["EventKey"] = r.EventKeys[0]
			ev = &withKey
		}
		out = append(out, sample{name: sampleName(ev), event: ev})
	}
	if len(out) == 0 {
		fields := map[string]string{"MsgType": cmp.Or(r.MsgType, "event"), "Event": r.Event}
		ev, _ := engine.NewEvent(fields, engine.DefaultLocation)
		out = append(out, sample{name: sampleName(ev), event: ev})
	}
	// A template may rely on what the condition guarantees (a photo in
	// SendPicsInfo, say): render it only for the samples the condition
	// accepts, when there are any.
	if r.When != nil {
		var accepted []sample
		overBudget, failed := false, 0
		var firstErr error
		var firstFailed string
		for _, s := range out {
			ok, err := r.When.Eval(c.trialEnv(s.event, vars))
			switch {
			case engine.AsBudgetError(err) != nil:
				if !overBudget {
					// A condition that is over budget for an ordinary push
					// would never answer: it is an error, not a slow rule.
					overBudget = true
					c.errs = append(c.errs, &Error{Pos: c.whenPos[r], Rule: r.ID,
						Err: fmt.Errorf("when: %w for a sample %s: loop over fewer items or build smaller values (see \"Limits of a rule\" in the README)", err, s.name)})
				}
			case err != nil:
				if failed++; firstErr == nil {
					firstErr, firstFailed = err, s.name
				}
			case ok:
				accepted = append(accepted, s)
			}
		}
		if failed == len(out) {
			// What fails for every push of its kind, a pattern in Vars
			// that does not compile, text compared with a number, is
			// most likely a mistake; what fails for some pushes only
			// may be meant.
			c.warnings = append(c.warnings, &Error{Pos: c.whenPos[r], Rule: r.ID,
				Err: fmt.Errorf("when: fails for every sample push the rule could answer, and would be skipped with an error for each push; for a sample %s: %w", firstFailed, firstErr)})
		}
		if len(accepted) > 0 {
			out = accepted
		}
	}
	return out
}

func sampleName(ev *engine.Event) string {
	if ev.MsgType == "event" {
		return ev.Event + " event"
	}
	return ev.MsgType + " message"
}

// unreachable warns about rules that can never answer because an earlier
// rule has no condition at all and so answers everything.
func (c *compiler) unreachable() {
	var catchAll *engine.Rule
	for _, r := range c.set.Rules() {
		if catchAll != nil {
			c.warnings = append(c.warnings, &Error{Pos: r.Source, Rule: r.ID,
				Err: fmt.Errorf("never matches: rule %q (%s) comes first and has no condition; lower its priority", catchAll.ID, catchAll.Source)})
			continue
		}
		if r.MsgType == "" && r.Event == "" && len(r.EventKeys) == 0 && r.Keywords == nil && r.When == nil {
			catchAll = r
		}
	}
}
