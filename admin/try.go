package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
)

// tryForm is what the try form asks; the result's URL carries it, so that
// a result can be sent to a colleague.
type tryForm struct {
	Text, Event, Key, Scene, Time, OpenID string
}

// defaultOpenID is the user a try speaks for when no OpenID is given.
const defaultOpenID = "oWxreplyAdminPageTry000000000"

func formOf(q url.Values) tryForm {
	get := func(name string) string { return strings.TrimSpace(q.Get(name)) }
	return tryForm{Text: q.Get("text"), Event: get("event"), Key: get("key"), Scene: get("scene"), Time: get("time"), OpenID: get("openid")}
}

// hasEmpty reports whether a parameter of q is empty.
func hasEmpty(q url.Values) bool {
	for _, values := range q {
		for _, v := range values {
			if strings.TrimSpace(v) == "" {
				return true
			}
		}
	}
	return false
}

func (f tryForm) given() bool { return f.Text != "" || f.Event != "" }

// query is the form as a query, without the empty fields.
func (f tryForm) query() string {
	q := url.Values{}
	for name, v := range map[string]string{"text": f.Text, "event": f.Event, "key": f.Key, "scene": f.Scene, "time": f.Time, "openid": f.OpenID} {
		if v != "" {
			q.Set(name, v)
		}
	}
	return q.Encode()
}

type tryView struct {
	Form   tryForm
	Events []string
	Ran    bool
	Err    string
	Link   string
	// The explanation, as `wxreply explain` gives it.
	What       string
	At         string
	Rule       string
	RuleSource string
	Pick       string
	Reply      *phoneReply
	More       []*phoneReply // pick: all, after Reply
	Backend    string        // the scheme and host of the rule's backend
	OnError    *phoneReply   // what answers when the backend fails
	Then       []string
	NotMatched []stepView
	OtherKind  int
}

// Replies are what the phone shows, in order: the reply, then those of
// pick: all.
func (v tryView) Replies() []*phoneReply {
	if v.Reply == nil {
		return v.More
	}
	return append([]*phoneReply{v.Reply}, v.More...)
}

type stepView struct{ ID, Source, Reason string }

// phoneReply is the reply drawn as WeChat shows it.
type phoneReply struct {
	L        words
	Kind     string
	Text     string
	Articles []article
	MediaID  string
	Title    string
	Desc     string
	URL      string
	Thumb    string
}

type article struct{ Title, Description, URL, PicURL string }

func (p *Page) try(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := formOf(q)
	if f.given() && q.Get("lang") == "" && hasEmpty(q) {
		// The form sends its empty fields too: the result's URL, which
		// staff pass on, names only what was given.
		http.Redirect(w, r, "/try?"+f.query(), http.StatusSeeOther)
		return
	}
	v := tryView{Form: f, Events: engine.Events}
	if f.given() {
		v.Ran = true
		if err := p.explain(f, &v, words{lang(r)}); err != nil {
			v.Err = err.Error()
		}
		v.Link = "/try?" + f.query()
	}
	p.render(w, r, http.StatusOK, "try", v)
}

// push is the event the form describes, and the time the rules see.
func (p *Page) push(f tryForm) (*engine.Event, time.Time, error) {
	loc := p.opts.Engine.Location()
	now := p.opts.Now().In(loc)
	if f.Time != "" {
		t, err := engine.ParseTime(f.Time, loc)
		if err != nil {
			return nil, now, fmt.Errorf("time: %w", err)
		}
		now = t
	}
	account := p.opts.Account
	if account == "" {
		account = "gh_wxreply_admin"
	}
	openID := f.OpenID
	if openID == "" {
		openID = defaultOpenID
	}
	if f.Text != "" && f.Event != "" {
		return nil, now, fmt.Errorf("give a text or an event, not both")
	}
	fields := server.Message{
		To: account, From: openID, Time: now, MsgID: strconv.FormatInt(now.UnixNano(), 10),
		Text: f.Text, Event: f.Event, Key: f.Key, Scene: f.Scene,
	}.Fields()
	ev, err := engine.NewEvent(fields, loc)
	return ev, now, err
}

// explain fills v with what the rules answer, as `wxreply explain` says it.
func (p *Page) explain(f tryForm, v *tryView, l words) error {
	ev, now, err := p.push(f)
	if err != nil {
		return err
	}
	v.At = now.Format("2006-01-02 15:04 MST")
	v.What = ev.MsgType + " message"
	if ev.MsgType == "event" {
		v.What = ev.Event + " event"
	}
	if ev.Text != "" {
		v.What += fmt.Sprintf(" %q", ev.Text)
	}
	if ev.EventKey != "" {
		v.What += fmt.Sprintf(" (EventKey %q)", ev.EventKey)
	}
	opts := p.opts.Engine.OptionsAt(now)
	opts.Explain = true
	d := p.opts.Engine.RuleSet().Match(ev, opts)
	if d.Rule != nil {
		v.Rule, v.RuleSource = d.Rule.ID, d.Rule.Source.String()
		switch n := len(d.Rule.Replies); {
		case d.Rule.Pick == engine.PickAll && n > 1:
			v.Pick = l.T("try.pickall", n)
		case n > 1:
			v.Pick = l.T("try.pick", d.Alternative+1, n)
		}
		if d.Reply != nil { // nil for a backend's rule without a stand-in reply
			v.Reply = phone(d.Reply, l)
		}
		for _, r := range d.More {
			v.More = append(v.More, phone(r, l))
		}
		if d.Rule.Backend != nil {
			v.Backend = backendHost(d.Rule.Backend)
			if d.OnError != nil {
				v.OnError = phone(d.OnError, l)
			}
		}
		v.Then = d.Change.Describe()
	}
	tried := d.Trace
	if d.Rule != nil && len(tried) > 0 {
		tried = tried[:len(tried)-1]
	}
	// Rules for other message types or events are counted, not listed, as
	// explain does: they could never have answered.
	for _, s := range tried {
		switch {
		case s.OtherKind:
			v.OtherKind++
		case s.Err != nil:
			v.NotMatched = append(v.NotMatched, stepView{s.Rule.ID, s.Rule.Source.String(), "error: " + s.Err.Error()})
		default:
			v.NotMatched = append(v.NotMatched, stepView{s.Rule.ID, s.Rule.Source.String(), s.Reason})
		}
	}
	return nil
}

// backendHost is the scheme and host of a backend's URL: its path, query
// or user may hold a key, which the page does not show.
func backendHost(b *engine.Backend) string {
	u, err := engine.ParseBackendURL(b.URL)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}

// phone lays a rendered reply out for drawing.
func phone(r *engine.Reply, l words) *phoneReply {
	pr := &phoneReply{L: l, Kind: string(r.Kind)}
	switch r.Kind {
	case engine.KindText:
		pr.Text = r.Text()
	case engine.KindNews:
		s := r.Schema()
		for _, item := range r.Items {
			get := func(name string) string {
				if _, i := s.Field(name); i >= 0 && i < len(item) {
					return item[i]
				}
				return ""
			}
			pr.Articles = append(pr.Articles, article{get("title"), get("description"), get("url"), get("pic_url")})
		}
	default:
		pr.MediaID = r.Get("media_id")
		pr.Title, pr.Desc = r.Get("title"), r.Get("description")
		pr.URL, pr.Thumb = r.Get("music_url"), r.Get("thumb_media_id")
	}
	return pr
}
