package rules

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/wxreply/wxreply/engine"
)

// Defaults for a Watcher.
const (
	// DefaultDebounce is how long the folder must stay quiet after a change
	// before it is reloaded. Editors save in bursts of events (write a temp
	// file, rename it over the old one), and a slow writer pauses between
	// chunks: half a second rides out both and keeps a save live within a
	// second.
	DefaultDebounce = 500 * time.Millisecond
	// DefaultPollInterval is how often the folder is checked even without
	// events, for file systems that send none (NFS, some container mounts).
	DefaultPollInterval = 30 * time.Second
)

// Status is what the last reloads did, for health checks and metrics.
type Status = engine.ReloadStatus

// Watcher keeps an engine.Engine answering with the rules of a folder: it
// reloads the folder when its files change, on a poll, and whenever Reload
// is called (SIGHUP, the admin endpoint). A reload builds the complete new
// rule set first and swaps it in only when all of it is good; otherwise the
// rules answering keep answering.
type Watcher struct {
	dir          string
	fsys         fs.FS
	engine       *engine.Engine
	log          *slog.Logger
	debounce     time.Duration
	pollInterval time.Duration
	check        func(*engine.RuleSet) error
	now          func() time.Time

	mu      sync.Mutex // one reload at a time
	version string     // the last snapshot compiled, good or bad

	// status is written by Reload under both locks and read under statusMu
	// alone, so that /readyz and /metrics never wait for a compile.
	statusMu sync.Mutex
	status   Status
}

// WatcherOptions adjust a Watcher; zero values mean the defaults.
type WatcherOptions struct {
	Debounce     time.Duration
	PollInterval time.Duration
	Logger       *slog.Logger
	// FS reads the folder; nil means os.DirFS(dir). Tests inject faults here.
	FS fs.FS
	// Check, when set, judges a rule set that compiled against what the
	// program can do (serve: rules that need WeChat's API without an
	// AppSecret); an error refuses the reload like a bad file, and the
	// rules answering keep answering.
	Check func(*engine.RuleSet) error
}

