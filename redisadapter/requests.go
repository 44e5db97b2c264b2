package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// pending is a request of this server waiting for the other servers.
type pending struct {
	typ      wire.RequestType
	expected int // responses to wait for
	got      int
	sockets  []*socketio.RemoteSocket
	rooms    []string
	reply    func(socketio.Args)
	done     chan error // receives once
	once     sync.Once
	stop     func() // releases the timers of a ServerSideEmit
}

func (p *pending) finish(err error) {
	p.once.Do(func() {
		if p.done != nil {
			p.done <- err
		}
		if p.stop != nil {
			p.stop()
		}
	})
}

// requestTable holds the requests of one adapter waiting for the other
// servers' responses, and its broadcasts waiting for acknowledgements. Both
// adapters embed it; mu also guards their other maps.
type requestTable struct {
	timeout time.Duration // how long a request waits for its responses
	closed  atomic.Bool

	mu       sync.Mutex
	requests map[string]*pending    // requests of this server awaiting responses
	acks     map[string]*ackPending // broadcasts with acknowledgements of this server
}

func newRequestTable(timeout time.Duration) requestTable {
	return requestTable{timeout: timeout, requests: map[string]*pending{}, acks: map[string]*ackPending{}}
}

// addAck registers the callbacks of a broadcast with acknowledgements
// under its request id, until ctx ends.
func (t *requestTable) addAck(ctx context.Context, id string, ap *ackPending) {
	t.mu.Lock()
	t.acks[id] = ap
	t.mu.Unlock()
	context.AfterFunc(ctx, func() {
		t.mu.Lock()
		delete(t.acks, id)
		t.mu.Unlock()
	})
}

// register adds request id, unless the adapter is closed.
func (t *requestTable) register(id string, p *pending) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return ErrClosed
	}
	t.requests[id] = p
	return nil
}

func (t *requestTable) forget(id string) {
	t.mu.Lock()
	delete(t.requests, id)
	t.mu.Unlock()
}

// unsent returns the outcome callback of the message of request id: when
// the message is not published, the request ends with the error.
func (t *requestTable) unsent(id string, p *pending) func(redis.Cmder, error) {
	return func(_ redis.Cmder, err error) {
		if err == nil {
			return
		}
		t.forget(id)
		p.finish(err)
	}
}

// RequestsTimeout returns how long a request waits for the other servers'
// responses: socketio.Namespace.ServerSideEmitWithAck stops waiting then,
// as the Node adapter does, even under a context without deadline.
func (t *requestTable) RequestsTimeout() time.Duration { return t.timeout }

// wait waits for the responses of request id, for ctx and for the
// requests' timeout.
func (t *requestTable) wait(ctx context.Context, id, op string, p *pending) error {
	timer := time.NewTimer(t.timeout)
	defer timer.Stop()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		t.forget(id)
		return fmt.Errorf("redisadapter: %s: %w", op, ctx.Err())
	case <-timer.C:
		t.forget(id)
		t.mu.Lock()
		got := p.got
		t.mu.Unlock()
		return fmt.Errorf("%w while waiting for %s response (%d of %d servers answered)", ErrTimeout, op, got, p.expected)
	}
}

// expire makes request id, whose answers are passed on as they come rather
// than waited for, forgotten after the timeout or when ctx ends. It is
// called before the request is published: answers may come at once.
func (t *requestTable) expire(ctx context.Context, id string, p *pending) {
	timer := time.AfterFunc(t.timeout, func() { t.forget(id) })
	stopCtx := context.AfterFunc(ctx, func() { t.forget(id) })
	p.stop = func() { timer.Stop(); stopCtx() }
}

// closeRequestsLocked marks the table closed and fails its pending requests with
// ErrClosed. The caller holds t.mu.
func (t *requestTable) closeRequestsLocked() {
	t.closed.Store(true)
	for id, p := range t.requests {
		p.finish(ErrClosed)
		delete(t.requests, id)
	}
	clear(t.acks)
}

// start registers a request under its id (a new one when it has none)
// and queues it. When it is not published, the request is forgotten and
// its waiter told.
func (a *Adapter) start(op Op, p *pending, r *wire.Request) error {
	r.UID = a.uid
	if r.RequestID == "" {
		r.RequestID = newID()
	}
	msg, err := wire.AppendRequest(nil, r)
	if err != nil {
		return fmt.Errorf("redisadapter: %w", err)
	}
	if err := a.register(r.RequestID, p); err != nil {
		return err
	}
	id := r.RequestID
	if err := a.send(op, a.requestChannel, msg, nil, a.unsent(id, p)); err != nil {
		a.forget(id)
		return err
	}
	return nil
}

