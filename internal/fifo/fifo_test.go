package fifo

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// key makes a Key from i whose index home is i%homes: with few homes the
// keys collide in the index, as hashes rarely do, so that the probing and
// the deletion from the index are tested.
func key(i, homes int) Key {
	var k Key
	binary.LittleEndian.PutUint64(k[:8], uint64(i%homes))
	binary.LittleEndian.PutUint64(k[8:], uint64(i))
	return k
}

type dropped struct {
	key     Key
	val     int
	evicted bool
}

// TestSet: keys live their TTL, the oldest go first at the cap, and a
// key's value stays until it goes.
func TestSet(t *testing.T) {
	var drops []dropped
	s := NewSet(10*time.Second, 3, func(k Key, v *int, evicted bool) { drops = append(drops, dropped{k, *v, evicted}) })
	sec := int64(time.Second)
	now := int64(1718170000) * sec
	add := func(i int) bool {
		v, added := s.Add(key(i, 1), now)
		if added {
			*v = i
		} else if *v != i {
			t.Fatalf("key %d holds %d", i, *v)
		}
		return added
	}
	for i := range 3 {
		if !add(i) {
			t.Fatalf("key %d was there before it was added", i)
		}
	}
	if add(1) {
		t.Error("key 1 was added again within its TTL")
	}
	add(3) // the cap: 0 goes
	if want := []dropped{{key(0, 1), 0, true}}; !slices.Equal(drops, want) {
		t.Errorf("drops %v, want %v", drops, want)
	}
	if _, ok := s.Get(key(0, 1)); ok {
		t.Error("the evicted key is still there")
	}
	s.Evict(key(2, 1))
	if s.Len() != 2 || s.Evictions() != 2 {
		t.Errorf("Len %d, Evictions %d; want 2 and 2", s.Len(), s.Evictions())
	}
	now += 10 * sec // 1 and 3 expire with the next Add, and are not evictions
	drops = nil
	add(4)
	if want := []dropped{{key(1, 1), 1, false}, {key(3, 1), 3, false}}; !slices.Equal(drops, want) {
		t.Errorf("drops %v, want %v", drops, want)
	}
	if s.Len() != 1 || s.Evictions() != 2 {
		t.Errorf("Len %d, Evictions %d; want 1 and 2", s.Len(), s.Evictions())
	}
}

// TestSetClockBack: when the clock goes back, a key can expire behind one
// that expires later; added again, it takes a new place at the tail, and
// its old place goes unnoticed when it reaches the head.
func TestSetClockBack(t *testing.T) {
	var drops []dropped
	s := NewSet(10*time.Second, 10, func(k Key, v *int, evicted bool) { drops = append(drops, dropped{k, *v, evicted}) })
	sec := int64(time.Second)
	now := 100 * sec
	s.Add(key(1, 1), now)       // expires at 110
	s.Add(key(2, 1), now-5*sec) // expires at 105: the clock went back
	now = 106 * sec
	// 1 at the head has not expired, so 2 is still held, expired.
	if s.Len() != 2 {
		t.Fatalf("Len %d, want 2", s.Len())
	}
	v, added := s.Add(key(2, 1), now)
	if !added {
		t.Fatal("an expired key counted as held")
	}
	*v = 2
	if want := []dropped{{key(2, 1), 0, false}}; !slices.Equal(drops, want) {
		t.Errorf("drops %v, want %v", drops, want)
	}
	now = 110 * sec // 1 goes, then 2's old place, unnoticed
	drops = nil
	s.Add(key(3, 1), now)
	if want := []dropped{{key(1, 1), 0, false}}; !slices.Equal(drops, want) {
		t.Errorf("drops %v, want %v", drops, want)
	}
	if v, ok := s.Get(key(2, 1)); !ok || *v != 2 {
		t.Errorf("key 2 added again: Get = %v, %v", v, ok)
	}
	if s.Len() != 2 || s.Evictions() != 0 {
		t.Errorf("Len %d, Evictions %d; want 2 and 0", s.Len(), s.Evictions())
	}
}

