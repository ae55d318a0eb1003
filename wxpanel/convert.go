package wxpanel

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
)

// Options say how Convert writes the folder.
type Options struct {
	// RulesFile and TestsFile name the two files, for the tests' header and
	// the warnings; DefaultRulesFile and DefaultTestsFile when empty.
	RulesFile, TestsFile string
	// Schema is where editors find rules.json and tests.json: a URL, or a
	// path relative to the folder; DefaultSchema when empty.
	Schema string
	// Source says where the rules came from, for the files' header: a file
	// name, or the account's AppID.
	Source string
}

// The defaults of Options.
const (
	DefaultRulesFile = "panel.yaml"
	DefaultTestsFile = "panel_test.yaml"
	DefaultSchema    = "https://raw.githubusercontent.com/wxreply/wxreply/main/schema"
)

// Folder is what Convert writes: a rule file, its tests, and the warnings.
type Folder struct {
	Rules, Tests []byte
	// RuleCount counts the rules written, Cases the test cases.
	RuleCount, Cases int
	Warnings         []Warning
}

// Warning is something of the panel's that does not carry over as it is,
// at the place in the rule file that says what to do about it.
type Warning struct {
	File      string
	Line, Col int // 0 when the warning has no place in the file
	// Panel names the panel's rule: `panel rule "菜单"`, `the follow reply`.
	Panel string
	// Rule is the id of the rule written for it; "" when none was.
	Rule    string
	Message string
}

// String gives the warning as check gives its own:
// file:line:col: warning: ...
func (w Warning) String() string {
	at := w.File
	if w.Line > 0 {
		at = fmt.Sprintf("%s:%d:%d", w.File, w.Line, w.Col)
	}
	who := w.Panel
	if w.Rule != "" {
		who += fmt.Sprintf(" (rule %s)", w.Rule)
	}
	return fmt.Sprintf("%s: warning: %s: %s", at, who, w.Message)
}

// ErrNothing is Convert's error for an answer with no reply in it at all.
var ErrNothing = errors.New("the panel has no auto-reply: no keyword rule, no follow reply and no default reply")

// Priority of the default reply: below any rule an author adds with the
// default priority, as the examples' fallback is.
const defaultPriority = -100

// cst is the time zone of the panel's create_time, for the comments.
var cst = time.FixedZone("UTC+8", 8*3600)

// rule is one rule to write.
type rule struct {
	id, description string
	head            string // the comment above it
	panel           string // how warnings name its source
	enabled         bool
	offNote         string // why it is switched off
	keywords        []string
	match           engine.KeywordMode
	kw              *engine.Keywords
	event, when     string
	priority        int
	cooldown        string
	pick            engine.Pick
	pickNote        string
	replies         []*reply
	leftOut         []*leftOut
	warnings        []*pending // about the rule as a whole
	line            int
}

// reply is one reply of a rule.
type reply struct {
	kind     engine.Kind
	text     string // text
	mediaID  string // image, voice
	articles []article
	note     string // a comment above its media_id
	warn     *pending
	line     int
	col      int
}

type article struct{ title, description, picURL, url string }

// leftOut is a reply that could not carry over: a comment in its place.
type leftOut struct {
	comment string
	warn    *pending
	line    int
	col     int
}

// pending is a warning whose place in the file is known once written.
type pending struct {
	msg       string
	line, col int
}

// converter holds what Convert builds.
type converter struct {
	opts     Options
	follow   *rule
	keywords []*rule
	fallback *rule
	skipped  []Warning // panel rules not written at all
}

