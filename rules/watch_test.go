//go:build linux

// Watcher tests: one real folder per write style (t.TempDir), a Watcher
// running on it with a short debounce, and waits with deadlines instead of
// sleeps. They are the R14–R28 rows and T2 of /work/shared/reliability.md.
// Linux only: they count inotify watches in /proc/self/fdinfo to know when
// the watch is live, and to prove none leaks.
package rules_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wxreply/wxreply/engine"
	"github.com/wxreply/wxreply/internal/syncbuf"
	"github.com/wxreply/wxreply/rules"
)

const (
	testDebounce = 100 * time.Millisecond
	noPoll       = time.Hour        // the poll never fires unless a test asks for it
	waitTimeout  = 15 * time.Second // for anything that should take a debounce or two; generous for a loaded CI machine
)

// ruleFile is version n of a rule file of count rules. Its first rule answers
// any text with "v{n} {n}": a literal and a var, so that a reply mixing two
// versions' templates and vars would read "v3 4". The others answer keywords,
// so that a rule set loaded from part of the file has fewer rules.
func ruleFile(n, count int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "vars:\n  v: \"%d\"\nrules:\n", n)
	fmt.Fprintf(&b, "  - id: any-text\n    msgtype: text\n    priority: -100\n    reply: { text: \"v%d {{ .Vars.v }}\" }\n", n)
	for i := 1; i < count; i++ {
		fmt.Fprintf(&b, "  - id: kw-%d\n    keywords: [kw%d]\n    reply: { text: \"v%d kw%d\" }\n", i, i, n, i)
	}
	return b.String()
}

// badFile is a rule file with two mistakes, at 3:5 and 6:11.
const badFile = `rules:
  - id: broken
    wehn: Content == "x"
    reply: { text: hi }
  - id: worse
    when: Evnt == "x"
    reply: { text: hi }
`

// badPositions are the positions of badFile's mistakes, as logged.
var badPositions = []string{`shop.yaml:3:5: rule "broken": unknown field "wehn"`, `shop.yaml:6:11: rule "worse": when: unknown name Evnt`}

// versionOf is the Version a folder holding files loads as.
func versionOf(t testing.TB, files map[string]string) string {
	t.Helper()
	m := fstest.MapFS{}
	for name, src := range files {
		m[name] = &fstest.MapFile{Data: []byte(src)}
	}
	snap, err := rules.Read(m, ".")
	if err != nil {
		t.Fatal(err)
	}
	return snap.Version
}

// replyText is what the engine answers a text message with.
func replyText(eng *engine.Engine) string {
	d := eng.Match(engine.SampleEvent("text", nil))
	if d.Reply == nil {
		return "(no reply)"
	}
	return d.Reply.Text()
}

// watched is a rule folder with a Watcher keeping an engine up to date.
type watched struct {
	t    *testing.T
	dir  string
	opts rules.WatcherOptions
	eng  *engine.Engine
	w    *rules.Watcher
	log  *syncbuf.Buffer
}

// newWatched writes files into a new folder, loads it and makes a Watcher
// for it; run starts watching.
func newWatched(t *testing.T, files map[string]string, opts rules.WatcherOptions) *watched {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		writeFile(t, filepath.Join(dir, name), src)
	}
	return newWatchedIn(t, dir, opts)
}

func newWatchedIn(t *testing.T, dir string, opts rules.WatcherOptions) *watched {
	t.Helper()
	res, err := rules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := &watched{t: t, dir: dir, opts: opts, eng: engine.New(res.RuleSet, nil), log: &syncbuf.Buffer{}}
	opts.Logger = slog.New(slog.NewTextHandler(h.log, nil))
	h.w = rules.NewWatcher(dir, h.eng, res, opts)
	return h
}

// run starts the Watcher in a goroutine, waits until its watch on the folder
// is live, and stops it at the end of the test.
func (h *watched) run() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(waitTimeout):
			h.t.Errorf("Run did not return within %s of its context ending", waitTimeout)
		}
	})
	waitWatched(h.t, h.dir)
}

func (h *watched) path(name string) string { return filepath.Join(h.dir, name) }

// waitVersion waits until the engine answers with the rule set of version
// want and the watcher's Status, updated just after the swap, says so; it
// fails with what the watcher logged if that does not happen.
func (h *watched) waitVersion(want, what string) {
	h.t.Helper()
	eventually(h.t, waitTimeout, func() bool { return h.eng.RuleSet().Version() == want && h.w.Status().Version == want },
		func() string {
			return fmt.Sprintf("%s: version %s answers, want %s\nstatus %+v\nlog:\n%s", what, h.eng.RuleSet().Version(), want, h.w.Status(), h.log)
		})
}

// waitStatus waits until the watcher's Status satisfies ok.
func (h *watched) waitStatus(what string, ok func(rules.Status) bool) rules.Status {
	h.t.Helper()
	var st rules.Status
	eventually(h.t, waitTimeout, func() bool { st = h.w.Status(); return ok(st) },
		func() string { return fmt.Sprintf("%s: status %+v\nlog:\n%s", what, st, h.log) })
	return st
}

// waitLog waits until the watcher has logged want. The watcher logs after
// it updates its Status, so a log line may lag a status just seen.
func (h *watched) waitLog(what, want string) {
	h.t.Helper()
	eventually(h.t, waitTimeout, func() bool { return strings.Contains(h.log.String(), want) },
		func() string { return fmt.Sprintf("%s: the log does not say %q:\n%s", what, want, h.log) })
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, msg())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeFile(t testing.TB, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeAtomic writes a temporary file beside path and renames it over path,
// as editors, config management and `kubectl cp` do.
func writeAtomic(t testing.TB, path, src string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	writeFile(t, tmp, src)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// inotifyWatches lists this process's inotify watches, one line of
// /proc/self/fdinfo each ("inotify wd:1 ino:... sdev:... mask:...").
func inotifyWatches(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fdinfo")
	if err != nil {
		t.Skipf("no /proc/self/fdinfo: %v", err)
	}
	var watches []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err != nil {
			continue // closed since the listing
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "inotify wd:") {
				watches = append(watches, sc.Text())
			}
		}
	}
	return watches
}

// watchedNow reports whether an inotify watch of this process is on dir.
func watchedNow(t testing.TB, dir string) bool {
	t.Helper()
	info, err := os.Stat(dir)
	if err != nil {
		return false
	}
	ino := fmt.Sprintf(" ino:%x ", info.Sys().(*syscall.Stat_t).Ino)
	for _, w := range inotifyWatches(t) {
		if strings.Contains(w, ino) {
			return true
		}
	}
	return false
}

