package server_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
)

const surveyRules = `
rules:
  - id: survey-start
    keywords: [survey]
    match: equal
    set: { step: rating }
    reply: { text: "Rate us from 1 to 5." }
  - id: survey-rating
    when: Session.step == "rating" && Content matches "^[1-5]$"
    unset: [step]
    reply: { text: "Thanks for your {{ .Content }}." }
  - id: fallback
    cooldown: 1h
    reply: { text: "We answer within a working day." }
`

// stateServer serves surveyRules with a clock the test moves.
type stateServer struct {
	*testServer
	msgID int
}

func newStateServer(t *testing.T) *stateServer {
	t.Helper()
	rs := loadRules(t, "survey.yaml", surveyRules)
	ts := &testServer{log: &bytes.Buffer{}, clock: testNow}
	var err error
	ts.Server, err = server.New(server.Options{Token: testToken, Now: func() time.Time { return ts.clock },
		Logger: slog.New(slog.NewTextHandler(ts.log, nil))}, engine.New(rs, nil))
	if err != nil {
		t.Fatal(err)
	}
	return &stateServer{testServer: ts}
}

// say sends a text from the user, signed at the server's clock, and
// returns the reply's text, or "success".
func (ss *stateServer) say(t *testing.T, user, content string) string {
	t.Helper()
	ss.msgID++
	body := pushXML("FromUserName", "<![CDATA["+user+"]]>", "Content", "<![CDATA["+content+"]]>",
		"MsgId", strconv.Itoa(1000+ss.msgID), "CreateTime", strconv.FormatInt(ss.clock.Unix(), 10))
	q := signedQuery(testToken, ss.clock, strconv.FormatInt(postNonces.Add(1), 10))
	rec := ss.do(httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s says %q: HTTP %d %s", user, content, rec.Code, rec.Body)
	}
	out := rec.Body.String()
	if out == "success" {
		return out
	}
	_, after, _ := strings.Cut(out, "<Content><![CDATA[")
	text, _, _ := strings.Cut(after, "]]></Content>")
	if !strings.Contains(out, "<ToUserName><![CDATA["+user+"]]></ToUserName>") {
		t.Errorf("the reply to %s is addressed to someone else: %s", user, out)
	}
	return text
}

// TestStatePerUser: sessions and cooldowns are kept per user, so one
// user's conversation never answers another's message.
func TestStatePerUser(t *testing.T) {
	ss := newStateServer(t)
	const alice, bob = "oAlice000000000000000000001", "oBob00000000000000000000002"
	steps := []struct {
		user, says, want string
		after            time.Duration
	}{
		{alice, "survey", "Rate us from 1 to 5.", 0},
		{bob, "4", "We answer within a working day.", 0}, // bob never started
		{alice, "4", "Thanks for your 4.", time.Minute},
		{alice, "5", "We answer within a working day.", 0}, // step was unset
		{alice, "hello", "success", time.Minute},           // fallback cooling down for alice
		{bob, "hello", "success", 0},                       // and for bob
		{alice, "hello", "We answer within a working day.", time.Hour},
	}
	for i, s := range steps {
		ss.clock = ss.clock.Add(s.after)
		if got := ss.say(t, s.user, s.says); got != s.want {
			t.Fatalf("step %d: %s says %q: got %q, want %q", i+1, s.user[:6], s.says, got, s.want)
		}
	}
}

// TestStateRetryChangesOnce: a retry of a push that set a value gets the
// first reply, and does not apply the change again.
func TestStateRetryChangesOnce(t *testing.T) {
	ss := newStateServer(t)
	const user = "oCarol00000000000000000003"
	first := ss.say(t, user, "hello")
	ss.msgID-- // the same MsgId again: WeChat's retry
	if again := ss.say(t, user, "hello"); again != first || first != "We answer within a working day." {
		t.Fatalf("retry answered %q, first %q", again, first)
	}
	if got := ss.say(t, user, "hello"); got != "success" {
		t.Errorf("a new message during the cooldown got %q, want success", got)
	}
}
