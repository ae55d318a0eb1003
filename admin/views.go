package admin

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
)

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
}

// reloadView is the state of the rules, shown on every page: the banner
// when the files on disk do not load.
type reloadView struct {
	Version     string
	Rules       int
	Builtin     bool // the examples in the binary: nothing reloads
	LoadedAt    string
	Failed      bool
	Since       string // when the files first failed
	Errors      []problem
	Missing     bool
	Warning     string
	PrevVersion string
}

// problem is one error of a reload, as the banner shows it.
type problem struct {
	Pos     string // file:line:col, empty when the error is not in a file
	Message string
	Snippet string // expr's or YAML's lines under the message, with the caret
}

const timeLayout = "2006-01-02 15:04:05"

func (p *Page) reloadStatus() reloadView {
	rs := p.opts.Engine.RuleSet()
	v := reloadView{Version: rs.Version(), Rules: len(rs.Rules()), Builtin: p.opts.Reloader == nil}
	if p.opts.Reloader == nil {
		return v
	}
	loc := p.opts.Engine.Location()
	st := p.opts.Reloader.Status()
	v.LoadedAt = st.LastSuccess.In(loc).Format(timeLayout)
	v.Missing, v.Warning = st.SourceMissing, st.Warning
	if st.LastError != nil {
		v.Failed = true
		v.Since = st.FailingSince.In(loc).Format(timeLayout)
		v.Errors = problems(st.LastError)
	}
	return v
}

// problems splits a reload's error into the problems it lists, each with
// its position apart from its message, and the snippet apart from both.
func problems(err error) []problem {
	var list []error
	var es rules.Errors
	var multi interface{ Unwrap() []error }
	switch {
	case errors.As(err, &es):
		for _, e := range es {
			list = append(list, e)
		}
	case errors.As(err, &multi):
		list = multi.Unwrap()
	default:
		list = []error{err}
	}
	out := make([]problem, 0, len(list))
	for _, e := range list {
		msg := e.Error()
		var pr problem
		var re *rules.Error
		if errors.As(e, &re) && re.Pos.File != "" {
			pr.Pos = re.Pos.String()
			msg = strings.TrimPrefix(msg, pr.Pos+": ")
		}
		pr.Message, pr.Snippet, _ = strings.Cut(msg, "\n")
		out = append(out, pr)
	}
	return out
}

// overviewView is the overview's body.
type overviewView struct {
	Account, Mode, Folder string
	Started               string
	Disabled              int
	LastMinute, Total     uint64
	Bars                  []bar
	ChartWidth            int
	Outcomes              []outcomeCount
	Flash, FlashKind      string
}

// bar is one minute of the chart, drawn in SVG: attributes, not inline
// styles, which the page's Content-Security-Policy refuses.
type bar struct {
	X, Y, Height int
	Label        string
}

// The chart's size in SVG units: a bar and a gap per minute.
const (
	chartBar    = 8
	chartGap    = 2
	chartHeight = 80
)

type outcomeCount struct {
	Outcome string
	N       uint64
}

func (p *Page) overview(w http.ResponseWriter, r *http.Request) {
	l := words{lang(r)}
	st := p.opts.Stats()
	v := overviewView{Account: p.opts.Account, Mode: p.opts.Mode, Folder: p.opts.Dir}
	if !st.Started.IsZero() {
		v.Started = st.Started.In(p.opts.Engine.Location()).Format(timeLayout)
	}
	disabled, _ := p.disabledRules()
	v.Disabled = len(disabled)
	var most uint64 = 1
	for _, n := range st.PerMinute {
		most = max(most, n)
	}
	for i, n := range st.PerMinute {
		ago := len(st.PerMinute) - 1 - i
		h := max(1, int(n*chartHeight/most)) // a line for an empty minute
		v.Bars = append(v.Bars, bar{X: i * (chartBar + chartGap), Y: chartHeight - h, Height: h, Label: fmt.Sprintf("-%d min: %d", ago, n)})
	}
	v.ChartWidth = len(st.PerMinute)*(chartBar+chartGap) - chartGap
	if len(st.PerMinute) > 0 {
		v.LastMinute = st.PerMinute[len(st.PerMinute)-1]
	}
	for o, n := range st.Outcomes {
		v.Outcomes = append(v.Outcomes, outcomeCount{o, n})
		v.Total += n
	}
	slices.SortFunc(v.Outcomes, func(a, b outcomeCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Outcome, b.Outcome))
	})
	q := r.URL.Query()
	switch q.Get("reload") {
	case "ok":
		v.Flash, v.FlashKind = l.T("reload.ok", q.Get("version")), "ok"
	case "unchanged":
		v.Flash, v.FlashKind = l.T("reload.same", q.Get("version")), "ok"
	case "failed":
		v.Flash, v.FlashKind = l.T("reload.failed"), "bad"
	}
	p.render(w, r, http.StatusOK, "overview", v)
}

func lang(r *http.Request) string {
	l, _ := language(r)
	return l
}

// reload reloads the folder now and shows the outcome on the overview.
func (p *Page) reload(w http.ResponseWriter, r *http.Request) {
	if p.opts.Reloader == nil {
		p.message(w, r, http.StatusConflict, "reload", "reload.builtin")
		return
	}
	version, changed, err := p.opts.Reloader.Reload("admin page")
	q := url.Values{"version": {version}}
	switch {
	case err != nil:
		q = url.Values{"reload": {"failed"}}
	case changed:
		q.Set("reload", "ok")
	default:
		q.Set("reload", "unchanged")
	}
	http.Redirect(w, r, "/?"+q.Encode(), http.StatusSeeOther)
}

