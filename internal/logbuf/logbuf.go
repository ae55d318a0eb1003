// Package logbuf buffers a server's log lines: most are written together,
// a few times a second, instead of each with a write(2) of its own, which
// on a busy server costs more than formatting the line. A line at warning
// level or above is written at once, with everything before it, so that
// what explains a failure is never held back.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writer collects what is written to it and passes it on to the writer
// below every interval, when a buffer's worth has collected, on Flush, and
// on Close.
type Writer struct {
	out io.Writer

	mu     sync.Mutex // guards buf and closed
	buf    []byte
	closed bool
	spare  []byte // the buffer written last, reused; guarded by writing

	// writing keeps the writes below in order: a flush takes the buffer
	// under mu, and writes it holding writing alone, so that a slow writer
	// below (a full pipe) holds back the flushes, not the loggers, until
	// the next buffer fills.
	writing sync.Mutex

	stop chan struct{}
	done chan struct{}
}

// DefaultInterval is how long a line may wait to be written.
const DefaultInterval = 100 * time.Millisecond

// DefaultLimit is how much may collect before it is written at once.
const DefaultLimit = 64 << 10

// New returns a Writer over out, flushed every interval (DefaultInterval
// when 0) by a goroutine that Close ends.
func New(out io.Writer, interval time.Duration) *Writer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	w := &Writer{out: out, stop: make(chan struct{}), done: make(chan struct{})}
	go w.flushEvery(interval)
	return w
}

func (w *Writer) flushEvery(interval time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			w.Flush()
		case <-w.stop:
			return
		}
	}
}

// Write keeps p to write later; once closed, it writes p at once. A full
// buffer is written before Write returns.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.writing.Lock()
		defer w.writing.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= DefaultLimit
	w.mu.Unlock()
	if full {
		if err := w.Flush(); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes what has collected.
func (w *Writer) Flush() error {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	pending := w.buf
	if len(pending) == 0 {
		w.mu.Unlock()
		return nil
	}
	w.buf = w.spare[:0]
	w.mu.Unlock()
	_, err := w.out.Write(pending)
	if cap(pending) <= 2*DefaultLimit { // one huge record is not kept
		w.spare = pending
	} else {
		w.spare = nil
	}
	return err
}

// Close stops the flushing goroutine and writes what has collected; what
// is written after goes straight through.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	return w.Flush()
}

// Handler returns h, whose output goes to w, with each record at warning
// level or above flushed as soon as it is written when w is a Writer; h
// itself when w is not.
func Handler(h slog.Handler, w io.Writer) slog.Handler {
	if w, ok := w.(*Writer); ok {
		return flushingHandler{h, w}
	}
	return h
}

type flushingHandler struct {
	slog.Handler
	w *Writer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.w}
}
