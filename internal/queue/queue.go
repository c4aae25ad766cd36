// Package queue is a bounded FIFO that never blocks its producers: when it
// is full the oldest item makes room and is counted as dropped. bmcd uses it
// wherever a fast producer (a machine logging events, the event service
// fanning them out) must not wait for a slow consumer (an HTTP destination,
// a Server-Sent Events client).
package queue

import "sync"

// Queue is a bounded FIFO for any number of producers and one consumer.
// The zero value is not usable; create one with New. Safe for concurrent
// use.
type Queue[T any] struct {
	mu      sync.Mutex
	buf     []T // ring of len == capacity
	head    int // index of the oldest item
	n       int // items held
	dropped uint64
	closed  bool
	ready   chan struct{} // holds a token while items may be waiting
	done    chan struct{} // closed by Close
}

// New returns an empty queue that holds at most capacity items (at least 1).
func New[T any](capacity int) *Queue[T] {
	if capacity < 1 {
		capacity = 1
	}
	return &Queue[T]{buf: make([]T, capacity), ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push appends v. It never blocks: a full queue drops its oldest item
// first (see Dropped). It reports false, and keeps nothing, once the queue
// is closed.
func (q *Queue[T]) Push(v T) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.n == len(q.buf) {
		var zero T
		q.buf[q.head] = zero
		q.head = (q.head + 1) % len(q.buf)
		q.n--
		q.dropped++
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default: // a token is already waiting
	}
	return true
}

// Pop removes and returns the oldest item; ok is false when the queue is
// empty. It does not wait: receive from Ready first.
func (q *Queue[T]) Pop() (v T, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return v, false
	}
	v = q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return v, true
}

// Ready receives a value after a Push; the consumer then Pops until the
// queue is empty. A token may arrive with nothing left to pop.
func (q *Queue[T]) Ready() <-chan struct{} { return q.ready }

// Done is closed by Close.
func (q *Queue[T]) Done() <-chan struct{} { return q.done }

// Len is the number of items waiting.
func (q *Queue[T]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// Cap is the most items the queue holds.
func (q *Queue[T]) Cap() int { return len(q.buf) }

// Dropped is how many items were discarded to make room, since New.
func (q *Queue[T]) Dropped() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// Close stops the queue accepting items and closes Done. Items already
// queued can still be popped. Closing twice is harmless.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
}
