package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/server"
	"github.com/wxreply/wxreply/server/wxcrypto"
)

// maxLatencies bounds what a bench remembers: a few minutes at the speed of
// one small machine, 8 bytes each.
const maxLatencies = 10_000_000

// maxErrorKinds bounds the distinct errors a bench counts apart; the rest
// are counted together.
const maxErrorKinds = 50

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "a running server's callback URL (else one is started on --rules)")
	rulesFlag := fs.String("rules", "", "start a server on this rule folder (default "+defaultRulesDir+", or the examples built in)")
	token := fs.String("token", "", "the server's Token (with --url; default "+devToken+")")
	aesKey := fs.String("aes-key", "", "send encrypted, as safe mode, with this EncodingAESKey")
	appID := fs.String("appid", "", "the AppID, with --aes-key")
	mixFlag := fs.String("mix", "text=100", "the pushes sent, as kind=weight pairs: text, image, voice, video, shortvideo, location, link, event (every event in turn) or one event (event.CLICK)")
	corpus := fs.String("corpus", "", "a file of pushes (WeChat's XML, one document after another) to send in turn, instead of --mix")
	text := fs.String("text", "", "the Content of text messages (default: a customer's question)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	conns := fs.Int("connections", 16, "connections, each sending one push at a time")
	rate := fs.Int("rate", 0, "pushes per second, sent on schedule whatever the server's speed (open model); 0 sends as fast as the connections allow")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wxreply bench [--url URL | --rules DIR] [flags]\n\nSends signed pushes, each with a fresh MsgId and sender, and prints requests per second,\nlatency and errors: how much an account's server can take.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "wxreply bench: "+format+"\n", args...)
		return code
	}
	switch {
	case *url != "" && *rulesFlag != "":
		return fail(exitUsage, "give --url or --rules, not both")
	case *duration <= 0 || *conns <= 0 || *rate < 0:
		return fail(exitUsage, "--duration and --connections must be above 0, and --rate not below")
	case *corpus != "" && isSet(fs, "mix"):
		return fail(exitUsage, "give --mix or --corpus, not both")
	}

	var pushes pushSource
	var err error
	if *corpus != "" {
		pushes, err = readCorpus(*corpus)
	} else {
		pushes, err = parseMix(*mixFlag, *text)
	}
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	client := &server.Client{URL: *url, Token: cmp.Or(*token, devToken), AppID: *appID,
		HTTP: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns}}}
	if *aesKey != "" {
		if client.Key, err = wxcrypto.ParseKey(*aesKey); err != nil {
			return fail(exitUsage, "--aes-key: %v", err)
		}
		if *appID == "" {
			return fail(exitUsage, "--aes-key needs --appid")
		}
	}
	if *url == "" {
		stop, u, err := startBenchServer(*rulesFlag, client)
		if err != nil {
			return fail(exitFailure, "%v", err)
		}
		defer stop()
		client.URL = u
	}

	model := "closed model: each connection sends when its last reply came"
	if *rate > 0 {
		model = fmt.Sprintf("open model: %d pushes a second on schedule, latency counted from when each was due", *rate)
	}
	fmt.Fprintf(stdout, "wxreply bench: %s for %s, %d connections, %s\n  pushes: %s\n", client.URL, *duration, *conns, model, pushes.describe())
	r := bench(context.Background(), benchOptions{client: client, pushes: pushes, duration: *duration, conns: *conns, rate: *rate, progress: stderr})
	r.print(stdout)
	if r.requests == 0 || r.errors > 0 {
		return exitFailure
	}
	return exitOK
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// startBenchServer serves the rule folder on a loopback port, as serve does
// but with its log discarded, and points client at it.
func startBenchServer(dir string, client *server.Client) (stop func(), url string, err error) {
	res, err := loadRules(rulesDir(dir))
	if err != nil {
		return nil, "", fmt.Errorf("rules not loaded:\n%v", err)
	}
	srv, err := server.New(server.Options{Token: client.Token, AppID: client.AppID, AESKey: client.Key, Mode: benchMode(client),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, engine.New(res.RuleSet, nil))
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return func() { hs.Close() }, "http://" + ln.Addr().String() + server.DefaultPath, nil
}

func benchMode(c *server.Client) server.Mode {
	if c.Key != nil {
		return server.ModeSafe
	}
	return server.ModePlain
}

// pushSource makes the pushes of a bench, each new: a fresh MsgId and
// sender, so that the server takes none for WeChat's retry of another.
type pushSource interface {
	next(rnd *mrand.Rand) []byte
	describe() string
}

// mix picks a sample push of each kind by weight.
type mix struct {
	kinds   []string // as given
	weights []int
	samples [][]map[string]string // by kind: the samples it stands for
	total   int
}

func parseMix(spec, text string) (*mix, error) {
	m := &mix{}
	for part := range strings.SplitSeq(spec, ",") {
		kind, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		weight, err := strconv.Atoi(w)
		if !ok || err != nil || weight <= 0 {
			return nil, fmt.Errorf("--mix %q: write kind=weight pairs, e.g. text=70,event=30", spec)
		}
		var samples []map[string]string
		for _, name := range slices.Sorted(maps.Keys(engine.SampleFields)) {
			if name == kind || kind == "event" && strings.HasPrefix(name, "event.") {
				fields := maps.Clone(engine.SampleFields[name])
				if fields["MsgType"] == "text" && text != "" {
					fields["Content"] = text
				}
				samples = append(samples, fields)
			}
		}
		if samples == nil {
			return nil, fmt.Errorf("--mix: no push of kind %q: use text, image, voice, video, shortvideo, location, link, event or event.NAME (event.CLICK, event.subscribe, ...)", kind)
		}
		m.kinds, m.weights, m.samples = append(m.kinds, kind), append(m.weights, weight), append(m.samples, samples)
		m.total += weight
	}
	return m, nil
}

func (m *mix) describe() string {
	parts := make([]string, len(m.kinds))
	for i, k := range m.kinds {
		parts[i] = fmt.Sprintf("%s %d%%", k, m.weights[i]*100/m.total)
	}
	return strings.Join(parts, ", ")
}

func (m *mix) next(rnd *mrand.Rand) []byte {
	n := rnd.IntN(m.total)
	i := 0
	for n >= m.weights[i] {
		n -= m.weights[i]
		i++
	}
	return freshPush(m.samples[i][rnd.IntN(len(m.samples[i]))], rnd)
}

// corpus sends the pushes of a file in turn.
type corpus struct {
	file   string
	pushes []map[string]string
	at     atomic.Uint64
}

// readCorpus reads a file of XML pushes, one <xml> document after another.
func readCorpus(file string) (*corpus, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--corpus: %w", err)
	}
	c := &corpus{file: file}
	for i, doc := range bytes.SplitAfter(src, []byte("</xml>")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		fields, err := server.DecodeFields(bytes.NewReader(doc))
		if err != nil {
			return nil, fmt.Errorf("--corpus %s: push %d: %w", file, i+1, err)
		}
		c.pushes = append(c.pushes, fields)
	}
	if len(c.pushes) == 0 {
		return nil, fmt.Errorf("--corpus %s: no push in it: give WeChat's XML, <xml>...</xml>, one after another", file)
	}
	return c, nil
}

