// Package fifo is the insertion order of a cache whose entries all live
// equally long, so that the oldest entry is also the first to expire:
// expiring and evicting both take from the head, in O(1) amortised, with no
// sweep over the whole cache. The server's replay cache and the store's
// retry entries use it.
package fifo

// Queue is a ring buffer that grows by doubling and never shrinks: its size
// follows the cache's cap, not the traffic. Its zero value is empty and
// ready to use; it is not safe for concurrent use.
type Queue[K comparable] struct {
	buf     []Item[K]
	head, n int
}

// Item is a key and when its entry expires.
type Item[K comparable] struct {
	Key     K
	Expires int64 // Unix nanoseconds
}

// Len is how many items the queue holds.
func (q *Queue[K]) Len() int { return q.n }

// Push adds an item at the tail.
func (q *Queue[K]) Push(key K, expires int64) {
	if q.n == len(q.buf) {
		grown := make([]Item[K], max(16, 2*len(q.buf)))
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = Item[K]{key, expires}
	q.n++
}

// Peek returns the oldest item; the queue must not be empty.
func (q *Queue[K]) Peek() Item[K] { return q.buf[q.head] }

// Pop drops the oldest item; the queue must not be empty.
func (q *Queue[K]) Pop() {
	var zero Item[K]
	q.buf[q.head] = zero // let the key's memory go
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}
