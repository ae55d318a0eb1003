package ruletest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/text"
	"github.com/wxreply/wxreply/internal/yamlpos"
	"github.com/wxreply/wxreply/rules"
)

// The defaults a case's event starts from: a test names only the fields
// that matter to it.
const (
	// DefaultToUserName is the account the event is sent to.
	DefaultToUserName = "gh_5e8a1c2f9b3d"
	// DefaultFromUserName is the OpenID of the user who sends it.
	DefaultFromUserName = "oWx7Tb2LkQ9mZr5pYc3NvH8sDf1A"
)

// DefaultNow is the time a case without now: runs at, so that a test file
// gives the same result on any day: Wednesday 12 June 2024, 10:00 in
// Shanghai, when the example shop is open. CreateTime defaults to it too.
var DefaultNow = time.Date(2024, 6, 12, 10, 0, 0, 0, engine.DefaultLocation)

// IsTestFile reports whether a file of that name in a rule folder holds
// rule tests: *_test.yaml, not hidden.
func IsTestFile(name string) bool {
	return strings.HasSuffix(name, "_test.yaml") && !strings.HasPrefix(name, ".")
}

// The YAML shape of a test file. Like rule files, it is decoded strictly
// (yamlpos.DecodeStrict) and positions are looked up in the yaml.Node tree by
// the same keys, so these types carry no positions.
type fileDef struct {
	Tests []caseDef `yaml:"tests"`
}

type caseDef struct {
	Name    string            `yaml:"name"`
	Now     string            `yaml:"now"`
	Session map[string]string `yaml:"session"`
	Text    string            `yaml:"text"`
	Event   yaml.Node         `yaml:"event"`
	Want    wantDef           `yaml:"want"`
	Steps   []stepDef         `yaml:"steps"`
}

// stepDef is one push of a conversation: a case with steps sends them in
// order, from the same user, each after the one before plus After.
type stepDef struct {
	After string    `yaml:"after"`
	Text  string    `yaml:"text"`
	Event yaml.Node `yaml:"event"`
	Want  wantDef   `yaml:"want"`
}

type wantDef struct {
	Rule         string           `yaml:"rule"`
	Kind         string           `yaml:"kind"`
	TextContains rules.StringList `yaml:"text_contains"`
	TextRegex    string           `yaml:"text_regex"`
	// The reply's fields (text, media_id, ...) and lists (news), by their
	// names in engine.Schema, checked against it as the case is read.
	Reply map[string]yaml.Node `yaml:",inline"`
}

// testCase is one case, checked and ready to run: one push, or the steps
// of a conversation.
type testCase struct {
	file string
	name string
	pos  rules.Pos // the case's item in the file
	// session is the user's session before the first push.
	session    map[string]string
	sessionPos rules.Pos
	steps      []*step
}

// step is one push of a case and what the case wants of its answer.
type step struct {
	name  string    // the case's
	index int       // 1-based in a case with steps:; 0 in a case of one push
	of    int       // the case's number of steps
	pos   rules.Pos // the step's item in the file, or the case's
	now   time.Time
	event *engine.Event
	want  want
}

// label names the step in reports: "name", or "name" step 2 of 3.
func (s *step) label() string {
	if s.index == 0 {
		return strconv.Quote(s.name)
	}
	return fmt.Sprintf("%q step %d of %d", s.name, s.index, s.of)
}

// want is what a case expects of the decision.
type want struct {
	pos     rules.Pos // the want: key
	rule    string    // a rule id, or "" for no reply
	rulePos rules.Pos

	kind    engine.Kind // as written; "" when not given
	kindPos rules.Pos
	kinds   []engine.Kind // the reply kinds the fields below allow; nil for any
	fields  []fieldWant   // in the order of replyFields
	items   []itemWant    // the items of a list kind (news); nil when not given
	list    *engine.KindSchema
	listPos rules.Pos
}

