package sioclient

import "sync"

// taskQueue runs tasks one at a time in the order they were pushed, on a
// goroutine that exists only while there is work. It is not bounded: the
// manager's reader waits for room before it pushes an event (see
// Manager.admit).
type taskQueue struct {
	// taken, when not nil, is called each time a task is taken off the
	// queue, just before it runs.
	taken func()

	mu      sync.Mutex
	tasks   []func()
	started uint64        // the number of the last task started
	busy    bool          // that task is running
	done    chan struct{} // closed when the goroutine ends; nil while none runs
}

func (q *taskQueue) push(task func()) {
	q.mu.Lock()
	q.tasks = append(q.tasks, task)
	start := q.done == nil
	if start {
		q.done = make(chan struct{})
	}
	q.mu.Unlock()
	if start {
		go q.run()
	}
}

// len returns the number of tasks waiting, the running one excluded.
func (q *taskQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.tasks)
}

// current returns the number of the task running, 0 when none.
func (q *taskQueue) current() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.busy {
		return 0
	}
	return q.started
}

// wait waits for the goroutine to end, unless task running (a number from
// current, taken when the caller started) is still running: the caller may
// be that task, which waiting would deadlock.
func (q *taskQueue) wait(running uint64) {
	q.mu.Lock()
	done := q.done
	skip := running != 0 && q.busy && q.started == running
	q.mu.Unlock()
	if done != nil && !skip {
		<-done
	}
}

func (q *taskQueue) run() {
	for {
		q.mu.Lock()
		q.busy = false
		if len(q.tasks) == 0 {
			q.tasks = nil
			close(q.done)
			q.done = nil
			q.mu.Unlock()
			return
		}
		task := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.started++
		q.busy = true
		q.mu.Unlock()
		if q.taken != nil {
			q.taken()
		}
		task()
	}
}
