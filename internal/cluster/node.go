package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// EmitterUID is the sender id of the emitters' messages.
const EmitterUID = "emitter"

// Node is what the adapters speaking the messages of socket.io-adapter's
// ClusterAdapter share (the sharded and Streams Redis adapters, the
// Postgres adapter): the local rooms, the requests of this server waiting
// for the others, the handling of the other servers' messages and, for
// the adapters of ClusterAdapterWithHeartbeat, the heartbeats that count
// the servers. The adapters differ in how messages travel, which they pass
// as functions.
type Node struct {
	Mem     *socketio.MemoryAdapter
	Nsp     *socketio.Namespace
	NspName string
	UID     string
	Log     *slog.Logger
	Prefix  string // the package's name, for logs and errors
	Out     *Outbox
	// Post queues a message for the other servers; done is the message's
	// outcome callback, or nil.
	Post func(op string, m *wire.ClusterMessage, done func(any, error)) error
	// Respond queues a response for the server whose uid is to.
	Respond func(to string, m *wire.ClusterMessage)
	// CountServers counts the servers of the namespace, this one
	// included, for the adapters without heartbeats.
	CountServers func(ctx context.Context) (int, error)
	// Offsets: broadcasts received with an offset are delivered with it
	// (connection state recovery through a shared log).
	Offsets bool
	RequestTable

	// Heartbeats, when set (StartHeartbeats), count the servers as
	// ClusterAdapterWithHeartbeat does.
	hb *heartbeats
}

// NewNode returns the Node of a namespace, with a random uid.
func NewNode(nsp *socketio.Namespace, timeout time.Duration, log *slog.Logger, prefix string, errs TableErrors) *Node {
	return &Node{
		Mem:          socketio.NewMemoryAdapter(nsp),
		Nsp:          nsp,
		NspName:      nsp.Name(),
		UID:          RandomHex(),
		Log:          log,
		Prefix:       prefix,
		RequestTable: NewRequestTable(timeout, errs),
	}
}

// RandomHex returns 16 hexadecimal characters, like the Node
// ClusterAdapter's ids.
func RandomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AddAll adds socket id to rooms.
func (c *Node) AddAll(id string, rooms []string) { c.Mem.AddAll(id, rooms) }

// Del removes socket id from room.
func (c *Node) Del(id, room string) { c.Mem.Del(id, room) }

// DelAll removes socket id from every room.
func (c *Node) DelAll(id string) { c.Mem.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (c *Node) SocketRooms(id string) []string { return c.Mem.SocketRooms(id) }

// Send posts m and, with heartbeats, postpones the next heartbeat.
func (c *Node) Send(op string, m *wire.ClusterMessage, done func(any, error)) error {
	err := c.Post(op, m, done)
	if c.hb != nil {
		c.hb.published()
	}
	return err
}

// BroadcastWithAck registers the acknowledgements of a broadcast, delivers
// it here, then queues it for the other servers (unless local).
func (c *Node) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	var id string
	if !opts.Flags.Local {
		id = RandomHex()
		c.AddAck(ctx, id, &AckPending{ClientCount: clientCount, Ack: ack})
	}
	if err := c.Mem.BroadcastWithAck(ctx, p, opts, clientCount, ack); err != nil || id == "" {
		return err
	}
	q := *p
	q.HasID = false
	o := ToWire(opts)
	return c.Send(OpBroadcastWithAck, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: &q, RequestID: id, Opts: &o}, nil)
}

// Remote applies an operation locally, then queues m unless it is local
// only: with via when set, with Post otherwise.
func (c *Node) Remote(op string, opts socketio.BroadcastOptions, m *wire.ClusterMessage, local func() error,
	via func(op string, m *wire.ClusterMessage, done func(any, error)) error) error {
	if err := local(); err != nil || opts.Flags.Local {
		return err
	}
	o := ToWire(opts)
	o.Rooms, o.Except = NonNil(o.Rooms), NonNil(o.Except)
	m.Opts = &o
	if via != nil {
		err := via(op, m, nil)
		if c.hb != nil {
			c.hb.published()
		}
		return err
	}
	return c.Send(op, m, nil)
}

// AddSockets makes the sockets opts selects join rooms, here and on the
// other servers.
func (c *Node) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return c.Remote(OpSocketsJoin, opts, &wire.ClusterMessage{Type: wire.SocketsJoin, Rooms: NonNil(rooms)},
		func() error { return c.Mem.AddSockets(ctx, opts, rooms) }, nil)
}