// NewWatcher returns a Watcher of dir for eng, whose rule set was loaded as
// loaded (the Result of Load(dir) at start-up).
func NewWatcher(dir string, eng *engine.Engine, loaded *Result, opts WatcherOptions) *Watcher {
	w := &Watcher{
		dir:          dir,
		fsys:         opts.FS,
		engine:       eng,
		log:          opts.Logger,
		debounce:     opts.Debounce,
		pollInterval: opts.PollInterval,
		check:        opts.Check,
		now:          time.Now,
		version:      loaded.Version,
	}
	if w.fsys == nil {
		w.fsys = os.DirFS(dir)
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.debounce <= 0 {
		w.debounce = DefaultDebounce
	}
	if w.pollInterval <= 0 {
		w.pollInterval = DefaultPollInterval
	}
	w.status = Status{
		Version:              loaded.Version,
		Rules:                len(loaded.RuleSet.Rules()),
		LastSuccess:          w.now(),
		LastReloadSuccessful: true,
		Reloads:              map[string]uint64{"success": 0, "failure": 0, "unchanged": 0},
	}
	return w
}

// Status reports the last reloads.
func (w *Watcher) Status() Status {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	s := w.status
	s.Reloads = make(map[string]uint64, len(w.status.Reloads))
	for k, v := range w.status.Reloads {
		s.Reloads[k] = v
	}
	return s
}

// TriggerSignal is the trigger of a reload asked for with SIGHUP.
const TriggerSignal = "sighup"

// Reload reads the folder and, if a rule file changed since the last
// reload, compiles it and swaps it in. It returns the rule set's version and
// whether it changed; an error (Errors, with positions, when the files are
// the problem) means the rules answering were kept. Calls are serialized.
//
// Two saves that are rarely meant are judged against the rules answering: one
// that leaves no enabled rule is refused (ErrNoRulesLeft), and one that drops
// more than half of them is applied with a Status.Warning, logged.
func (w *Watcher) Reload(trigger string) (version string, changed bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := w.now()
	snap, err := Read(w.fsys, w.dir)
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == "." {
			// The folder itself could not be listed: name it, as Load
			// does, rather than the "." of w.fsys.
			err = fmt.Errorf("rules folder %s: %w", w.dir, &fs.PathError{Op: pe.Op, Path: w.dir, Err: pe.Err})
		}
		w.failed(trigger, err, true)
		return w.status.Version, false, err
	}
	if snap.Version == w.version {
		w.statusMu.Lock()
		w.status.Reloads["unchanged"]++
		w.statusMu.Unlock()
		if trigger == TriggerSignal {
			// Someone asked (systemctl reload): say what came of it,
			// which a save or a poll need not.
			if w.status.LastError != nil {
				w.log.Warn("rules unchanged since the last reload, which failed; the previous rules keep answering", "trigger", trigger, "version", w.status.Version, "error", w.status.LastError.Error())
			} else {
				w.log.Info("rules unchanged; nothing to reload", "trigger", trigger, "version", w.status.Version)
			}
		}
		if w.status.LastError != nil {
			return w.status.Version, false, w.status.LastError
		}
		return w.status.Version, false, nil
	}
	w.version = snap.Version
	res, err := snap.Compile()
	if err != nil {
		w.failed(trigger, err, false)
		return w.status.Version, false, err
	}
	if w.check != nil {
		if err := w.check(res.RuleSet); err != nil {
			w.failed(trigger, err, false)
			return w.status.Version, false, err
		}
	}
	before := w.engine.RuleSet()
	shrunk, err := judgeShrink(w.dir, before, res.RuleSet)
	if err != nil {
		w.failed(trigger, err, false)
		return w.status.Version, false, err
	}
	for _, warning := range res.Warnings {
		w.log.Warn(warning.Warning())
	}
	// The swap and the status change under one lock: whoever sees the new
	// rules answering and then asks Status (/readyz, /metrics, a test
	// waiting for the reload) sees this reload counted, not the last one.
	w.statusMu.Lock()
	w.engine.Swap(res.RuleSet)
	w.status.Version = res.Version
	w.status.Rules = len(res.RuleSet.Rules())
	w.status.LastSuccess = w.now()
	w.status.LastReloadSuccessful = true
	w.status.LastError = nil
	w.status.FailingSince = time.Time{}
	w.status.SourceMissing = false
	w.status.Warning = shrunk
	if shrunk != "" {
		w.status.Shrunk++
	}
	w.status.Reloads["success"]++
	w.statusMu.Unlock()
	attrs := []any{"trigger", trigger, "version", res.Version, "rules", w.status.Rules, "took_ms", w.now().Sub(start).Milliseconds()}
	if removed := removedWith(before, res); removed != "" {
		// Removing a file is a legitimate edit, but an accidental delete
		// or rename must not pass as an ordinary reload.
		w.log.Warn("rules reloaded", append(attrs, "removed", removed)...)
	} else {
		w.log.Info("rules reloaded", attrs...)
	}
	if shrunk != "" {
		w.log.Warn(shrunk, "trigger", trigger, "version", res.Version, "previous_version", before.Version())
	}
	return res.Version, true, nil
}

