package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

func runSend(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := newSettings(fs)
	set.add("url", "http://127.0.0.1:8080"+server.DefaultPath, "the server's callback URL")
	set.add("token", devToken, "the Token the server checks signatures with")
	set.add("aes-key", "", "send encrypted, as safe mode, with this EncodingAESKey")
	set.add("appid", "", "the AppID, with --aes-key")
	text := fs.String("text", "", "send a text message")
	event := fs.String("event", "", "send an event: subscribe, SCAN, CLICK, ...")
	scene := fs.String("scene", "", "with --event subscribe or SCAN: the QR-code scene")
	key := fs.String("key", "", "with --event: the EventKey, e.g. a menu button's key")
	image := fs.String("image", "", "send an image message with this PicUrl")
	location := fs.String("location", "", "send a location message at `LAT,LNG`")
	voice := fs.Bool("voice", false, "send a voice message (with --recognition)")
	recognition := fs.String("recognition", "", "with --voice: the speech recognition text")
	file := fs.String("file", "", "send this XML file as the push")
	from := fs.String("from", "o_wxreply_send_0000000000000", "the sender's OpenID")
	to := fs.String("to", "gh_wxreply_send", "the account's original id")
	verify := fs.Bool("verify", false, "do the GET URL verification instead of sending a message")
	raw := fs.Bool("raw", false, "print the reply's XML as received")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply send [--url URL] [--token T] (--text S | --event E [--scene X] [--key K] | --image URL |\n         --location LAT,LNG | --voice --recognition S | --file MSG.xml | --verify) [--aes-key K --appid A] [--raw]\n\nSends the server a push as WeChat would, signed (and encrypted with --aes-key), and prints the reply.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := set.resolve(""); err != nil {
		fmt.Fprintf(stderr, "wxreply send: %v\n", err)
		return exitUsage
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "wxreply send: "+format+"\n", args...)
		return code
	}
	client := &server.Client{URL: set.get("url"), Token: set.get("token"), AppID: set.get("appid")}
	if k := set.get("aes-key"); k != "" {
		var err error
		if client.Key, err = wxcrypto.ParseKey(k); err != nil {
			return fail(exitUsage, "--aes-key: %v", err)
		}
		if client.AppID == "" {
			return fail(exitUsage, "--aes-key needs --appid")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if *verify {
		if err := client.Verify(ctx); err != nil {
			return fail(exitFailure, "URL verification failed: %v", err)
		}
		fmt.Fprintf(stdout, "URL verification passed: %s echoed echostr back\n", client.URL)
		return exitOK
	}

	kinds := 0
	for _, given := range []bool{*text != "", *event != "", *image != "", *location != "", *voice, *file != ""} {
		if given {
			kinds++
		}
	}
	if kinds != 1 {
		return fail(exitUsage, "give exactly one of --text, --event, --image, --location, --voice, --file or --verify")
	}
	var push []byte
	if *file != "" {
		var err error
		if push, err = os.ReadFile(*file); err != nil {
			return fail(exitFailure, "%v", err)
		}
	} else {
		fields := map[string]string{
			"ToUserName":   *to,
			"FromUserName": *from,
			"CreateTime":   strconv.FormatInt(time.Now().Unix(), 10),
		}
		msg := func(msgType string) {
			fields["MsgType"] = msgType
			fields["MsgId"] = randomMsgID()
		}
		switch {
		case *text != "":
			msg("text")
			fields["Content"] = *text
		case *image != "":
			msg("image")
			fields["PicUrl"], fields["MediaId"] = *image, "wxreply-send-media"
		case *voice:
			msg("voice")
			fields["MediaId"], fields["Format"], fields["Recognition"] = "wxreply-send-media", "amr", *recognition
		case *location != "":
			lat, lng, ok := strings.Cut(*location, ",")
			if _, err := strconv.ParseFloat(lat, 64); !ok || err != nil {
				return fail(exitUsage, "--location %q: write LAT,LNG, e.g. 31.2304,121.4737", *location)
			}
			msg("location")
			fields["Location_X"], fields["Location_Y"], fields["Scale"], fields["Label"] = lat, lng, "15", ""
		default:
			fields["MsgType"], fields["Event"], fields["EventKey"] = "event", *event, *key
			if *scene != "" {
				switch strings.ToLower(*event) {
				case "subscribe":
					fields["EventKey"] = "qrscene_" + *scene
				default:
					fields["EventKey"] = *scene
				}
			}
		}
		push = server.EncodeFields(fields)
	}

	resp, err := client.Send(ctx, push)
	if *raw && resp != nil {
		fmt.Fprintf(stdout, "%s\n", resp.Raw)
	}
	if err != nil {
		if errors.Is(err, server.ErrRefused) {
			return fail(exitFailure, "the server %v (do --token, and in safe mode --aes-key and --appid, match the server's?)", err)
		}
		return fail(exitFailure, "%v", err)
	}
	if *raw {
		return exitOK
	}
	if resp.Reply == nil {
		fmt.Fprintln(stdout, `no reply (the server answered "success": no rule matched)`)
		return exitOK
	}
	fmt.Fprint(stdout, resp.Reply.String())
	return exitOK
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
