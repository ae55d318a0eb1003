package logbuf_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/logbuf"
	"github.com/wxreply/wxreply/internal/syncbuf"
)

// An hour: in these tests nothing is written by the clock, only by what
// the test does.
const never = time.Hour

func TestLinesWaitForAFlush(t *testing.T) {
	var out syncbuf.Buffer
	w := logbuf.New(&out, never)
	defer w.Close()
	log := slog.New(logbuf.Handler(slog.NewTextHandler(w, nil), w))
	log.Info("one")
	log.Info("two")
	if got := out.String(); got != "" {
		t.Fatalf("before a flush, written: %q", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "msg=one") || !strings.Contains(lines[1], "msg=two") {
		t.Fatalf("after a flush: %q", lines)
	}
}

func TestWarningsAreWrittenAtOnce(t *testing.T) {
	var out syncbuf.Buffer
	w := logbuf.New(&out, never)
	defer w.Close()
	log := slog.New(logbuf.Handler(slog.NewTextHandler(w, nil), w)).With("component", "test")
	log.Info("before")
	log.Warn("trouble")
	got := out.String()
	before, trouble := strings.Index(got, "msg=before"), strings.Index(got, "msg=trouble")
	if before < 0 || trouble < before || !strings.Contains(got, "component=test") {
		t.Fatalf("a warning, after an info line, wrote: %q", got)
	}
	log.Error("failed")
	if !strings.Contains(out.String(), "msg=failed") {
		t.Fatalf("an error was held back: %q", out.String())
	}
}

func TestTheClockFlushes(t *testing.T) {
	var out syncbuf.Buffer
	w := logbuf.New(&out, 10*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "line")
	deadline := time.Now().Add(10 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the line was not written by the clock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAFullBufferIsWrittenAtOnce(t *testing.T) {
	var out syncbuf.Buffer
	w := logbuf.New(&out, never)
	defer w.Close()
	line := strings.Repeat("x", 1023) + "\n"
	for range logbuf.DefaultLimit / len(line) {
		w.Write([]byte(line))
	}
	if n := len(out.String()); n != logbuf.DefaultLimit {
		t.Fatalf("%d bytes written once %d collected; want all of them", n, logbuf.DefaultLimit)
	}
}

func TestCloseWritesTheRestAndLaterLinesGoStraight(t *testing.T) {
	var out syncbuf.Buffer
	w := logbuf.New(&out, never)
	fmt.Fprintln(w, "kept")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "kept\n" {
		t.Fatalf("after Close: %q", out.String())
	}
	fmt.Fprintln(w, "late")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "kept\nlate\n" {
		t.Fatalf("a line after Close: %q", out.String())
	}
}

// Lines from many goroutines come out whole, each once, whatever flushes
// between them.
func TestConcurrentLinesComeOutWhole(t *testing.T) {
	var out syncbuf.Buffer
	w := logbuf.New(&out, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(w, "g%d line %d %s\n", g, i, strings.Repeat("y", i%300))
				if i%97 == 0 {
					w.Flush()
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g, i int
		var pad string
		if n, _ := fmt.Sscanf(line, "g%d line %d %s", &g, &i, &pad); n < 2 || (i%300 != 0 && pad != strings.Repeat("y", i%300)) {
			t.Fatalf("a line came out cut or mixed: %q", line)
		}
		key := fmt.Sprint(g, " ", i)
		if seen[key] {
			t.Fatalf("line %s twice", key)
		}
		seen[key] = true
	}
	if len(seen) != 8*500 {
		t.Fatalf("%d lines of %d", len(seen), 8*500)
	}
}

// What a Writer collects is written as one write below.
func TestOneWriteForManyLines(t *testing.T) {
	var out countingWriter
	w := logbuf.New(&out, never)
	for range 100 {
		fmt.Fprintln(w, "a line")
	}
	w.Close()
	if out.writes != 1 || out.Len() != 700 {
		t.Fatalf("%d writes of %d bytes in all; want 1 of 700", out.writes, out.Len())
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}