// DelSockets makes the sockets opts selects leave rooms.
func (c *Node) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return c.Remote(OpSocketsLeave, opts, &wire.ClusterMessage{Type: wire.SocketsLeave, Rooms: NonNil(rooms)},
		func() error { return c.Mem.DelSockets(ctx, opts, rooms) }, nil)
}

// DisconnectSockets disconnects the sockets opts selects.
func (c *Node) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	return c.Remote(OpDisconnectSockets, opts, &wire.ClusterMessage{Type: wire.DisconnectSockets, Close: close},
		func() error { return c.Mem.DisconnectSockets(ctx, opts, close) }, nil)
}

// serverCount counts the servers: by heartbeats, or with CountServers.
func (c *Node) serverCount(ctx context.Context) (int, []string, error) {
	if c.hb != nil {
		uids := c.hb.peers()
		return 1 + len(uids), uids, nil
	}
	n, err := c.CountServers(ctx)
	return n, nil, err
}

// missing returns the set of uids a request waits for, nil without
// heartbeats.
func missing(uids []string) map[string]bool {
	if uids == nil {
		return nil
	}
	m := make(map[string]bool, len(uids))
	for _, u := range uids {
		m[u] = true
	}
	return m
}

// FetchSockets returns the sockets opts selects on every server.
func (c *Node) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, err := c.Mem.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n, uids, err := c.serverCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	id := RandomHex()
	p := &Pending{Type: int(wire.FetchSockets), Expected: n - 1, Missing: missing(uids), Sockets: local, Done: make(chan error, 1)}
	if err := c.Register(id, p); err != nil {
		return nil, err
	}
	o := ToWire(opts)
	o.Rooms, o.Except = NonNil(o.Rooms), NonNil(o.Except)
	if err := c.Send(OpFetchSockets, &wire.ClusterMessage{Type: wire.FetchSockets, Opts: &o, RequestID: id}, c.Unsent(id, p)); err != nil {
		c.Forget(id)
		return nil, err
	}
	if err := c.Wait(ctx, id, "fetchSockets", p); err != nil {
		return nil, err
	}
	return p.Sockets, nil
}

// ServerSideEmit queues the event for the other servers; with reply, it
// returns how many answers to expect and passes each to reply until ctx
// ends or the requests' timeout passes.
func (c *Node) ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	m := &wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Value: p.Data, Attachments: p.Attachments}
	if reply == nil {
		return 0, c.Send(OpServerSideEmit, m, nil)
	}
	n, uids, err := c.serverCount(ctx)
	if err != nil {
		return 0, err
	}
	if n--; n <= 0 { // this server does not answer itself
		return 0, nil
	}
	id := RandomHex()
	pd := &Pending{Type: int(wire.ClusterServerSideEmit), Expected: n, Missing: missing(uids), Reply: reply}
	c.Expire(ctx, id, pd)
	if err := c.Register(id, pd); err != nil {
		pd.Stop()
		return 0, err
	}
	m.RequestID = id
	if err := c.Send(OpServerSideEmit, m, c.Unsent(id, pd)); err != nil {
		c.Forget(id)
		pd.Stop()
		return 0, err
	}
	return n, nil
}

