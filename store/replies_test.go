package store

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wxreply/wxreply/internal/fifo"
)

// TestReplyRing: the ring keeps the newest replies whose records fit in its
// size, byte for byte, across its growth and its wrap, and hands back each
// record it drops, oldest first.
func TestReplyRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type record struct {
		key   fifo.Key
		off   uint64
		reply []byte
	}
	for round := range 100 {
		maxBytes := recordHeader + rng.IntN(3000)
		r := newReplyRing(maxBytes)
		var kept []record // the model: what fits, newest last
		used := 0
		type at struct {
			key fifo.Key
			off uint64
		}
		var dropped []at
		drop := func(k fifo.Key, off uint64) { dropped = append(dropped, at{k, off}) }
		for i := range 300 {
			var k fifo.Key
			binary.LittleEndian.PutUint64(k[:], uint64(round*1000+i))
			reply := make([]byte, rng.IntN(400))
			for j := range reply {
				reply[j] = byte(rng.Uint32())
			}
			dropped = dropped[:0]
			off, ok := r.add(k, reply, drop)
			need := recordHeader + len(reply)
			if ok != (need <= maxBytes) {
				t.Fatalf("round %d: a record of %d bytes in a ring of %d: add = %v", round, need, maxBytes, ok)
			}
			if !ok {
				continue
			}
			var wantDropped []at
			for used+need > maxBytes {
				wantDropped = append(wantDropped, at{kept[0].key, kept[0].off})
				used -= recordHeader + len(kept[0].reply)
				kept = kept[1:]
			}
			if !slices.Equal(dropped, wantDropped) {
				t.Fatalf("round %d record %d: dropped %v, want %v", round, i, dropped, wantDropped)
			}
			kept = append(kept, record{k, off, reply})
			used += need
			for _, rec := range kept {
				if got := r.reply(rec.off, uint32(len(rec.reply))); !bytes.Equal(got, rec.reply) {
					t.Fatalf("round %d record %d: a kept reply came back changed", round, i)
				}
			}
			if len(r.buf) > maxBytes {
				t.Fatalf("round %d: %d bytes of buffer for a ring of %d", round, len(r.buf), maxBytes)
			}
		}
	}
}
