package fifo

import "testing"

// TestQueue: items come out in the order they went in, across the ring's
// wrap and its growth.
func TestQueue(t *testing.T) {
	var q Queue[int]
	next, want := 0, 0
	push := func(n int) {
		for range n {
			q.Push(next, int64(next))
			next++
		}
	}
	pop := func(n int) {
		for range n {
			if it := q.Peek(); it.Key != want || it.Expires != int64(want) {
				t.Fatalf("Peek = %+v, want key %d", it, want)
			}
			q.Pop()
			want++
		}
	}
	push(10)
	pop(7)
	push(20) // wraps, then grows from 16 to 32
	pop(13)
	push(40)
	if q.Len() != next-want {
		t.Fatalf("Len %d, want %d", q.Len(), next-want)
	}
	pop(q.Len())
	if q.Len() != 0 {
		t.Errorf("Len %d after popping everything", q.Len())
	}
}
