package server_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
)

// TestHostileRulesAreSkippedNotServed serves testdata/hostile, rules that
// pass check but that a 60 KB message drives over their budget, and sends
// each its message: the rule is skipped and counted, the fallback answers,
// the log names the rule and the budget but never the text, and nothing of
// the rule keeps running once the push is answered.
func TestHostileRulesAreSkippedNotServed(t *testing.T) {
	res, err := rules.Load("testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	reg := prometheus.NewRegistry()
	eng := engine.New(res.RuleSet, nil)
	eng.SetBudget(engine.Budget{Time: time.Hour}) // the race detector is slow; work and memory are tested

	srv, err := server.New(server.Options{
		Token:    testToken,
		Now:      func() time.Time { return testNow },
		Logger:   slog.New(slog.NewTextHandler(&log, nil)),
		Registry: reg,
	}, eng)
	if err != nil {
		t.Fatal(err)
	}
	goroutines := runtime.NumGoroutine()

	tests := []struct{ rule, budget, text string }{
		{"repeat-text", engine.BudgetMemory, "repeat "},
		{"loop-lower", engine.BudgetWork, "loop "},
		{"join-copies", engine.BudgetWork, "join "},
		{"print-copies", engine.BudgetWork, "print "},
		{"print-args", engine.BudgetMemory, "args "},
		{"concat-loop", engine.BudgetMemory, "concat "},
		{"nested-replace", engine.BudgetMemory, "replace "},
		{"nested-range", engine.BudgetWork, "range "},
	}
	for i, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			text := tt.text + strings.Repeat("a", 60<<10-len(tt.text))
			body := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_5e8a1c2f9b3d]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1718170190</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>%d</MsgId></xml>`, text, 9000+i)
			q := signedQuery(testToken, testNow, fmt.Sprint("nonce", i))
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), strings.NewReader(body)))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<Content><![CDATA[fallback]]></Content>") {
				t.Fatalf("reply %d %.200q, want the fallback's", rec.Code, rec.Body.String())
			}
			if n := counter(t, reg, "wxreply_rule_budget_exceeded_total", "rule", tt.rule, "budget", tt.budget); n != 1 {
				t.Errorf("wxreply_rule_budget_exceeded_total{rule=%q,budget=%q} = %v, want 1", tt.rule, tt.budget, n)
			}
			want := fmt.Sprintf(`msg="rule over budget; skipped" rule=%s source=testdata/hostile/hostile.yaml`, tt.rule)
			if !strings.Contains(log.String(), want) || !strings.Contains(log.String(), "budget="+tt.budget) {
				t.Errorf("log does not say %q with budget=%s:\n%s", want, tt.budget, log.String())
			}
		})
	}
	if strings.Contains(log.String(), "aaaaaaaaaa") {
		t.Errorf("the log quotes the user's text")
	}
	// Nothing of a rule runs past its push: the goroutines are back to
	// what they were (the server's are idle, and none was left matching).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after the pushes, %d before", n, goroutines)
	}
}

// counter is the value of the series of name with the given label pairs.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