// waitWatched waits until dir is watched, so that a change made next is
// seen by the watch and not only by the poll.
func waitWatched(t testing.TB, dir string) {
	t.Helper()
	eventually(t, waitTimeout, func() bool { return watchedNow(t, dir) },
		func() string { return dir + " is not watched; watches:\n" + strings.Join(inotifyWatches(t), "\n") })
}

// denyFS is the rule folder through a file system that refuses to open one
// file while deny is set, as chmod 000 does for anyone but root (the tests
// run as root, for whom chmod denies nothing). Stat and ReadDir still work,
// as they do on a real file without read permission.
type denyFS struct {
	fsys fs.FS
	name string
	deny atomic.Bool
}

func (d *denyFS) Open(name string) (fs.File, error) {
	if d.deny.Load() && name == d.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.fsys.Open(name)
}

func (d *denyFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(d.fsys, name) }

func (d *denyFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(d.fsys, name) }

// TestWatcherWriteStyles saves a rule folder in each way editors, tools and
// Kubernetes do, and checks what the Watcher made of it.
func TestWatcherWriteStyles(t *testing.T) {
	v1 := ruleFile(1, 4)
	tests := []struct {
		name string
		// setup makes the folder at start, and may change the options;
		// nil writes shop.yaml = v1.
		setup func(t *testing.T, dir string, opts *rules.WatcherOptions)
		test  func(t *testing.T, h *watched)
	}{
		{name: "atomic rename over the file", test: func(t *testing.T, h *watched) {
			v2 := ruleFile(2, 4)
			writeAtomic(t, h.path("shop.yaml"), v2)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the rename")
			if got := replyText(h.eng); got != "v2 2" {
				t.Errorf("reply %q, want \"v2 2\"", got)
			}
			if st := h.w.Status(); st.Reloads["success"] != 1 || st.Reloads["failure"] != 0 || !st.LastReloadSuccessful || st.Rules != 4 {
				t.Errorf("status %+v, want one successful reload of 4 rules", st)
			}
		}},

		// R15: a watch on the file itself is lost at the first rename; the
		// folder's watch is not.
		{name: "20 renames in a row", test: func(t *testing.T, h *watched) {
			for n := 2; n <= 21; n++ {
				src := ruleFile(n, 4)
				writeAtomic(t, h.path("shop.yaml"), src)
				h.waitVersion(versionOf(t, map[string]string{"shop.yaml": src}), fmt.Sprintf("rename %d", n-1))
				if want := fmt.Sprintf("v%d %d", n, n); replyText(h.eng) != want {
					t.Fatalf("rename %d: reply %q, want %q", n-1, replyText(h.eng), want)
				}
				// Exactly once: the rename's events make a single reload.
				if st := h.w.Status(); st.Reloads["success"] != uint64(n-1) || st.Reloads["failure"] != 0 {
					t.Fatalf("rename %d: reloads %v, want %d successes and no failure", n-1, st.Reloads, n-1)
				}
			}
			if !watchedNow(t, h.dir) {
				t.Errorf("the folder is no longer watched after 20 renames")
			}
		}},

		// R16: vim writes 4913 to test the folder, renames the file to
		// shop.yaml~, writes the new one, deletes the backup, and keeps
		// .shop.yaml.swp beside it while editing. None of them is a rule file.
		{name: "vim-style save", setup: func(t *testing.T, dir string, opts *rules.WatcherOptions) {
			writeFile(t, filepath.Join(dir, "shop.yaml"), v1)
			opts.Debounce = 200 * time.Millisecond // the save's steps never straddle it
		}, test: func(t *testing.T, h *watched) {
			before := h.w.Status()
			swp := h.path(".shop.yaml.swp")
			writeFile(t, swp, "b0VIM 9.1\x00\x00garbage: [not yaml\n")

			v2 := ruleFile(2, 4)
			writeFile(t, h.path("4913"), "")
			must(t, os.Remove(h.path("4913")))
			must(t, os.Rename(h.path("shop.yaml"), h.path("shop.yaml~")))
			writeFile(t, h.path("shop.yaml"), v2)
			must(t, os.Chmod(h.path("shop.yaml"), 0o644))
			must(t, os.Remove(h.path("shop.yaml~")))
			writeFile(t, swp, "b0VIM 9.1\x00\x01more garbage: {\n")

			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the save")
			must(t, os.Remove(swp)) // :q
			// Give a stray reload (of the swap file, say) its chance to show:
			// the swap file is no rule file, so it triggers none.
			time.Sleep(3 * 200 * time.Millisecond)

			st := h.w.Status()
			if st.Reloads["success"] != before.Reloads["success"]+1 || st.Reloads["failure"] != 0 || st.Reloads["unchanged"] != before.Reloads["unchanged"] || st.LastError != nil {
				t.Errorf("reloads %v, last error %v; want exactly one, successful, reload", st.Reloads, st.LastError)
			}
			log := h.log.String()
			for _, name := range []string{".swp", "4913", "shop.yaml~", "level=ERROR"} {
				if strings.Contains(log, name) {
					t.Errorf("the log mentions %q:\n%s", name, log)
				}
			}
		}},

		// R18: a writer that truncates the file and writes it in two
		// chunks, 300 ms apart. The first chunk alone is a valid file of two
		// rules: had it been loaded, 2 rules would have answered for a while.
		{name: "in-place truncate and slow write", setup: func(t *testing.T, dir string, opts *rules.WatcherOptions) {
			writeFile(t, filepath.Join(dir, "shop.yaml"), v1)
			opts.Debounce = 0 // the default
		}, test: func(t *testing.T, h *watched) {
			if rules.DefaultDebounce <= 300*time.Millisecond {
				t.Fatalf("DefaultDebounce %s no longer rides out a 300 ms pause", rules.DefaultDebounce)
			}
			v2 := ruleFile(2, 4)
			cut := strings.Index(v2, "  - id: kw-2")
			half := v2[:cut]
			if _, err := rules.LoadFS(fstest.MapFS{"shop.yaml": {Data: []byte(half)}}, "half"); err != nil {
				t.Fatalf("the first chunk should be a valid rule file: %v", err)
			}
			var sawHalf atomic.Int64
			stopSampling := make(chan struct{})
			var sampling sync.WaitGroup
			sampling.Go(func() {
				for {
					select {
					case <-stopSampling:
						return
					default:
					}
					if n := len(h.eng.RuleSet().Rules()); n != 4 {
						sawHalf.Store(int64(n))
					}
					time.Sleep(time.Millisecond)
				}
			})
			f, err := os.OpenFile(h.path("shop.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
			must(t, err)
			_, err = f.WriteString(half)
			must(t, err)
			time.Sleep(300 * time.Millisecond) // the writer's pause
			_, err = f.WriteString(v2[cut:])
			must(t, err)
			must(t, f.Close())

			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the slow write")
			close(stopSampling)
			sampling.Wait()
			if n := sawHalf.Load(); n != 0 {
				t.Errorf("a rule set of %d rules answered: the half-written file was loaded\nlog:\n%s", n, h.log)
			}
			if st := h.w.Status(); st.Reloads["success"] != 1 || st.Reloads["failure"] != 0 {
				t.Errorf("reloads %v, want exactly one success\nlog:\n%s", st.Reloads, h.log)
			}
		}},

		// R14: a deleted file does not empty the rule set.
		{name: "file deleted then restored", test: func(t *testing.T, h *watched) {
			old := h.eng.RuleSet()
			must(t, os.Remove(h.path("shop.yaml")))
			st := h.waitStatus("after the delete", func(st rules.Status) bool { return st.SourceMissing })
			if st.LastReloadSuccessful || st.LastError == nil || st.FailingSince.IsZero() {
				t.Errorf("status %+v: want a failed reload with its error", st)
			}
			if h.eng.RuleSet() != old || replyText(h.eng) != "v1 1" || st.Rules != 4 {
				t.Errorf("the rules answering changed: %q, %d rules", replyText(h.eng), st.Rules)
			}
			// The same content comes back: it is loaded again, and the
			// failure clears.
			writeFile(t, h.path("shop.yaml"), v1)
			st = h.waitStatus("after the restore", func(st rules.Status) bool { return !st.SourceMissing && st.LastReloadSuccessful })
			if st.LastError != nil || !st.FailingSince.IsZero() || st.Version != old.Version() || replyText(h.eng) != "v1 1" {
				t.Errorf("status %+v, reply %q after the restore", st, replyText(h.eng))
			}
		}},

		// T2 (R24): the folder goes (rm -rf, or a volume unmounted) and comes back.
		{name: "folder removed and recreated", test: func(t *testing.T, h *watched) {
			must(t, os.RemoveAll(h.dir))
			st := h.waitStatus("after rm -rf", func(st rules.Status) bool { return st.SourceMissing })
			if replyText(h.eng) != "v1 1" || st.Rules != 4 {
				t.Errorf("the rules answering changed: %q, %d rules", replyText(h.eng), st.Rules)
			}
			must(t, os.Mkdir(h.dir, 0o755))
			v2 := ruleFile(2, 4)
			writeFile(t, h.path("shop.yaml"), v2)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the folder came back")
			// The watch came back too: a later save is seen without a poll.
			waitWatched(t, h.dir)
			v3 := ruleFile(3, 4)
			writeAtomic(t, h.path("shop.yaml"), v3)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v3}), "a save after the folder came back")
		}},

		{name: "folder moved away and recreated", test: func(t *testing.T, h *watched) {
			must(t, os.Rename(h.dir, h.dir+".old"))
			t.Cleanup(func() { os.RemoveAll(h.dir + ".old") })
			h.waitStatus("after mv", func(st rules.Status) bool { return st.SourceMissing })
			must(t, os.Mkdir(h.dir, 0o755))
			v2 := ruleFile(2, 4)
			writeFile(t, h.path("shop.yaml"), v2)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the folder came back")
			waitWatched(t, h.dir)
			// The moved folder is no longer watched: edits there change nothing.
			writeFile(t, filepath.Join(h.dir+".old", "shop.yaml"), ruleFile(9, 4))
			v3 := ruleFile(3, 4)
			writeAtomic(t, h.path("shop.yaml"), v3)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v3}), "a save after the folder came back")
			if watchedNow(t, h.dir+".old") {
				t.Errorf("the moved-away folder is still watched")
			}
		}},

		// A deployment that builds the new folder aside and moves it into
		// place: the new folder is watched at once, the old one no longer.
		{name: "new folder moved into place", test: func(t *testing.T, h *watched) {
			v2 := ruleFile(2, 4)
			must(t, os.Mkdir(h.dir+".new", 0o755))
			writeFile(t, filepath.Join(h.dir+".new", "shop.yaml"), v2)
			must(t, os.Rename(h.dir, h.dir+".old"))
			t.Cleanup(func() { os.RemoveAll(h.dir + ".old") })
			must(t, os.Rename(h.dir+".new", h.dir))
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the move")
			waitWatched(t, h.dir)
			v3 := ruleFile(3, 4)
			writeAtomic(t, h.path("shop.yaml"), v3)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v3}), "a save in the folder moved in")
			if watchedNow(t, h.dir+".old") {
				t.Errorf("the moved-away folder is still watched")
			}
		}},

		// R20: permission denied, then fixed.
		{name: "permission denied then fixed", setup: func(t *testing.T, dir string, opts *rules.WatcherOptions) {
			writeFile(t, filepath.Join(dir, "shop.yaml"), v1)
			opts.FS = &denyFS{fsys: os.DirFS(dir), name: "shop.yaml"}
		}, test: func(t *testing.T, h *watched) {
			v2 := ruleFile(2, 4)
			deny := h.opts.FS.(*denyFS)
			deny.deny.Store(true)
			writeAtomic(t, h.path("shop.yaml"), v2)
			st := h.waitStatus("while denied", func(st rules.Status) bool { return !st.LastReloadSuccessful })
			if st.LastError == nil || !errors.Is(st.LastError, fs.ErrPermission) || !strings.Contains(st.LastError.Error(), "shop.yaml") {
				t.Errorf("last error %v: want permission denied, naming shop.yaml", st.LastError)
			}
			if replyText(h.eng) != "v1 1" {
				t.Errorf("reply %q while denied, want the old rules' \"v1 1\"", replyText(h.eng))
			}
			h.waitLog("while denied", "permission denied")
			// chmod 644: an attribute change, and the next reload applies v2.
			deny.deny.Store(false)
			must(t, os.Chmod(h.path("shop.yaml"), 0o644))
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the fix")
			if st := h.w.Status(); !st.LastReloadSuccessful || st.LastError != nil || st.SourceMissing {
				t.Errorf("status %+v after the fix", st)
			}
		}},

		// R23 and T2: a storm of writes is compiled a bounded number of
		// times, and the last content wins.
		{name: "write storm", test: func(t *testing.T, h *watched) {
			const writes, span = 500, 5 * time.Second
			tick := time.NewTicker(span / writes)
			defer tick.Stop()
			start := time.Now()
			var last string
			for i := range writes {
				<-tick.C
				src := badFile
				if i%2 == 1 { // the last write, 499, is valid
					src = ruleFile(1000+i, 4)
					last = src
				}
				if i%3 == 0 {
					writeAtomic(t, h.path("shop.yaml"), src)
				} else {
					writeFile(t, h.path("shop.yaml"), src)
				}
			}
			took := time.Since(start)
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": last}), "after the storm")
			st := h.w.Status()
			compiles := st.Reloads["success"] + st.Reloads["failure"]
			if limit := uint64(took/testDebounce) + 2; compiles > limit {
				t.Errorf("%d compiles for %d writes in %s; want at most %d", compiles, writes, took.Round(time.Millisecond), limit)
			}
			t.Logf("%d writes in %s: reloads %v", writes, took.Round(time.Millisecond), st.Reloads)
			if replyText(h.eng) != "v1499 1499" || !st.LastReloadSuccessful {
				t.Errorf("reply %q, status %+v after the storm", replyText(h.eng), st)
			}
			// An invalid last write leaves the last valid content answering.
			good := h.eng.RuleSet()
			writeAtomic(t, h.path("shop.yaml"), badFile)
			st = h.waitStatus("after a final invalid write", func(st rules.Status) bool { return !st.LastReloadSuccessful })
			if h.eng.RuleSet() != good {
				t.Errorf("an invalid write replaced the rules")
			}
			for _, pos := range badPositions {
				if !strings.Contains(st.LastError.Error(), pos) {
					t.Errorf("the last error lacks %s:\n%v", pos, st.LastError)
				}
				// Logged just after the status changed.
				h.waitLog("after a final invalid write", `level=ERROR msg="rules not reloaded: `+h.dir+"/"+strings.ReplaceAll(pos, `"`, `\"`))
			}
		}},

		// G5: a ConfigMap volume: the files are links through ..data, and
		// an update swaps ..data to a new timestamped folder.
		{name: "ConfigMap ..data symlink swap", setup: func(t *testing.T, dir string, opts *rules.WatcherOptions) {
			must(t, os.Mkdir(filepath.Join(dir, "..2024_06_12_10_00_00.1"), 0o755))
			writeFile(t, filepath.Join(dir, "..2024_06_12_10_00_00.1/shop.yaml"), v1)
			must(t, os.Symlink("..2024_06_12_10_00_00.1", filepath.Join(dir, "..data")))
			must(t, os.Symlink("..data/shop.yaml", filepath.Join(dir, "shop.yaml")))
		}, test: func(t *testing.T, h *watched) {
			v2 := ruleFile(2, 4)
			must(t, os.Mkdir(h.path("..2024_06_12_10_00_01.2"), 0o755))
			writeFile(t, h.path("..2024_06_12_10_00_01.2/shop.yaml"), v2)
			must(t, os.Symlink("..2024_06_12_10_00_01.2", h.path("..data_tmp")))
			must(t, os.Rename(h.path("..data_tmp"), h.path("..data")))
			must(t, os.RemoveAll(h.path("..2024_06_12_10_00_00.1")))
			h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the ..data swap")
			if got := replyText(h.eng); got != "v2 2" {
				t.Errorf("reply %q, want \"v2 2\"", got)
			}
			if st := h.w.Status(); st.Reloads["failure"] != 0 || st.Reloads["success"] != 1 {
				t.Errorf("reloads %v, want one success and no failure\nlog:\n%s", st.Reloads, h.log)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll}
			if tt.setup != nil {
				tt.setup(t, dir, &opts)
			} else {
				writeFile(t, filepath.Join(dir, "shop.yaml"), v1)
			}
			h := newWatchedIn(t, dir, opts)
			if got := replyText(h.eng); got != "v1 1" {
				t.Fatalf("at start the reply is %q", got)
			}
			h.run()
			tt.test(t, h)
		})
	}
}