// FetchSockets returns the sockets opts selects on every server (only on
// this one with opts.Flags.Local). It fails when a server does not answer
// within Config.RequestsTimeout.
func (a *Adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, err := a.mem.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	p := &pending{typ: wire.RemoteFetch, expected: n - 1, sockets: local, done: make(chan error, 1)}
	r := &wire.Request{Type: wire.RemoteFetch, Opts: &wire.Opts{Rooms: nonNil(opts.Rooms), Except: nonNil(opts.Except)}}
	if err := a.start(OpFetchSockets, p, r); err != nil {
		return nil, err
	}
	if err := a.wait(ctx, r.RequestID, "fetchSockets", p); err != nil {
		return nil, err
	}
	return p.sockets, nil
}

// AllRooms returns the rooms of the namespace on every server.
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	local := a.mem.Rooms()
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	p := &pending{typ: wire.AllRooms, expected: n - 1, rooms: local, done: make(chan error, 1)}
	r := &wire.Request{Type: wire.AllRooms}
	if err := a.start(OpAllRooms, p, r); err != nil {
		return nil, err
	}
	if err := a.wait(ctx, r.RequestID, "allRooms", p); err != nil {
		return nil, err
	}
	return p.rooms, nil
}

// ServerSideEmit queues the event for the other servers. With reply, it
// returns how many servers are expected to answer and passes each answer
// to reply until ctx ends or Config.RequestsTimeout passes. Binary
// arguments travel as Node's JSON form of a Buffer, as with the Node
// adapter.
func (a *Adapter) ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	data, err := wire.InlineBuffers(p.Data, p.Attachments)
	if err != nil {
		return 0, fmt.Errorf("redisadapter: %w", err)
	}
	r := &wire.Request{Type: wire.ServerSideEmit, Data: data}
	if reply == nil {
		r.UID = a.uid
		msg, err := wire.AppendRequest(nil, r)
		if err != nil {
			return 0, fmt.Errorf("redisadapter: %w", err)
		}
		return 0, a.send(OpServerSideEmit, a.requestChannel, msg, nil, nil)
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return 0, err
	}
	if n--; n <= 0 { // this server does not answer itself
		return 0, nil
	}
	pd := &pending{typ: wire.ServerSideEmit, expected: n, reply: reply}
	r.RequestID = newID()
	a.expire(ctx, r.RequestID, pd)
	if err := a.start(OpServerSideEmit, pd, r); err != nil {
		pd.stop()
		return 0, err
	}
	return n, nil
}

// onResponse handles a message of a response channel.
func (a *Adapter) onResponse(payload []byte) {
	r, err := wire.DecodeResponse(payload)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed response ignored", "nsp", a.nspName, "err", err)
		return
	}
	a.mu.Lock()
	if ap := a.acks[r.RequestID]; ap != nil {
		a.mu.Unlock()
		switch r.Type {
		case wire.BroadcastClientCount:
			ap.clientCount(r.ClientCount)
		case wire.BroadcastAck:
			ap.ack(argsOf(r.Data, r.Attachments))
		}
		return
	}
	p := a.requests[r.RequestID]
	if p == nil {
		a.mu.Unlock()
		return
	}
	var call func()
	switch p.typ {
	case wire.RemoteFetch:
		var sockets []*socketio.RemoteSocket
		if err := json.Unmarshal(r.Sockets, &sockets); err != nil || r.Sockets == nil {
			break
		}
		p.sockets = append(p.sockets, sockets...)
		p.got++
	case wire.AllRooms:
		if r.Rooms == nil {
			break
		}
		for _, room := range r.Rooms {
			if !slices.Contains(p.rooms, room) {
				p.rooms = append(p.rooms, room)
			}
		}
		p.got++
	case wire.ServerSideEmit:
		if r.Type != wire.ServerSideEmit {
			break
		}
		args := argsOf(r.Data, nil)
		reply := p.reply
		call = func() { reply(args) }
		p.got++
	}
	if p.got >= p.expected {
		delete(a.requests, r.RequestID)
		defer p.finish(nil)
	}
	a.mu.Unlock()
	if call != nil {
		call()
	}
}

// argsOf makes the Args of one acknowledgement value; an absent value
// (JavaScript's undefined) gives no argument.
func argsOf(value json.RawMessage, atts [][]byte) socketio.Args {
	if len(value) == 0 {
		return socketio.NewArgs(nil, nil)
	}
	return socketio.NewArgs([]json.RawMessage{value}, atts)
}