func (c *corpus) describe() string { return fmt.Sprintf("%d from %s, in turn", len(c.pushes), c.file) }

func (c *corpus) next(rnd *mrand.Rand) []byte {
	return freshPush(c.pushes[(c.at.Add(1)-1)%uint64(len(c.pushes))], rnd)
}

// freshPush is sample addressed to the bench account, from a new sender,
// with a new MsgId for a message, created now.
func freshPush(sample map[string]string, rnd *mrand.Rand) []byte {
	fields := maps.Clone(sample)
	fields["ToUserName"] = cmp.Or(fields["ToUserName"], "gh_wxreply_bench")
	fields["FromUserName"] = fmt.Sprintf("o_bench_%016x%04x", rnd.Uint64(), rnd.IntN(1<<16))
	fields["CreateTime"] = strconv.FormatInt(time.Now().Unix(), 10)
	if fields["MsgType"] != "event" {
		fields["MsgId"] = strconv.FormatUint(1e18+rnd.Uint64N(8e18), 10)
	}
	return server.EncodeFields(fields)
}

type benchOptions struct {
	client   *server.Client
	pushes   pushSource
	duration time.Duration
	conns    int
	rate     int
	progress io.Writer
}

// benchResult is what a bench measured.
type benchResult struct {
	elapsed   time.Duration
	requests  int
	errors    int
	byError   map[string]int
	latencies []time.Duration // sorted
	dropped   int             // latencies not kept past maxLatencies
}