// Convert writes the panel's auto-reply as a rule file and its tests.
func Convert(a *AutoReply, opts Options) (*Folder, error) {
	opts.RulesFile = cmp.Or(opts.RulesFile, DefaultRulesFile)
	opts.TestsFile = cmp.Or(opts.TestsFile, DefaultTestsFile)
	opts.Schema = strings.TrimSuffix(cmp.Or(opts.Schema, DefaultSchema), "/")
	c := &converter{opts: opts}
	c.build(a)
	if c.follow == nil && c.fallback == nil && len(c.keywords) == 0 {
		if len(c.skipped) > 0 {
			return &Folder{Warnings: c.skipped}, fmt.Errorf("%w that wxreply can use", ErrNothing)
		}
		return nil, ErrNothing
	}
	// The cases first: working them out finds the rules that never answer,
	// which the rule file marks.
	cases := c.cases()
	f := &Folder{Rules: c.writeRules(), Tests: c.writeTests(cases), Cases: len(cases)}
	for _, r := range c.all() {
		f.RuleCount++
		f.Warnings = append(f.Warnings, c.warnings(r)...)
	}
	f.Warnings = append(f.Warnings, c.skipped...)
	return f, nil
}

// all lists the rules in the order of the file.
func (c *converter) all() []*rule {
	var out []*rule
	if c.follow != nil {
		out = append(out, c.follow)
	}
	out = append(out, c.keywords...)
	if c.fallback != nil {
		out = append(out, c.fallback)
	}
	return out
}

func (c *converter) warnings(r *rule) []Warning {
	var out []Warning
	add := func(p *pending) {
		if p != nil {
			out = append(out, Warning{File: c.opts.RulesFile, Line: p.line, Col: p.col, Panel: r.panel, Rule: r.id, Message: p.msg})
		}
	}
	for _, p := range r.warnings {
		add(p)
	}
	for _, l := range r.leftOut {
		add(l.warn)
	}
	for _, rp := range r.replies {
		add(rp.warn)
	}
	return out
}

func (c *converter) build(a *AutoReply) {
	if a.Follow != nil && (a.Follow.Type != "" || a.Follow.Content != "") {
		r := &rule{id: "panel-follow", panel: "the follow reply",
			description: "The panel's follow reply (被关注回复)",
			head:        "The panel's follow reply (被关注回复): the answer to a follow.",
			event:       "subscribe", enabled: a.FollowReplyOpen == 1}
		if !r.enabled {
			r.offNote = "switched off in the panel (is_add_friend_reply_open: 0)"
		}
		c.replies(r, []Reply{*a.Follow}, "")
		c.follow = r
	}
	for i, kr := range a.Keyword.List {
		c.keywordRule(i, kr, a.AutoReplyOpen == 1)
	}
	if a.Default != nil && (a.Default.Type != "" || a.Default.Content != "") {
		r := &rule{id: "panel-default", panel: "the default reply",
			description: "The panel's default reply (收到消息回复)",
			head: "The panel's default reply (收到消息回复): the answer to a message no keyword " +
				"rule matches. The panel sends it to a user at most once an hour: cooldown: 60m " +
				"does the same, and the lowest priority keeps it after every other rule.",
			when: `MsgType != "event"`, priority: defaultPriority, cooldown: "60m",
			enabled: a.AutoReplyOpen == 1}
		if !r.enabled {
			r.offNote = "switched off in the panel (is_autoreply_open: 0)"
		}
		c.replies(r, []Reply{*a.Default}, "")
		c.fallback = r
	}
}

