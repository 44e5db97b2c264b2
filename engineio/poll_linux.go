//go:build linux

package engineio

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sio-go/socketio/internal/track"
)

// pollEvents are the events a WebSocket's socket is watched for: readable
// or shut by the peer, edge-triggered: reported when data arrives, so the
// socket needs no re-arming after it was read dry (pollWS.schedule keeps
// one worker at a time on a session).
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET

// epollET is EPOLLET as the uint32 of an EpollEvent (package syscall
// declares it negative).
const epollET = 1 << 31

// workerLinger is how long a worker waits for another session to serve
// before it exits, so that a burst of messages does not start a goroutine
// (and grow its stack) for each, while an idle server keeps none.
const workerLinger = time.Second

// readBufSize is the size of a worker's read buffer. Payloads that would
// not fit are read straight into their message.
const readBufSize = 8 << 10

var errPollerClosed = errors.New("engineio: poller closed")

// poller watches the sockets of a Server's WebSockets with one epoll
// instance and hands the ready ones to workers, so that an idle WebSocket
// holds no goroutine. The epoll instance is itself waited on through the
// runtime's network poller: the goroutine watching it parks like any
// goroutine blocked on a socket, without holding a thread. It runs only
// while there are sockets to watch.
type poller struct {
	wg   *track.Group    // the Server's: counts the watching goroutine and the workers
	file *os.File        // the epoll instance
	raw  syscall.RawConn // file's
	epfd int             // file's descriptor, valid while !closed
	quit chan struct{}   // closed by stop: flushers exit

	idleMu sync.Mutex
	idle   []*worker   // idle workers, the most recently idle last
	reaper *time.Timer // ends workers idle for workerLinger; armed while idle is not empty
	ended  bool        // stop was called: idle workers exit

	flushers []*flusher    // one per processor at the poller's start
	nextFl   atomic.Uint32 // spreads WebSockets over the flushers

	mu      sync.RWMutex
	closed  bool
	running bool               // the goroutine watching the epoll instance
	readers map[uint64]*pollWS // by token
	next    uint64             // the last token given
}

// newPoller returns a poller whose goroutines wg counts.
func newPoller(wg *track.Group) (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	// Deadlines work only on files the runtime polls: this checks that the
	// epoll instance can be waited on without a thread.
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close()
		return nil, err
	}
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &poller{
		wg:      wg,
		file:    f,
		raw:     raw,
		epfd:    fd,
		quit:    make(chan struct{}),
		readers: make(map[uint64]*pollWS),
	}
	p.flushers = make([]*flusher, runtime.GOMAXPROCS(0))
	for i := range p.flushers {
		p.flushers[i] = newFlusher(wg, p.quit)
	}
	return p, nil
}

// flusher returns the flusher of a new WebSocket.
func (p *poller) flusher() *flusher {
	return p.flushers[int(p.nextFl.Add(1))%len(p.flushers)]
}

// pastTime is a deadline in the past: it wakes the goroutine watching the
// epoll instance.
var pastTime = time.Unix(1, 0)

// run waits for ready sockets and dispatches them until stop, or until it
// is woken with no socket to watch.
func (p *poller) run() {
	defer p.wg.Done()
	events := make([]syscall.EpollEvent, 128)
	var n int
	wait := func(fd uintptr) bool {
		var err error
		for {
			n, err = syscall.EpollWait(int(fd), events, 0)
			if err != syscall.EINTR {
				break
			}
		}
		return n > 0 || err != nil
	}
	for {
		if err := p.raw.Read(wait); err != nil {
			p.mu.Lock()
			if errors.Is(err, os.ErrDeadlineExceeded) && !p.closed && len(p.readers) > 0 {
				// woken as the last socket went, but another came
				_ = p.file.SetReadDeadline(time.Time{})
				p.mu.Unlock()
				continue
			}
			p.running = false // no socket to watch, or stopped
			p.mu.Unlock()
			return
		}
		for i := range events[:max(n, 0)] {
			token := uint64(uint32(events[i].Fd)) | uint64(uint32(events[i].Pad))<<32
			p.mu.RLock()
			r := p.readers[token]
			p.mu.RUnlock()
			if r != nil && r.schedule() {
				p.dispatch(r)
			}
		}
		if n <= 0 {
			// EpollWait failed with something other than EINTR: not
			// expected on a valid epoll instance. Wait before retrying
			// rather than spin.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// worker is a goroutine serving sessions the poller hands it.
type worker struct {
	next      chan *pollWS // capacity 1; nil ends the worker
	idleSince time.Time
}

// dispatch hands r to the worker that went idle last, or to a new one.
func (p *poller) dispatch(r *pollWS) {
	p.idleMu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.idleMu.Unlock()
		w.next <- r // cannot block: an idle worker's channel is empty
		return
	}
	p.idleMu.Unlock()
	p.wg.Add()
	go p.worker(r)
}

// park records w as idle, or reports false once the poller has stopped.
func (p *poller) park(w *worker) bool {
	w.idleSince = time.Now()
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	if p.ended {
		return false
	}
	p.idle = append(p.idle, w)
	if p.reaper == nil {
		p.reaper = time.AfterFunc(workerLinger, p.reap)
	}
	return true
}

// reap ends the workers idle for workerLinger or longer, then waits for the
// next one to be, while any is idle. One timer serves every worker: a
// worker going idle costs no timer of its own.
func (p *poller) reap() {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	now := time.Now()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].idleSince) >= workerLinger {
		p.idle[n].next <- nil
		p.idle[n] = nil
		n++
	}
	p.idle = append(p.idle[:0], p.idle[n:]...)
	if len(p.idle) == 0 || p.ended {
		p.reaper = nil
		return
	}
	p.reaper.Reset(workerLinger - now.Sub(p.idle[0].idleSince))
}

