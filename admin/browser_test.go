package admin_test

import (
	"context"
	"flag"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshots = flag.String("screenshots", "", "also save the browser test's screenshots in `DIR` (as the README's are made)")

// browsers are the names Chromium goes by: Debian's package, other
// distributions', Chrome, and chromedp's headless-shell image.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// findBrowser returns the path of a Chromium. Without one the test is
// skipped, unless it runs in CI, where a skipped browser test would pass
// unseen: .ci/run installs Chromium.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range browsers {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no browser (%s) on PATH, and CI is set: install one (apt-get install -y chromium)", strings.Join(browsers, ", "))
	}
	t.Skipf("no browser (%s) on PATH: install one (apt-get install -y chromium) to run the admin page in a real browser", strings.Join(browsers, ", "))
	return ""
}

// TestInABrowser drives the admin page in Chromium as a member of staff
// would: the overview, a try with the form, a broken rule file reloaded,
// and the page on a phone's screen. Screenshots of each go to the test's
// temp dir, and to -screenshots DIR when given.
func TestInABrowser(t *testing.T) {
	browser := findBrowser(t)
	// The examples built into wxreply, in a folder of their own to break
	// one later, under the name they have in the repository.
	var files = map[string][]byte{}
	sources, _ := filepath.Glob("../examples/rules/*.yaml")
	for _, src := range sources {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(src)] = b
	}
	if len(files) == 0 {
		t.Fatal("no example rules in ../examples/rules")
	}
	pkg, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	t.Chdir(root)
	dir := "examples/rules"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		write(t, filepath.Join(dir, name), string(b))
	}
	// The server's clock stands still: the chart counts pushes by the
	// server's minute, and a minute turning between the pushes and the
	// overview (the browser takes seconds to start) would leave the
	// minute now, which the chart draws last, empty.
	at := time.Now()
	f := serve(t, dir, false, func() time.Time { return at })
	for _, text := range []string{"hello", "menu", "book", "2", "你好", "wifi", "hello", "what is this?"} {
		f.push(text)
	}
	ts := httptest.NewServer(f.srv.AdminHandler())
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel = chromedp.NewContext(ctx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	shots := t.TempDir()
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		for _, d := range []string{shots, *screenshots} {
			if d == "" {
				continue
			}
			path := filepath.Join(d, "admin-"+name+".png")
			if !filepath.IsAbs(path) {
				path = filepath.Join(pkg, path) // as given on the command line, not in root
			}
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: %s", path)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}

	// The overview says which rules answer.
	do("the overview", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#version")))
	if got, want := read("#version"), f.eng.RuleSet().Version(); got != want {
		t.Errorf("the overview shows version %q, want %q", got, want)
	}
	if got := read("#total"); got != "8" {
		t.Errorf("the overview shows %s pushes since start, want 8", got)
	}
	// The style sheet and the chart came through the page's
	// Content-Security-Policy: the minute now, the busiest, is drawn full.
	if h, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("#chart rect:last-of-type").getBoundingClientRect().height`)); err != nil || h < 70 {
		t.Errorf("the chart's last bar is %v px high (%v), want the chart's 80", h, err)
	}
	if bg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.top")).backgroundColor`)); bg != "rgb(32, 38, 45)" {
		t.Errorf("the header's background is %q: the style sheet did not apply", bg)
	}
	shoot("overview")

	// The filter works as one types, with the page's script.
	do("filtering the rules", chromedp.Navigate(ts.URL+"/rules"), chromedp.WaitVisible(chromedp.CSS("#filter")),
		chromedp.SendKeys(chromedp.CSS("#filter"), "wi-fi"))
	if got := read("#shown"); !strings.HasPrefix(got, "1 of ") {
		t.Errorf("after typing wi-fi the filter says %q, want 1 of ...", got)
	}
	if visible, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll("li.rule")].filter(li => !li.hidden).length`)); visible != 1 {
		t.Errorf("%d rules shown after typing wi-fi, want 1", visible)
	}

	// The form answers with the rule, the reply, and a link to the result.
	do("trying a text", chromedp.Navigate(ts.URL+"/try"), chromedp.WaitVisible(chromedp.CSS("#try-text")),
		chromedp.SendKeys(chromedp.CSS("#try-text"), "wifi"), chromedp.Click(chromedp.CSS("#try-send")),
		chromedp.WaitVisible(chromedp.CSS("#answer-rule")))
	if got := read("#answer-rule"); got != "wifi" {
		t.Errorf("wifi is answered by %q, want wifi", got)
	}
	if got := read(".reply-text"); !strings.Contains(got, "Wi-Fi: BlueBottle-Guest — the password is at the bottom of your receipt.") {
		t.Errorf("the phone shows %q, want the Wi-Fi's name", got)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/try?text=wifi") {
		t.Errorf("the result is at %s, want /try?text=wifi", loc)
	}
	shoot("try")

	// A broken file, reloaded: the banner shows where and why, and the
	// rules answering stay.
	write(t, filepath.Join(dir, "zz-broken.yaml"), brokenRules)
	do("reloading a broken folder", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#reload")),
		chromedp.Click(chromedp.CSS("#reload")), chromedp.WaitVisible(chromedp.CSS("#reload-error")))
	banner := read("#reload-error")
	for _, want := range []string{"examples/rules/zz-broken.yaml:4:11", `rule "broken": when: unknown name Evnt`, "^", "keep answering since"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not say %q:\n%s", want, banner)
		}
	}
	if got := read("#flash"); !strings.Contains(got, "The reload failed") {
		t.Errorf("the outcome of the reload is %q", got)
	}
	shoot("error")

	// On a phone: nothing wider than the screen, on every page.
	do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	for _, path := range []string{"/", "/rules", "/try?text=menu", "/tests"} {
		do(path+" on a phone", chromedp.Navigate(ts.URL+path), chromedp.WaitVisible(chromedp.CSS("main")))
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if !fits {
			t.Errorf("%s is wider than a phone's screen", path)
		}
	}
	do("the switch to Chinese", chromedp.Navigate(ts.URL+"/try?text=menu"), chromedp.WaitVisible(chromedp.CSS("#answer-rule")),
		chromedp.Click(chromedp.CSS("a.lang")), chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"]`)))
	if got := read("#answer-rule"); got != "menu-board" {
		t.Errorf("menu is answered by %q in Chinese, want menu-board", got)
	}
	shoot("phone")
}
