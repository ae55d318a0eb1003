package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

func runSend(args []string, stdout, stderr io.Writer) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "wxreply send: "+format+"\n", args...)
		return code
	}
	f, code, ok := parseSendFlags(args, stderr)
	if !ok {
		return code
	}
	client, code, err := f.client()
	if err != nil {
		return fail(code, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if f.verify {
		if err := client.Verify(ctx); err != nil {
			return fail(exitFailure, "URL verification failed: %v%s", err, refusalHint(err))
		}
		fmt.Fprintf(stdout, "URL verification passed: %s echoed echostr back\n", client.URL)
		return exitOK
	}
	push, code, err := f.push()
	if err != nil {
		return fail(code, "%v", err)
	}
	var api *sentWatch
	if f.api != "" {
		if api, err = watchSent(ctx, f.api, f.from); err != nil {
			return fail(exitFailure, "--api: %v", err)
		}
	}
	resp, err := f.send(ctx, client, push)
	if f.raw && resp != nil {
		fmt.Fprintf(stdout, "%s\n", resp.Raw)
	}
	if err != nil {
		if errors.Is(err, server.ErrRefused) {
			return fail(exitFailure, "the server %v%s", err, refusalHint(err))
		}
		return fail(exitFailure, "%v", err)
	}
	if f.raw {
		return exitOK
	}
	if resp.Outcome == "retry" {
		fmt.Fprintln(stderr, "wxreply send: the server took this for WeChat's retry of an earlier push, and answered with that push's reply (drop --fresh=false to send anew)")
	}
	if resp.Reply == nil {
		fmt.Fprintln(stdout, `no reply (the server answered "success": no rule matched)`)
	} else {
		fmt.Fprint(stdout, resp.Reply.String())
	}
	if api != nil {
		// Its own time: --api-wait may be longer than what the push had.
		ctx, cancel := context.WithTimeout(context.Background(), f.apiWait+5*time.Second)
		defer cancel()
		if err := api.print(ctx, stdout, f.apiWait); err != nil {
			return fail(exitFailure, "--api: %v", err)
		}
	}
	return exitOK
}

// sendFlags are send's command line: where to send, and what.
type sendFlags struct {
	set                                                         *settings
	text, event, scene, key, image, location, recognition, file string
	from, to                                                    string
	voice, verify, raw, fresh                                   bool
	api                                                         string
	apiWait                                                     time.Duration
}

// send posts the push the flags describe. An event's retry key is its
// sender, time (to the second) and event, so two sends of one event in a
// second are one push and its retry to the server; with --fresh, send tells
// (from the outcome header of a server on this machine) and sends again
// once the second has turned.
func (f sendFlags) send(ctx context.Context, client *server.Client, push []byte) (*server.Response, error) {
	resp, err := client.Send(ctx, push)
	if err != nil || resp.Outcome != "retry" || !f.fresh || f.file != "" {
		return resp, err
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	if push, _, err = f.push(); err != nil {
		return nil, err
	}
	return client.Send(ctx, push)
}

// parseSendFlags reads send's flags; !ok means stop with code.
func parseSendFlags(args []string, stderr io.Writer) (f sendFlags, code int, ok bool) {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.set = newSettings(fs)
	f.set.add("url", "http://127.0.0.1:8080"+server.DefaultPath, "the server's callback URL")
	f.set.add("token", devToken, "the Token the server checks signatures with")
	f.set.add("aes-key", "", "send encrypted, as safe mode, with this EncodingAESKey")
	f.set.add("appid", "", "the AppID, with --aes-key")
	fs.StringVar(&f.text, "text", "", "send a text message")
	fs.StringVar(&f.event, "event", "", "send an event: subscribe, SCAN, CLICK, ...")
	fs.StringVar(&f.scene, "scene", "", "with --event subscribe or SCAN: the QR-code scene")
	fs.StringVar(&f.key, "key", "", "with --event: the EventKey, e.g. a menu button's key")
	fs.StringVar(&f.image, "image", "", "send an image message with this PicUrl")
	fs.StringVar(&f.location, "location", "", "send a location message at `LAT,LNG`")
	fs.BoolVar(&f.voice, "voice", false, "send a voice message (with --recognition)")
	fs.StringVar(&f.recognition, "recognition", "", "with --voice: the speech recognition text")
	fs.StringVar(&f.file, "file", "", "send this XML file as the push")
	fs.StringVar(&f.from, "from", "o_wxreply_send_0000000000000", "the sender's OpenID")
	fs.StringVar(&f.to, "to", "gh_wxreply_send", "the account's original id")
	fs.BoolVar(&f.verify, "verify", false, "do the GET URL verification instead of sending a message")
	fs.BoolVar(&f.raw, "raw", false, "print the reply's XML as received")
	fs.StringVar(&f.api, "api", "", "the address of a wxreply fakeapi the server sends through (its --api-base): print the messages it sent the user after the reply")
	fs.DurationVar(&f.apiWait, "api-wait", 3*time.Second, "with --api: how long to wait for those messages; printing stops a second after the last")
	fs.BoolVar(&f.fresh, "fresh", true, "send a new push when the server would take this one for WeChat's retry of an earlier one (the same event in the same second)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply send [--url URL] [--token T] (--text S | --event E [--scene X] [--key K] | --image URL |\n         --location LAT,LNG | --voice --recognition S | --file MSG.xml | --verify) [--aes-key K --appid A] [--raw] [--api URL]\n\nSends the server a push as WeChat would, signed (and encrypted with --aes-key), and prints the reply;\nwith --api, the address of a wxreply fakeapi, also the messages the server sent through it after the reply.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return f, code, false
	}
	if err := f.set.resolve(""); err != nil {
		fmt.Fprintf(stderr, "wxreply send: %v\n", err)
		return f, exitUsage, false
	}
	return f, exitOK, true
}

// client is the client the flags describe; an error comes with its exit code.
func (f sendFlags) client() (*server.Client, int, error) {
	client := &server.Client{URL: f.set.get("url"), Token: f.set.get("token"), AppID: f.set.get("appid")}
	if k := f.set.get("aes-key"); k != "" {
		var err error
		if client.Key, err = wxcrypto.ParseKey(k); err != nil {
			return nil, exitUsage, fmt.Errorf("--aes-key: %v", err)
		}
		if client.AppID == "" {
			return nil, exitUsage, errors.New("--aes-key needs --appid")
		}
	}
	return client, exitOK, nil
}

// push is the push the flags describe: the file's bytes, or a message or
// event built from the flags. An error comes with its exit code.
func (f sendFlags) push() ([]byte, int, error) {
	kinds := 0
	for _, given := range []bool{f.text != "", f.event != "", f.image != "", f.location != "", f.voice, f.file != ""} {
		if given {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, exitUsage, errors.New("give exactly one of --text, --event, --image, --location, --voice, --file or --verify")
	}
	if f.file != "" {
		push, err := os.ReadFile(f.file)
		if err != nil {
			return nil, exitFailure, err
		}
		return push, exitOK, nil
	}
	fields, err := f.message()
	if err != nil {
		return nil, exitUsage, err
	}
	return server.EncodeFields(fields), exitOK, nil
}

// message is the push of the one kind of message or event the flags give.
func (f sendFlags) message() (map[string]string, error) {
	m := server.Message{To: f.to, From: f.from, Time: time.Now(), MsgID: randomMsgID(), Text: f.text, Event: f.event, Key: f.key, Scene: f.scene}
	fields := m.Fields()
	msg := func(msgType string) {
		fields["MsgType"] = msgType
		fields["MsgId"] = m.MsgID
	}
	switch {
	case f.image != "":
		msg("image")
		fields["PicUrl"], fields["MediaId"] = f.image, "wxreply-send-media"
	case f.voice:
		msg("voice")
		fields["MediaId"], fields["Format"], fields["Recognition"] = "wxreply-send-media", "amr", f.recognition
	case f.location != "":
		lat, lng, ok := strings.Cut(f.location, ",")
		if _, err := strconv.ParseFloat(lat, 64); !ok || err != nil {
			return nil, fmt.Errorf("--location %q: write LAT,LNG, e.g. 31.2304,121.4737", f.location)
		}
		msg("location")
		fields["Location_X"], fields["Location_Y"], fields["Scale"], fields["Label"] = lat, lng, "15", ""
	}
	return fields, nil
}

// randomMsgID makes a MsgId as WeChat's look: 19 digits, unique enough that
// the server's de-duplication never mistakes two sends for one.
func randomMsgID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9e18))
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	return n.Add(n, big.NewInt(1e18)).String()
}

// refusalHint says what most often makes a server answer a push with the
// status of err, a *server.RefusedError; "" for other errors.
func refusalHint(err error) string {
	var refused *server.RefusedError
	if !errors.As(err, &refused) {
		return ""
	}
	switch refused.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return " (do --token, and in safe mode --aes-key and --appid, match the server's?)"
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return " (is --url the callback's address? serve answers on /wechat unless its --path says otherwise)"
	case http.StatusRequestEntityTooLarge:
		return " (the push is larger than the server's --body-limit)"
	case http.StatusBadRequest:
		return " (the server's log says what it found wrong with the push)"
	}
	return " (the server's log says why)"
}