// checksReply reports whether the case looks at the reply beyond its rule.
func (w *want) checksReply() bool {
	return w.kind != "" || len(w.fields) > 0 || w.items != nil
}

// fieldWant is one expectation on a reply field.
type fieldWant struct {
	key   string // as in the test file: text, text_contains, media_id, ...
	value string
	re    *regexp.Regexp // text_regex
	pos   rules.Pos
}

// itemWant is one expected item of a list (a news article): a value for
// each field of the list's kind, nil where it is not compared.
type itemWant struct {
	values []*string
	pos    rules.Pos
}

// wantKey is a key a want may give besides rule and kind: a field of
// one or more reply kinds, text_contains and text_regex (which look at the
// text), or a list kind (news).
type wantKey struct {
	key   string
	kinds []engine.Kind
	list  *engine.KindSchema // for a list kind
}

// wantKeys are the keys a want may have.
var wantKeys = func() []string {
	keys := []string{"rule", "kind"}
	for _, rf := range replyFields {
		keys = append(keys, rf.key)
	}
	return keys
}()

// replyFields lists them in the order they are checked and shown: the
// fields as engine.Schema gives them, then the lists.
var replyFields = func() []wantKey {
	var fields, lists []wantKey
	for _, s := range engine.Schema {
		if s.Shape == engine.ShapeList {
			lists = append(lists, wantKey{key: string(s.Kind), kinds: []engine.Kind{s.Kind}, list: s})
			continue
		}
		for _, f := range s.Fields {
			if i := slices.IndexFunc(fields, func(rf wantKey) bool { return rf.key == f.Name }); i >= 0 {
				fields[i].kinds = append(fields[i].kinds, s.Kind)
				continue
			}
			fields = append(fields, wantKey{key: f.Name, kinds: []engine.Kind{s.Kind}})
			if s.Kind == engine.KindText {
				fields = append(fields, wantKey{key: "text_contains", kinds: []engine.Kind{s.Kind}},
					wantKey{key: "text_regex", kinds: []engine.Kind{s.Kind}})
			}
		}
	}
	return append(fields, lists...)
}()

// parser checks one test file.
type parser struct {
	file string
	errs rules.Errors
}

func (p *parser) pos(n *yaml.Node) rules.Pos { return yamlpos.At(p.file, n) }

func (p *parser) fail(n *yaml.Node, test, format string, args ...any) {
	p.errs = append(p.errs, &rules.Error{Pos: p.pos(n), Test: test, Err: fmt.Errorf(format, args...)})
}

