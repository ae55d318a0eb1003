package logbuf_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wxreply/wxreply/internal/logbuf"
)

// recorder keeps each write it gets.
type recorder struct {
	mu     sync.Mutex
	writes []string
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func TestHeldUntilTheInterval(t *testing.T) {
	var r recorder
	w := logbuf.New(&r, 1024, 50*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "one")
	fmt.Fprintln(w, "two")
	if got := r.got(); len(got) != 0 {
		t.Fatalf("written at once: %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.got(); len(got) != 1 || got[0] != "one\ntwo\n" {
		t.Fatalf("writes %q, want the two lines in one", got)
	}
	// And again, for lines written after a timed flush.
	fmt.Fprintln(w, "three")
	for len(r.got()) == 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.got(); len(got) != 2 || got[1] != "three\n" {
		t.Fatalf("writes %q, want a second write of three", got)
	}
}

func TestFullBufferAndLongLines(t *testing.T) {
	var r recorder
	w := logbuf.New(&r, 10, time.Hour)
	for _, line := range []string{"aaaa\n", "bbbb\n", "cc\n", "a line longer than the buffer\n", "dd\n"} {
		if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", line, n, err)
		}
	}
	want := []string{"aaaa\nbbbb\n", "cc\n", "a line longer than the buffer\n"}
	if got := r.got(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("writes %q, want %q", got, want)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := r.got(); len(got) != 4 || got[3] != "dd\n" {
		t.Fatalf("after Flush: %q", got)
	}
	if err := w.Flush(); err != nil || len(r.got()) != 4 {
		t.Fatalf("an empty Flush wrote: %q, %v", r.got(), err)
	}
}

func TestCloseWritesTheRestThenPassesThrough(t *testing.T) {
	var r recorder
	w := logbuf.New(&r, 1024, time.Hour)
	fmt.Fprintln(w, "held")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "after")
	if got := r.got(); strings.Join(got, "|") != "held\n|after\n" {
		t.Fatalf("writes %q", got)
	}
}

func TestWriteErrors(t *testing.T) {
	r := recorder{err: errors.New("disk full")}
	w := logbuf.New(&r, 8, time.Hour)
	fmt.Fprint(w, "abcdef")
	if _, err := w.Write([]byte("ghijkl")); err == nil {
		t.Error("a Write that flushed to a failing writer said nothing")
	}
	fmt.Fprint(w, "x")
	if err := w.Close(); err == nil {
		t.Error("Close to a failing writer said nothing")
	}
}

// TestConcurrentLinesStayWhole logs from many goroutines through slog, as
// serve does: every line arrives, whole, and every write holds whole lines.
func TestConcurrentLinesStayWhole(t *testing.T) {
	var r recorder
	w := logbuf.New(&r, 4096, time.Millisecond)
	log := slog.New(slog.NewJSONHandler(w, nil))
	const goroutines, lines = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range lines {
				log.Info("push answered", "g", g, "i", i, "pad", strings.Repeat("x", i%300))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, write := range r.got() {
		if !strings.HasSuffix(write, "\n") {
			t.Fatalf("a write ends inside a line: %q", write[max(0, len(write)-80):])
		}
		for _, line := range strings.Split(strings.TrimSuffix(write, "\n"), "\n") {
			if !strings.HasPrefix(line, `{"time":`) || !strings.HasSuffix(line, "}") {
				t.Fatalf("a broken line: %q", line)
			}
			seen[line] = true
		}
	}
	if len(seen) != goroutines*lines {
		t.Errorf("%d lines arrived, want %d", len(seen), goroutines*lines)
	}
}

// BenchmarkLog logs a push's line with slog's JSON handler, as serve does
// to stderr, from GOMAXPROCS goroutines: to a file and to a pipe (stderr
// read by a container's log collector), straight and through a Writer.
func BenchmarkLog(b *testing.B) {
	for _, to := range []string{"file", "pipe"} {
		for _, via := range []string{"direct", "logbuf"} {
			b.Run(to+"/"+via, func(b *testing.B) {
				var out *os.File
				if to == "file" {
					f, err := os.Create(filepath.Join(b.TempDir(), "log"))
					if err != nil {
						b.Fatal(err)
					}
					out = f
				} else {
					r, w, err := os.Pipe()
					if err != nil {
						b.Fatal(err)
					}
					drained := make(chan struct{})
					go func() { io.Copy(io.Discard, r); close(drained) }()
					defer func() { <-drained }()
					out = w
				}
				defer out.Close()
				var w io.Writer = out
				if via == "logbuf" {
					lb := logbuf.New(out, 0, 0)
					defer lb.Close()
					w = lb
				}
				log := slog.New(slog.NewJSONHandler(w, nil))
				b.ReportAllocs()
				start := cpuTime()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						log.Info("push answered", "msgtype", "text", "event", "", "outcome", "replied",
							"latency_ms", 0.25, "encrypted", false, "rule", "text-echo")
					}
				})
				// CPU time, user and system, of the whole process: the cost
				// of a line, which the time of day hides on a busy machine.
				b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the CPU time the process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
