package socketio

import (
	"context"
	"slices"
	"sync"

	"github.com/sio-go/socketio/protocol"
)

// MemoryAdapter is the in-process adapter: it keeps the rooms of a namespace
// and delivers broadcasts to the namespace's sockets on this server. Cluster
// adapters wrap it and call it to apply what other servers send. When
// connection state recovery is enabled it also stores sessions and the
// packets they may miss (it implements SessionStore).
//
// One sync.RWMutex guards both the room→sockets and socket→rooms maps.
type MemoryAdapter struct {
	nsp   *Namespace
	store *sessionStore // nil without connection state recovery

	mu    sync.RWMutex
	rooms map[string]map[string]*Socket // room → socket id → socket, own-id rooms apart
	sids  map[string]*member            // socket id → membership
}

// A socket's own-id room is kept as the member's self flag rather than as a
// set of one in rooms: every socket has one, and a set costs a map.
type member struct {
	s     *Socket
	rooms []string // in joining order, the socket's own id first
	self  bool     // in the room named by its own id
}

// inRoom reports whether socket id is in room. The caller holds a.mu.
func (a *MemoryAdapter) inRoom(room, id string) bool {
	if room == id {
		if m := a.sids[id]; m != nil && m.self {
			return true
		}
	}
	_, ok := a.rooms[room][id]
	return ok
}

// selfMember returns the socket whose own-id room is room, if any. The
// caller holds a.mu.
func (a *MemoryAdapter) selfMember(room string) *member {
	if m := a.sids[room]; m != nil && m.self {
		return m
	}
	return nil
}

var (
	_ Adapter      = (*MemoryAdapter)(nil)
	_ SessionStore = (*MemoryAdapter)(nil)
)

// NewMemoryAdapter returns the in-memory adapter of nsp.
func NewMemoryAdapter(nsp *Namespace) *MemoryAdapter {
	a := &MemoryAdapter{
		nsp:   nsp,
		rooms: map[string]map[string]*Socket{},
		sids:  map[string]*member{},
	}
	if rc := nsp.srv.cfg.ConnectionStateRecovery; rc != nil {
		a.store = newSessionStore(rc.MaxDisconnectionDuration)
	}
	return a
}

// AddAll adds socket id to rooms.
func (a *MemoryAdapter) AddAll(id string, rooms []string) {
	s := a.nsp.lookup(id)
	hooked := a.nsp.hooked.Load()
	var evs []RoomEvent
	a.mu.Lock()
	m := a.sids[id]
	if m == nil {
		m = &member{s: s}
		a.sids[id] = m
	}
	for _, room := range rooms {
		if !slices.Contains(m.rooms, room) {
			m.rooms = append(m.rooms, room)
		}
		if room == id {
			if !m.self {
				m.self = true
				if hooked {
					if len(a.rooms[room]) == 0 {
						evs = append(evs, RoomEvent{Type: RoomCreated, Room: room})
					}
					evs = append(evs, RoomEvent{Type: RoomJoined, Room: room, SocketID: id})
				}
			}
			continue
		}
		set := a.rooms[room]
		if set == nil {
			set = map[string]*Socket{}
			a.rooms[room] = set
			if hooked && a.selfMember(room) == nil {
				evs = append(evs, RoomEvent{Type: RoomCreated, Room: room})
			}
		}
		if _, ok := set[id]; !ok {
			set[id] = s
			if hooked {
				evs = append(evs, RoomEvent{Type: RoomJoined, Room: room, SocketID: id})
			}
		}
	}
	a.mu.Unlock()
	a.nsp.roomEvents(evs)
}

// Del removes socket id from room.
func (a *MemoryAdapter) Del(id, room string) {
	var evs []RoomEvent
	a.mu.Lock()
	if m := a.sids[id]; m != nil {
		if i := slices.Index(m.rooms, room); i >= 0 {
			m.rooms = slices.Delete(m.rooms, i, i+1)
		}
	}
	evs = a.del(room, id, evs)
	a.mu.Unlock()
	a.nsp.roomEvents(evs)
}

// DelAll removes socket id from every room.
func (a *MemoryAdapter) DelAll(id string) {
	var evs []RoomEvent
	a.mu.Lock()
	if m := a.sids[id]; m != nil {
		for _, room := range m.rooms {
			evs = a.del(room, id, evs)
		}
		delete(a.sids, id)
	}
	a.mu.Unlock()
	a.nsp.roomEvents(evs)
}