// keywordRule adds the rules for the i-th keyword rule of the panel: one
// for each match mode its keywords use.
func (c *converter) keywordRule(i int, kr KeywordRule, open bool) {
	panel := fmt.Sprintf("panel rule %q", kr.Name)
	if kr.Name == "" {
		panel = fmt.Sprintf("panel rule %d", i+1)
	}
	type mode struct {
		panel string
		match engine.KeywordMode
		words []string
		seen  map[string]bool
	}
	var modes []*mode
	var problems []string
	for _, k := range kr.Keywords {
		var m engine.KeywordMode
		switch k.MatchMode {
		case "contain":
			m = engine.MatchContains
		case "equal":
			m = engine.MatchEqual
		default:
			problems = append(problems, fmt.Sprintf("keyword %q has match_mode %q, which wxreply does not know (it knows contain and equal): left out", k.Content, k.MatchMode))
			continue
		}
		if k.Type != "" && k.Type != "text" {
			problems = append(problems, fmt.Sprintf("keyword %q is of type %q, not text: left out", k.Content, k.Type))
			continue
		}
		word := strings.TrimSpace(k.Content)
		if word == "" {
			continue
		}
		var md *mode
		for _, x := range modes {
			if x.match == m {
				md = x
			}
		}
		if md == nil {
			md = &mode{panel: k.MatchMode, match: m, seen: map[string]bool{}}
			modes = append(modes, md)
		}
		// The engine ignores case: keywords that differ only in case are one.
		if low := strings.ToLower(word); !md.seen[low] {
			md.seen[low] = true
			md.words = append(md.words, word)
		}
	}
	if len(modes) == 0 {
		c.skipped = append(c.skipped, Warning{File: c.opts.RulesFile, Panel: panel,
			Message: "not imported: it has no keyword wxreply can match (" + cmp.Or(strings.Join(problems, "; "), "none at all") + "); add it by hand if it is still wanted"})
		return
	}
	base := fmt.Sprintf("panel-%d", i+1)
	if s := slug(kr.Name); s != "" {
		base += "-" + s
	}
	describe := func(more string) string {
		if kr.Name == "" {
			return fmt.Sprintf("Panel keyword rule %d, which has no name%s", i+1, more)
		}
		return fmt.Sprintf("%s (panel keyword rule %d%s)", kr.Name, i+1, more)
	}
	head := fmt.Sprintf("Panel keyword rule %d, %q", i+1, kr.Name)
	if kr.Name == "" {
		head = fmt.Sprintf("Panel keyword rule %d, which has no name", i+1)
	}
	if kr.CreateTime > 0 {
		head += ", created " + time.Unix(kr.CreateTime, 0).In(cst).Format("2006-01-02 15:04 (UTC+8)")
	}
	head += "."
	if len(modes) > 1 {
		head += fmt.Sprintf(" Its %s and %s keywords make a rule each, so that each keeps its match mode.", modes[0].panel, modes[1].panel)
	}
	for j, md := range modes {
		r := &rule{id: base, panel: panel, enabled: open, keywords: md.words, match: md.match,
			description: describe("")}
		if len(modes) > 1 {
			r.id += "-" + string(md.match)
			r.description = describe(", its " + md.panel + " keywords")
		}
		if j == 0 {
			r.head = head
		}
		if !open {
			r.offNote = "switched off in the panel (is_autoreply_open: 0)"
		}
		kw, err := engine.NewKeywords(md.match, md.words)
		if err != nil {
			panic(err) // contains and equal always compile
		}
		r.kw = kw
		if j == 0 {
			for _, p := range problems {
				r.warnings = append(r.warnings, &pending{msg: p})
			}
		}
		c.replies(r, kr.Replies, kr.ReplyMode)
		if j > 0 {
			// The first rule of the panel's has said it: its replies are
			// the same, and so are their comments.
			for _, rp := range r.replies {
				rp.warn = nil
			}
			for _, lo := range r.leftOut {
				lo.warn = nil
			}
		}
		c.keywords = append(c.keywords, r)
	}
}

// replies converts the panel's replies of r.
func (c *converter) replies(r *rule, list []Reply, mode string) {
	for i, p := range list {
		what := "its reply"
		if len(list) > 1 {
			what = fmt.Sprintf("its reply %d", i+1)
		}
		rp, lo := convertReply(p, what)
		if rp != nil {
			r.replies = append(r.replies, rp)
		}
		if lo != nil {
			r.leftOut = append(r.leftOut, lo)
		}
	}
	switch {
	case len(r.replies) == 0:
		r.enabled = false
		r.offNote = "nothing of the panel's reply carries over: see below"
		r.replies = []*reply{{kind: engine.KindText, text: "TODO: the reply, in place of the panel's"}}
		r.warnings = append(r.warnings, &pending{msg: "imported switched off (enabled: false): none of its replies carries over; give it a reply, and remove enabled: false"})
	case len(r.replies) > 1 && mode == "reply_all":
		r.pick = engine.PickAll
		r.pickNote = "reply_all: the first reply answers, the others follow through the customer-service API"
	case len(r.replies) > 1:
		r.pick = engine.PickRandom
		r.pickNote = "random_one: one of the replies, at random"
	}
}

