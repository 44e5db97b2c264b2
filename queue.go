package socketio

import (
	"context"
	"sync"
)

// taskQueue runs tasks one at a time in the order they were pushed, on a
// goroutine that exists only while there is work: idle queues cost no
// goroutine. It is bounded; push refuses tasks past the bound.
type taskQueue struct {
	track *tracker
	max   int

	mu      sync.Mutex
	tasks   []func()
	head    int
	running bool
}

// newTaskQueue returns a queue. When held is true the queue starts as if a
// runner were active: tasks accumulate until release is called.
func newTaskQueue(track *tracker, max int, held bool) *taskQueue {
	return &taskQueue{track: track, max: max, running: held}
}

// push appends a task and reports whether it was accepted.
func (q *taskQueue) push(task func()) bool { return q.add(task, false) }

// pushForce appends a task even past the bound.
func (q *taskQueue) pushForce(task func()) { q.add(task, true) }

func (q *taskQueue) add(task func(), force bool) bool {
	q.mu.Lock()
	if !force && len(q.tasks)-q.head >= q.max {
		q.mu.Unlock()
		return false
	}
	if q.head > 0 && q.head*2 >= len(q.tasks) {
		n := copy(q.tasks, q.tasks[q.head:])
		clear(q.tasks[n:])
		q.tasks, q.head = q.tasks[:n], 0
	}
	q.tasks = append(q.tasks, task)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		q.track.add()
		go q.run()
	}
	return true
}

// release makes the calling goroutine run the tasks that accumulated in a
// held queue, then returns. The caller must have been counted by the tracker.
func (q *taskQueue) release() { q.drain() }

func (q *taskQueue) run() {
	defer q.track.done()
	q.drain()
}

func (q *taskQueue) drain() {
	for {
		q.mu.Lock()
		if q.head == len(q.tasks) {
			q.tasks = q.tasks[:0]
			q.head = 0
			if cap(q.tasks) > 64 {
				q.tasks = nil
			}
			q.running = false
			q.mu.Unlock()
			return
		}
		task := q.tasks[q.head]
		q.tasks[q.head] = nil
		q.head++
		q.mu.Unlock()
		task()
	}
}

// tracker counts the goroutines a server started, so that Shutdown can wait
// for them.
type tracker struct {
	mu   sync.Mutex
	n    int
	zero chan struct{} // closed while n == 0
}

func newTracker() *tracker {
	t := &tracker{zero: make(chan struct{})}
	close(t.zero)
	return t
}

func (t *tracker) add() {
	t.mu.Lock()
	if t.n == 0 {
		t.zero = make(chan struct{})
	}
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 {
		close(t.zero)
	}
	t.mu.Unlock()
}

// goFunc runs f on a new counted goroutine.
func (t *tracker) goFunc(f func()) {
	t.add()
	go func() {
		defer t.done()
		f()
	}()
}

// wait returns when no counted goroutine is left, or with ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		zero := t.zero
		t.mu.Unlock()
		select {
		case <-zero:
			t.mu.Lock()
			n := t.n
			t.mu.Unlock()
			if n == 0 {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