// model is a Set as a map and a queue of what was added, as the caches
// were before Set: what Set must do, in random steps.
type model struct {
	ttl      int64
	max      int
	entries  map[Key]modelEntry
	order    []modelItem
	seq      int
	evicted  uint64
	drops    []dropped
	ringSize int // Set's ring: the queue holds as many, dead items included
}

type modelEntry struct {
	val     int
	expires int64
	seq     int
}

type modelItem struct {
	key Key
	seq int
}

func (m *model) add(k Key, now int64, val int) (int, bool) {
	for len(m.order) > 0 {
		if e, ok := m.entries[m.order[0].key]; ok && e.seq == m.order[0].seq && now < e.expires {
			break
		}
		m.pop(false)
	}
	if e, ok := m.entries[k]; ok {
		if now < e.expires {
			return e.val, false
		}
		m.drop(k, false)
	}
	for len(m.entries) >= m.max {
		m.pop(true)
	}
	if len(m.order) == m.ringSize {
		if m.ringSize < m.max {
			m.ringSize = min(max(16, 2*m.ringSize), m.max)
		}
		for len(m.order) == m.ringSize {
			m.pop(true)
		}
	}
	m.seq++
	m.entries[k] = modelEntry{val, now + m.ttl, m.seq}
	m.order = append(m.order, modelItem{k, m.seq})
	return val, true
}

func (m *model) pop(evict bool) {
	it := m.order[0]
	m.order = m.order[1:]
	if e, ok := m.entries[it.key]; ok && e.seq == it.seq {
		m.drop(it.key, evict)
	}
}

func (m *model) drop(k Key, evict bool) {
	m.drops = append(m.drops, dropped{k, m.entries[k].val, evict})
	delete(m.entries, k)
	if evict {
		m.evicted++
	}
}

// TestSetModel: random adds, evictions and clock steps, some back, give
// what the model gives, with keys that crowd the index.
func TestSetModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 60 {
		maxEntries := 1 + rng.IntN(40)
		homes := 1 + rng.IntN(8)
		var drops []dropped
		s := NewSet(100*time.Nanosecond, maxEntries, func(k Key, v *int, evicted bool) { drops = append(drops, dropped{k, *v, evicted}) })
		m := &model{ttl: 100, max: maxEntries, entries: map[Key]modelEntry{}}
		now := int64(1000)
		for step := range 300 {
			switch r := rng.IntN(20); {
			case r < 12:
				now += int64(rng.IntN(15))
			case r < 13:
				now -= int64(rng.IntN(50))
			}
			k := key(rng.IntN(60), homes)
			if rng.IntN(10) == 0 {
				s.Evict(k)
				if _, ok := m.entries[k]; ok {
					m.drop(k, true)
				}
			} else {
				val := round*1000 + step
				v, added := s.Add(k, now)
				if added {
					*v = val
				}
				wantVal, wantAdded := m.add(k, now, val)
				if added != wantAdded || *v != wantVal {
					t.Fatalf("round %d step %d: Add = %d, %v; want %d, %v", round, step, *v, added, wantVal, wantAdded)
				}
			}
			if !slices.Equal(drops, m.drops) {
				t.Fatalf("round %d step %d: drops %v, want %v", round, step, drops, m.drops)
			}
			if s.Len() != len(m.entries) || s.Evictions() != m.evicted {
				t.Fatalf("round %d step %d: Len %d, Evictions %d; want %d, %d", round, step, s.Len(), s.Evictions(), len(m.entries), m.evicted)
			}
			for i := range 60 {
				if step%10 != 0 && key(i, homes) != k {
					continue // all of them at times; the key of the step always
				}
				k := key(i, homes)
				v, ok := s.Get(k)
				e, wantOK := m.entries[k]
				if ok != wantOK || ok && *v != e.val {
					t.Fatalf("round %d step %d: Get(key %d) = %v, %v; want %d, %v", round, step, i, v, ok, e.val, wantOK)
				}
			}
		}
	}
}