// removedWith names the rule files of before that the reload's result no
// longer has, with the enabled rules that went with them, as
// "keywords.yaml (11 rules), faq.yaml (1 rule)"; "" when none went. A rule
// that moved to another file did not go.
func removedWith(before *engine.RuleSet, after *Result) string {
	files := make(map[string]bool, len(after.Files))
	for _, f := range after.Files {
		files[f] = true
	}
	ids := make(map[string]bool, len(after.RuleSet.Rules()))
	for _, r := range after.RuleSet.Rules() {
		ids[r.ID] = true
	}
	var gone []string // files, in the order their rules came
	count := map[string]int{}
	for _, r := range before.Rules() {
		f := r.Source.File
		if f == "" || files[f] || ids[r.ID] {
			continue
		}
		if count[f] == 0 {
			gone = append(gone, f)
		}
		count[f]++
	}
	var b strings.Builder
	for i, f := range gone {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d rule", path.Base(f), count[f])
		if count[f] != 1 {
			b.WriteString("s")
		}
		b.WriteString(")")
	}
	return b.String()
}

// ErrNoRulesLeft is the error of a reload refused because it would leave no
// enabled rule while some answer: far more often an emptied, truncated or
// half-copied file than a wish to answer nothing.
var ErrNoRulesLeft = errors.New("no enabled rule would be left")

// judgeShrink looks at what a reload of dir would do to the enabled rules
// answering (before) with the rule set after. Leaving none is refused: a
// save cannot silence the account by mistake; to stop answering on purpose,
// start wxreply on such a folder (at start-up there is nothing to lose).
// Dropping more than half is allowed, since whole features do get removed,
// but returns a warning to show until the next reload.
func judgeShrink(dir string, before, after *engine.RuleSet) (warning string, err error) {
	had, has := len(before.Rules()), len(after.Rules())
	switch {
	case had == 0:
		return "", nil
	case has == 0:
		answer := fmt.Sprintf("%d rules answer", had)
		if had == 1 {
			answer = "1 rule answers"
		}
		return "", fmt.Errorf("rules folder %s: %w: %s now, and the files as saved enable none; "+
			"refused as a likely mistake (an emptied or cut file, every rule disabled), so the rules answering keep answering. "+
			"To stop answering on purpose, restart wxreply with the folder as it is: at start-up a folder without enabled rules is loaded",
			dir, ErrNoRulesLeft, answer)
	case (had-has)*2 > had:
		return fmt.Sprintf("rules reloaded with %d of the %d enabled rules gone (%d left): more than half at once, as a cut or half-copied file would do; "+
			"if that was meant, nothing needs doing (the warning clears when the rules next change); if not, restore the rule files",
			had-has, had, has), nil
	}
	return "", nil
}

// failed records a reload that kept the old rules, and logs each problem
// with its position.
func (w *Watcher) failed(trigger string, err error, missing bool) {
	if missing {
		w.version = "" // whatever comes back is new
	}
	w.statusMu.Lock()
	if w.status.LastError == nil {
		w.status.FailingSince = w.now()
	}
	w.status.LastError = err
	w.status.LastReloadSuccessful = false
	w.status.SourceMissing = missing
	w.status.Reloads["failure"]++
	w.statusMu.Unlock()
	var list Errors
	if errors.As(err, &list) {
		for _, e := range list {
			// The place as fields too, for logs that machines read (JSON).
			w.log.Error("rules not reloaded: "+e.Error(), "file", e.Pos.File, "line", e.Pos.Line, "col", e.Pos.Col,
				"rule", cmp.Or(e.Rule, e.Test), "trigger", trigger)
		}
	} else {
		w.log.Error("rules not reloaded: "+err.Error(), "trigger", trigger)
	}
	w.log.Warn("the previous rules keep answering", "version", w.status.Version, "rules", w.status.Rules)
}

