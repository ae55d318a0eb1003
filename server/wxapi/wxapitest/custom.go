package wxapitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The customer-service paths, and the fake's own record of what was sent.
const (
	CustomSendPath   = "/cgi-bin/message/custom/send"
	CustomTypingPath = "/cgi-bin/message/custom/typing"
	// SentPath (GET ?touser=OPENID&after=SEQ) lists the messages sent to
	// a user, after the one numbered SEQ: WeChat has no such API; it lets a
	// developer, and wxreply send --api, see what a server sent.
	SentPath = "/-/sent"
)

// The limits of customer-service messages when Server.SendLimit and
// SendWindow are zero: WeChat's after a user's message.
const (
	DefaultSendLimit  = 5
	DefaultSendWindow = 48 * time.Hour
)

// Bounds of what the fake remembers, so that a fakeapi left running for
// days stays small.
const (
	maxSentKept = 1000    // messages in the record, the oldest dropped first
	maxUsers    = 10000   // users whose sends are counted
	maxPreview  = 40      // runes of a message's text in a log line
	maxMsgBytes = 1 << 16 // a message's JSON kept in the record
)

// Sent is one customer-service message the fake accepted.
type Sent struct {
	// Seq numbers the messages in the order the fake accepted them, from 1.
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	ToUser string    `json:"touser"`
	Kind   string    `json:"msgtype"`
	// Message is the request's JSON as the client sent it.
	Message json.RawMessage `json:"message"`
}

// customState is what the fake keeps of customer-service messages.
type customState struct {
	seq    int64
	sent   []Sent                 // the last maxSentKept
	window map[string][]time.Time // per user, the sends within SendWindow
	closed map[string]bool        // users whose window is closed (45015)
}

// CloseWindow makes sends and typing to openID answer 45015, as for a user
// who unfollowed or last wrote more than 48 h ago.
func (s *Server) CloseWindow(openID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.custom.closed == nil {
		s.custom.closed = map[string]bool{}
	}
	if len(s.custom.closed) < maxUsers {
		s.custom.closed[openID] = true
	}
}

// Sent lists the messages accepted for openID ("" for everyone), oldest
// first.
func (s *Server) Sent(openID string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentAfter(openID, 0)
}