// parseFile decodes and checks a test file. Rule ids are checked later,
// against the folder's rules.
func parseFile(file string, src []byte) ([]*testCase, rules.Errors) {
	p := &parser{file: file}
	var def fileDef
	root, derrs := yamlpos.DecodeStrict(file, src, &def, nil)
	tests := yamlpos.Lookup(root, "tests")
	for _, e := range derrs {
		p.errs = append(p.errs, &rules.Error{Pos: e.Pos, Test: yamlpos.NameAt(tests, e.Pos.Line, "name"), Err: e.Err})
	}
	// The reply's keys in want are checked here rather than by the strict
	// decoder, which does not know engine.Schema: here, so that a typo in
	// want is reported with the decoder's errors, in one pass.
	checkWant := func(wn *yaml.Node, wd wantDef) {
		for k := range wd.Reply {
			if !slices.Contains(wantKeys, k) {
				p.errs = append(p.errs, &rules.Error{Pos: p.pos(yamlpos.Key(wn, k)), Test: yamlpos.NameAt(tests, wn.Line, "name"), Err: errors.New(yamlpos.UnknownField(k, wantKeys))})
			}
		}
	}
	for i, cd := range def.Tests {
		cn := yamlpos.Item(tests, i)
		if wn := yamlpos.Lookup(cn, "want"); wn != nil {
			checkWant(wn, cd.Want)
		}
		for j, sd := range cd.Steps {
			if wn := yamlpos.Lookup(yamlpos.Item(yamlpos.Lookup(cn, "steps"), j), "want"); wn != nil {
				checkWant(wn, sd.Want)
			}
		}
	}
	if tests == nil || tests.Kind != yaml.SequenceNode {
		if len(p.errs) > 0 {
			return nil, p.sorted()
		}
	}
	// A case with a problem above is not checked further: what follows
	// from it would bury it. The other cases are, so that one run reports
	// every mistake of the file, as check does for rule files.
	broken := map[int]bool{}
	for _, e := range p.errs {
		broken[caseIndex(tests, e.Pos.Line)] = true
	}
	if len(def.Tests) == 0 && len(p.errs) == 0 {
		p.fail(root, "", "no test cases: list them under tests:")
		return nil, p.errs
	}
	var cases []*testCase
	seen := map[string]int{}
	for i, cd := range def.Tests {
		if broken[i] {
			continue
		}
		n := yamlpos.Item(tests, i)
		name := cd.Name
		if strings.TrimSpace(name) == "" {
			name = "#" + strconv.Itoa(i+1)
			p.fail(n, name, "name is required: say what the case shows, e.g. \"a follower from the window QR code is welcomed\"")
		} else if first, dup := seen[name]; dup {
			p.fail(yamlpos.Lookup(n, "name"), name, "the name is used twice (first at line %d): --run and reports tell cases apart by name", first)
		} else {
			seen[name] = yamlpos.Lookup(n, "name").Line
		}
		if c := p.parseCase(i, name, cd, n); c != nil {
			cases = append(cases, c)
		}
	}
	if len(p.errs) > 0 {
		return nil, p.sorted()
	}
	return cases, nil
}

