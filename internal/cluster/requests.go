package cluster

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio"
)

// Pending is a request of this server waiting for the other servers. Its
// fields are guarded by the table's Mu.
type Pending struct {
	Type     int // the adapter's request type
	Expected int // responses to wait for
	Got      int
	// Missing, when set, holds the uids of the servers that have not
	// answered yet (adapters with heartbeats): the request ends when it is
	// empty, whatever Expected.
	Missing map[string]bool
	Sockets []*socketio.RemoteSocket
	Rooms   []string
	Reply   func(socketio.Args)
	Done    chan error // receives once
	once    sync.Once
	stop    func() // releases the timers of a request that does not wait
}

// Finish ends the request with err (nil: answered).
func (p *Pending) Finish(err error) {
	p.once.Do(func() {
		if p.Done != nil {
			p.Done <- err
		}
		if p.stop != nil {
			p.stop()
		}
	})
}

// Stop releases the timers set by Expire.
func (p *Pending) Stop() {
	if p.stop != nil {
		p.stop()
	}
}

// AckPending is a broadcast with acknowledgements of this server, whose
// client counts and acknowledgements other servers send back.
type AckPending struct {
	ClientCount func(int)
	Ack         func(socketio.Args)
}

// RequestTable holds the requests of one adapter waiting for the other
// servers' responses, and its broadcasts waiting for acknowledgements.
// Adapters embed it; Mu also guards their other maps.
type RequestTable struct {
	timeout time.Duration // how long a request waits for its responses
	errs    TableErrors
	closed  atomic.Bool

	Mu       sync.Mutex
	Requests map[string]*Pending    // requests of this server awaiting responses
	Acks     map[string]*AckPending // broadcasts with acknowledgements of this server
}

// TableErrors are the adapter package's errors for a request table:
// Closed for the requests of a closed adapter, Timeout (wrapped) for those
// the other servers did not answer in time; Prefix starts the other
// messages.
type TableErrors struct {
	Closed, Timeout error
	Prefix          string
}

// NewRequestTable returns an empty table whose requests wait for timeout.
func NewRequestTable(timeout time.Duration, errs TableErrors) RequestTable {
	return RequestTable{timeout: timeout, errs: errs, Requests: map[string]*Pending{}, Acks: map[string]*AckPending{}}
}

// IsClosed reports whether CloseRequestsLocked was called.
func (t *RequestTable) IsClosed() bool { return t.closed.Load() }

// AddAck registers the callbacks of a broadcast with acknowledgements
// under its request id, until ctx ends.
func (t *RequestTable) AddAck(ctx context.Context, id string, ap *AckPending) {
	t.Mu.Lock()
	t.Acks[id] = ap
	t.Mu.Unlock()
	context.AfterFunc(ctx, func() {
		t.Mu.Lock()
		delete(t.Acks, id)
		t.Mu.Unlock()
	})
}

// Register adds request id, unless the adapter is closed.
func (t *RequestTable) Register(id string, p *Pending) error {
	t.Mu.Lock()
	defer t.Mu.Unlock()
	if t.closed.Load() {
		return t.errs.Closed
	}
	t.Requests[id] = p
	return nil
}

// Forget removes request id.
func (t *RequestTable) Forget(id string) {
	t.Mu.Lock()
	delete(t.Requests, id)
	t.Mu.Unlock()
}

// Unsent returns the outcome callback of the message of request id: when
// the message is not published, the request ends with the error.
func (t *RequestTable) Unsent(id string, p *Pending) func(any, error) {
	return func(_ any, err error) {
		if err == nil {
			return
		}
		t.Forget(id)
		p.Finish(err)
	}
}

// RequestsTimeout returns how long a request waits for the other servers'
// responses: socketio.Namespace.ServerSideEmitWithAck stops waiting then,
// as the Node adapters do, even under a context without deadline.
func (t *RequestTable) RequestsTimeout() time.Duration { return t.timeout }

// Wait waits for the responses of request id, for ctx and for the
// requests' timeout.
func (t *RequestTable) Wait(ctx context.Context, id, op string, p *Pending) error {
	timer := time.NewTimer(t.timeout)
	defer timer.Stop()
	select {
	case err := <-p.Done:
		return err
	case <-ctx.Done():
		t.Forget(id)
		return fmt.Errorf("%s: %s: %w", t.errs.Prefix, op, ctx.Err())
	case <-timer.C:
		t.Forget(id)
		t.Mu.Lock()
		got, expected := p.Got, p.Expected
		t.Mu.Unlock()
		return fmt.Errorf("%w while waiting for %s response (%d of %d servers answered)", t.errs.Timeout, op, got, expected)
	}
}

// Expire makes request id, whose answers are passed on as they come rather
// than waited for, forgotten after the timeout or when ctx ends. It is
// called before the request is published: answers may come at once.
func (t *RequestTable) Expire(ctx context.Context, id string, p *Pending) {
	timer := time.AfterFunc(t.timeout, func() { t.Forget(id) })
	stopCtx := context.AfterFunc(ctx, func() { t.Forget(id) })
	p.stop = func() { timer.Stop(); stopCtx() }
}

// CloseRequestsLocked marks the table closed and fails its pending
// requests with the Closed error. The caller holds Mu.
func (t *RequestTable) CloseRequestsLocked() {
	t.closed.Store(true)
	for id, p := range t.Requests {
		p.Finish(t.errs.Closed)
		delete(t.Requests, id)
	}
	clear(t.Acks)
}