// TestWatcherSkipsUnchanged is R26: events that change no rule file's bytes
// (touch, chmod, an identical rewrite, an editor's backup and swap files)
// are skipped by checksum: nothing is compiled and the rule set answering is
// the very same object.
func TestWatcherSkipsUnchanged(t *testing.T) {
	src := ruleFile(1, 4)
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		// quiet: the change touches no rule file, so it triggers no reload
		// at all, rather than one that finds nothing changed.
		quiet bool
	}{
		{"touch", func(t *testing.T, dir string) {
			now := time.Now().Add(time.Second)
			must(t, os.Chtimes(filepath.Join(dir, "shop.yaml"), now, now))
		}, false},
		{"chmod", func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, "shop.yaml"), 0o600)) }, false},
		{"identical rewrite in place", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "shop.yaml"), src) }, false},
		{"identical rewrite by rename", func(t *testing.T, dir string) { writeAtomic(t, filepath.Join(dir, "shop.yaml"), src) }, false},
		{"backup and swap files", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "shop.yaml~"), badFile)
			writeFile(t, filepath.Join(dir, ".shop.yaml.swp"), badFile)
			writeFile(t, filepath.Join(dir, "#shop.yaml#"), badFile)
			writeFile(t, filepath.Join(dir, "4913"), "")
		}, true},
		{"a test file", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "shop_test.yaml"), "tests: [\n") }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newWatched(t, map[string]string{"shop.yaml": src}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
			h.run()
			before, set := h.w.Status(), h.eng.RuleSet()
			tt.change(t, h.dir)
			var st rules.Status
			if tt.quiet {
				time.Sleep(3 * testDebounce) // time for a reload that must not come
				if st = h.w.Status(); st.Reloads["unchanged"] != before.Reloads["unchanged"] {
					t.Errorf("reloads %v: the change triggered a reload", st.Reloads)
				}
			} else {
				st = h.waitStatus("after the change", func(st rules.Status) bool { return st.Reloads["unchanged"] > before.Reloads["unchanged"] })
			}
			if st.Reloads["success"] != 0 || st.Reloads["failure"] != 0 || st.LastError != nil {
				t.Errorf("reloads %v, last error %v: want only unchanged ones\nlog:\n%s", st.Reloads, st.LastError, h.log)
			}
			if h.eng.RuleSet() != set {
				t.Errorf("the rule set was replaced")
			}
			if log := h.log.String(); log != "" {
				t.Errorf("a skipped reload logged:\n%s", log)
			}
		})
	}
}