// sorted is the problems in the order they stand in the file.
func (p *parser) sorted() rules.Errors {
	slices.SortStableFunc(p.errs, func(a, b *rules.Error) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return p.errs
}

// caseIndex is the index of the case of tests that line falls in, or -1.
func caseIndex(tests *yaml.Node, line int) int {
	if tests == nil {
		return -1
	}
	at := -1
	for i, n := range tests.Content {
		if n.Line <= line {
			at = i
		}
	}
	return at
}

func (p *parser) parseCase(i int, name string, cd caseDef, n *yaml.Node) *testCase {
	nerrs := len(p.errs)
	c := &testCase{file: p.file, name: name, pos: p.pos(n), session: cd.Session, sessionPos: p.pos(yamlpos.Key(n, "session"))}
	now := DefaultNow
	if nn := yamlpos.Lookup(n, "now"); nn != nil {
		if t, err := engine.ParseTime(cd.Now, engine.DefaultLocation); err != nil {
			p.fail(nn, name, "now: %v", err)
		} else {
			now = t
		}
	}
	sn := yamlpos.Lookup(n, "steps")
	if sn == nil {
		s := &step{name: name, pos: c.pos, now: now}
		s.event = p.event(i+1, name, cd, n, now)
		s.want = p.want(name, cd.Want, n)
		c.steps = []*step{s}
	} else {
		for _, key := range []string{"text", "event", "want"} {
			if kn := yamlpos.Key(n, key); kn != nil {
				p.fail(kn, name, "%s: this case has steps, and each step gives its own text or event and want", key)
			}
		}
		if len(cd.Steps) == 0 {
			p.fail(sn, name, "steps is empty: give the pushes of the conversation, in order")
		}
		for j, sd := range cd.Steps {
			stn := yamlpos.Item(sn, j)
			if an := yamlpos.Lookup(stn, "after"); an != nil {
				d, err := engine.ParseDuration(sd.After)
				if err != nil {
					p.fail(an, name, "steps[%d].after: %v", j, err)
				}
				now = now.Add(d)
			}
			s := &step{name: name, index: j + 1, of: len(cd.Steps), pos: p.pos(stn), now: now}
			s.event = p.event((i+1)*1000+j+1, name, caseDef{Text: sd.Text, Event: sd.Event}, stn, now)
			s.want = p.want(name, sd.Want, stn)
			c.steps = append(c.steps, s)
		}
	}
	if len(p.errs) > nerrs {
		return nil
	}
	return c
}

// event builds the case's event from its fields and the defaults, with
// engine.NewEvent as the server does.
func (p *parser) event(seq int, name string, cd caseDef, n *yaml.Node, now time.Time) *engine.Event {
	en, tn := yamlpos.Lookup(n, "event"), yamlpos.Lookup(n, "text")
	fields := map[string]string{}
	where := map[string]*yaml.Node{}
	switch {
	case en == nil && tn == nil:
		p.fail(n, name, "no message: give event: (WeChat's fields, e.g. {MsgType: event, Event: subscribe}) or text: for a text message")
		return nil
	case en != nil && en.Kind != yaml.MappingNode:
		p.fail(en, name, "event: want a mapping of WeChat's field names to values, e.g. {MsgType: event, Event: CLICK, EventKey: MENU_HOURS}")
		return nil
	case en != nil:
		p.flatten(name, en, fields, where)
	}
	if tn != nil {
		if _, ok := fields["Content"]; ok {
			p.fail(tn, name, "text: the event gives Content already; give one of them")
		}
		if mt, ok := fields["MsgType"]; ok && mt != "text" {
			p.fail(tn, name, "text: is a text message, and the event has MsgType %s", mt)
		} else if e, ok := fields["Event"]; ok {
			p.fail(tn, name, "text: is a text message, and the event has Event %s: give one of them", e)
		}
		fields["Content"] = cd.Text
		fields["MsgType"] = "text"
	}
	if _, ok := fields["MsgType"]; !ok {
		if _, isEvent := fields["Event"]; !isEvent {
			p.fail(en, name, "event: MsgType is missing: give it (%s), or use text: for a text message", strings.Join(engine.MsgTypes, ", "))
			return nil
		}
		fields["MsgType"] = "event"
	}
	if mt := fields["MsgType"]; !slices.Contains(engine.MsgTypes, mt) {
		if s := text.Suggest(mt, engine.MsgTypes); s != "" {
			p.fail(where["MsgType"], name, "event: MsgType %q is not one WeChat sends: did you mean %q?", mt, s)
		}
	}
	if e, ok := fields["Event"]; ok && !slices.ContainsFunc(engine.Events, func(x string) bool { return strings.EqualFold(x, e) }) {
		if s := text.Suggest(strings.ToLower(e), lowered(engine.Events)); s != "" {
			p.fail(where["Event"], name, "event: Event %q is not one WeChat sends: did you mean %q?", e, engine.Events[slices.Index(lowered(engine.Events), s)])
		}
	}
	defaults := map[string]string{
		"ToUserName":   DefaultToUserName,
		"FromUserName": DefaultFromUserName,
		"CreateTime":   strconv.FormatInt(now.Unix(), 10),
	}
	if fields["MsgType"] != "event" {
		defaults["MsgId"] = strconv.FormatUint(7382914650000000000+uint64(seq), 10)
	}
	for k, v := range defaults {
		if _, ok := fields[k]; !ok {
			fields[k] = v
		}
	}
	ev, err := engine.NewEvent(fields, engine.DefaultLocation)
	if err != nil {
		at := en
		for k, kn := range where {
			if strings.HasPrefix(err.Error(), "field "+k+":") {
				at = kn
			}
		}
		p.fail(at, name, "event: %v", err)
		return nil
	}
	return ev
}

func lowered(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}

// flatten turns the event mapping into WeChat's element paths, as the
// server's XML decoder keys them: ScanCodeInfo: {ScanResult: x} becomes
// "ScanCodeInfo/ScanResult", and the items of a list "PicList/item[0]/...".
func (p *parser) flatten(name string, n *yaml.Node, fields map[string]string, where map[string]*yaml.Node) {
	add := func(key string, at *yaml.Node, value string) {
		if _, dup := fields[key]; dup {
			p.fail(at, name, "event: %s is given twice (first at line %d)", key, where[key].Line)
			return
		}
		fields[key], where[key] = value, at
	}
	var walk func(path string, at, v *yaml.Node)
	walk = func(path string, at, v *yaml.Node) {
		switch v.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i], v.Content[i+1]
				if !p.checkField(name, path+k.Value, k) {
					continue
				}
				if val.Kind == yaml.AliasNode {
					val = val.Alias
				}
				if val.Kind != yaml.ScalarNode && slices.Contains(eventFields, itemIndex.ReplaceAllString(path+k.Value, "item[0]")) {
					p.fail(val, name, "event: %s: want one value, got %s", path+k.Value, map[yaml.Kind]string{yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}[val.Kind])
					continue
				}
				walk(path+k.Value+"/", k, val)
			}
		case yaml.SequenceNode:
			for i, it := range v.Content {
				walk(fmt.Sprintf("%sitem[%d]/", path, i), it, it)
			}
		case yaml.AliasNode:
			walk(path, at, v.Alias)
		default:
			value := v.Value
			if v.Tag == "!!null" {
				value = ""
			}
			add(strings.TrimSuffix(path, "/"), at, value)
		}
	}
	walk("", n, n)
}

