package server

// fifo is the insertion order of a cache whose entries all live equally
// long, so that the oldest entry is also the first to expire: expiring and
// evicting both take from the head, in O(1) amortised, with no sweep over
// the whole cache. It is a ring buffer that grows by doubling and never
// shrinks: its size follows the cache's cap, not the traffic.
type fifo[K comparable] struct {
	buf     []fifoItem[K]
	head, n int
}

type fifoItem[K comparable] struct {
	key     K
	expires int64 // Unix nanoseconds
}

func (q *fifo[K]) len() int { return q.n }

func (q *fifo[K]) push(key K, expires int64) {
	if q.n == len(q.buf) {
		grown := make([]fifoItem[K], max(16, 2*len(q.buf)))
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = fifoItem[K]{key, expires}
	q.n++
}

// peek returns the oldest item; the queue must not be empty.
func (q *fifo[K]) peek() fifoItem[K] { return q.buf[q.head] }

// pop drops the oldest item; the queue must not be empty.
func (q *fifo[K]) pop() {
	var zero fifoItem[K]
	q.buf[q.head] = zero // let the key's memory go
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}
