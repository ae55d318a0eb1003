// Package logbuf holds log lines on their way to a writer such as stderr,
// so that a server logging a line per request makes a write a tenth of a
// second rather than one a line.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Defaults for New.
const (
	DefaultSize     = 32 << 10
	DefaultInterval = 100 * time.Millisecond
)

// Writer holds what is written to it and passes it on to its writer in one
// write: when the next write would overflow the buffer, interval after the
// first write it holds, and on Flush and Close. A write is never split: a
// log handler writes a whole line a call (slog's do), so lines reach the
// writer whole; one larger than the buffer goes through alone, after what
// is held. A crash loses what is held: at most an interval of lines.
//
// A Writer is safe for concurrent use. An interval's flush runs on a timer,
// so an idle Writer has no goroutine and needs no Close to be collected.
type Writer struct {
	w        io.Writer
	interval time.Duration

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer // flushes interval after the buffer stops being empty
	closed bool        // writes go straight through
}

// New returns a Writer holding up to size bytes for w, for at most
// interval; size <= 0 and interval <= 0 mean the defaults.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	if size <= 0 {
		size = DefaultSize
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Writer{w: w, interval: interval, buf: make([]byte, 0, size)}
}

// Write holds p, or writes it through once the Writer is closed. Its error
// is that of writing what was held, when p did not fit.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.w.Write(p)
	}
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flush(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			return b.w.Write(p)
		}
	}
	if len(b.buf) == 0 {
		if b.timer == nil {
			b.timer = time.AfterFunc(b.interval, b.flushTimed)
		} else {
			// A stale run of flushTimed at worst writes this line early.
			b.timer.Reset(b.interval)
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *Writer) flushTimed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Its error has no one to go to: the lines are dropped, as an unbuffered
	// log handler drops a line whose write fails.
	b.flush()
}

// flush writes what is held; b.mu is held. What failed to be written is
// dropped, so that a broken writer does not grow the buffer.
func (b *Writer) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Flush writes what is held.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flush()
}

// Close writes what is held; later writes go straight through, so that
// nothing logged after it, say by a goroutine still stopping, is lost.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.closed = true
	return b.flush()
}
