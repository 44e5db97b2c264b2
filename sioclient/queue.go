package sioclient

import "sync"

// taskQueue runs tasks one at a time in the order they were pushed, on a
// goroutine that exists only while there is work. It is bounded; push
// refuses tasks past the bound, pushForce does not.
type taskQueue struct {
	max int

	mu      sync.Mutex
	tasks   []func()
	running bool
}

func (q *taskQueue) push(task func()) bool { return q.add(task, false) }

func (q *taskQueue) pushForce(task func()) { q.add(task, true) }

func (q *taskQueue) add(task func(), force bool) bool {
	q.mu.Lock()
	if !force && len(q.tasks) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.tasks = append(q.tasks, task)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.run()
	}
	return true
}

func (q *taskQueue) run() {
	for {
		q.mu.Lock()
		if len(q.tasks) == 0 {
			q.tasks = nil
			q.running = false
			q.mu.Unlock()
			return
		}
		task := q.tasks[0]
		q.tasks[0] = nil
		q.tasks = q.tasks[1:]
		q.mu.Unlock()
		task()
	}
}
