package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/wxreply/wxreply/server/wxapi/wxapitest"
)

// The fake's account, when --appid and --appsecret are not given: serve
// takes the same values to call it.
const (
	fakeAppID  = "wxfakeapi000000000"
	fakeSecret = "fakeapi-secret"
)

// maxAutoreplyFile bounds the --autoreply file: WeChat's answers are a few
// KB.
const maxAutoreplyFile = 4 << 20

func runFakeAPI(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return fakeAPI(ctx, args, stdout, stderr)
}

// fakeAPI serves a stand-in for WeChat's API until ctx ends, printing a
// line per call on stdout.
func fakeAPI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fakeapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := newSettings(fs)
	// Not serve's variables: a WXREPLY_LISTEN exported for serve would put
	// the fake on serve's address.
	set.envPrefix = "WXREPLY_FAKEAPI_"
	set.add("listen", "127.0.0.1:8081", "address to answer on; give serve --api-base http://ADDRESS")
	set.add("appid", fakeAppID, "the AppID whose tokens the fake gives")
	set.add("appsecret", fakeSecret, "the AppSecret it checks (prefer the env, which ps does not show)")
	set.add("autoreply", "", "a JSON file that get_current_autoreply_info answers with (a saved answer of WeChat's); none answers an account with auto-reply off")
	set.add("send-limit", strconv.Itoa(wxapitest.DefaultSendLimit), "customer-service messages a user may get within --send-window; the next get 45047. WeChat allows 5 in 48 h after a message, 3 in a minute after an event")
	set.add("send-window", wxapitest.DefaultSendWindow.String(), "the window of --send-limit, from the user's first message in it (the fake does not see the user's pushes)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply fakeapi [--listen ADDR] [--appid ID --appsecret S] [--autoreply FILE] [--send-limit N --send-window D]\n\n"+
			"Answers as WeChat's API does, for development and tests: access_token (token, stable_token), the custom menu,\n"+
			"customer-service messages and typing (with WeChat's errors 45015 and 45047), get_current_autoreply_info;\n"+
			"and GET %s?touser=OPENID lists the messages sent to a user. Each call is printed as a line.\n\n", wxapitest.SentPath)
		fs.PrintDefaults()
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "wxreply fakeapi: "+format+"\n", a...)
		return code
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	if err := set.resolve(""); err != nil {
		return fail(exitUsage, "%v", err)
	}
	limit, err := strconv.Atoi(set.get("send-limit"))
	if err != nil || limit <= 0 {
		return fail(exitUsage, "--send-limit %q: give a whole number above 0", set.get("send-limit"))
	}
	window, err := time.ParseDuration(set.get("send-window"))
	if err != nil || window <= 0 {
		return fail(exitUsage, "--send-window %q: give a duration such as 48h or 1m", set.get("send-window"))
	}
	var autoreply json.RawMessage
	if path := set.get("autoreply"); path != "" {
		if autoreply, err = readAutoreply(path); err != nil {
			return fail(exitFailure, "--autoreply: %v", err)
		}
	}
	ln, err := net.Listen("tcp", set.get("listen"))
	if err != nil {
		return fail(exitFailure, "--listen: %v", err)
	}
	appID, url := set.get("appid"), "http://"+ln.Addr().String()
	secretNote := "WXREPLY_APPSECRET=" + fakeSecret
	if set.isGiven("appsecret") {
		secretNote = "WXREPLY_APPSECRET=<the fake's --appsecret>" // never echo a secret given
	}
	fmt.Fprintf(stdout, "wxreply fakeapi: WeChat's API, faked, on %s for AppID %s (%d messages per user in %s).\n"+
		"Point a server at it:\n\n  %s %s serve --appid %s --api-base %s\n\nSee what it sent a user: %s%s?touser=OPENID\n\n",
		url, appID, limit, window, secretNote, selfCommand(), appID, url, url, wxapitest.SentPath)
	// Started after the lines above, so that the calls' lines, written from
	// the fake's goroutines, come after them and never at once.
	fake := wxapitest.Serve(ln, appID, set.get("appsecret"), wxapitest.Settings{
		SendLimit: limit, SendWindow: window, AutoreplyInfo: autoreply, Log: stdout})
	<-ctx.Done()
	fake.Close()
	fmt.Fprintln(stdout, "wxreply fakeapi: stopped")
	return exitOK
}

// readAutoreply reads a saved answer of get_current_autoreply_info.
func readAutoreply(path string) (json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readSavedAnswer(f, path)
	if err == nil && !json.Valid(b) {
		err = errors.New(path + " is not JSON: save the answer of get_current_autoreply_info as it came")
	}
	return b, err
}

// readSavedAnswer reads a saved answer of get_current_autoreply_info from
// r, named name in errors: at most maxAutoreplyFile bytes.
func readSavedAnswer(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAutoreplyFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	case len(b) > maxAutoreplyFile:
		return nil, fmt.Errorf("%s is over %d MB: is it a saved answer of get_current_autoreply_info?", name, maxAutoreplyFile>>20)
	}
	return b, nil
}
