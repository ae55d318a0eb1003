package engine

import (
	"github.com/wxreply/wxreply/internal/pos"

	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wxreply/wxreply/internal/text"
)

// Pos is a place in a rule file: file:line:col.
type Pos = pos.Pos

// Rule is one compiled rule. All of its conditions must hold for it to match:
// MsgType, Event, EventKeys and Keywords (the sugar a rule file offers) and
// When. A zero condition always holds.
type Rule struct {
	ID          string
	Description string
	// Source is where the rule is defined.
	Source   Pos
	Priority int

	MsgType   string   // the push's MsgType must equal it
	Event     string   // the push's Event must equal it, ignoring case
	EventKeys []string // the push's EventKey must be one of them
	Keywords  *Keywords
	When      *Condition

	// Replies holds the reply, or several: Pick says which answer.
	Replies []*ReplyTemplate
	Pick    Pick
	// Backend, when set, is a service of the account's that answers the
	// push: the rule's reply, if any, answers only when the backend is
	// late, and OnError when it fails.
	Backend *Backend
	OnError *ReplyTemplate

	// Cooldown, when not zero, keeps the rule from answering a user again
	// for that long after it answered them: the rules after it are tried
	// instead.
	Cooldown time.Duration
	// Set stores values in the sender's session after the rule answers, and
	// Unset drops names from it; Set wins for a name in both. SessionTTL is
	// how long the session then lives (0: the server's default).
	Set        []SessionSet
	Unset      []string
	SessionTTL time.Duration

	evalErrors atomic.Uint64
}

// Pick says which of a rule's replies answer a push.
type Pick string

// The ways of picking replies.
const (
	// PickRandom answers with one of the replies, picked at random for
	// each push: the default, and what the admin panel calls random_one.
	PickRandom Pick = "random"
	// PickAll answers with every reply, in order: the first is the passive
	// reply, the others go through the customer-service API (the panel's
	// reply_all).
	PickAll Pick = "all"
)

// Backend is a service that answers the pushes of a rule: wxreply posts it
// the push as JSON and sends what it answers.
type Backend struct {
	URL string
	// Timeout bounds the whole call; PassiveWait is how long the push waits
	// for it, after which the answer goes through the customer-service API.
	Timeout, PassiveWait time.Duration
}

// ParseBackendURL reads a backend's URL, which must be an http or https
// address: the one check of rule files at load and of the backend client
// on each call.
func ParseBackendURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", raw)
	}
	return u, nil
}

// ShownBackendURL is a backend's URL for logs and output: without its user
// info, query and fragment, which may hold keys.
func ShownBackendURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%.60q", raw)
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// MaxCooldown and MaxSessionTTL bound how long a rule file may have a user's
// state kept: a cooldown or a session of years would keep a key per user in
// Redis, or an entry in memory, for that long.
const (
	MaxCooldown   = 30 * 24 * time.Hour
	MaxSessionTTL = 30 * 24 * time.Hour
)

// The backend's defaults and bounds. PassiveWait leaves the server time to
// send its passive reply within WeChat's 5 s.
const (
	DefaultBackendTimeout     = 15 * time.Second
	DefaultBackendPassiveWait = 3 * time.Second
	MaxBackendTimeout         = 5 * time.Minute
	MaxBackendPassiveWait     = 4 * time.Second
)

// SessionSet is one value a rule stores in the sender's session: Name, set to
// what Value renders to.
type SessionSet struct {
	Name  string
	Value *Template
}

// EvalErrors counts the messages for which the rule's condition or reply
// failed at run time, so that it was skipped.
func (r *Rule) EvalErrors() uint64 { return r.evalErrors.Load() }

// matchState is what every rule needs of one push, computed once.
type matchState struct {
	env       *Env
	event     string // lower-cased
	text      string // trimmed
	explain   bool
	meter     meter // the push's budget; env points to it
	cooldowns map[string]time.Time

	lowered     string // text lower-cased, once loweredText is called
	loweredDone bool
	envData     Env // what env points to, pooled with the state
}

