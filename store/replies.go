package store

import (
	"encoding/binary"

	"github.com/wxreply/wxreply/internal/fifo"
)

// replyRing keeps the replies of a Memory's retries in one buffer of at most
// max bytes, overwriting the oldest first: the replies cost their bytes and
// a header, with no slice, string or allocation of their own for the
// garbage collector to track, and their total is bounded whatever their
// sizes. It grows by doubling up to max, with the replies still needed:
// before it grows, the oldest records whose retries are gone (expired,
// evicted, claimed again) make room.
//
// A record is the key of its retry, the reply's length and the reply. Each
// record still needed that is dropped to make room is handed back by key,
// so that its retry knows it has no reply to give.
type replyRing struct {
	buf []byte
	max int
	// Offsets into everything ever written, so that they never wrap: the
	// oldest record kept, and where the next goes. Byte o is at
	// buf[o%len(buf)].
	tail, head uint64
}

const recordHeader = len(fifo.Key{}) + 4

// maxReplyBytes bounds a ring's size: a record's length is a uint32.
const maxReplyBytes = 1 << 31

func newReplyRing(maxBytes int) replyRing {
	return replyRing{max: min(maxBytes, maxReplyBytes)}
}

// add keeps reply as key's, first dropping the oldest records whose room it
// needs: those no longer needed (needed reports it by key and offset) before
// the ring grows, and those still needed once it is at max, each handed to
// drop. It returns the new record's offset, or false when the record is
// larger than the whole ring.
func (r *replyRing) add(key fifo.Key, reply []byte, needed func(key fifo.Key, off uint64) bool, drop func(key fifo.Key, off uint64)) (off uint64, ok bool) {
	need := uint64(recordHeader + len(reply))
	if need > uint64(r.max) {
		return 0, false
	}
	for uint64(len(r.buf))-(r.head-r.tail) < need {
		var oldest fifo.Key
		var size uint64
		if r.head > r.tail {
			var h [recordHeader]byte
			r.read(r.tail, h[:])
			oldest, size = fifo.Key(h[:len(key)]), uint64(recordHeader)+uint64(binary.LittleEndian.Uint32(h[len(key):]))
		}
		at := r.tail
		switch {
		case size > 0 && !needed(oldest, at):
			r.tail += size
		case len(r.buf) < r.max:
			r.grow()
		default:
			r.tail += size
			drop(oldest, at)
		}
	}
	var h [recordHeader]byte
	copy(h[:], key[:])
	binary.LittleEndian.PutUint32(h[len(key):], uint32(len(reply)))
	off = r.head
	r.write(off, h[:])
	r.write(off+uint64(recordHeader), reply)
	r.head += need
	return off, true
}

// reply returns a copy of the n bytes of the reply whose record is at off,
// which must still be kept: the ring overwrites them later.
func (r *replyRing) reply(off uint64, n uint32) []byte {
	b := make([]byte, n)
	r.read(off+uint64(recordHeader), b)
	return b
}

func (r *replyRing) write(off uint64, p []byte) {
	for len(p) > 0 {
		n := copy(r.buf[off%uint64(len(r.buf)):], p)
		p, off = p[n:], off+uint64(n)
	}
}

func (r *replyRing) read(off uint64, p []byte) {
	for len(p) > 0 {
		n := copy(p, r.buf[off%uint64(len(r.buf)):])
		p, off = p[n:], off+uint64(n)
	}
}

// grow doubles the buffer, up to max. The ring drops records only once it
// is at max, so until then it has never wrapped: what it keeps is
// buf[:head], where it stays.
func (r *replyRing) grow() {
	old := r.buf
	r.buf = make([]byte, min(max(4096, 2*len(old)), r.max))
	// The records kept may wrap around the old buffer: the tail has moved
	// past records no longer needed.
	for o := r.tail; o < r.head; {
		chunk := old[o%uint64(len(old)):]
		chunk = chunk[:min(uint64(len(chunk)), r.head-o)]
		r.write(o, chunk)
		o += uint64(len(chunk))
	}
}