// ruleView is one rule on the rules page.
type ruleView struct {
	ID, Description, Source string
	Priority                int
	Enabled                 bool
	Matches                 []string
	Kind                    string
	Preview                 string
	Alternatives            int
	PickAll                 bool
	Effects                 []string
	Hits                    uint64
	LastHit                 string
	Hidden                  bool // by the filter
	pos                     rules.Pos
}

type rulesView struct {
	Filter        string
	Rules         []ruleView
	Shown, Total  int
	DisabledError string // the files could not be read for disabled rules
}

func (p *Page) rulesPage(w http.ResponseWriter, r *http.Request) {
	l := words{lang(r)}
	rs := p.opts.Engine.RuleSet()
	stats := p.opts.Stats()
	loc := p.opts.Engine.Location()
	now := p.opts.Now()
	var list []ruleView
	for _, rule := range rs.Rules() {
		v := describe(rule, l)
		if h, ok := stats.Rules[rule.ID]; ok {
			v.Hits = h.Hits
			v.LastHit = h.LastHit.In(loc).Format(timeLayout) + " (" + l.T("ago", since(now.Sub(h.LastHit))) + ")"
		}
		list = append(list, v)
	}
	disabled, err := p.disabledRules()
	list = append(list, disabled...)
	// Enabled rules come in the set's order, which is this one: priority,
	// then file name and position. The disabled ones take their places.
	slices.SortStableFunc(list, func(a, b ruleView) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.pos.Compare(b.pos))
	})
	v := rulesView{Filter: strings.TrimSpace(r.URL.Query().Get("q")), Total: len(list)}
	if err != nil {
		v.DisabledError = err.Error()
	}
	needle := strings.ToLower(v.Filter)
	for i := range list {
		if needle != "" && !strings.Contains(searchText(list[i]), needle) {
			list[i].Hidden = true
			continue
		}
		v.Shown++
	}
	v.Rules = list
	p.render(w, r, http.StatusOK, "rules", v)
}

// searchText is what the filter looks in: everything the row shows.
func searchText(v ruleView) string {
	return strings.ToLower(strings.Join(append(append([]string{v.ID, v.Description, v.Source, v.Kind, v.Preview}, v.Matches...), v.Effects...), "\n"))
}

// since says how long ago, to the second, in Go's duration notation.
func since(d time.Duration) string {
	if d < time.Second {
		return "0s"
	}
	return engine.FormatDuration(d.Round(time.Second))
}

// describe is the rules page's row of an enabled rule.
func describe(r *engine.Rule, l words) ruleView {
	v := ruleView{ID: r.ID, Description: r.Description, Source: r.Source.String(), Priority: r.Priority, Enabled: true, pos: r.Source}
	if r.MsgType != "" {
		v.Matches = append(v.Matches, "msgtype: "+r.MsgType)
	}
	if r.Event != "" {
		v.Matches = append(v.Matches, "event: "+r.Event)
	}
	if len(r.EventKeys) > 0 {
		v.Matches = append(v.Matches, "event_key: "+strings.Join(r.EventKeys, ", "))
	}
	if r.Keywords != nil {
		v.Matches = append(v.Matches, fmt.Sprintf("keywords (%s): %s", r.Keywords.Mode(), strings.Join(r.Keywords.Words(), ", ")))
	}
	if r.When != nil {
		v.Matches = append(v.Matches, "when: "+r.When.Source())
	}
	if len(v.Matches) == 0 {
		v.Matches = []string{l.T("any")}
	}
	v.Alternatives, v.PickAll = len(r.Replies), r.Pick == engine.PickAll
	if len(r.Replies) > 0 {
		v.Kind, v.Preview = preview(r.Replies[0])
	}
	if r.Backend != nil {
		// Its host only: a backend's path or query may hold a key.
		v.Effects = append(v.Effects, "backend: "+backendHost(r.Backend))
		if r.OnError != nil {
			kind, text := preview(r.OnError)
			v.Effects = append(v.Effects, "on_error: "+kind+": "+text)
		}
	}
	if r.Cooldown > 0 {
		v.Effects = append(v.Effects, "cooldown: "+engine.FormatDuration(r.Cooldown))
	}
	for _, s := range r.Set {
		v.Effects = append(v.Effects, "set: "+s.Name+" = "+cut(s.Value.Source(), 60))
	}
	if len(r.Unset) > 0 {
		v.Effects = append(v.Effects, "unset: "+strings.Join(r.Unset, ", "))
	}
	if r.SessionTTL > 0 {
		v.Effects = append(v.Effects, "session_ttl: "+engine.FormatDuration(r.SessionTTL))
	}
	return v
}

// preview is a reply's kind and the start of its first field as written
// (the text, an article's title, a media id), templates unrendered.
func preview(rt *engine.ReplyTemplate) (kind, text string) {
	s := engine.SchemaOf(rt.Kind)
	values := rt.Values
	if s != nil && s.Shape == engine.ShapeList && len(rt.Items) > 0 {
		values = rt.Items[0]
	}
	for _, t := range values {
		if t != nil && t.Source() != "" {
			text = t.Source()
			break
		}
	}
	return string(rt.Kind), cut(text, 160)
}

// cut shortens s to about n characters, on a character boundary.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