// loweredText is the text trimmed and lower-cased, as keywords compare it:
// computed for the first rule that needs it, and only then, as most pushes
// are not text.
func (m *matchState) loweredText() string {
	if !m.loweredDone {
		m.lowered, m.loweredDone = strings.ToLower(m.text), true
	}
	return m.lowered
}

// condition names the condition of a rule that did not hold.
type condition int

const (
	holds condition = iota
	failedMsgType
	failedEventType // an event rule, and the push is a message
	failedEvent
	failedEventKey
	failedTextless // keywords, and the push has no Text: not a text or voice message
	failedKeywords
	failedCooldown
	failedWhen
)

// check tells which of the rule's conditions does not hold, in the order
// they are cheapest to test.
func (r *Rule) check(m *matchState) (condition, error) {
	ev := &m.env.envelope
	switch {
	case r.MsgType != "" && ev.MsgType != r.MsgType:
		return failedMsgType, nil
	case r.Event != "" && ev.MsgType != "event":
		return failedEventType, nil
	case r.Event != "" && !strings.EqualFold(m.event, r.Event):
		return failedEvent, nil
	case len(r.EventKeys) > 0 && !contains(r.EventKeys, ev.EventKey):
		return failedEventKey, nil
	case r.Keywords != nil && !hasText(ev.MsgType):
		return failedTextless, nil
	case r.Keywords != nil && !r.Keywords.matchMetered(m):
		return failedKeywords, nil
	case r.Cooldown > 0 && m.env.Now.Before(m.cooldowns[r.ID]):
		return failedCooldown, nil
	}
	if r.When != nil {
		ok, err := r.When.Eval(m.env)
		if err != nil || !ok {
			return failedWhen, err
		}
	}
	return holds, nil
}

// reason says why the condition did not hold, for explanations only: the
// words cost more than the check.
func (r *Rule) reason(c condition, m *matchState) string {
	ev := &m.env.envelope
	switch c {
	case failedMsgType:
		return fmt.Sprintf("msgtype: want %q, got %q", r.MsgType, ev.MsgType)
	case failedEventType:
		return fmt.Sprintf("event: want a %s event, got %s %s message", r.Event, text.Article(ev.MsgType), ev.MsgType)
	case failedEvent:
		return fmt.Sprintf("event: want %q, got %q", r.Event, ev.Event)
	case failedEventKey:
		return fmt.Sprintf("event_key: want %s, got %q", quoteList(r.EventKeys), ev.EventKey)
	case failedTextless:
		return fmt.Sprintf("keywords: only text and voice messages have Text, and this is %s %s", text.Article(pushKind(ev)), pushKind(ev))
	case failedKeywords:
		return fmt.Sprintf("keywords (%s): %q matches none of %s", r.Keywords.mode, m.text, bracketList(r.Keywords.words))
	case failedCooldown:
		return fmt.Sprintf("cooldown: the rule answered this user less than %s ago; it may again from %s",
			FormatDuration(r.Cooldown), m.cooldowns[r.ID].In(m.env.Now.Location()).Format("2006-01-02 15:04:05"))
	case failedWhen:
		return fmt.Sprintf("when: %s is false", r.When.src)
	}
	return ""
}

// hasText reports whether pushes of msgType carry Text.
func hasText(msgType string) bool { return msgType == "text" || msgType == "voice" }

func pushKind(ev *Event) string {
	if ev.MsgType == "event" {
		return ev.Event + " event"
	}
	return ev.MsgType + " message"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// quoteList writes "a" for one value and one of ["a", "b"] for several.
func quoteList(list []string) string {
	if len(list) == 1 {
		return fmt.Sprintf("%q", list[0])
	}
	return "one of " + bracketList(list)
}

func bracketList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
