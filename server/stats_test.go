package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/server"
)

// TestPushStats: what the admin page shows of the pushes is what the
// pushes did: the answering rule's hits and when, the outcomes, and the
// pushes of the minute.
func TestPushStats(t *testing.T) {
	ts := newTestServer(t, server.Options{})
	before := ts.PushStats()
	if len(before.Rules) != 0 || len(before.Outcomes) != 0 || before.PerMinute[server.PushMinutes-1] != 0 {
		t.Fatalf("stats before any push: %+v", before)
	}
	ts.post(readFixture(t, "text.xml"))
	ts.clock = testNow.Add(30 * time.Second)
	second := strings.Replace(string(readFixture(t, "text.xml")), "456701</MsgId>", "456702</MsgId>", 1)
	if rec := ts.post([]byte(second)); rec.Code != http.StatusOK {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	st := ts.PushStats()
	var rule string
	for id := range st.Rules {
		rule = id
	}
	if len(st.Rules) != 1 {
		t.Fatalf("rules with hits: %+v, want one", st.Rules)
	}
	got := st.Rules[rule]
	if got.Hits != 2 || !got.LastHit.Equal(ts.clock) {
		t.Errorf("rule %s: %d hits, last at %s; want 2, last at %s", rule, got.Hits, got.LastHit, ts.clock)
	}
	if st.Outcomes["replied"] != 2 {
		t.Errorf("outcomes %v, want replied 2", st.Outcomes)
	}
	// testNow is 10 s into its minute: both pushes are in the current one.
	if n := st.PerMinute[server.PushMinutes-1]; n != 2 {
		t.Errorf("pushes this minute: %d, want 2 (%v)", n, st.PerMinute)
	}
	// An hour later the minutes have rolled over, and the counts have not.
	ts.clock = testNow.Add(time.Hour)
	st = ts.PushStats()
	for i, n := range st.PerMinute {
		if n != 0 {
			t.Errorf("an hour later, minute %d has %d pushes", i, n)
		}
	}
	if st.Rules[rule].Hits != 2 {
		t.Errorf("an hour later: %d hits, want 2", st.Rules[rule].Hits)
	}
	rec := httptest.NewRecorder()
	ts.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `wxreply_rule_hits_total{rule="` + rule + `"} 2`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("/metrics has no %s", want)
	}
}
