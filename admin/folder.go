package admin

import (
	"bytes"
	"io/fs"
	"net/http"
	"os"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/wxreply/wxreply/internal/yamlpos"
	"github.com/wxreply/wxreply/rules"
	"github.com/wxreply/wxreply/rules/ruletest"
)

// folder is the rule folder on disk, or the examples in the binary.
func (p *Page) folder() fs.FS {
	if p.opts.FS != nil {
		return p.opts.FS
	}
	return os.DirFS(p.opts.Dir)
}

// disabledRules lists the rules written with enabled: false, which are
// not in the rule set: read from the files as they are now, for their id,
// description, priority and place. A file that does not parse is skipped;
// the reload's error says why.
func (p *Page) disabledRules() ([]ruleView, error) {
	if p.opts.Dir == "" && p.opts.FS == nil {
		return nil, nil
	}
	// Read as a reload reads: regular files only, each at most
	// rules.MaxFileSize.
	snap, err := rules.Read(p.folder(), p.opts.Dir)
	if err != nil {
		return nil, err
	}
	var out []ruleView
	for file, src := range snap.Files() {
		out = append(out, disabledIn(file, src)...)
	}
	return out, nil
}

// disabledIn finds the rules with enabled: false in one rule file.
func disabledIn(file string, src []byte) []ruleView {
	var doc yaml.Node
	if yaml.NewDecoder(bytes.NewReader(src)).Decode(&doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	list := yamlpos.Lookup(doc.Content[0], "rules")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil
	}
	var out []ruleView
	for _, rn := range list.Content {
		if rn.Kind != yaml.MappingNode {
			continue
		}
		if en := yamlpos.Lookup(rn, "enabled"); en == nil || en.Value != "false" {
			continue
		}
		pos := rules.Pos{File: file, Line: rn.Line, Col: rn.Column}
		v := ruleView{Source: pos.String(), pos: pos}
		if n := yamlpos.Lookup(rn, "id"); n != nil {
			v.ID = n.Value
		}
		if n := yamlpos.Lookup(rn, "description"); n != nil {
			v.Description = n.Value
		}
		if n := yamlpos.Lookup(rn, "priority"); n != nil {
			v.Priority, _ = strconv.Atoi(n.Value)
		}
		for _, key := range []string{"msgtype", "event", "event_key", "keywords", "when"} {
			if n := yamlpos.Lookup(rn, key); n != nil {
				v.Matches = append(v.Matches, key+": "+scalarOrList(n))
			}
		}
		reply := yamlpos.Lookup(rn, "reply")
		if replies := yamlpos.Lookup(rn, "replies"); reply == nil && replies != nil && replies.Kind == yaml.SequenceNode && len(replies.Content) > 0 {
			reply, v.Alternatives = replies.Content[0], len(replies.Content)
		}
		if reply != nil && reply.Kind == yaml.MappingNode && len(reply.Content) >= 2 {
			v.Kind = reply.Content[0].Value
			v.Preview = cut(firstScalar(reply.Content[1]), 160)
		}
		out = append(out, v)
	}
	return out
}

func scalarOrList(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	var b bytes.Buffer
	for i, c := range n.Content {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(firstScalar(c))
	}
	return b.String()
}

// firstScalar is the first scalar value in n, depth first.
func firstScalar(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue // a key
		}
		if s := firstScalar(c); s != "" {
			return s
		}
	}
	return ""
}

type testsView struct {
	Run       *testRun
	Ran       string
	Coverage  float64
	Uncovered []string
}

func (p *Page) testsPage(w http.ResponseWriter, r *http.Request) {
	p.testsMu.Lock()
	run := p.lastRun
	p.testsMu.Unlock()
	p.render(w, r, http.StatusOK, "tests", p.testsView(run))
}

func (p *Page) testsView(run *testRun) testsView {
	v := testsView{Run: run}
	if run == nil {
		return v
	}
	v.Ran = run.At.In(p.opts.Engine.Location()).Format(timeLayout)
	if run.Report != nil {
		v.Coverage = run.Report.Coverage() * 100
		for _, r := range run.Report.Uncovered {
			v.Uncovered = append(v.Uncovered, r.ID+" ("+r.Source.String()+")")
		}
	}
	return v
}

// runTests runs the folder's rule tests as `wxreply test` does, with
// coverage, and shows the report.
func (p *Page) runTests(w http.ResponseWriter, r *http.Request) {
	// One run at a time; a second request while it runs waits for no
	// one, and shows the last result.
	if !p.running.TryLock() {
		http.Redirect(w, r, "/tests", http.StatusSeeOther)
		return
	}
	defer p.running.Unlock()
	var out bytes.Buffer
	opts := ruletest.Options{Coverage: true}
	run := &testRun{At: p.opts.Now()}
	if p.opts.FS != nil {
		run.Report, run.Err = ruletest.RunFS(&out, opts, p.opts.FS, p.opts.Dir)
	} else {
		run.Report, run.Err = ruletest.Run(&out, opts, p.opts.Dir)
	}
	run.Output = out.String()
	p.testsMu.Lock()
	p.lastRun = run
	p.testsMu.Unlock()
	p.render(w, r, http.StatusOK, "tests", p.testsView(run))
}