// Apply handles a message of another server: offset is its position in a
// shared log, or empty.
func (c *Node) Apply(ctx context.Context, m *wire.ClusterMessage, offset string) {
	if m.UID == c.UID || c.IsClosed() {
		return
	}
	if c.hb != nil && c.hb.apply(m) {
		return
	}
	if m.Nsp != c.NspName {
		return
	}
	switch m.Type {
	case wire.ClusterBroadcast:
		p := m.Packet
		p.HasID = false
		opts := FromWire(m.Opts)
		if m.RequestID == "" {
			if c.Offsets {
				_ = c.Mem.BroadcastWithOffset(ctx, p, opts, offset)
			} else {
				_ = c.Mem.Broadcast(ctx, p, opts)
			}
			return
		}
		timeout := c.timeout
		if m.Opts != nil && m.Opts.Flags.Timeout > 0 {
			timeout = m.Opts.Flags.Timeout
		}
		bctx, cancel := context.WithTimeout(ctx, timeout)
		context.AfterFunc(bctx, cancel)
		from, id := m.UID, m.RequestID
		_ = c.Mem.BroadcastWithAck(bctx, p, opts,
			func(n int) {
				c.Respond(from, &wire.ClusterMessage{Type: wire.ClusterClientCount, RequestID: id, ClientCount: n})
			},
			func(args socketio.Args) {
				c.Respond(from, &wire.ClusterMessage{Type: wire.ClusterBroadcastAck, RequestID: id,
					Value: args.Raw(0), Attachments: args.Attachments()})
			})
	case wire.SocketsJoin:
		_ = c.Mem.AddSockets(ctx, FromWire(m.Opts), m.Rooms)
	case wire.SocketsLeave:
		_ = c.Mem.DelSockets(ctx, FromWire(m.Opts), m.Rooms)
	case wire.DisconnectSockets:
		_ = c.Mem.DisconnectSockets(ctx, FromWire(m.Opts), m.Close)
	case wire.FetchSockets:
		local, _ := c.Mem.FetchSockets(ctx, FromWire(m.Opts))
		sockets := make([]json.RawMessage, 0, len(local))
		for _, s := range local {
			if b, err := json.Marshal(s); err == nil {
				sockets = append(sockets, b)
			}
		}
		c.Respond(m.UID, &wire.ClusterMessage{Type: wire.FetchSocketsResponse, RequestID: m.RequestID,
			Sockets: protocol.AppendArray(nil, sockets...)})
	case wire.ClusterServerSideEmit:
		ev, args, err := protocol.EventName(m.Value)
		if err != nil {
			return
		}
		var reply func(socketio.Args)
		if m.RequestID != "" {
			from, id := m.UID, m.RequestID
			reply = func(args socketio.Args) {
				c.Respond(from, &wire.ClusterMessage{Type: wire.ServerSideEmitResponse, RequestID: id,
					Value: args.Raw(0), Attachments: args.Attachments()})
			}
		}
		c.Nsp.HandleServerSideEmit(ev, socketio.NewArgs(args, m.Attachments), reply)
	case wire.FetchSocketsResponse, wire.ServerSideEmitResponse, wire.ClusterClientCount, wire.ClusterBroadcastAck:
		c.onResponse(m)
	}
}

// onResponse passes a response to the request or broadcast it answers.
func (c *Node) onResponse(m *wire.ClusterMessage) {
	c.Mu.Lock()
	if ap := c.Acks[m.RequestID]; ap != nil {
		c.Mu.Unlock()
		switch m.Type {
		case wire.ClusterClientCount:
			ap.ClientCount(m.ClientCount)
		case wire.ClusterBroadcastAck:
			ap.Ack(ArgsOf(m.Value, m.Attachments))
		}
		return
	}
	p := c.Requests[m.RequestID]
	if p == nil {
		c.Mu.Unlock()
		return
	}
	var call func()
	switch {
	case m.Type == wire.FetchSocketsResponse && p.Type == int(wire.FetchSockets):
		var sockets []*socketio.RemoteSocket
		if err := json.Unmarshal(m.Sockets, &sockets); err != nil {
			break
		}
		p.Sockets = append(p.Sockets, sockets...)
		p.Got++
		delete(p.Missing, m.UID)
	case m.Type == wire.ServerSideEmitResponse && p.Type == int(wire.ClusterServerSideEmit):
		args := ArgsOf(m.Value, m.Attachments)
		reply := p.Reply
		call = func() { reply(args) }
		p.Got++
		delete(p.Missing, m.UID)
	}
	if p.Missing != nil && len(p.Missing) == 0 || p.Missing == nil && p.Got >= p.Expected {
		delete(c.Requests, m.RequestID)
		defer p.Finish(nil)
	}
	c.Mu.Unlock()
	if call != nil {
		call()
	}
}

// ToWire converts broadcast options to their form on the wire.
func ToWire(o socketio.BroadcastOptions) wire.Opts {
	return wire.Opts{
		Rooms:  o.Rooms,
		Except: o.Except,
		Flags: wire.Flags{
			Volatile:   o.Flags.Volatile,
			NoCompress: o.Flags.NoCompress,
			Local:      o.Flags.Local,
			Timeout:    o.Flags.Timeout,
		},
	}
}

// FromWire converts the options of another server's message.
func FromWire(o *wire.Opts) socketio.BroadcastOptions {
	if o == nil {
		return socketio.BroadcastOptions{}
	}
	return socketio.BroadcastOptions{
		Rooms:  o.Rooms,
		Except: o.Except,
		Flags: socketio.BroadcastFlags{
			Volatile:   o.Flags.Volatile,
			NoCompress: o.Flags.NoCompress,
		},
	}
}

// NonNil returns s, or an empty slice for nil (written [] rather than
// null).
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ArgsOf makes the Args of one acknowledgement value; an absent value
// (JavaScript's undefined) gives no argument.
func ArgsOf(value json.RawMessage, atts [][]byte) socketio.Args {
	if len(value) == 0 {
		return socketio.NewArgs(nil, nil)
	}
	return socketio.NewArgs([]json.RawMessage{value}, atts)
}