// TestWatcherConcurrentTriggers is R28: SIGHUP, the admin endpoint and a
// file event at the same moment, 100 times, while the files change. Reloads
// are serialized, each trigger sees the newest content, and no reply ever
// mixes two versions (run it with -race).
func TestWatcherConcurrentTriggers(t *testing.T) {
	t.Parallel()
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(0, 4)}, rules.WatcherOptions{Debounce: 20 * time.Millisecond, PollInterval: noPoll})
	h.run()

	// A reader answering all along: every reply is one version's.
	stop := make(chan struct{})
	var mixed atomic.Value
	var readers sync.WaitGroup
	mixedReply := regexp.MustCompile(`^v(\d+) (\d+)$`)
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got := replyText(h.eng)
				if m := mixedReply.FindStringSubmatch(got); m == nil || m[1] != m[2] {
					mixed.Store(got)
				}
			}
		})
	}

	const rounds = 100
	for n := 1; n <= rounds; n++ {
		src := ruleFile(n, 4)
		if n%10 == 0 {
			src = ruleFile(n, 3) // and now and then one rule fewer
		}
		// By rename: an in-place write could be read half done by the
		// watch's own reload (see TestWatcherTruncatedFileKeepsRules).
		writeAtomic(t, h.path("shop.yaml"), src)
		want := versionOf(t, map[string]string{"shop.yaml": src})
		start := make(chan struct{})
		var triggers sync.WaitGroup
		got := make([]string, 3)
		errs := make([]error, 3)
		for i, trigger := range []string{"sighup", "admin", "watch"} {
			triggers.Go(func() {
				<-start
				got[i], _, errs[i] = h.w.Reload(trigger)
			})
		}
		close(start)
		triggers.Wait()
		for i := range got {
			if errs[i] != nil || got[i] != want {
				t.Fatalf("round %d: Reload %d returned %s, %v; want version %s", n, i, got[i], errs[i], want)
			}
		}
		if v := h.eng.RuleSet().Version(); v != want {
			t.Fatalf("round %d: version %s answers, want %s", n, v, want)
		}
	}
	close(stop)
	readers.Wait()
	if m := mixed.Load(); m != nil {
		t.Errorf("a reply mixed two versions: %q", m)
	}
	st := h.w.Status()
	if st.Reloads["success"] != rounds || st.Reloads["failure"] != 0 {
		t.Errorf("reloads %v: want exactly %d successes, one per new content", st.Reloads, rounds)
	}
	if got := replyText(h.eng); got != fmt.Sprintf("v%d %d", rounds, rounds) {
		t.Errorf("final reply %q", got)
	}
}

