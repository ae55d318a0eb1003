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
// size, byte for byte, across its growth and its wrap; it makes room with
// the records no longer needed before it grows, and hands back each record
// still needed that it drops, oldest first.
func TestReplyRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type record struct {
		key   fifo.Key
		off   uint64
		reply []byte
	}
	size := func(rec record) int { return recordHeader + len(rec.reply) }
	for round := range 200 {
		maxBytes := recordHeader + rng.IntN(3000)
		if round%2 == 1 {
			maxBytes = recordHeader + 4096 + rng.IntN(20000) // grows past its first buffer
		}
		r := newReplyRing(maxBytes)
		var kept []record // the model: what the ring holds, newest last
		used, capacity := 0, 0
		gone := map[fifo.Key]bool{} // records no longer needed
		needed := func(k fifo.Key, off uint64) bool { return !gone[k] }
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
			off, ok := r.add(k, reply, needed, drop)
			need := recordHeader + len(reply)
			if ok != (need <= maxBytes) {
				t.Fatalf("round %d: a record of %d bytes in a ring of %d: add = %v", round, need, maxBytes, ok)
			}
			if !ok {
				continue
			}
			var wantDropped []at
			for capacity-used < need {
				switch {
				case len(kept) > 0 && gone[kept[0].key]:
					used -= size(kept[0])
					kept = kept[1:]
				case capacity < maxBytes:
					capacity = min(max(4096, 2*capacity), maxBytes)
				default:
					wantDropped = append(wantDropped, at{kept[0].key, kept[0].off})
					used -= size(kept[0])
					kept = kept[1:]
				}
			}
			if !slices.Equal(dropped, wantDropped) {
				t.Fatalf("round %d record %d: dropped %v, want %v", round, i, dropped, wantDropped)
			}
			kept = append(kept, record{k, off, reply})
			used += need
			if len(r.buf) != capacity {
				t.Fatalf("round %d record %d: %d bytes of buffer, want %d", round, i, len(r.buf), capacity)
			}
			for _, rec := range kept {
				if got := r.reply(rec.off, uint32(len(rec.reply))); !gone[rec.key] && !bytes.Equal(got, rec.reply) {
					t.Fatalf("round %d record %d: a kept reply came back changed", round, i)
				}
			}
			// Some retries go: expired, evicted, or claimed again.
			if len(kept) > 0 && rng.IntN(3) == 0 {
				gone[kept[rng.IntN(len(kept))].key] = true
			}
		}
	}
}