// derivedFields are computed by engine.NewEvent; giving them does nothing.
var derivedFields = map[string]string{
	"Text":    "Text is what the user said: Content for a text message, Recognition for a voice message; give one of those (or text:)",
	"Scene":   "Scene comes from EventKey: give EventKey: qrscene_X for a follow from a QR code, EventKey: X for SCAN",
	"OpenID":  "OpenID is FromUserName: give that",
	"Account": "Account is ToUserName: give that",
	"Time":    "Time is CreateTime: set the time with now:",
	"Raw":     "Raw holds every field given: give the field itself",
}

// eventFields are the element paths engine.Event reads, by the path with
// item indexes as item[0].
var eventFields = func() []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if _, derived := derivedFields[f.Name]; derived && prefix == "" {
				continue
			}
			switch f.Type.Kind() {
			case reflect.Struct:
				walk(prefix+f.Name+"/", f.Type)
			case reflect.Slice:
				walk(prefix+f.Name+"/item[0]/", f.Type.Elem())
			default:
				out = append(out, prefix+f.Name)
			}
		}
	}
	walk("", reflect.TypeOf(engine.Event{}))
	return out
}()

var itemIndex = regexp.MustCompile(`item\[\d+\]`)

// checkField reports whether an event key is usable. Keys WeChat may add
// tomorrow are: they go to Raw. A key that is a computed field, or looks
// like a typo of a known one, is an error.
func (p *parser) checkField(name, path string, k *yaml.Node) bool {
	if why, ok := derivedFields[path]; ok {
		p.fail(k, name, "event: %s", why)
		return false
	}
	norm := itemIndex.ReplaceAllString(path, "item[0]")
	if slices.Contains(eventFields, norm) {
		return true
	}
	for _, f := range eventFields {
		if strings.HasPrefix(f, norm+"/") {
			return true // a group such as ScanCodeInfo
		}
	}
	for _, f := range eventFields {
		if strings.EqualFold(f, norm) {
			p.fail(k, name, "event: unknown field %q: did you mean %q? (WeChat's names are case-sensitive)", path, f)
			return false
		}
	}
	if s := text.Suggest(norm, eventFields); s != "" {
		p.fail(k, name, "event: unknown field %q: did you mean %q?", path, s)
		return false
	}
	return true
}