// TestWatcherLeaks is G12: 1,000 reloads and five Run start/stops leave no
// goroutine and no inotify watch behind. Not parallel: it counts the whole
// process's goroutines and watches.
func TestWatcherLeaks(t *testing.T) {
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(0, 4)}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
	goroutines, watches := runtime.NumGoroutine(), len(inotifyWatches(t))

	for i := range 1000 {
		switch {
		case i%50 == 0:
			writeFile(t, h.path("shop.yaml"), badFile)
		case i%10 == 0:
			writeFile(t, h.path("shop.yaml"), ruleFile(i, 4))
		}
		h.w.Reload("test")
	}
	if st := h.w.Status(); st.Reloads["success"]+st.Reloads["failure"]+st.Reloads["unchanged"] != 1000 || st.Reloads["failure"] != 20 {
		t.Errorf("reloads %v", st.Reloads)
	}

	for i := range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.w.Run(ctx) }()
		waitWatched(t, h.dir)
		if n := len(inotifyWatches(t)); n != watches+1 {
			t.Errorf("run %d: %d inotify watches, want %d", i, n, watches+1)
		}
		before := h.w.Status().Reloads["success"]
		writeAtomic(t, h.path("shop.yaml"), ruleFile(2000+i, 4))
		h.waitStatus("a save while running", func(st rules.Status) bool { return st.Reloads["success"] > before })
		cancel()
		select {
		case err := <-done:
			must(t, err)
		case <-time.After(waitTimeout):
			t.Fatalf("Run did not return within %s of its context ending", waitTimeout)
		}
	}

	eventually(t, waitTimeout, func() bool { return runtime.NumGoroutine() <= goroutines+2 },
		func() string {
			buf := make([]byte, 1<<20)
			return fmt.Sprintf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), goroutines, buf[:runtime.Stack(buf, true)])
		})
	eventually(t, waitTimeout, func() bool { return len(inotifyWatches(t)) == watches },
		func() string {
			return fmt.Sprintf("inotify watches, %d before:\n%s", watches, strings.Join(inotifyWatches(t), "\n"))
		})
}

// TestWatcherTruncatedFileKeepsRules: an in-place write (O_TRUNC) empties
// the file before it writes the first byte. If the reload runs in that
// moment (the writer pauses longer than the debounce, or an earlier event's
// debounce expires just then), the rules must keep answering, as for a
// deleted file (R14); a rule file of 0 bytes is never what was meant.
func TestWatcherTruncatedFileKeepsRules(t *testing.T) {
	t.Parallel()
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 4)}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
	h.run()
	f, err := os.OpenFile(h.path("shop.yaml"), os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	defer f.Close()
	before := h.w.Status().Reloads
	// The reload of the empty file.
	st := h.waitStatus("after the truncation", func(st rules.Status) bool {
		return st.Reloads["success"]+st.Reloads["failure"] > before["success"]+before["failure"]
	})
	if n := len(h.eng.RuleSet().Rules()); n != 4 || replyText(h.eng) != "v1 1" {
		t.Errorf("%d rules answer (reply %q) while the file is empty; want the 4 old ones\nstatus %+v\nlog:\n%s", n, replyText(h.eng), st, h.log)
	}
	v2 := ruleFile(2, 4)
	_, err = f.WriteString(v2)
	must(t, err)
	must(t, f.Close())
	h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the write")
}

// TestWatcherPollsWithoutInotify: when no inotify instance can be had (the
// per-user limit of 128 instances, often reached on a busy Kubernetes node,
// or the open-file limit), the poll is the only trigger left, and Run must
// keep polling. Not parallel: it lowers the process's open-file limit for a
// moment, so that Run's fsnotify.NewWatcher fails with EMFILE.
func TestWatcherPollsWithoutInotify(t *testing.T) {
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 4)}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: 200 * time.Millisecond})

	var limit syscall.Rlimit
	must(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit))
	probe, err := os.Open(os.DevNull) // the lowest free descriptor
	must(t, err)
	free := probe.Fd()
	must(t, probe.Close())
	low := limit
	low.Cur = uint64(free)
	must(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low))
	restored := false
	restore := func() {
		if !restored {
			restored = true
			must(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit))
		}
	}
	defer restore()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.w.Run(ctx) }()
	var runErr error
	returned := false
	select {
	case runErr = <-done:
		returned = true
	case <-time.After(300 * time.Millisecond):
	}
	restore()
	defer func() {
		cancel()
		if !returned {
			<-done
		}
	}()
	if returned {
		t.Fatalf("Run returned %v: no inotify, and no poll either", runErr)
	}
	v2 := ruleFile(2, 4)
	writeAtomic(t, h.path("shop.yaml"), v2)
	h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "by the poll alone")
}

