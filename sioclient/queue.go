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

	mu    sync.Mutex
	tasks []func()
	done  chan struct{} // closed when the goroutine ends; nil while none runs
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

func (q *taskQueue) run() {
	for {
		q.mu.Lock()
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
		q.mu.Unlock()
		if q.taken != nil {
			q.taken()
		}
		task()
	}
}