func (a *MemoryAdapter) del(room, id string, evs []RoomEvent) []RoomEvent {
	hooked := a.nsp.hooked.Load()
	if room == id {
		m := a.sids[id]
		if m == nil || !m.self {
			return evs
		}
		m.self = false
		if hooked {
			evs = append(evs, RoomEvent{Type: RoomLeft, Room: room, SocketID: id})
			if len(a.rooms[room]) == 0 {
				evs = append(evs, RoomEvent{Type: RoomDeleted, Room: room})
			}
		}
		return evs
	}
	set := a.rooms[room]
	if set == nil {
		return evs
	}
	if _, ok := set[id]; ok {
		delete(set, id)
		if hooked {
			evs = append(evs, RoomEvent{Type: RoomLeft, Room: room, SocketID: id})
		}
	}
	if len(set) == 0 {
		delete(a.rooms, room)
		if hooked && a.selfMember(room) == nil {
			evs = append(evs, RoomEvent{Type: RoomDeleted, Room: room})
		}
	}
	return evs
}

// SocketRooms returns the rooms of socket id.
func (a *MemoryAdapter) SocketRooms(id string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if m := a.sids[id]; m != nil {
		return slices.Clone(m.rooms)
	}
	return nil
}

// Rooms returns the names of every room of the namespace on this server.
func (a *MemoryAdapter) Rooms() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]string, 0, len(a.rooms)+len(a.sids))
	for r := range a.rooms {
		out = append(out, r)
	}
	for id, m := range a.sids {
		if _, dup := a.rooms[id]; m.self && !dup {
			out = append(out, id)
		}
	}
	return out
}

// HasRoom reports whether room has sockets on this server. Cluster adapters
// use it to skip broadcasts for rooms they do not have.
func (a *MemoryAdapter) HasRoom(room string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms[room]) > 0 || a.selfMember(room) != nil
}

var recipientPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 64); return &s }}

// collect appends the connected sockets opts selects to dst. Each socket is
// taken once, even when it is in several target rooms. The lock is released
// before the caller writes to the sockets, since a write may end a session.
func (a *MemoryAdapter) collect(dst []*Socket, opts *BroadcastOptions) []*Socket {
	a.mu.RLock()
	defer a.mu.RUnlock()
	excluded := func(id string) bool {
		for _, r := range opts.Except {
			if a.inRoom(r, id) {
				return true
			}
		}
		return false
	}
	if len(opts.Rooms) == 0 {
		for id, m := range a.sids {
			if m.s != nil && !excluded(id) {
				dst = append(dst, m.s)
			}
		}
		return dst
	}
	take := func(i int, id string, s *Socket) {
		if s == nil || excluded(id) {
			return
		}
		for _, prev := range opts.Rooms[:i] {
			if a.inRoom(prev, id) {
				return // already taken
			}
		}
		dst = append(dst, s)
	}
	for i, room := range opts.Rooms {
		if m := a.selfMember(room); m != nil {
			take(i, room, m.s)
		}
		for id, s := range a.rooms[room] {
			take(i, id, s)
		}
	}
	return dst
}

// each calls f for every connected socket opts selects.
func (a *MemoryAdapter) each(opts *BroadcastOptions, f func(*Socket)) {
	bp := recipientPool.Get().(*[]*Socket)
	list := a.collect((*bp)[:0], opts)
	for _, s := range list {
		if s.state.Load() == stateConnected {
			f(s)
		}
	}
	clear(list)
	*bp = list[:0]
	recipientPool.Put(bp)
}

// Broadcast encodes p once and hands the same messages to every recipient.
// With connection state recovery, events without ack id that are not
// volatile get an offset as last argument and are stored for replay.
func (a *MemoryAdapter) Broadcast(_ context.Context, p *protocol.Packet, opts BroadcastOptions) error {
	if a.store != nil && recoverable(p, &opts) {
		p = a.store.append(p, opts)
	}
	a.deliver(p, &opts)
	return nil
}

// BroadcastWithOffset is Broadcast for an adapter that keeps the packets
// for connection state recovery itself, in a shared log whose position is
// offset: when recovery is enabled and offset is not empty, an event
// without ack id that is not volatile gets offset as its last argument.
// The packet is not stored in the adapter's own session store.
func (a *MemoryAdapter) BroadcastWithOffset(_ context.Context, p *protocol.Packet, opts BroadcastOptions, offset string) error {
	if offset != "" && a.nsp.srv.cfg.ConnectionStateRecovery != nil && recoverable(p, &opts) {
		p = WithOffset(p, offset)
	}
	a.deliver(p, &opts)
	return nil
}