// TestWatcherStatusDuringReload: Status, read by /readyz and each /metrics
// scrape, answers at once while a large folder compiles; a readiness probe
// (1 s timeout by default in Kubernetes) must not time out because a reload
// is in progress.
func TestWatcherStatusDuringReload(t *testing.T) {
	t.Parallel()
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 3000)}, rules.WatcherOptions{PollInterval: noPoll})
	writeFile(t, h.path("shop.yaml"), ruleFile(2, 3000))
	start := time.Now()
	var done atomic.Bool
	reloaded := make(chan time.Duration)
	go func() {
		h.w.Reload("test")
		done.Store(true)
		reloaded <- time.Since(start)
	}()
	time.Sleep(20 * time.Millisecond) // inside the compile, most likely
	if done.Load() {
		<-reloaded
		t.Skip("the reload ended before Status was asked: too fast to tell")
	}
	asked := time.Now()
	st := h.w.Status()
	waited := time.Since(asked)
	took := <-reloaded
	// Had Status waited for the reload, it would have taken what was left
	// of it; on a busy machine both take longer, so only the ratio counts.
	if left := took - asked.Sub(start); waited > left/2 {
		t.Errorf("Status took %s while what was left of a reload took %s (status %s)", waited.Round(time.Millisecond), left.Round(time.Millisecond), st.Version)
	}
}

// TestWatcherRefusesUnreadableEntries is E06 while running: a FIFO, a
// folder or an oversized file saved under a rule file's name fails the
// reload with an error naming it, never hangs it, and the rules answering
// keep answering until it goes.
func TestWatcherRefusesUnreadableEntries(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"FIFO", func(t *testing.T, path string) { must(t, syscall.Mkfifo(path, 0o644)) }, "x.yaml: is a named pipe (FIFO), not a regular file"},
		{"folder", func(t *testing.T, path string) { must(t, os.Mkdir(path, 0o755)) }, "x.yaml: is a folder, not a rule file"},
		{"oversized file", func(t *testing.T, path string) {
			// Made aside and renamed in, so that no reload sees it half made.
			tmp := filepath.Join(filepath.Dir(path), ".x.yaml.tmp")
			writeFile(t, tmp, ruleFile(9, 2))
			must(t, os.Truncate(tmp, rules.MaxFileSize+1))
			must(t, os.Rename(tmp, path))
		}, "x.yaml: is 8388609 bytes, over the 8 MB limit for a rule file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 4)}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
			h.run()
			old := h.eng.RuleSet()
			tt.make(t, h.path("x.yaml"))
			st := h.waitStatus("after x.yaml appeared", func(st rules.Status) bool { return !st.LastReloadSuccessful })
			if st.LastError == nil || !strings.Contains(st.LastError.Error(), filepath.ToSlash(h.dir)+"/"+tt.want) {
				t.Errorf("last error %v; want it to contain %s", st.LastError, tt.want)
			}
			h.waitLog("after x.yaml appeared", tt.want)
			if h.eng.RuleSet() != old || replyText(h.eng) != "v1 1" {
				t.Errorf("the rules answering changed: reply %q", replyText(h.eng))
			}
			must(t, os.RemoveAll(h.path("x.yaml")))
			h.waitStatus("after x.yaml went", func(st rules.Status) bool { return st.LastReloadSuccessful && st.LastError == nil })
		})
	}
}