// want checks the expectations of a case.
func (p *parser) want(name string, wd wantDef, cn *yaml.Node) want {
	wk, wn := yamlpos.Key(cn, "want"), yamlpos.Lookup(cn, "want")
	w := want{pos: p.pos(wk)}
	if wn == nil {
		p.fail(cn, name, "want is required: the rule that answers (or none), and what its reply holds")
		return w
	}
	rn := yamlpos.Lookup(wn, "rule")
	switch {
	case rn == nil || strings.TrimSpace(wd.Rule) == "":
		p.fail(wn, name, "want: rule is required: the id of the rule that answers, or none for no reply")
	case wd.Rule != "none":
		w.rule = wd.Rule
	}
	w.rulePos = p.pos(yamlpos.Key(wn, "rule"))
	p.wantKind(name, wd, wn, &w)

	var given []string // the reply fields given, for messages
	for _, rf := range replyFields {
		vn := yamlpos.Lookup(wn, rf.key)
		if vn == nil {
			continue
		}
		p.narrow(name, &w, rf.key, rf.kinds, yamlpos.Key(wn, rf.key), given)
		given = append(given, rf.key)
		p.wantField(name, wd, rf, vn, p.pos(yamlpos.Key(wn, rf.key)), &w)
	}
	if w.rule == "" && rn != nil && w.checksReply() {
		first := "kind"
		if len(given) > 0 {
			first = given[0]
		}
		p.fail(yamlpos.Key(wn, first), name, "want.%s: rule is none (no reply), so there is no reply to check", first)
	}
	return w
}

// wantKind checks want.kind.
func (p *parser) wantKind(name string, wd wantDef, wn *yaml.Node, w *want) {
	kn := yamlpos.Lookup(wn, "kind")
	if kn == nil {
		return
	}
	w.kind, w.kindPos = engine.Kind(wd.Kind), p.pos(yamlpos.Key(wn, "kind"))
	if !slices.Contains(engine.Kinds, w.kind) {
		p.fail(kn, name, "want.kind: %s", text.Unknown("reply kind", wd.Kind, engine.KindNames()))
	}
	w.kinds = []engine.Kind{w.kind}
}

// narrow keeps, of the reply kinds the want allows, those that have key;
// given are the keys seen before, for the message when none is left.
func (p *parser) narrow(name string, w *want, key string, kinds []engine.Kind, at *yaml.Node, given []string) {
	switch {
	case w.kind != "" && !slices.Contains(kinds, w.kind):
		p.fail(at, name, "want.%s: %s %s reply has no %s", key, text.Article(string(w.kind)), w.kind, key)
	case w.kinds != nil && !slices.ContainsFunc(kinds, func(k engine.Kind) bool { return slices.Contains(w.kinds, k) }):
		p.fail(at, name, "want.%s: no reply has both %s and %s", key, given[0], key)
	case w.kinds == nil:
		w.kinds = kinds
	default:
		w.kinds = slices.DeleteFunc(slices.Clone(w.kinds), func(k engine.Kind) bool { return !slices.Contains(kinds, k) })
	}
}

// wantField checks one expectation of the reply, given at vn.
func (p *parser) wantField(name string, wd wantDef, rf wantKey, vn *yaml.Node, kpos rules.Pos, w *want) {
	switch {
	case rf.key == "text_contains":
		items := []*yaml.Node{vn}
		if vn.Kind == yaml.SequenceNode {
			items = vn.Content
		}
		if len(wd.TextContains) == 0 {
			p.fail(vn, name, "want.text_contains is empty: give a piece of text, or a list of them")
		}
		for j, s := range wd.TextContains {
			if s == "" {
				p.fail(items[j], name, "want.text_contains: an empty string is in every text")
			}
			w.fields = append(w.fields, fieldWant{key: rf.key, value: s, pos: kpos})
		}
	case rf.key == "text_regex":
		re, err := regexp.Compile(wd.TextRegex)
		switch {
		case err != nil:
			p.fail(vn, name, "want.text_regex: not a regular expression: %v", err)
		case re.MatchString(""):
			// A reply's text is never empty, so one that matches "" is
			// in every text it is tried on: the case would pass whatever
			// the rule says.
			p.fail(vn, name, "want.text_regex: %q matches the empty text, so any text: give what the text must hold", wd.TextRegex)
		}
		w.fields = append(w.fields, fieldWant{key: rf.key, value: wd.TextRegex, re: re, pos: kpos})
	case rf.list != nil:
		w.list, w.listPos = rf.list, kpos
		w.items = p.items(name, rf.list, vn)
	case vn.Kind != yaml.ScalarNode:
		p.fail(vn, name, "want.%s: want text, got %s", rf.key, yamlpos.KindOf(vn))
	default:
		w.fields = append(w.fields, fieldWant{key: rf.key, value: vn.Value, pos: kpos})
	}
}