// convertReply converts one reply of the panel: to a reply, or to a
// comment in its place when it cannot carry over. what names it for
// warnings: "its reply 2".
func convertReply(p Reply, what string) (*reply, *leftOut) {
	tempNote := "A temporary media id from the panel: it stops working 3 days after the API gave it. " +
		"Upload the %s as permanent material (素材管理, or the API's material/add_material) and put its media_id here."
	tempWarn := "%s is %s with a temporary media_id, which stops working 3 days after the API gave it: upload the %s as permanent material and replace the media_id"
	switch p.Type {
	case "text":
		if p.Content == "" {
			return nil, &leftOut{comment: "Left out: an empty text reply.", warn: &pending{msg: what + " is an empty text: left out"}}
		}
		return &reply{kind: engine.KindText, text: p.Content}, nil
	case "img", "voice":
		kind, noun, a := engine.KindImage, "image", "an image"
		if p.Type == "voice" {
			kind, noun, a = engine.KindVoice, "voice message", "a voice message"
		}
		return &reply{kind: kind, mediaID: p.Content, note: fmt.Sprintf(tempNote, noun),
			warn: &pending{msg: fmt.Sprintf(tempWarn, what, a, noun)}}, nil
	case "video":
		return nil, &leftOut{
			comment: fmt.Sprintf("Left out: the panel's video, %s. The API gives a panel video as an address, and a video reply needs the media_id of an uploaded video: upload it as permanent material (素材管理) and add it here:\n  - video: {media_id: <its media_id>, title: <a title>}", p.Content),
			warn:    &pending{msg: what + " is a video, which the API gives as an address (URL), not a media_id: left out; upload the video as permanent material and add a video reply where the comment says"},
		}
	case "news":
		if p.NewsInfo == nil || len(p.NewsInfo.List) == 0 {
			return nil, &leftOut{
				comment: fmt.Sprintf("Left out: the panel's news reply, material %s, which the API gives without its articles. Add them here:\n  - news: [{title: <title>, description: <digest>, url: <address>, pic_url: <cover>}]", p.Content),
				warn:    &pending{msg: what + " is a news material the API gives without its articles: left out; add the articles where the comment says"},
			}
		}
		rp := &reply{kind: engine.KindNews}
		for _, a := range p.NewsInfo.List {
			rp.articles = append(rp.articles, article{title: a.Title, description: a.Digest, picURL: a.CoverURL, url: a.ContentURL})
		}
		if n := len(rp.articles); n > engine.MaxArticles {
			rp.articles = rp.articles[:engine.MaxArticles]
			rp.warn = &pending{msg: fmt.Sprintf("%s has %d articles, and a news reply at most %d: the first %d are kept", what, n, engine.MaxArticles, engine.MaxArticles)}
		}
		return rp, nil
	}
	return nil, &leftOut{
		comment: fmt.Sprintf("Left out: the panel's reply of type %q (%s), which wxreply cannot send. Replace it with a reply wxreply can send.", p.Type, p.Content),
		warn:    &pending{msg: fmt.Sprintf("%s is of type %q, which wxreply cannot send: left out", what, p.Type)},
	}
}

// slug is the ASCII letters and digits of name, lower-cased, with a dash
// for each run of anything else: "WiFi 密码" is "wifi". Names in Chinese
// have none, and their rules are known by number.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}