// TestWatcherSuspiciousSaves is E07: a save that leaves no enabled rule is
// refused while rules answer, and one that drops more than half of them is
// applied with a warning; ordinary edits raise neither.
func TestWatcherSuspiciousSaves(t *testing.T) {
	disabled := func(src string) string { return strings.ReplaceAll(src, "  - id: ", "  - enabled: false\n    id: ") }
	type step struct {
		src     string // shop.yaml as saved
		refused bool
		warning string // in Status.Warning; "" for none
	}
	tests := []struct {
		name  string
		start string
		steps []step
	}{
		{"emptied file", ruleFile(1, 4), []step{{src: "rules: []\n", refused: true}}},
		{"only comments left", ruleFile(1, 4), []step{{src: "# rules:\n#   - id: any-text\n", refused: true}}},
		{"every rule disabled", ruleFile(1, 4), []step{
			{src: disabled(ruleFile(2, 4)), refused: true},
			// Put back, the rules apply as usual.
			{src: ruleFile(3, 4)},
		}},
		{"cut from 10 rules to 4", ruleFile(1, 10), []step{
			{src: ruleFile(2, 4), warning: "rules reloaded with 6 of the 10 enabled rules gone (4 left): more than half at once"},
			// The next change clears the warning.
			{src: ruleFile(3, 4)},
		}},
		{"ordinary edits", ruleFile(1, 10), []step{
			{src: ruleFile(2, 10)},
			{src: ruleFile(3, 5)}, // half: not more than half
			{src: ruleFile(4, 12)},
			{src: ruleFile(5, 11)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newWatched(t, map[string]string{"shop.yaml": tt.start}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
			h.run()
			answering, shrunk := "v1 1", uint64(0)
			for i, step := range tt.steps {
				before, set := h.w.Status(), h.eng.RuleSet()
				writeAtomic(t, h.path("shop.yaml"), step.src)
				st := h.waitStatus(fmt.Sprintf("step %d", i+1), func(st rules.Status) bool {
					return st.Reloads["success"]+st.Reloads["failure"] > before.Reloads["success"]+before.Reloads["failure"]
				})
				if step.refused {
					if st.LastReloadSuccessful || !errors.Is(st.LastError, rules.ErrNoRulesLeft) || h.eng.RuleSet() != set {
						t.Errorf("step %d: status %+v: want the save refused with ErrNoRulesLeft", i+1, st)
					}
					for _, want := range []string{"no enabled rule would be left: 4 rules answer now", "so the rules answering keep answering",
						"To stop answering on purpose, restart wxreply with the folder as it is"} {
						if st.LastError == nil || !strings.Contains(st.LastError.Error(), want) {
							t.Errorf("step %d: last error %v\nwant it to say %q", i+1, st.LastError, want)
						}
						h.waitLog(fmt.Sprintf("step %d", i+1), want)
					}
					// Asked again (SIGHUP, the admin endpoint), it is still refused.
					if _, _, err := h.w.Reload("sighup"); !errors.Is(err, rules.ErrNoRulesLeft) {
						t.Errorf("step %d: reloaded again: %v, want ErrNoRulesLeft", i+1, err)
					}
				} else {
					answering = fmt.Sprintf("v%d %d", i+2, i+2)
					if !st.LastReloadSuccessful || st.Version != versionOf(t, map[string]string{"shop.yaml": step.src}) {
						t.Errorf("step %d: status %+v: want the save applied\nlog:\n%s", i+1, st, h.log)
					}
				}
				if got := replyText(h.eng); got != answering {
					t.Errorf("step %d: reply %q, want %q", i+1, got, answering)
				}
				if step.warning != "" {
					shrunk++
				}
				switch {
				case step.warning == "" && st.Warning != "":
					t.Errorf("step %d: warning %q, want none", i+1, st.Warning)
				case !strings.Contains(st.Warning, step.warning):
					t.Errorf("step %d: warning %q, want it to say %q", i+1, st.Warning, step.warning)
				case step.warning != "":
					h.waitLog(fmt.Sprintf("step %d", i+1), "level=WARN msg=\""+step.warning)
				}
				if st.Shrunk != shrunk {
					t.Errorf("step %d: Shrunk = %d, want %d", i+1, st.Shrunk, shrunk)
				}
			}
			if shrunk == 0 && strings.Contains(h.log.String(), "enabled rules gone") {
				t.Errorf("a shrink was logged:\n%s", h.log)
			}
		})
	}
}

// TestWatcherLogsErrorPlacesAsFields: a reload error's file, line, column
// and rule are fields of the log line, for logs that machines read.
func TestWatcherLogsErrorPlacesAsFields(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "shop.yaml"), ruleFile(1, 2))
	res, err := rules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log syncbuf.Buffer
	w := rules.NewWatcher(dir, engine.New(res.RuleSet, nil), res, rules.WatcherOptions{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	writeFile(t, filepath.Join(dir, "shop.yaml"), badFile)
	if _, _, err := w.Reload("test"); err == nil {
		t.Fatal("a broken file reloaded")
	}
	type line struct {
		Msg, File, Rule string
		Line, Col       int
	}
	var got []line
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var e line
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if e.File != "" {
			got = append(got, line{File: filepath.Base(e.File), Rule: e.Rule, Line: e.Line, Col: e.Col})
		}
	}
	want := []line{{File: "shop.yaml", Rule: "broken", Line: 3, Col: 5}, {File: "shop.yaml", Rule: "worse", Line: 6, Col: 11}}
	if !slices.Equal(got, want) {
		t.Errorf("logged places %+v, want %+v\n%s", got, want, log.String())
	}
}

// TestWatcherCheckRefuses: a rule set that WatcherOptions.Check refuses is
// not swapped in, and the error is the reload's.
func TestWatcherCheckRefuses(t *testing.T) {
	errRefused := errors.New("refused by the check")
	check := func(rs *engine.RuleSet) error {
		if rs.Rule("kw-3") != nil {
			return errRefused
		}
		return nil
	}
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 3)}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll, Check: check})
	set := h.eng.RuleSet()
	writeAtomic(t, h.path("shop.yaml"), ruleFile(2, 4))
	if _, changed, err := h.w.Reload("test"); changed || !errors.Is(err, errRefused) {
		t.Fatalf("Reload: changed %v, error %v; want refused", changed, err)
	}
	if st := h.w.Status(); st.LastReloadSuccessful || h.eng.RuleSet() != set {
		t.Errorf("status %+v: the refused set was swapped in", st)
	}
	writeAtomic(t, h.path("shop.yaml"), ruleFile(3, 3))
	if _, changed, err := h.w.Reload("test"); !changed || err != nil {
		t.Errorf("Reload of a set the check accepts: changed %v, error %v", changed, err)
	}
}

// TestWatcherFollowsFolderLink: the rules folder is a link (serve --rules
// /srv/current, current -> v1), swapped atomically to another folder (ln -s
// v2 tmp && mv -T tmp current). The swap is seen at once, not by the poll,
// and the watch moves with it: saves in the live folder reload, and the old
// one is no longer watched.
func TestWatcherFollowsFolderLink(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	v1dir, v2dir, current := filepath.Join(base, "v1"), filepath.Join(base, "v2"), filepath.Join(base, "current")
	must(t, os.Mkdir(v1dir, 0o755))
	must(t, os.Mkdir(v2dir, 0o755))
	writeFile(t, filepath.Join(v1dir, "shop.yaml"), ruleFile(1, 4))
	v2 := ruleFile(2, 4)
	writeFile(t, filepath.Join(v2dir, "shop.yaml"), v2)
	must(t, os.Symlink("v1", current))
	h := newWatchedIn(t, current, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
	h.run()

	must(t, os.Symlink("v2", filepath.Join(base, "tmp")))
	must(t, os.Rename(filepath.Join(base, "tmp"), current))
	h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the link swap")
	waitWatched(t, v2dir)
	eventually(t, waitTimeout, func() bool { return !watchedNow(t, v1dir) },
		func() string { return "the old folder is still watched:\n" + strings.Join(inotifyWatches(t), "\n") })

	v3 := ruleFile(3, 4)
	writeAtomic(t, filepath.Join(v2dir, "shop.yaml"), v3)
	h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v3}), "a save in the folder the link leads to now")
	if got := replyText(h.eng); got != "v3 3" {
		t.Errorf("reply %q, want \"v3 3\"", got)
	}
	if st := h.w.Status(); st.Reloads["failure"] != 0 || st.Reloads["success"] != 2 {
		t.Errorf("reloads %v, want two successes and no failure\nlog:\n%s", st.Reloads, h.log)
	}
}

// TestWatcherFollowsFileLinks: a rule file that is a link to a file in
// another folder, directly or through a link to that folder, reloads when
// the file is saved there.
func TestWatcherFollowsFileLinks(t *testing.T) {
	tests := []struct {
		name string
		// link makes dir/shop.yaml lead to shared/shop.yaml.
		link func(t *testing.T, dir, shared string)
	}{
		{"link to the file", func(t *testing.T, dir, shared string) {
			must(t, os.Symlink(filepath.Join(shared, "shop.yaml"), filepath.Join(dir, "shop.yaml")))
		}},
		{"link through a link to its folder", func(t *testing.T, dir, shared string) {
			must(t, os.Symlink(shared, filepath.Join(dir, "shared")))
			must(t, os.Symlink("shared/shop.yaml", filepath.Join(dir, "shop.yaml")))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, shared := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(shared, "shop.yaml"), ruleFile(1, 4))
			tt.link(t, dir, shared)
			h := newWatchedIn(t, dir, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
			h.run()
			waitWatched(t, shared)
			for n := 2; n <= 3; n++ { // by rename, then in place
				src := ruleFile(n, 4)
				if n == 2 {
					writeAtomic(t, filepath.Join(shared, "shop.yaml"), src)
				} else {
					writeFile(t, filepath.Join(shared, "shop.yaml"), src)
				}
				h.waitVersion(versionOf(t, map[string]string{"shop.yaml": src}), fmt.Sprintf("save %d through the link", n-1))
			}
		})
	}
}

