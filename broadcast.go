package socketio

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sio-go/socketio/internal/names"
)

// BroadcastOperator selects sockets of a namespace (by rooms, on this server
// or the whole cluster) and acts on them. It is a small immutable value: every
// modifier returns a modified copy and never changes the receiver, so an
// operator can be kept and used from many goroutines:
//
//	admins := srv.Of("/").To("admins")
//	admins.Emit(ctx, "alert", msg)
type BroadcastOperator struct {
	nsp    *Namespace
	parent *ParentNamespace // broadcasts to every child instead of nsp
	rooms  []string
	except []string
	flags  BroadcastFlags
}

// To returns a copy that also targets rooms. Without any room, an operator
// targets every socket of the namespace.
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = names.Union(b.rooms, rooms)
	return b
}

// In is an alias of To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except returns a copy that excludes the sockets in rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = names.Union(b.except, rooms)
	return b
}

// Local returns a copy restricted to the sockets of this server.
func (b BroadcastOperator) Local() BroadcastOperator { b.flags.Local = true; return b }

// Volatile returns a copy whose packets are dropped for clients whose
// connection is busy.
func (b BroadcastOperator) Volatile() BroadcastOperator { b.flags.Volatile = true; return b }

// Compress returns a copy with the compress flag set to compress.
func (b BroadcastOperator) Compress(compress bool) BroadcastOperator {
	b.flags.NoCompress = !compress
	return b
}

func (b BroadcastOperator) options() BroadcastOptions {
	return BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to the selected sockets. The packet is encoded once and
// the same bytes are queued on every recipient's connection; Emit does not
// wait for the clients. ctx bounds what a cluster adapter may do on the
// network.
func (b BroadcastOperator) Emit(ctx context.Context, ev string, args ...any) error {
	if reserved(ev) {
		return ErrReservedEvent
	}
	p, err := eventPacket(ev, args)
	if err != nil {
		return err
	}
	if b.parent != nil {
		for _, child := range b.parent.Children() {
			q := *p
			q.Namespace = child.name
			if err := child.adapter.Broadcast(ctx, &q, b.options()); err != nil {
				return err
			}
		}
		return nil
	}
	p.Namespace = b.nsp.name
	return b.nsp.adapter.Broadcast(ctx, p, b.options())
}

// EmitWithAck sends an event to the selected sockets and waits for every
// acknowledgement: it returns when every server of the cluster has reported
// its number of recipients and all of them have answered. When ctx ends
// first, it returns the replies received so far and an error that matches
// ctx.Err() with errors.Is. Give ctx a deadline: clients that never answer
// are waited for until it ends. When ctx has none and the adapter bounds
// its requests (a cluster adapter's RequestsTimeout() time.Duration), the
// wait ends after that bound, with an error matching
// context.DeadlineExceeded.
func (b BroadcastOperator) EmitWithAck(ctx context.Context, ev string, args ...any) ([]Args, error) {
	if reserved(ev) {
		return nil, ErrReservedEvent
	}
	if b.parent != nil {
		return nil, ErrParentNamespace
	}
	p, err := eventPacket(ev, args)
	if err != nil {
		return nil, err
	}
	p.Namespace = b.nsp.name
	if _, ok := ctx.Deadline(); !ok {
		// Without a deadline of the caller's, a cluster adapter's request
		// bound applies, so that a server that never answers does not hold
		// the caller for ever (see Namespace.ServerSideEmitWithAck).
		if rt, ok := b.nsp.adapter.(interface{ RequestsTimeout() time.Duration }); ok && rt.RequestsTimeout() > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, rt.RequestsTimeout())
			defer cancel()
		}
	}
	opts := b.options()
	if d, ok := ctx.Deadline(); ok {
		opts.Flags.Timeout = max(time.Until(d), time.Millisecond)
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel() // forgets the acknowledgements still pending

	c := &ackCollector{servers: -1, done: make(chan struct{})}
	err = b.nsp.adapter.BroadcastWithAck(ctx2, p, opts, c.addClients, c.addReply)
	if err != nil {
		return nil, err
	}
	n, err := b.nsp.adapter.ServerCount(ctx2)
	if err != nil {
		return nil, err
	}
	c.setServers(n)
	select {
	case <-c.done:
	case <-ctx.Done():
		err = fmt.Errorf("socketio: waiting for the acknowledgements of %q: %w", ev, ctx.Err())
	}
	return c.result(), err
}