// recoverable reports whether a broadcast is kept for connection state
// recovery: an event without ack id (an acknowledgement cannot be
// replayed), not volatile.
func recoverable(p *protocol.Packet, opts *BroadcastOptions) bool {
	return !p.HasID && !opts.Flags.Volatile && (p.Type == protocol.Event || p.Type == protocol.BinaryEvent)
}

// deliver writes p to the local sockets opts selects.
func (a *MemoryAdapter) deliver(p *protocol.Packet, opts *BroadcastOptions) {
	msgs := a.nsp.srv.encodeBroadcast(p)
	if msgs == nil {
		return
	}
	volatile := opts.Flags.Volatile
	a.each(opts, func(s *Socket) { s.deliver(p, msgs, volatile) })
}

// BroadcastWithAck gives the packet an ack id of the namespace, registers ack
// on every recipient, then reports their number to clientCount. When ctx
// ends, the recipients that did not answer are forgotten.
func (a *MemoryAdapter) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts BroadcastOptions,
	clientCount func(int), ack func(Args)) error {
	q := *p
	q.ID, q.HasID = a.nsp.nextAckID(), true
	msgs, err := a.nsp.srv.encode(&q)
	if err != nil {
		return err
	}
	n := 0
	a.each(&opts, func(s *Socket) {
		if !s.addAck(q.ID, ack) {
			return
		}
		n++
		s.deliver(&q, msgs, opts.Flags.Volatile)
	})
	clientCount(n)
	if n > 0 {
		id := q.ID
		context.AfterFunc(ctx, func() {
			a.nsp.forEachSocket(func(s *Socket) { s.removeAck(id) })
		})
	}
	return nil
}

// ServerCount returns 1.
func (a *MemoryAdapter) ServerCount(context.Context) (int, error) { return 1, nil }

// FetchSockets returns the local sockets opts selects.
func (a *MemoryAdapter) FetchSockets(_ context.Context, opts BroadcastOptions) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	a.each(&opts, func(s *Socket) { out = append(out, s.remote()) })
	return out, nil
}

// AddSockets makes the local sockets opts selects join rooms.
func (a *MemoryAdapter) AddSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, s := range a.selected(&opts) {
		s.Join(rooms...)
	}
	return nil
}

// DelSockets makes the local sockets opts selects leave rooms.
func (a *MemoryAdapter) DelSockets(_ context.Context, opts BroadcastOptions, rooms []string) error {
	for _, s := range a.selected(&opts) {
		for _, r := range rooms {
			s.Leave(r)
		}
	}
	return nil
}

// DisconnectSockets disconnects the local sockets opts selects.
func (a *MemoryAdapter) DisconnectSockets(_ context.Context, opts BroadcastOptions, close bool) error {
	for _, s := range a.selected(&opts) {
		if close {
			s.CloseConn()
		} else {
			s.Disconnect()
		}
	}
	return nil
}

// selected returns a copy of the selection, for operations that change the
// rooms (and so need the lock) while walking it.
func (a *MemoryAdapter) selected(opts *BroadcastOptions) []*Socket {
	var out []*Socket
	a.each(opts, func(s *Socket) { out = append(out, s) })
	return out
}

// ServerSideEmit does nothing: there is no other server. It expects no reply.
func (a *MemoryAdapter) ServerSideEmit(context.Context, *protocol.Packet, func(Args)) (int, error) {
	return 0, nil
}

// PersistSession stores a disconnected socket's state, when connection state
// recovery is enabled.
func (a *MemoryAdapter) PersistSession(s *Session) {
	if a.store != nil {
		a.store.persist(s)
	}
}

// RestoreSession returns a stored session and the packets it missed. It does
// not block.
func (a *MemoryAdapter) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	if a.store == nil {
		return nil, nil
	}
	return a.store.restore(pid, offset), nil
}

// Close does nothing.
func (a *MemoryAdapter) Close() error { return nil }

// remote describes a local socket as FetchSockets returns it.
func (s *Socket) remote() *RemoteSocket {
	return &RemoteSocket{
		ID:        s.id,
		Handshake: *s.Handshake(),
		Rooms:     s.Rooms(),
		Data:      s.Data(),
		nsp:       s.nsp,
	}
}
