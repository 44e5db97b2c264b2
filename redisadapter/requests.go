package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// start registers a request under its id (a new one when it has none)
// and queues it. When it is not published, the request is forgotten and
// its waiter told.
func (a *Adapter) start(op Op, p *cluster.Pending, r *wire.Request) error {
	r.UID = a.uid
	if r.RequestID == "" {
		r.RequestID = newID()
	}
	msg, err := wire.AppendRequest(nil, r)
	if err != nil {
		return fmt.Errorf("redisadapter: %w", err)
	}
	if err := a.reqs.Register(r.RequestID, p); err != nil {
		return err
	}
	id := r.RequestID
	if err := a.send(op, a.requestChannel, msg, nil, a.reqs.Unsent(id, p)); err != nil {
		a.reqs.Forget(id)
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
	p := &cluster.Pending{Type: int(wire.RemoteFetch), Expected: n - 1, Sockets: local, Done: make(chan error, 1)}
	r := &wire.Request{Type: wire.RemoteFetch, Opts: &wire.Opts{Rooms: cluster.NonNil(opts.Rooms), Except: cluster.NonNil(opts.Except)}}
	if err := a.start(OpFetchSockets, p, r); err != nil {
		return nil, err
	}
	if err := a.reqs.Wait(ctx, r.RequestID, "fetchSockets", p); err != nil {
		return nil, err
	}
	return p.Sockets, nil
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
	p := &cluster.Pending{Type: int(wire.AllRooms), Expected: n - 1, Rooms: local, Done: make(chan error, 1)}
	r := &wire.Request{Type: wire.AllRooms}
	if err := a.start(OpAllRooms, p, r); err != nil {
		return nil, err
	}
	if err := a.reqs.Wait(ctx, r.RequestID, "allRooms", p); err != nil {
		return nil, err
	}
	return p.Rooms, nil
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
	pd := &cluster.Pending{Type: int(wire.ServerSideEmit), Expected: n, Reply: reply}
	r.RequestID = newID()
	a.reqs.Expire(ctx, r.RequestID, pd)
	if err := a.start(OpServerSideEmit, pd, r); err != nil {
		pd.Stop()
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
	a.reqs.Mu.Lock()
	if ap := a.reqs.Acks[r.RequestID]; ap != nil {
		a.reqs.Mu.Unlock()
		switch r.Type {
		case wire.BroadcastClientCount:
			ap.ClientCount(r.ClientCount)
		case wire.BroadcastAck:
			ap.Ack(cluster.ArgsOf(r.Data, r.Attachments))
		}
		return
	}
	p := a.reqs.Requests[r.RequestID]
	if p == nil {
		a.reqs.Mu.Unlock()
		return
	}
	var call func()
	switch wire.RequestType(p.Type) {
	case wire.RemoteFetch:
		var sockets []*socketio.RemoteSocket
		if err := json.Unmarshal(r.Sockets, &sockets); err != nil || r.Sockets == nil {
			break
		}
		p.Sockets = append(p.Sockets, sockets...)
		p.Got++
	case wire.AllRooms:
		if r.Rooms == nil {
			break
		}
		for _, room := range r.Rooms {
			if !slices.Contains(p.Rooms, room) {
				p.Rooms = append(p.Rooms, room)
			}
		}
		p.Got++
	case wire.ServerSideEmit:
		if r.Type != wire.ServerSideEmit {
			break
		}
		args := cluster.ArgsOf(r.Data, nil)
		reply := p.Reply
		call = func() { reply(args) }
		p.Got++
	}
	if p.Got >= p.Expected {
		delete(a.reqs.Requests, r.RequestID)
		defer p.Finish(nil)
	}
	a.reqs.Mu.Unlock()
	if call != nil {
		call()
	}
}