// items checks the expected items of a list kind: each a mapping of some
// of the kind's fields ({} matches any item).
func (p *parser) items(name string, s *engine.KindSchema, n *yaml.Node) []itemWant {
	key := string(s.Kind)
	if n.Kind != yaml.SequenceNode && n.Tag != "!!null" {
		got := yamlpos.KindOf(n)
		if n.Kind == yaml.ScalarNode {
			got += " " + strconv.Quote(n.Value)
		}
		p.fail(n, name, "want.%s: want a list of %ss, got %s", key, s.Item, got)
		return []itemWant{}
	}
	if len(n.Content) == 0 {
		p.fail(n, name, "want.%s: give the %ss, one item each (an item {} matches any %s)", key, s.Item, s.Item)
		return []itemWant{}
	}
	if len(n.Content) > s.MaxItems {
		p.fail(n, name, "want.%s: %d %ss: a reply has at most %d", key, len(n.Content), s.Item, s.MaxItems)
	}
	out := []itemWant{}
	for _, in := range n.Content {
		iw := itemWant{values: make([]*string, len(s.Fields)), pos: p.pos(in)}
		if in.Kind != yaml.MappingNode {
			p.fail(in, name, "want.%s: want a mapping of %s, got %s", key, strings.Join(s.FieldNames(), ", "), yamlpos.KindOf(in))
		}
		for i := 0; i+1 < len(in.Content); i += 2 {
			k, v := in.Content[i], in.Content[i+1]
			_, j := s.Field(k.Value)
			switch {
			case j < 0:
				p.fail(k, name, "%s", yamlpos.UnknownField(k.Value, s.FieldNames()))
			case v.Kind != yaml.ScalarNode:
				p.fail(v, name, "want.%s: %s: want text, got %s", key, k.Value, yamlpos.KindOf(v))
			default:
				iw.values[j] = &v.Value
			}
		}
		out = append(out, iw)
	}
	return out
}

// checkRules checks that every rule a case names is in the folder's rule
// set; a rule with enabled: false is not.
func checkRules(cases []*testCase, rs *engine.RuleSet, folder string) rules.Errors {
	var ids []string
	for _, r := range rs.Rules() {
		ids = append(ids, r.ID)
	}
	var errs rules.Errors
	for _, c := range cases {
		for name := range c.session {
			if !slices.Contains(rs.SessionNames(), name) {
				errs = append(errs, &rules.Error{Pos: c.sessionPos, Test: c.name,
					Err: errors.New("session: " + engine.UnknownSessionName(name, rs.SessionNames()))})
			}
		}
		for _, s := range c.steps {
			if s.want.rule == "" || rs.Rule(s.want.rule) != nil {
				continue
			}
			msg := fmt.Sprintf("want.rule: no enabled rule %q in %s", s.want.rule, folder)
			if g := text.Suggest(s.want.rule, ids); g != "" {
				msg += fmt.Sprintf(": did you mean %q?", g)
			}
			errs = append(errs, &rules.Error{Pos: s.want.rulePos, Test: c.name, Err: errors.New(msg)})
		}
	}
	return errs
}
