package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/server"
)

// pushesLine is the summary bench prints: how many pushes, and how fast.
var pushesLine = regexp.MustCompile(`(?m)^  pushes   ([1-9]\d*) in [\d.]+m?s: [\d.]+/s$`)

func TestBench(t *testing.T) {
	corpus := filepath.Join(t.TempDir(), "corpus.xml")
	var docs []byte
	for _, name := range []string{"text.xml", "event_click.xml", "event_subscribe_qrscene.xml", "voice.xml"} {
		b, err := os.ReadFile(filepath.Join("server/testdata/fixtures", name))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(append(docs, b...), '\n')
	}
	if err := os.WriteFile(corpus, docs, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"closed model, the examples", []string{"--rules", "examples/rules", "--connections", "2"}, "closed model"},
		{"open model, a mix", []string{"--rate", "50", "--mix", "text=70,event=20,event.CLICK=10"}, "open model: 50 pushes a second"},
		{"a corpus", []string{"--corpus", corpus}, "4 from " + corpus},
		{"safe mode", []string{"--aes-key", "kWjNQiHcb9FAtyVqBnKmkkddIdvgHyGs2ryOfkh4u5D", "--appid", "wxbench"}, "closed model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"bench", "--duration", "500ms"}, tt.args...)...)
			if code != exitOK || !strings.Contains(out, tt.want) || !pushesLine.MatchString(out) || !strings.Contains(out, "  errors   0\n") {
				t.Errorf("exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(out, "latency  p50 ") {
				t.Errorf("no latency line:\n%s", out)
			}
		})
	}
}

// TestBench_refused: pushes a server refuses are counted as errors, by
// what went wrong, and bench exits 1.
func TestBench_refused(t *testing.T) {
	res, err := rules.Load("examples/rules")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Options{Token: "the-real-token", Logger: quiet}, engine.New(res.RuleSet, nil))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	code, out, _ := runCLI(t, "bench", "--url", ts.URL+server.DefaultPath, "--token", "another-token", "--duration", "300ms", "--connections", "1")
	if code != exitFailure || strings.Contains(out, "  errors   0\n") || !strings.Contains(out, "× refused: 403 Forbidden") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestBench_usage(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.xml")
	text, err := os.ReadFile("server/testdata/fixtures/text.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, append(text, "\nnot xml at all"...), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--mix", "txt=1"}, `--mix: no push of kind "txt": use text, image, voice`},
		{[]string{"--mix", "text"}, `--mix "text": write kind=weight pairs, e.g. text=70,event=30`},
		{[]string{"--url", "http://127.0.0.1:1/wechat", "--rules", "examples/rules"}, "give --url or --rules, not both"},
		{[]string{"--corpus", garbage}, "push 2: "},
		{[]string{"--corpus", garbage, "--mix", "text=1"}, "give --mix or --corpus, not both"},
		{[]string{"--connections", "0"}, "--connections must be above 0"},
		{[]string{"--aes-key", "kWjNQiHcb9FAtyVqBnKmkkddIdvgHyGs2ryOfkh4u5D"}, "--aes-key needs --appid"},
	}
	for _, tt := range tests {
		code, _, errOut := runCLI(t, append([]string{"bench"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("bench %q: exit %d, %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}