// recorder collects the outcome of each push from every connection.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	dropped   int
	errors    map[string]int
	requests  atomic.Int64
	failed    atomic.Int64
}

func (r *recorder) record(latency time.Duration, err error) {
	r.requests.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed.Add(1)
		key := err.Error()
		if _, seen := r.errors[key]; !seen && len(r.errors) >= maxErrorKinds {
			key = "other errors"
		}
		r.errors[key]++
	}
	if len(r.latencies) < maxLatencies {
		r.latencies = append(r.latencies, latency)
	} else {
		r.dropped++
	}
}

// bench sends pushes for the duration and measures each answer.
func bench(ctx context.Context, o benchOptions) benchResult {
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	rec := &recorder{errors: map[string]int{}}
	send := func(rnd *mrand.Rand, due time.Time) {
		resp, err := o.client.Send(context.Background(), o.pushes.next(rnd))
		if err == nil && resp.Status != http.StatusOK {
			err = fmt.Errorf("status %d", resp.Status)
		}
		rec.record(time.Since(due), err)
	}

	start := time.Now()
	var wg sync.WaitGroup
	if o.rate == 0 {
		for range o.conns {
			rnd := mrand.New(mrand.NewPCG(seed(), seed()))
			wg.Go(func() {
				for ctx.Err() == nil {
					send(rnd, time.Now())
				}
			})
		}
	} else {
		// Each push is due at its time on the schedule; when every connection
		// is busy it waits, and its wait counts in its latency, as the user's
		// would (no coordinated omission).
		due := make(chan time.Time, o.conns)
		for range o.conns {
			rnd := mrand.New(mrand.NewPCG(seed(), seed()))
			wg.Go(func() {
				for d := range due {
					send(rnd, d)
				}
			})
		}
		wg.Go(func() {
			defer close(due)
			interval := time.Second / time.Duration(o.rate)
			for n := 0; ; n++ {
				at := start.Add(time.Duration(n) * interval)
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(at)):
				}
				select {
				case due <- at:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	stopProgress := progress(o.progress, rec, start)
	wg.Wait()
	stopProgress()

	slices.Sort(rec.latencies)
	return benchResult{elapsed: time.Since(start), requests: int(rec.requests.Load()), errors: int(rec.failed.Load()),
		byError: rec.errors, latencies: rec.latencies, dropped: rec.dropped}
}

func seed() uint64 {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return uint64(time.Now().UnixNano())
	}
	return n.Uint64()
}

// progress writes a line a second while the bench runs, over itself on a
// terminal.
func progress(w io.Writer, rec *recorder, start time.Time) (stop func()) {
	if w == nil {
		return func() {}
	}
	end := "\n"
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			end = "\r"
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				if end == "\r" {
					fmt.Fprintln(w)
				}
				return
			case <-t.C:
				n, elapsed := rec.requests.Load(), time.Since(start)
				fmt.Fprintf(w, "  %3.0fs  %d pushes  %.0f/s  %d errors  %s", elapsed.Seconds(), n, float64(n)/elapsed.Seconds(), rec.failed.Load(), end)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func (r benchResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

func (r benchResult) print(w io.Writer) {
	fmt.Fprintf(w, "  pushes   %d in %s: %.1f/s\n", r.requests, r.elapsed.Round(time.Millisecond), float64(r.requests)/r.elapsed.Seconds())
	if len(r.latencies) > 0 {
		fmt.Fprintf(w, "  latency  p50 %s  p90 %s  p99 %s  max %s\n", round(r.percentile(.5)), round(r.percentile(.9)), round(r.percentile(.99)), round(r.latencies[len(r.latencies)-1]))
	}
	if r.dropped > 0 {
		fmt.Fprintf(w, "  (latencies of the first %d pushes only)\n", maxLatencies)
	}
	fmt.Fprintf(w, "  errors   %d\n", r.errors)
	for _, e := range slices.Sorted(maps.Keys(r.byError)) {
		fmt.Fprintf(w, "    %d × %s\n", r.byError[e], e)
	}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