// sentAfter lists the messages to openID numbered above after. The caller
// holds s.mu.
func (s *Server) sentAfter(openID string, after int64) []Sent {
	out := []Sent{}
	for _, m := range s.custom.sent {
		if m.Seq > after && (openID == "" || m.ToUser == openID) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// customRequest is the part of a send or typing request the fake checks.
type customRequest struct {
	ToUser  string `json:"touser"`
	MsgType string `json:"msgtype"`
	Command string `json:"command"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	News *struct {
		Articles []json.RawMessage `json:"articles"`
	} `json:"news"`
}

// mediaKinds are the kinds whose message needs a media_id.
var mediaKinds = map[string]bool{"image": true, "voice": true, "video": true}

func (s *Server) customSend(method string, body []byte) any {
	if method != http.MethodPost {
		return errAnswer(43002, "require POST method")
	}
	var req customRequest
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(body, &raw) != nil {
		return errAnswer(47001, "data format error")
	}
	if req.ToUser == "" {
		return errAnswer(40003, "invalid openid")
	}
	switch k := req.MsgType; {
	case k == "text":
		if req.Text == nil || req.Text.Content == "" {
			return errAnswer(44004, "empty content")
		}
	case k == "news":
		if req.News == nil || len(req.News.Articles) == 0 {
			return errAnswer(44003, "empty news data")
		}
		if len(req.News.Articles) > 1 {
			return errAnswer(45008, "article size out of limit")
		}
	case mediaKinds[k]:
		var m struct {
			MediaID string `json:"media_id"`
		}
		if json.Unmarshal(raw[k], &m) != nil || m.MediaID == "" {
			return errAnswer(40007, "invalid media_id")
		}
	case k == "music", k == "mpnews", k == "msgmenu", k == "miniprogrampage", k == "mpnewsarticle":
		if len(raw[k]) == 0 {
			return errAnswer(47001, "data format error")
		}
	default:
		return errAnswer(40008, "invalid message type")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.custom.closed[req.ToUser] {
		return errAnswer(45015, "response out of time limit or subscription is canceled")
	}
	if !s.count(req.ToUser, now) {
		return errAnswer(45047, "out of response count limit")
	}
	s.custom.seq++
	msg := body
	if len(msg) > maxMsgBytes {
		msg, _ = json.Marshal(map[string]string{"cut": "message over 64 KB, not kept"})
	}
	s.custom.sent = append(s.custom.sent, Sent{Seq: s.custom.seq, Time: now, ToUser: req.ToUser, Kind: req.MsgType, Message: msg})
	if n := len(s.custom.sent); n > maxSentKept {
		s.custom.sent = append(s.custom.sent[:0], s.custom.sent[n-maxSentKept:]...)
	}
	return map[string]any{"errcode": 0, "errmsg": "ok"}
}

// count counts one send to openID at now, and reports whether the limit
// allows it. The caller holds s.mu.
func (s *Server) count(openID string, now time.Time) bool {
	limit, window := s.SendLimit, s.SendWindow
	if limit <= 0 {
		limit = DefaultSendLimit
	}
	if window <= 0 {
		window = DefaultSendWindow
	}
	if s.custom.window == nil {
		s.custom.window = map[string][]time.Time{}
	}
	sends := s.custom.window[openID]
	// The window starts with the first send still in it: the stand-in for
	// the user's push, which the fake does not see.
	for len(sends) > 0 && now.Sub(sends[0]) >= window {
		sends = sends[1:]
	}
	if len(sends) >= limit {
		s.custom.window[openID] = sends
		return false
	}
	if _, known := s.custom.window[openID]; !known && len(s.custom.window) >= maxUsers {
		// Full: forget everyone's counts rather than grow.
		clear(s.custom.window)
	}
	s.custom.window[openID] = append(sends, now)
	return true
}

func (s *Server) customTyping(method string, body []byte) any {
	if method != http.MethodPost {
		return errAnswer(43002, "require POST method")
	}
	var req customRequest
	if json.Unmarshal(body, &req) != nil {
		return errAnswer(47001, "data format error")
	}
	switch {
	case req.ToUser == "":
		return errAnswer(40003, "invalid openid")
	case req.Command != "Typing" && req.Command != "CancelTyping":
		return errAnswer(40001, "invalid command") // what WeChat answers, oddly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.custom.closed[req.ToUser] {
		return errAnswer(45015, "response out of time limit or subscription is canceled")
	}
	return map[string]any{"errcode": 0, "errmsg": "ok"}
}

// sentMessages answers GET /-/sent?touser=OPENID&after=SEQ with
// {"messages": [...]}, the messages accepted for the user after SEQ.
func (s *Server) sentMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	s.mu.Lock()
	msgs := s.sentAfter(q.Get("touser"), after)
	last := s.custom.seq
	s.mu.Unlock()
	writeJSON(w, map[string]any{"messages": msgs, "last_seq": last})
}

// logCall writes the line of one call to Log: time, API, user, kind and a
// preview, then the outcome.
func (s *Server) logCall(path string, body []byte, answer any) {
	if s.Log == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-32s", s.now().Format("15:04:05"), path)
	if path == CustomSendPath || path == CustomTypingPath {
		var req struct {
			ToUser  string `json:"touser"`
			MsgType string `json:"msgtype"`
			Command string `json:"command"`
		}
		var raw map[string]json.RawMessage
		json.Unmarshal(body, &req)
		json.Unmarshal(body, &raw)
		fmt.Fprintf(&b, " to %s %s", cut(req.ToUser, 40), req.MsgType+req.Command)
		if p := preview(req.MsgType, raw[req.MsgType]); p != "" {
			fmt.Fprintf(&b, " %q", p)
		}
	}
	switch a := answer.(type) {
	case map[string]any:
		if code, ok := a["errcode"].(int); ok && code != 0 {
			fmt.Fprintf(&b, " → error %d %s", code, strings.SplitN(fmt.Sprint(a["errmsg"]), " rid:", 2)[0])
		} else {
			b.WriteString(" → ok")
		}
	case string:
		b.WriteString(" → " + a)
	default:
		b.WriteString(" → ok")
	}
	b.WriteString("\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.Log.Write([]byte(b.String()))
}

// preview is the start of what a message shows: its text, its first
// article's title, or its media_id.
func preview(kind string, part json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(part, &m) != nil {
		return ""
	}
	if arts, ok := m["articles"].([]any); ok && len(arts) > 0 {
		if a, ok := arts[0].(map[string]any); ok {
			m = a
		}
	}
	for _, k := range []string{"content", "title", "media_id"} {
		if v, ok := m[k].(string); ok && v != "" {
			return cut(v, maxPreview)
		}
	}
	return ""
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
