// Package fifo is the storage of a cache whose entries all live equally
// long, so that the oldest entry is also the first to expire: expiring and
// evicting both take from the head of a ring, in O(1) amortised, with no
// sweep over the whole cache. The server's replay cache and the store's
// retries use it.
//
// A Set keeps its entries in the ring itself, in the order they came, and
// finds them through an open-addressed index of ring positions. With a
// pointer-free value type it holds no pointers at all, so the garbage
// collector never scans it, and an entry costs its key, value and expiry
// plus 8 to 16 bytes of index: a Go map and a queue of keys beside it cost
// two to three times that.
package fifo

import (
	"encoding/binary"
	"math"
	"time"
)

// Key names an entry. Keys must be hashes (uniform, and not chosen by
// whoever sends the traffic): the index takes their first 8 bytes as they
// are, and keys an attacker could choose would pile up in one run of it.
type Key [16]byte

// capLimit bounds a Set's cap: ring positions are kept as uint32.
const capLimit = 1 << 30

// dead is the expiry of a ring slot whose key was added again later (a
// clock that went back) or evicted out of turn: it is skipped when it
// reaches the head. No clock reads MinInt64, and every clock reads past it,
// so a dead slot at the head always goes.
const dead = math.MinInt64

// Set holds at most its cap of keys, each with a value of type V, for its
// TTL. When full, adding a key evicts the oldest one; keys whose time is up
// go as new ones are added, oldest first. It is not safe for concurrent use.
type Set[V any] struct {
	ttl    int64 // nanoseconds
	max    int
	onDrop func(key Key, v *V, evicted bool)

	ring    []slot[V]
	head, n int // the oldest slot, and how many are in use, dead ones included
	live    int
	index   []uint32 // ring position + 1, or 0 for none; linear probing
	evicted uint64
}

type slot[V any] struct {
	key     Key
	expires int64 // Unix nanoseconds, or dead
	val     V
}

// NewSet returns an empty Set whose keys live for ttl, at most maxEntries
// of them (at least 1, at most 2^30). onDrop, when not nil, is called with
// each key that goes and its value: evicted says before its time, to make
// room.
func NewSet[V any](ttl time.Duration, maxEntries int, onDrop func(key Key, v *V, evicted bool)) *Set[V] {
	return &Set[V]{ttl: int64(ttl), max: min(max(maxEntries, 1), capLimit), onDrop: onDrop}
}

// Len is how many keys the set holds. Some may have expired and not gone
// yet, behind a later one, when the clock went back.
func (s *Set[V]) Len() int { return s.live }

// Evictions is how many keys went before their time: at the cap, or by
// Evict.
func (s *Set[V]) Evictions() uint64 { return s.evicted }

// Add drops the keys whose time is up at now, then returns the value of key
// with added false if the set holds it unexpired; otherwise it adds key
// with a zero value, evicting the oldest key when full, and returns that
// value with added true. The pointer is good until the next Add.
func (s *Set[V]) Add(key Key, now int64) (v *V, added bool) {
	s.expire(now)
	if i, ok := s.find(key); ok {
		sl := &s.ring[s.index[i]-1]
		if now < sl.expires {
			return &sl.val, false
		}
		// Expired, yet behind a key that expires later: the clock went
		// back. The key is added afresh, at the tail.
		s.remove(i, sl, false)
	}
	for s.live >= s.max {
		s.pop(true)
	}
	if s.n == len(s.ring) {
		if len(s.ring) < s.max {
			s.grow()
		}
		for s.n == len(s.ring) { // dead slots fill it
			s.pop(true)
		}
	}
	pos := (s.head + s.n) % len(s.ring)
	s.ring[pos] = slot[V]{key: key, expires: now + s.ttl}
	s.n++
	s.live++
	i, _ := s.find(key)
	s.index[i] = uint32(pos) + 1
	return &s.ring[pos].val, true
}

// Get returns the value of key, expired or not: what was added is there
// until it goes from the head, or by Evict. The pointer is good until the
// next Add.
func (s *Set[V]) Get(key Key) (v *V, ok bool) {
	i, ok := s.find(key)
	if !ok {
		return nil, false
	}
	return &s.ring[s.index[i]-1].val, true
}

// AddedAt returns when key was added, expired or not, as Get finds it.
func (s *Set[V]) AddedAt(key Key) (now int64, ok bool) {
	i, ok := s.find(key)
	if !ok {
		return 0, false
	}
	return s.ring[s.index[i]-1].expires - s.ttl, true
}

// Evict drops key out of turn, as an eviction, if the set holds it.
func (s *Set[V]) Evict(key Key) {
	if i, ok := s.find(key); ok {
		s.remove(i, &s.ring[s.index[i]-1], true)
	}
}

// expire drops the keys whose time is up. They all live equally long, so
// they are the oldest, at the head.
func (s *Set[V]) expire(now int64) {
	for s.n > 0 && now >= s.ring[s.head].expires {
		s.pop(false)
	}
}

// pop frees the head slot, dropping its key unless the slot is dead.
func (s *Set[V]) pop(evict bool) {
	sl := &s.ring[s.head]
	if sl.expires != dead {
		i, _ := s.find(sl.key)
		s.remove(i, sl, evict)
	}
	*sl = slot[V]{} // let go of whatever V points to
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}

// remove drops the key of sl, found at index[i]. Its slot stays in the
// ring, dead, until it reaches the head.
func (s *Set[V]) remove(i int, sl *slot[V], evict bool) {
	s.unindex(i)
	sl.expires = dead
	s.live--
	if evict {
		s.evicted++
	}
	if s.onDrop != nil {
		s.onDrop(sl.key, &sl.val, evict)
	}
}

// find returns where key is in the index, or where it would go.
func (s *Set[V]) find(key Key) (i int, ok bool) {
	if len(s.index) == 0 {
		return 0, false
	}
	mask := len(s.index) - 1
	for i = s.home(key); ; i = (i + 1) & mask {
		p := s.index[i]
		if p == 0 {
			return i, false
		}
		if s.ring[p-1].key == key {
			return i, true
		}
	}
}

func (s *Set[V]) home(key Key) int {
	return int(binary.LittleEndian.Uint64(key[:8]) & uint64(len(s.index)-1))
}

// unindex empties index[i], moving back the positions after it that would
// no longer be found past the hole (deletion without tombstones).
func (s *Set[V]) unindex(i int) {
	mask := len(s.index) - 1
	s.index[i] = 0
	for j := (i + 1) & mask; s.index[j] != 0; j = (j + 1) & mask {
		p := s.index[j]
		// p may fill the hole if the hole lies between p's home and j.
		if home := s.home(s.ring[p-1].key); (j-home)&mask >= (j-i)&mask {
			s.index[i], s.index[j] = p, 0
			i = j
		}
	}
}

// grow doubles the ring, up to the cap, and rebuilds the index at twice the
// ring's size or more, so that a probe is short: the ring grows with the
// traffic, not to the cap at once.
func (s *Set[V]) grow() {
	ring := make([]slot[V], min(max(16, 2*len(s.ring)), s.max))
	for i := range s.n {
		ring[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	size := 1
	for size < 2*len(ring) {
		size *= 2
	}
	s.ring, s.head, s.index = ring, 0, make([]uint32, size)
	for pos := range s.n {
		if ring[pos].expires != dead {
			i, _ := s.find(ring[pos].key)
			s.index[i] = uint32(pos) + 1
		}
	}
}
