package rules

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/yamlpos"
)

// The YAML shape of a rule file. Decoding is strict (unknown fields are
// errors); positions come from the file's yaml.Node tree, looked up by
// the same keys, so the types below carry no position fields.
// The doc tags describe each field in the JSON Schema editors read
// (JSONSchema).
type fileDef struct {
	Vars     map[string]any `yaml:"vars" doc:"Values shared by every file of the folder, each defined in one file only: {{ .Vars.name }} in templates, Vars.name in conditions."`
	Settings settingsDef    `yaml:"settings" doc:"Settings of the whole folder, each given in one file only."`
	Rules    []ruleDef      `yaml:"rules" doc:"The rules, tried by priority, then file name, then order in the file; the first that holds answers."`
}

type settingsDef struct {
	SessionTTL string `yaml:"session_ttl" doc:"How long a user's session values live after a rule last set or unset one, for the rules that give no session_ttl of their own (default: the server's --session-ttl, 30m): 10m, 1h, 1d."`
}

type ruleDef struct {
	ID          string     `yaml:"id" doc:"Unique across the folder; shown in logs, metrics, check, explain and tests."`
	Description string     `yaml:"description" doc:"What the rule is for, in words."`
	Priority    int        `yaml:"priority" doc:"Higher is tried first (default 0)."`
	Enabled     *bool      `yaml:"enabled" doc:"false keeps the rule in its file but out of the rule set."`
	When        string     `yaml:"when" doc:"A condition over the message, Vars and Now, in expr-lang: Scene == \"window\", TimeBetween(\"09:00\", \"21:00\")."`
	Keywords    []string   `yaml:"keywords" doc:"Text (what the user typed or said) matches one of these, as match says; text and voice messages only."`
	Match       string     `yaml:"match" doc:"How keywords are compared, ignoring case and surrounding spaces (default contains)."`
	MsgType     string     `yaml:"msgtype" doc:"The push's MsgType: text, image, voice, video, shortvideo, location, link or event."`
	Event       string     `yaml:"event" doc:"The event, ignoring case: subscribe, SCAN, CLICK, VIEW, LOCATION, ..."`
	EventKey    StringList `yaml:"event_key" doc:"The EventKey is this key, or one of these keys: a menu button's key, a QR scene."`
	Cooldown    string     `yaml:"cooldown" doc:"After the rule answers a user, it does not match that user again for this long, and the next rule is tried: 60m, 1d."`
	// Set's values are templates; the node keeps their order and positions.
	Set        yaml.Node  `yaml:"set" doc:"After the rule answers, store these values for the user: name: template. Conditions read them as Session.name, templates as {{ .Session.name }}."`
	Unset      StringList `yaml:"unset" doc:"After the rule answers, drop these names from the user's session."`
	SessionTTL string     `yaml:"session_ttl" doc:"How long the user's session lives after this rule's set or unset (default: settings.session_ttl)."`
	// A reply is checked against engine.Schema as it is compiled; the
	// nodes keep its positions.
	Reply   yaml.Node   `yaml:"reply" doc:"The answer: exactly one reply kind."`
	Replies []yaml.Node `yaml:"replies" doc:"Several answers: one picked at random for each message, or all of them in order, as pick says."`
	Backend *backendDef `yaml:"backend" doc:"A service of yours that answers the push: wxreply posts it the push as signed JSON and sends its answer, passively when it comes within passive_wait, else through the customer-service API. reply, if given, answers a late backend's push at once."`
	// OnError is checked against engine.Schema as it is compiled.
	OnError yaml.Node `yaml:"on_error" doc:"The reply sent when the backend fails: an error, a timeout or a status other than 2xx."`
	Pick    string    `yaml:"pick" doc:"Which of replies answer: random (one, the default) or all (the first as the reply, the others through the customer-service API)."`
}

type backendDef struct {
	URL         string `yaml:"url" doc:"Where wxreply posts the push: http:// or https://."`
	Timeout     string `yaml:"timeout" doc:"How long the backend may take in all (default 15s, at most 5m)."`
	PassiveWait string `yaml:"passive_wait" doc:"How long the push waits for the backend before answering without it (default 3s, at most 4s: WeChat waits 5)."`
}

// StringList is one string or a list of them: event_key: A, or
// event_key: [A, B].
type StringList []string

// UnmarshalYAML reads a scalar as a list of one.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = []string{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*l = list
	return nil
}

// parsedFile is one rule file, decoded, with the node tree its positions come from.
type parsedFile struct {
	name string
	src  []byte
	def  fileDef
	root *yaml.Node // the top-level mapping; nil for an empty file
}