// ackCollector gathers the replies of a broadcast with acknowledgements.
type ackCollector struct {
	mu        sync.Mutex
	servers   int // expected, -1 until known
	reported  int // servers that reported their client count
	clients   int
	replies   []Args
	done      chan struct{}
	completed bool
}

func (c *ackCollector) addClients(n int) {
	c.mu.Lock()
	c.reported++
	c.clients += n
	c.check()
	c.mu.Unlock()
}

func (c *ackCollector) addReply(a Args) {
	c.mu.Lock()
	c.replies = append(c.replies, a)
	c.check()
	c.mu.Unlock()
}

func (c *ackCollector) setServers(n int) {
	c.mu.Lock()
	c.servers = n
	c.check()
	c.mu.Unlock()
}

func (c *ackCollector) check() {
	if !c.completed && c.servers >= 0 && c.reported >= c.servers && len(c.replies) >= c.clients {
		c.completed = true
		close(c.done)
	}
}

func (c *ackCollector) result() []Args {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.replies)
}

// FetchSockets returns the selected sockets, on every server unless Local.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	if b.parent != nil {
		return nil, ErrParentNamespace
	}
	out, err := b.nsp.adapter.FetchSockets(ctx, b.options())
	for _, rs := range out {
		rs.nsp = b.nsp
	}
	return out, err
}

// SocketsJoin makes the selected sockets join rooms.
func (b BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	if b.parent != nil {
		return ErrParentNamespace
	}
	return b.nsp.adapter.AddSockets(ctx, b.options(), slices.Clone(rooms))
}

// SocketsLeave makes the selected sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	if b.parent != nil {
		return ErrParentNamespace
	}
	return b.nsp.adapter.DelSockets(ctx, b.options(), slices.Clone(rooms))
}

// DisconnectSockets makes the selected sockets leave the namespace, like
// Socket.Disconnect.
func (b BroadcastOperator) DisconnectSockets(ctx context.Context) error {
	if b.parent != nil {
		return ErrParentNamespace
	}
	return b.nsp.adapter.DisconnectSockets(ctx, b.options(), false)
}

// CloseConns closes the connections of the selected sockets, like
// Socket.CloseConn.
func (b BroadcastOperator) CloseConns(ctx context.Context) error {
	if b.parent != nil {
		return ErrParentNamespace
	}
	return b.nsp.adapter.DisconnectSockets(ctx, b.options(), true)
}

// RemoteSocket describes a socket that may live on another server of the
// cluster, as FetchSockets returns it. Its JSON form is that of the official
// adapters. Its methods act on the socket through the adapter.
type RemoteSocket struct {
	ID        string    `json:"id"`
	Handshake Handshake `json:"handshake"`
	Rooms     []string  `json:"rooms"`
	// Data is the socket's data (Socket.SetData); read it with DataAs. It
	// is the Go value for a socket of this server, its JSON for a socket
	// of another.
	Data Data `json:"data"`

	nsp *Namespace
}

func (r *RemoteSocket) operator() BroadcastOperator {
	return BroadcastOperator{nsp: r.nsp, rooms: []string{r.ID}, flags: BroadcastFlags{ExpectSingleResponse: true}}
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(ctx context.Context, ev string, args ...any) error {
	return r.operator().Emit(ctx, ev, args...)
}

// EmitWithAck sends an event to the socket and waits for its
// acknowledgement, or for ctx to end.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	replies, err := r.operator().EmitWithAck(ctx, ev, args...)
	if err != nil {
		return Args{}, err
	}
	if len(replies) == 0 {
		return Args{}, ErrDisconnected
	}
	return replies[0], nil
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.operator().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave room.
func (r *RemoteSocket) Leave(ctx context.Context, room string) error {
	return r.operator().SocketsLeave(ctx, room)
}

// Disconnect makes the socket leave its namespace.
func (r *RemoteSocket) Disconnect(ctx context.Context) error {
	return r.operator().DisconnectSockets(ctx)
}

// CloseConn closes the socket's connection.
func (r *RemoteSocket) CloseConn(ctx context.Context) error {
	return r.operator().CloseConns(ctx)
}
