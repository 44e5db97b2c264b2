package engineio

import (
	"sync"
	"time"

	"github.com/sio-go/socketio/internal/linger"
	"github.com/sio-go/socketio/internal/track"
)

// flusherLinger is how long a flusher waits for more work before it exits.
const flusherLinger = time.Second

// maxFlushBytes bounds the queue a flusher writes itself: a larger queue,
// or one holding a large payload, goes to the session's writer goroutine,
// which writes it without copying it whole.
const maxFlushBytes = maxCork

// A flusher writes the queues of the poller's WebSockets whose writer is
// not running, one after the other on one goroutine, each without waiting
// for its socket (as SendNow writes). A broadcast to many sessions then
// wakes one goroutine instead of one writer per session; what a socket does
// not take at once is left to the session's writer goroutine. Queues fill
// while the flusher is busy, so that at a high rate a session's frames
// still go out in one write. The poller has one flusher per processor, and
// a WebSocket always uses the same one.
type flusher struct {
	wg   *track.Group  // the Server's
	quit chan struct{} // the poller's: closed by stop

	mu      sync.Mutex
	dirty   []*Conn // sessions whose queue waits for the flusher
	running bool    // the goroutine exists
	waiting bool    // it waits for work
	wake    chan struct{}
}

func newFlusher(wg *track.Group, quit chan struct{}) *flusher {
	return &flusher{wg: wg, quit: quit, wake: make(chan struct{}, 1)}
}

// add hands c's queue to the flusher. It reports false once the poller has
// stopped: the caller starts the session's writer instead. c.mu is held.
func (f *flusher) add(c *Conn) bool {
	select {
	case <-f.quit:
		return false
	default:
	}
	f.mu.Lock()
	f.dirty = append(f.dirty, c)
	switch {
	case !f.running:
		f.running = true
		f.wg.Add()
		go f.run()
	case f.waiting:
		f.waiting = false
		f.wake <- struct{}{} // cannot block: only the waiting flusher receives
	}
	f.mu.Unlock()
	return true
}

// run writes the queues handed to the flusher until it has had nothing to
// do for flusherLinger, or the poller stopped.
func (f *flusher) run() {
	defer f.wg.Done()
	var batch []*Conn
	var idle linger.Timer
	defer idle.Stop()
	for {
		f.mu.Lock()
		batch, f.dirty = f.dirty, batch[:0]
		if len(batch) > 0 {
			f.mu.Unlock()
			for i, c := range batch {
				batch[i] = nil
				c.flushQueue()
			}
			continue
		}
		f.waiting = true
		f.mu.Unlock()
		if !idle.Wait(flusherLinger, f.wake, f.quit, f.exitIfIdle) {
			return
		}
	}
}

// exitIfIdle reports whether the flusher is still waiting, with no work
// handed to it, and if so records that it exits.
func (f *flusher) exitIfIdle() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.waiting {
		return false
	}
	f.running, f.waiting = false, false
	return true
}

// flushQueue writes c's queue for its flusher, as far as the socket takes
// it without waiting; the session's writer goroutine sends the rest.
func (c *Conn) flushQueue() {
	c.mu.Lock()
	c.flushing = false
	if len(c.queue) == 0 || c.writing || c.direct {
		// Written meanwhile (the heartbeat, a writer), or SendNow is
		// writing and hands the queue on when it is done.
		c.mu.Unlock()
		return
	}
	ws, ok := c.ws.(*pollWS)
	if !ok || c.state != stateOpen || c.tailQueued || !flushable(c.queue, c.queueBytes) {
		if c.ws != nil && c.state != stateClosed {
			c.startWriterLocked()
		}
		c.mu.Unlock()
		return
	}
	q := c.takeLocked()
	c.direct = true
	c.mu.Unlock()

	tail, err := ws.writeNow(q)
	clear(q)
	c.afterDirect(tail, err)
}

// flushable reports whether a flusher writes queue q of n bytes itself.
func flushable(q []packet, n int) bool {
	if n > maxFlushBytes {
		return false
	}
	for i := range q {
		if len(q[i].data) >= largePayload {
			return false
		}
	}
	return true
}