// Run watches the folder until ctx ends, reloading it a debounce after the
// last change and every poll interval. Links are followed: the folder
// watched is the one the path names now, looked up again after each change
// and poll, and the folders of the links on the way to it, and of the
// targets of rule files that are links, are watched too, so that swapping a
// link or editing a file through one reloads at once. A folder that
// disappears is watched again when it comes back. It returns when ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	// Without inotify (its instances are limited per user) the poll still
	// runs; a watcher is tried again each second.
	ws := &watches{w: w}
	defer func() {
		if ws.fw != nil {
			ws.fw.Close()
		}
	}()
	noInotify := false // said that there is none
	connect := func() bool {
		if ws.fw == nil {
			fw, err := fsnotify.NewWatcher()
			if err != nil {
				if !noInotify {
					noInotify = true
					w.log.Warn("cannot watch for file changes; polling the rules folder instead", "every", w.pollInterval.String(), "error", err.Error())
				}
				return false
			}
			ws.fw = fw
		}
		return ws.sync()
	}
	connect()

	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	poll := time.NewTicker(w.pollInterval)
	defer poll.Stop()
	// While the folder is gone, look for it every second.
	rewatch := time.NewTicker(time.Second)
	defer rewatch.Stop()

	for {
		select {
		case <-ctx.Done():
			debounce.Stop()
			return nil
		case ev, ok := <-events(ws.fw):
			if !ok {
				return nil
			}
			if ws.concerns(ev) {
				debounce.Reset(w.debounce)
			}
		case err, ok := <-errorsOf(ws.fw):
			if !ok {
				return nil
			}
			// An overflow means events were lost: reload to be sure.
			w.log.Warn("file watch error; reloading to be sure", "error", err.Error())
			debounce.Reset(w.debounce)
		case <-debounce.C:
			if ws.fw != nil {
				ws.sync()
			}
			w.Reload("watch")
		case <-poll.C:
			if ws.fw != nil {
				ws.sync()
			}
			w.Reload("poll")
		case <-rewatch.C:
			if ws.folder == "" && connect() {
				w.Reload("watch")
			}
		}
	}
}

// concerns reports whether a change to the named entry of the folder can
// change the rules: a rule file, or a ConfigMap's ..data link. Other files
// (an editor's swap file, a log someone keeps there) must not keep pushing
// the reload back.
func concerns(name string) bool {
	return IsRuleFile(name) || strings.HasPrefix(name, "..")
}

// events and errorsOf are fw's channels, or nil ones that never deliver
// while there is no watcher.
func events(fw *fsnotify.Watcher) chan fsnotify.Event {
	if fw == nil {
		return nil
	}
	return fw.Events
}

func errorsOf(fw *fsnotify.Watcher) chan error {
	if fw == nil {
		return nil
	}
	return fw.Errors
}

// watches are the folders Run watches, kept by Run's goroutine alone. The
// folders, not the files, are watched: editors and ConfigMaps replace files
// by rename, which a watch on the file would not survive.
type watches struct {
	w       *Watcher
	fw      *fsnotify.Watcher
	folder  string                // the rules folder as its links resolve; "" while it is not watched
	dirs    map[string]watchedDir // every folder watched, by the path fw was given
	missing bool                  // said that the rules folder cannot be watched
}

// A watchedDir is a folder watched and the names in it whose changes can
// change the rules.
type watchedDir struct {
	rules bool            // the rules folder: its rule files and ..links
	names map[string]bool // links on the way to the folder or to a rule file, and the files they lead to
}

// sync watches what the folder's path leads to now, and stops watching what
// it no longer leads to, reporting whether the rules folder is watched. That
// the folder cannot be watched is said once, until it is watched again.
func (ws *watches) sync() bool {
	folder, plan, err := watchPlan(ws.w.dir)
	for dir := range ws.dirs {
		if _, ok := plan[dir]; !ok {
			ws.fw.Remove(dir) // fails when the folder went, and its watch with it
		}
	}
	ws.dirs = make(map[string]watchedDir, len(plan))
	for dir, wd := range plan {
		// Added again even when watched: the same inode keeps its watch,
		// and a folder made anew under the name gets one.
		if addErr := ws.fw.Add(dir); addErr != nil {
			if dir == folder && err == nil {
				err = fmt.Errorf("watch %s: %w", dir, addErr)
			}
			continue // a link's folder that went: the next change or poll looks again
		}
		ws.dirs[dir] = wd
	}
	if err != nil {
		ws.folder = ""
		if !ws.missing {
			ws.missing = true
			ws.w.log.Warn("cannot watch the rules folder; polling it instead", "dir", ws.w.dir, "error", err.Error())
		}
		return false
	}
	if ws.missing {
		ws.missing = false
		ws.w.log.Info("watching the rules folder again", "dir", ws.w.dir)
	}
	if ws.folder != "" && ws.folder != folder {
		ws.w.log.Info("the rules folder's link points elsewhere now; watching it there", "dir", ws.w.dir, "was", ws.folder, "now", folder)
	}
	ws.folder = folder
	return true
}

