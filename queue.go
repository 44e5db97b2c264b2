package socketio

import (
	"sync"
	"time"

	"github.com/sio-go/socketio/internal/linger"
	"github.com/sio-go/socketio/internal/track"
)

// taskQueue runs tasks one at a time in the order they were pushed, on a
// goroutine that exists only while there is work: idle queues cost no
// goroutine. That is the goroutine that read the task's message when the
// connection can lend it (see push), otherwise one started for the queue.
// It is bounded: push refuses tasks past the bound, and a pusher can wait
// for room (waitRoom).
type taskQueue struct {
	track *track.Group
	max   int
	once  func() // runOnce, made on first use

	mu      sync.Mutex
	tasks   []func()
	head    int
	running bool
	idle    bool          // the runner lingers, waiting for a task
	closed  bool          // no task follows the last one pushed
	wake    chan struct{} // wakes the lingering runner, capacity 1
	room    *gate         // opened once the queue is down to half its bound
}

// A gate is a channel closed once, by whichever of several events comes
// first.
type gate struct {
	once sync.Once
	ch   chan struct{}
}

func newGate() *gate { return &gate{ch: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// queueLinger is how long a runner waits for another task before it exits:
// a busy socket keeps its goroutine (a new goroutine pays for growing its
// stack on every event), an idle one has none.
const queueLinger = time.Second

// afterReader is an Engine.IO connection (engineio.Conn.AfterRead): a task
// pushed while the connection's reader runs is run by that goroutine once
// it stops reading, rather than by a goroutine started for it.
type afterReader interface {
	AfterRead(f func()) bool
}

// newTaskQueue returns a queue. When held is true the queue starts as if a
// runner were active: tasks accumulate until release is called.
func newTaskQueue(track *track.Group, max int, held bool) *taskQueue {
	return &taskQueue{track: track, max: max, running: held}
}

// push appends a task and reports whether it was accepted. With a reader
// (the connection whose message the task handles), the goroutine reading
// it runs the queue when it can.
func (q *taskQueue) push(task func(), reader afterReader) bool {
	return q.add(task, q.max, false, reader)
}

// pushUpTo is push with another bound than the queue's.
func (q *taskQueue) pushUpTo(task func(), reader afterReader, limit int) bool {
	return q.add(task, limit, false, reader)
}

// waitRoom arranges for g to be opened once the queue is down to half its
// bound, or closed, and reports whether it will be: false when it is
// already.
func (q *taskQueue) waitRoom(g *gate) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.tasks)-q.head <= q.max/2 {
		return false
	}
	if q.room != nil {
		q.room.open()
	}
	q.room = g
	return true
}

// openRoomLocked opens the gate of a pusher waiting for room, if any.
func (q *taskQueue) openRoomLocked() {
	if q.room != nil {
		q.room.open()
		q.room = nil
	}
}

// pushFinal appends the last task, even past the bound: the runner exits
// once it has run.
func (q *taskQueue) pushFinal(task func()) { q.add(task, -1, true, nil) }

// add appends a task unless limit tasks wait already; limit < 0 means no
// bound.
func (q *taskQueue) add(task func(), limit int, final bool, reader afterReader) bool {
	q.mu.Lock()
	if limit >= 0 && len(q.tasks)-q.head >= limit {
		q.mu.Unlock()
		return false
	}
	if final {
		q.openRoomLocked()
	}
	if q.head > 0 && q.head*2 >= len(q.tasks) {
		n := copy(q.tasks, q.tasks[q.head:])
		clear(q.tasks[n:])
		q.tasks, q.head = q.tasks[:n], 0
	}
	q.tasks = append(q.tasks, task)
	q.closed = q.closed || final
	start := !q.running
	q.running = true
	if q.idle {
		q.idle = false
		q.wake <- struct{}{} // cannot block: only the idle runner receives
	}
	if start && reader != nil && q.once == nil {
		q.once = q.runOnce
	}
	q.mu.Unlock()
	if start {
		q.track.Add()
		if reader == nil || !reader.AfterRead(q.once) {
			go q.run()
		}
	}
	return true
}

// runOnce runs the queue until it is empty, on the goroutine that read the
// connection: it does not linger, so that the goroutine goes back to
// reading.
func (q *taskQueue) runOnce() {
	defer q.track.Done()
	q.drain(false)
}

// release makes the calling goroutine run the tasks that accumulated in a
// held queue, then returns. The caller must have been counted by the server's track.Group.
func (q *taskQueue) release() { q.drain(false) }

// close tells the runner that no task will follow: it exits once the queue
// is empty instead of lingering.
func (q *taskQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.openRoomLocked()
	if q.idle {
		q.idle = false
		q.wake <- struct{}{}
	}
	q.mu.Unlock()
}

func (q *taskQueue) run() {
	defer q.track.Done()
	var t linger.Timer
	defer t.Stop()
	for {
		q.drain(true)
		q.mu.Lock()
		if q.head != len(q.tasks) {
			q.mu.Unlock()
			continue
		}
		if q.closed {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.idle = true
		if q.wake == nil {
			q.wake = make(chan struct{}, 1)
		}
		wake := q.wake
		q.mu.Unlock()
		if !t.Wait(queueLinger, wake, nil, q.exitIfIdle) {
			return
		}
	}
}

// exitIfIdle reports whether the runner is still idle, with nobody having
// pushed a task, and if so records that it exits.
func (q *taskQueue) exitIfIdle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.idle {
		return false
	}
	q.idle, q.running = false, false
	return true
}

// drain runs the queued tasks. Unless keep is set, it marks the queue as
// without a runner once empty.
func (q *taskQueue) drain(keep bool) {
	for {
		q.mu.Lock()
		if q.head == len(q.tasks) {
			q.tasks = q.tasks[:0]
			q.head = 0
			if cap(q.tasks) > 64 {
				q.tasks = nil
			}
			if !keep {
				q.running = false
			}
			q.mu.Unlock()
			return
		}
		task := q.tasks[q.head]
		q.tasks[q.head] = nil
		q.head++
		if q.room != nil && len(q.tasks)-q.head <= q.max/2 {
			q.openRoomLocked()
		}
		q.mu.Unlock()
		task()
	}
}