// EncodeError wraps an encoding error.
func (c *Node) EncodeError(err error) error { return fmt.Errorf("%s: %w", c.Prefix, err) }

// heartbeats count the servers of a namespace as socket.io-adapter's
// ClusterAdapterWithHeartbeat does: every server publishes a heartbeat
// when it has published nothing for an interval, answers a new server's
// initial heartbeat, and announces its closing; a server not heard from
// for the timeout is forgotten.
type heartbeats struct {
	node     *Node
	interval time.Duration
	timeout  time.Duration

	mu     sync.Mutex
	seen   map[string]time.Time // uid of each other server → last message
	timer  *time.Timer          // the next heartbeat
	sweep  *time.Ticker
	done   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// StartHeartbeats makes the node count the servers by their heartbeats.
// The caller publishes the initial heartbeat (INITIAL_HEARTBEAT) once it
// receives the other servers' messages, which answer it.
func (c *Node) StartHeartbeats(interval, timeout time.Duration) {
	h := &heartbeats{node: c, interval: interval, timeout: timeout, seen: map[string]time.Time{},
		done: make(chan struct{})}
	c.hb = h
	h.timer = time.AfterFunc(interval, h.beat)
	h.sweep = time.NewTicker(time.Second)
	h.wg.Add(1)
	go h.sweeping()
}

// HeardSince returns how many other servers sent a message after t.
func (c *Node) HeardSince(t time.Time) int {
	if c.hb == nil {
		return 0
	}
	c.hb.mu.Lock()
	defer c.hb.mu.Unlock()
	n := 0
	for _, at := range c.hb.seen {
		if at.After(t) {
			n++
		}
	}
	return n
}

// StopHeartbeats publishes the closing of the adapter and stops the
// timers; the caller then closes the outbox, which publishes it.
func (c *Node) StopHeartbeats() {
	h := c.hb
	if h == nil {
		return
	}
	h.mu.Lock()
	h.closed = true
	h.timer.Stop()
	h.mu.Unlock()
	h.sweep.Stop()
	close(h.done)
	h.wg.Wait()
	_ = c.Post(OpHeartbeat, &wire.ClusterMessage{Type: wire.AdapterClose}, nil)
}

// published postpones the next heartbeat by an interval.
func (h *heartbeats) published() {
	h.mu.Lock()
	if !h.closed {
		h.timer.Reset(h.interval)
	}
	h.mu.Unlock()
}

func (h *heartbeats) beat() {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if !closed {
		_ = h.node.Send(OpHeartbeat, &wire.ClusterMessage{Type: wire.Heartbeat}, nil)
	}
}

// peers returns the uids of the other servers.
func (h *heartbeats) peers() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.seen))
	for uid := range h.seen {
		out = append(out, uid)
	}
	return out
}

// apply notes the sender of a message and handles the heartbeat ones,
// reporting whether m was one.
func (h *heartbeats) apply(m *wire.ClusterMessage) bool {
	if m.UID != "" && m.UID != EmitterUID {
		h.mu.Lock()
		h.seen[m.UID] = time.Now()
		h.mu.Unlock()
	}
	switch m.Type {
	case wire.InitialHeartbeat:
		_ = h.node.Send(OpHeartbeat, &wire.ClusterMessage{Type: wire.Heartbeat}, nil)
	case wire.Heartbeat:
	case wire.AdapterClose:
		h.remove(m.UID)
	default:
		return false
	}
	return true
}

func (h *heartbeats) sweeping() {
	defer h.wg.Done()
	for {
		select {
		case <-h.done:
			return
		case now := <-h.sweep.C:
			var gone []string
			h.mu.Lock()
			for uid, at := range h.seen {
				if now.Sub(at) > h.timeout {
					gone = append(gone, uid)
				}
			}
			h.mu.Unlock()
			for _, uid := range gone {
				h.node.Log.Debug(h.node.Prefix+": server seems down", "nsp", h.node.NspName, "uid", uid)
				h.remove(uid)
			}
		}
	}
}

// remove forgets server uid; the requests that waited only for it end.
func (h *heartbeats) remove(uid string) {
	h.mu.Lock()
	delete(h.seen, uid)
	h.mu.Unlock()
	c := h.node
	var done []*Pending
	c.Mu.Lock()
	for id, p := range c.Requests {
		if p.Missing == nil || !p.Missing[uid] {
			continue
		}
		delete(p.Missing, uid)
		if len(p.Missing) == 0 {
			delete(c.Requests, id)
			done = append(done, p)
		}
	}
	c.Mu.Unlock()
	for _, p := range done {
		p.Finish(nil)
	}
}