// worker serves r, then the sessions dispatched to it, until it has been
// idle for workerLinger.
func (p *poller) worker(r *pollWS) {
	defer p.wg.Done()
	rb := &rawReader{buf: make([]byte, readBufSize)}
	rb.fn = rb.read
	after := new(afterList)
	self := &worker{next: make(chan *pollWS, 1)}
	for {
		// The lock orders one worker's handling of r before the next one's;
		// epoll alone gives no happens-before edge the race detector sees.
		for {
			r.mu.Lock()
			r.beginRead(after)
			more := r.serve(rb)
			r.mu.Unlock()
			if fs := r.endRead(after); len(fs) > 0 {
				// What the messages left to do (Conn.AfterRead) may block:
				// the session is released first, and what arrived
				// meanwhile is read by another worker.
				if more && r.unschedule() {
					p.dispatch(r)
				}
				runAfter(fs)
				after.fs = fs[:0]
				break
			}
			if !more || !r.unschedule() {
				break
			}
			// data arrived while it was being served: read again
		}
		if !p.park(self) {
			return
		}
		if r = <-self.next; r == nil {
			return
		}
	}
}

// rawReader reads a socket without waiting: its method value is made once
// per worker rather than once per read.
type rawReader struct {
	buf []byte // the worker's read buffer
	dst []byte // where the next read goes
	n   int
	err error
	fn  func(fd uintptr) bool
}

func (rb *rawReader) read(fd uintptr) bool {
	for {
		rb.n, rb.err = syscall.Read(int(fd), rb.dst)
		if rb.err != syscall.EINTR {
			break
		}
	}
	if rb.n < 0 {
		rb.n = 0
	}
	return true // never ask the runtime to wait: EAGAIN means drained
}

// readNow reads what the socket holds into dst. It returns errWouldBlock
// when there is nothing, and n == 0 with a nil error at the end of the
// stream.
func (rb *rawReader) readNow(raw syscall.RawConn, dst []byte) (int, error) {
	rb.dst = dst
	err := raw.Read(rb.fn)
	rb.dst = nil
	if err != nil {
		return 0, err
	}
	if rb.err == syscall.EAGAIN {
		return rb.n, errWouldBlock
	}
	return rb.n, rb.err
}

// add starts watching r's socket. It fails once r was removed or the poller
// stopped.
func (p *poller) add(r *pollWS) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || r.removed {
		return errPollerClosed
	}
	p.next++
	token := p.next
	var cerr error
	err := r.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
		cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil && cerr != nil {
		err = os.NewSyscallError("epoll_ctl", cerr)
	}
	if err != nil {
		return err
	}
	r.token, r.added = token, true
	p.readers[token] = r
	if !p.running {
		p.running = true
		_ = p.file.SetReadDeadline(time.Time{})
		p.wg.Add()
		go p.run()
	}
	return nil
}

// remove stops watching r's socket for good. Call it before closing the
// socket.
func (p *poller) remove(r *pollWS) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.removed = true
	r.done.Store(true)
	if !r.added {
		return
	}
	r.added = false
	delete(p.readers, r.token)
	if p.closed {
		return
	}
	_ = r.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	if len(p.readers) == 0 && p.running {
		_ = p.file.SetReadDeadline(pastTime) // the watching goroutine exits
	}
}

// stop closes the epoll instance; the goroutine watching it and the idle
// workers exit. Sessions still open must have been removed first.
func (p *poller) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	close(p.quit)
	p.file.Close()
	p.idleMu.Lock()
	p.ended = true
	for i, w := range p.idle {
		w.next <- nil
		p.idle[i] = nil
	}
	p.idle = nil
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	p.idleMu.Unlock()
}

// rawWriter writes to a socket without waiting; its method value is made
// once per pooled writer rather than once per write.
type rawWriter struct {
	src []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

// writeNonblock writes as much of b as the socket takes without waiting.
func writeNonblock(raw syscall.RawConn, b []byte) (int, error) {
	rw := rawWriters.Get().(*rawWriter)
	rw.src = b
	err := raw.Write(rw.fn)
	if err == nil {
		err = rw.err
	}
	n := rw.n
	*rw = rawWriter{fn: rw.fn}
	rawWriters.Put(rw)
	return n, err
}

var rawWriters = sync.Pool{New: func() any {
	rw := new(rawWriter)
	rw.fn = rw.write
	return rw
}}

func (rw *rawWriter) write(fd uintptr) bool {
	for rw.n < len(rw.src) {
		m, err := syscall.Write(int(fd), rw.src[rw.n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true // full: the rest is the tail
		case err != nil:
			rw.err = os.NewSyscallError("write", err)
			return true
		}
		rw.n += m
	}
	return true // never ask the runtime to wait
}