// concerns reports whether ev can change the rules; a watched folder that
// went is no longer counted as watched.
func (ws *watches) concerns(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	if _, ok := ws.dirs[name]; ok {
		// A watched folder itself, or seen from its watched parent.
		if ev.Has(fsnotify.Remove | fsnotify.Rename) {
			ws.fw.Remove(name) // gone already, most often
			delete(ws.dirs, name)
			if name == ws.folder {
				ws.folder = ""
			}
		}
		return true
	}
	wd, ok := ws.dirs[filepath.Dir(name)]
	if !ok {
		return false // a folder no longer watched, its events still queued
	}
	base := filepath.Base(name)
	return wd.names[base] || wd.rules && concerns(base)
}

// watchPlan is what watching dir takes now: the folder its links lead to,
// and every folder to watch, with the names in it that count.
func watchPlan(dir string) (folder string, plan map[string]watchedDir, err error) {
	plan = map[string]watchedDir{}
	note := func(p string) {
		d := plan[filepath.Dir(p)]
		if d.names == nil {
			d.names = map[string]bool{}
		}
		d.names[filepath.Base(p)] = true
		plan[filepath.Dir(p)] = d
	}
	folder, links, err := resolve(dir)
	for _, l := range links {
		note(l) // so that a link made again, or swapped, is seen
	}
	if err != nil {
		if folder != "" {
			note(folder) // gone: its parent sees it come back
		}
		return "", plan, err
	}
	d := plan[folder]
	d.rules = true
	plan[folder] = d
	entries, err := os.ReadDir(folder)
	if err != nil {
		return folder, plan, nil // watched still; the reload says what is wrong
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 || !IsRuleFile(e.Name()) {
			continue
		}
		target, links, _ := resolve(filepath.Join(folder, e.Name()))
		for _, l := range links {
			note(l)
		}
		if target != "" {
			note(target) // a link to nothing is watched for where it leads
		}
	}
	return folder, plan, nil
}

// maxLinks is how many links resolve follows, as Linux's ELOOP does.
const maxLinks = 40

// resolve follows the links in the path p, as opening it would, and returns
// the absolute path it leads to, without links, and the links met on the
// way, each as a path whose folder holds no link: changing any of them
// changes what p leads to. When p leads to nothing, to is where it would
// be, if the folder that would hold it exists.
func resolve(p string) (to string, links []string, err error) {
	if p, err = filepath.Abs(p); err != nil {
		return "", nil, err
	}
	return resolveIn(p, new(int))
}

func resolveIn(p string, hops *int) (string, []string, error) {
	var links []string
	for {
		if dir := filepath.Dir(p); dir != p {
			d, dirLinks, err := resolveIn(dir, hops)
			links = append(links, dirLinks...)
			if err != nil {
				return "", links, err
			}
			p = filepath.Join(d, filepath.Base(p))
		}
		info, err := os.Lstat(p)
		if err != nil || info.Mode()&fs.ModeSymlink == 0 {
			return p, links, err
		}
		if *hops++; *hops > maxLinks {
			return "", links, fmt.Errorf("%s: more than %d links", p, maxLinks)
		}
		links = append(links, p)
		target, err := os.Readlink(p)
		if err != nil {
			return "", links, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
}