// listKinds words the lists of a rule file that yaml.v3's errors name by
// their Go type: rules, and replies (kept as nodes, checked as compiled).
var listKinds = map[string]string{
	"[]rules.ruleDef": "a list of rules",
	"[]yaml.Node":     "a list of replies",
}

var unknownFieldName = regexp.MustCompile(`^unknown field "(\w+)"`)

// parseFile decodes one rule file strictly. Its errors carry positions.
func parseFile(name string, src []byte) (*parsedFile, Errors) {
	f := &parsedFile{name: name, src: src}
	root, derrs := yamlpos.DecodeStrict(name, src, &f.def, listKinds)
	f.root = root
	f.alignRules()
	var errs Errors
	tests := yamlpos.Key(root, "tests")
	for _, e := range derrs {
		rule := yamlpos.NameAt(yamlpos.Lookup(root, "rules"), e.Pos.Line, "id")
		err := e.Err
		if tests != nil && e.Pos == yamlpos.At(name, tests) {
			err = fmt.Errorf("%w: test files end in _test.yaml: rename this one %s", err, testFileName(name))
		}
		if m := unknownFieldName.FindStringSubmatch(err.Error()); m != nil && engine.SchemaOf(engine.Kind(m[1])) != nil {
			// reply: with its kind on the next line, not indented under it.
			err = fmt.Errorf("unknown field %q: a reply kind belongs inside reply: indent it under reply:, or write reply: { %s: … }", m[1], m[1])
		}
		errs = append(errs, &Error{Pos: e.Pos, Rule: rule, Err: err})
	}
	switch {
	case root == nil && len(errs) > 0:
		return nil, errs // not YAML, or not a mapping
	case len(errs) > 0:
		// A type error (an unknown field, text for a number) leaves the rest
		// decoded: go on, so the author sees every problem in one pass.
		return f, errs
	}
	return f, nil
}

// alignRules makes f.def.Rules hold one rule for each item of the rules
// list, as the compiler pairs them. yaml.v3 leaves out an item that does not
// decode (text where a rule belongs), and the items after it would be
// checked against the nodes, and named by the ids, of the ones before. An
// item that is not a mapping is left empty: its error is the decoder's.
func (f *parsedFile) alignRules() {
	list := yamlpos.Lookup(f.root, "rules")
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == len(f.def.Rules) {
		return
	}
	rules := make([]ruleDef, len(list.Content))
	for i, n := range list.Content {
		if isRule(n) {
			_ = n.Decode(&rules[i]) // its errors are the strict decoding's
		}
	}
	f.def.Rules = rules
}

// isRule reports whether an item of the rules list is a mapping, as a rule
// is; the decoder reports any other.
func isRule(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n.Kind == yaml.MappingNode
}

// testFileName is the name a test file named like the rule file name was
// meant to have: keywords-test.yaml is keywords_test.yaml.
func testFileName(name string) string {
	stem := strings.TrimSuffix(path.Base(name), ".yaml")
	if m := testSuffix.FindStringIndex(stem); m != nil && m[0] > 0 {
		stem = stem[:m[0]]
	}
	return stem + "_test.yaml"
}

var testSuffix = regexp.MustCompile(`(?i)[-._ ]?tests?$`)

func (f *parsedFile) pos(n *yaml.Node) Pos { return yamlpos.At(f.name, n) }

// scalarPos is the file position of line:col (1-based, col 0 for unknown)
// inside scalar n's text. It is exact for plain and quoted one-line scalars
// and for literal (|) blocks, whose text starts on the line after the
// indicator; for folded (>) blocks it is the block's first line.
func (f *parsedFile) scalarPos(n *yaml.Node, line, col int) Pos {
	p := f.pos(n)
	switch n.Style {
	case yaml.FoldedStyle:
		// Folding joins the lines, so a line and column inside the value
		// cannot be mapped back: point at the block and let the snippet say
		// where.
		p.Line = n.Line + 1
		p.Col = 0
	case yaml.LiteralStyle:
		p.Line = n.Line + line
		p.Col = 0
		if col > 0 {
			p.Col = f.indent(n.Line+1) + col
		}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		p.Line = n.Line + line - 1
		if line == 1 && col > 0 {
			p.Col = n.Column + col
		}
	default:
		p.Line = n.Line + line - 1
		if line == 1 && col > 0 {
			p.Col = n.Column + col - 1
		}
	}
	return p
}

// indent counts the spaces that start the given line of the file.
func (f *parsedFile) indent(line int) int {
	lines := bytes.Split(f.src, []byte("\n"))
	if line < 1 || line > len(lines) {
		return 0
	}
	l := lines[line-1]
	return len(l) - len(bytes.TrimLeft(l, " "))
}