// TestWatcherMissingFolderSaidOnce: while the rules folder is gone, that it
// cannot be watched is said once, naming it, and once that it is back; not
// at each look for it. Its parent is watched while it is gone, and only then.
func TestWatcherMissingFolderSaidOnce(t *testing.T) {
	t.Parallel()
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 4)}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: 200 * time.Millisecond})
	h.run()
	must(t, os.RemoveAll(h.dir))
	st := h.waitStatus("after rm -rf", func(st rules.Status) bool { return st.SourceMissing })
	if want := "rules folder " + h.dir + ": open " + h.dir + ": no such file or directory"; st.LastError == nil || st.LastError.Error() != want || !errors.Is(st.LastError, fs.ErrNotExist) {
		t.Errorf("last error %v, want %s", st.LastError, want)
	}
	// Its parent is watched meanwhile, so that its return is seen at once.
	waitWatched(t, filepath.Dir(h.dir))
	// The folder is looked for each second too: wait for the polls of 3 s.
	before := h.w.Status().Reloads["failure"]
	h.waitStatus("3 s without the folder", func(st rules.Status) bool { return st.Reloads["failure"] >= before+15 })
	const gone = `msg="cannot watch the rules folder; polling it instead"`
	if n := strings.Count(h.log.String(), gone); n != 1 {
		t.Errorf("said %d times that the folder cannot be watched, want once:\n%s", n, h.log)
	}
	if want := gone + " dir=" + h.dir + ` error="lstat ` + h.dir + ": no such file or directory"; !strings.Contains(h.log.String(), want) {
		t.Errorf("the log does not say %s:\n%s", want, h.log)
	}
	must(t, os.Mkdir(h.dir, 0o755))
	v2 := ruleFile(2, 4)
	writeFile(t, h.path("shop.yaml"), v2)
	h.waitVersion(versionOf(t, map[string]string{"shop.yaml": v2}), "after the folder came back")
	const back = `msg="watching the rules folder again" dir=`
	h.waitLog("after the folder came back", back+h.dir)
	before = h.w.Status().Reloads["unchanged"]
	h.waitStatus("3 s with the folder", func(st rules.Status) bool { return st.Reloads["unchanged"] >= before+15 })
	if log := h.log.String(); strings.Count(log, gone) != 1 || strings.Count(log, back) != 1 {
		t.Errorf("want each said once:\n%s", log)
	}
	if watchedNow(t, filepath.Dir(h.dir)) {
		t.Errorf("the folder's parent is still watched now that the folder is back")
	}
}

// TestWatcherSaysRemovedFiles: a rule file deleted, or renamed so that it
// is no longer read, takes its rules with it; that is a legitimate edit, but
// the reload's log line warns and names the file and how many enabled rules
// went with it, so that an accidental delete shows. A file renamed to
// another rule file's name loses no rule and is an ordinary reload.
func TestWatcherSaysRemovedFiles(t *testing.T) {
	keywords := "rules:\n"
	for i := 1; i <= 3; i++ {
		keywords += fmt.Sprintf("  - id: extra-%d\n    keywords: [extra%d]\n    reply: { text: \"extra %d\" }\n", i, i, i)
	}
	keywords += "  - id: off\n    enabled: false\n    keywords: [off]\n    reply: { text: off }\n"
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   []string // in the log; none says removed= when empty
	}{
		{"deleted", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "keywords.yaml"))) },
			[]string{`level=WARN msg="rules reloaded" trigger=watch`, `rules=4 `, ` removed="keywords.yaml (3 rules)"`}},
		{"renamed to .yml", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "keywords.yaml"), filepath.Join(dir, "keywords.yml")))
		}, []string{"keywords.yml: warning: ignored: rule files end in .yaml", `level=WARN msg="rules reloaded"`, ` removed="keywords.yaml (3 rules)"`}},
		{"renamed to another rule file", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "keywords.yaml"), filepath.Join(dir, "more.yaml")))
		}, []string{`level=INFO msg="rules reloaded"`, "rules=7 "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 4), "keywords.yaml": keywords}, rules.WatcherOptions{Debounce: testDebounce, PollInterval: noPoll})
			h.run()
			tt.change(t, h.dir)
			st := h.waitStatus("after the change", func(st rules.Status) bool { return st.Reloads["success"] == 1 })
			if !st.LastReloadSuccessful || st.SourceMissing || st.Warning != "" {
				t.Errorf("status %+v: want an ordinary successful reload", st)
			}
			for _, want := range tt.want {
				h.waitLog("after the change", want)
			}
			log := h.log.String()
			if len(tt.want) == 2 && strings.Contains(log, "removed=") {
				t.Errorf("a rename that lost no rule logs removed files:\n%s", log)
			}
			if strings.Count(log, `msg="rules reloaded"`) != 1 {
				t.Errorf("want one reload logged:\n%s", log)
			}
		})
	}
}

// TestWatcherSignalSaysUnchanged: a reload someone asked for with SIGHUP
// says what came of it when nothing changed, and when the folder still
// holds the error of the last reload; a watch's or a poll's says nothing.
func TestWatcherSignalSaysUnchanged(t *testing.T) {
	h := newWatched(t, map[string]string{"shop.yaml": ruleFile(1, 1)}, rules.WatcherOptions{})
	h.w.Reload("poll")
	if strings.Contains(h.log.String(), "unchanged") {
		t.Errorf("a poll of an unchanged folder logged:\n%s", h.log)
	}
	h.w.Reload(rules.TriggerSignal)
	if !strings.Contains(h.log.String(), `msg="rules unchanged; nothing to reload" trigger=sighup`) {
		t.Errorf("SIGHUP on an unchanged folder logged nothing:\n%s", h.log)
	}
	writeFile(t, h.path("shop.yaml"), "rules: [")
	h.w.Reload("watch")
	h.w.Reload(rules.TriggerSignal)
	if !strings.Contains(h.log.String(), `msg="rules unchanged since the last reload, which failed; the previous rules keep answering" trigger=sighup`) {
		t.Errorf("SIGHUP on a folder still broken logged nothing:\n%s", h.log)
	}
}
