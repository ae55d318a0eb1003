package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxapi"
	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

// runFake runs fakeapi with args until the test ends, and returns its URL
// and output.
func runFake(t *testing.T, args ...string) (string, *syncbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() { done <- fakeAPI(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("fakeapi exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
	})
	re := regexp.MustCompile(`faked, on (http://\S+) for`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], &stdout
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fakeapi did not start\n%s%s", stdout.String(), stderr.String())
	return "", nil
}

func TestFakeAPI(t *testing.T) {
	t.Setenv("WXREPLY_FAKEAPI_APPSECRET", "fake-secret-from-env-42")
	info := filepath.Join(t.TempDir(), "autoreply.json")
	os.WriteFile(info, []byte(`{"is_autoreply_open": 1, "keyword_autoreply_info": {"list": []}}`), 0o644)
	url, out := runFake(t, "--appid", "wxfaketest00000000", "--autoreply", info, "--send-limit", "2")
	c := &wxapi.Client{AppID: "wxfaketest00000000", Secret: "fake-secret-from-env-42", BaseURL: url}
	ctx := context.Background()
	long := strings.Repeat("长", 60)
	for i, text := range []string{"hello", long, "third"} {
		err := c.CustomSend(ctx, "oFakeUser", engine.NewReply(engine.KindText, map[string]string{"text": text}))
		if (i < 2) != (err == nil) {
			t.Errorf("send %d: %v", i+1, err)
		}
	}
	resp, err := http.Get(url + "/cgi-bin/get_current_autoreply_info?access_token=" + mustToken(t, c))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"is_autoreply_open":1`) {
		t.Errorf("get_current_autoreply_info answered %s", body)
	}
	got := out.String()
	for _, want := range []string{
		`/cgi-bin/message/custom/send     to oFakeUser text "hello" → ok`,
		`text "` + strings.Repeat("长", 40) + `…" → ok`,
		`text "third" → error 45047 out of response count limit`,
		"/cgi-bin/get_current_autoreply_info",
		"WXREPLY_APPSECRET=<the fake's --appsecret>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "fake-secret-from-env-42") {
		t.Errorf("the output holds the AppSecret:\n%s", got)
	}
	var sent bytes.Buffer
	w, err := watchSent(ctx, url, "oFakeUser")
	if err != nil {
		t.Fatal(err)
	}
	w.after = 0
	if err := w.print(ctx, &sent, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sent.String(), "then through the customer-service API, 2:\n1. text:\n   hello\n") {
		t.Errorf("send --api prints\n%s", sent.String())
	}
}

func mustToken(t *testing.T, c *wxapi.Client) string {
	t.Helper()
	tok, err := c.AccessToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestFakeAPIUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--send-limit", "0"}, exitUsage, "--send-limit"},
		{[]string{"--send-window", "soon"}, exitUsage, "--send-window"},
		{[]string{"--autoreply", "/nonexistent/x.json"}, exitFailure, "--autoreply"},
		{[]string{"extra"}, exitUsage, "Usage: wxreply fakeapi"},
	} {
		var stdout, stderr bytes.Buffer
		if code := fakeAPI(context.Background(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", tc.args, code, tc.code, tc.want, stderr.String())
		}
	}
}

func TestServeAPISettings(t *testing.T) {
	t.Setenv("WXREPLY_APPSECRET", "serve-secret-from-env-77")
	var stderr bytes.Buffer
	_, err := loadSettings([]string{"--listen", "127.0.0.1:0"}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--appsecret needs --appid") {
		t.Errorf("an AppSecret without an AppID: %v", err)
	}
	ss, err := loadSettings([]string{"--appid", "wxsettings00000000", "--api-base", "http://127.0.0.1:1"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if ss.api == nil || ss.api.BaseURL != "http://127.0.0.1:1" {
		t.Fatalf("api client %v", ss.api)
	}
	if s := ss.api.String() + stderr.String(); strings.Contains(s, "serve-secret-from-env-77") {
		t.Errorf("the AppSecret shows: %s", s)
	}
	if _, err := loadSettings([]string{"--appid", "wxsettings00000000", "--api-base", "ftp://x"}, &stderr); err == nil {
		t.Error("--api-base ftp://x accepted")
	}
}

// TestServeShutdownCountsDropped: serve, in process, with messages queued
// behind a send that WeChat does not answer: at the shutdown timeout the
// send in flight is cut and the one waiting is dropped, both counted and
// logged by rule; the server exits 0, and the AppSecret shows nowhere.
func TestServeShutdownCountsDropped(t *testing.T) {
	const appID, secret = "wxshutdown00000000", "shutdown-secret-5e6f7a8b"
	t.Setenv("WXREPLY_APPSECRET", secret)
	fake := wxapitest.NewServer(t, appID, secret)
	fake.Fail(wxapitest.CustomSendPath, wxapitest.Fault{Hang: true})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(`rules:
  - id: hello-all
    keywords: [hello]
    pick: all
    replies:
      - text: "one"
      - text: "two"
      - text: "three"
`), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- serve(ctx, []string{"--rules", dir, "--appid", appID, "--api-base", fake.URL, "--shutdown-timeout", "1s",
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	serving := regexp.MustCompile(`msg="wxreply serving" url=(\S+)`)
	var url string
	for deadline := time.Now().Add(10 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := serving.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("serve did not start\n%s", stderr.String())
	}
	push := server.EncodeFields(map[string]string{"ToUserName": "gh_x", "FromUserName": "oShutdown", "CreateTime": strconv.FormatInt(time.Now().Unix(), 10),
		"MsgType": "text", "Content": "hello", "MsgId": "1234567890123456789"})
	resp, err := (&server.Client{URL: url, Token: devToken}).Send(ctx, push)
	if err != nil || resp.Reply == nil || resp.Reply.Text() != "one" {
		t.Fatalf("send: %v %v", resp, err)
	}
	// The first message hangs at the fake; the second waits behind it.
	for deadline := time.Now().Add(5 * time.Second); fake.Calls(wxapitest.CustomSendPath) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // SIGTERM
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("serve did not stop within 5 s of the signal\n%s", stderr.String())
	}
	out := stderr.String()
	for _, want := range []string{
		`msg="customer-service message cut by the shutdown" rule=hello-all outcome=dropped_shutdown`,
		`msg="customer-service messages dropped: the shutdown timeout ended before they were sent" rule=hello-all dropped=1`,
		"msg=stopped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q\n%s", want, out)
		}
	}
	if strings.Contains(out+stdout.String(), secret) {
		t.Errorf("the output holds the AppSecret\n%s", out)
	}
}

func TestCheckBackendSecret(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("rules:\n  - id: order\n    keywords: [order]\n    backend: { url: \"https://shop.example.com/o\" }\n"), 0o644)
	res, err := loadRules(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = checkBackendSecret(res.RuleSet, "")
	if err == nil || !strings.Contains(err.Error(), "--backend-secret") || !strings.Contains(err.Error(), `b.yaml:2:5: rule "order" (backend)`) {
		t.Errorf("no secret: %v", err)
	}
	if err := checkBackendSecret(res.RuleSet, "s3cr3t"); err != nil {
		t.Errorf("with a secret: %v", err)
	}
}

// TestFakeAPIReadsItsOwnVariables: serve's WXREPLY_ variables (an exported
// WXREPLY_LISTEN would put the fake on serve's address) are not the fake's;
// WXREPLY_FAKEAPI_ ones are.
func TestFakeAPIReadsItsOwnVariables(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // start, then stop at once
	t.Setenv("WXREPLY_SEND_LIMIT", "not-a-number")
	var stdout, stderr bytes.Buffer
	if code := fakeAPI(ctx, []string{"--listen", "127.0.0.1:0"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("with serve's variables set: exit %d\n%s", code, stderr.String())
	}
	t.Setenv("WXREPLY_FAKEAPI_SEND_LIMIT", "not-a-number")
	if code := fakeAPI(ctx, []string{"--listen", "127.0.0.1:0"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), `--send-limit "not-a-number"`) {
		t.Fatalf("with the fake's own variable: exit %d\n%s", code, stderr.String())
	}
}
