package redisadapter

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// These handlers run on the subscriber's goroutine, one message at a time,
// in the order Redis delivered them. They never block on the network: the
// responses are queued in the adapter's outbox.

// onBroadcast delivers a broadcast of another server to the local sockets.
func (a *Adapter) onBroadcast(channel string, payload []byte) {
	if a.reqs.IsClosed() || !strings.HasPrefix(channel, a.channel) {
		return
	}
	b, err := wire.DecodeBroadcast(payload)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed broadcast ignored", "nsp", a.nspName, "err", err)
		return
	}
	if b.UID == a.uid || b.Packet.Namespace != a.nspName {
		return
	}
	p := b.Packet
	p.HasID = false
	opts := cluster.FromWire(&b.Opts)
	if err := a.mem.Broadcast(a.sub.ctx, p, opts); err != nil {
		a.cfg.Logger.Debug("redisadapter: broadcast", "nsp", a.nspName, "err", err)
	}
}

func (a *Adapter) onRequestOrResponse(channel string, payload []byte) {
	if a.reqs.IsClosed() {
		return
	}
	if strings.HasPrefix(channel, a.responseChannel) {
		a.onResponse(payload)
		return
	}
	if channel == a.requestChannel {
		a.onRequest(payload)
	}
}

// own reports whether request r comes from this adapter: by its uid, or
// by its id for a request without uid.
func (a *Adapter) own(r *wire.Request) bool {
	if r.UID == a.uid {
		return true
	}
	id := r.RequestID
	a.reqs.Mu.Lock()
	defer a.reqs.Mu.Unlock()
	_, ok := a.reqs.Requests[id]
	if !ok {
		_, ok = a.reqs.Acks[id]
	}
	return ok
}

// respond queues a response to request r, on the requester's own channel
// with PublishOnSpecificResponseChannel.
func (a *Adapter) respond(r *wire.Request, msg []byte) {
	channel := a.responseChannel
	if a.cfg.PublishOnSpecificResponseChannel {
		channel += r.UID + "#"
	}
	a.sendResponse(channel, msg)
}

// onRequest applies a request of another server (or of an emitter) and
// answers it when it expects an answer.
func (a *Adapter) onRequest(payload []byte) {
	r, err := wire.DecodeRequest(payload)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed request ignored", "nsp", a.nspName, "err", err)
		return
	}
	ctx := a.sub.ctx
	switch r.Type {
	case wire.Sockets:
		if a.own(r) {
			return
		}
		local, _ := a.mem.FetchSockets(ctx, socketio.BroadcastOptions{Rooms: r.Rooms, Flags: socketio.BroadcastFlags{Local: true}})
		ids := make([]string, 0, len(local))
		for _, s := range local {
			ids = append(ids, s.ID)
		}
		a.respond(r, wire.AppendSocketIDsResponse(nil, r.RequestID, ids))

	case wire.AllRooms:
		if a.own(r) {
			return
		}
		a.respond(r, wire.AppendRoomsResponse(nil, r.RequestID, cluster.NonNil(a.mem.Rooms())))

	case wire.RemoteJoin, wire.RemoteLeave, wire.RemoteDisconnect:
		if r.Opts == nil {
			a.legacy(r)
			return
		}
		if r.UID == a.uid { // applied when it was sent
			return
		}
		opts := cluster.FromWire(r.Opts)
		switch r.Type {
		case wire.RemoteJoin:
			_ = a.mem.AddSockets(ctx, opts, r.Rooms)
		case wire.RemoteLeave:
			_ = a.mem.DelSockets(ctx, opts, r.Rooms)
		default:
			_ = a.mem.DisconnectSockets(ctx, opts, r.Close)
		}

	case wire.RemoteFetch:
		if a.own(r) {
			return
		}
		local, _ := a.mem.FetchSockets(ctx, cluster.FromWire(r.Opts))
		sockets := make([]json.RawMessage, 0, len(local))
		for _, s := range local {
			if b, err := socketJSON(s); err == nil {
				sockets = append(sockets, b)
			}
		}
		a.respond(r, wire.AppendFetchResponse(nil, r.RequestID, sockets))

	case wire.ServerSideEmit:
		if r.UID == a.uid {
			return
		}
		ev, args, err := protocol.EventName(r.Data)
		if err != nil {
			return
		}
		var reply func(socketio.Args)
		if r.RequestID != "" {
			id := r.RequestID
			reply = func(args socketio.Args) {
				var v json.RawMessage
				if args.Len() > 0 {
					var err error
					if v, err = wire.InlineBuffers(args.Raw(0), args.Attachments()); err != nil {
						return
					}
				}
				// The Node adapter answers on the common channel, whatever
				// publishOnSpecificResponseChannel says.
				a.sendResponse(a.responseChannel, wire.AppendServerSideEmitResponse(nil, id, v))
			}
		}
		a.nsp.HandleServerSideEmit(ev, socketio.NewArgs(args, nil), reply)

	case wire.BroadcastWithAck:
		if r.Packet == nil || a.own(r) {
			return
		}
		timeout := r.Opts.Flags.Timeout
		if timeout <= 0 {
			timeout = a.cfg.RequestsTimeout
		}
		bctx, cancel := context.WithTimeout(ctx, timeout)
		context.AfterFunc(bctx, cancel)
		p := r.Packet
		p.HasID = false
		err := a.mem.BroadcastWithAck(bctx, p, cluster.FromWire(r.Opts),
			func(n int) { a.respond(r, wire.AppendClientCount(nil, r.RequestID, n)) },
			func(args socketio.Args) {
				msg, err := wire.AppendBroadcastAck(nil, r.RequestID, args.Raw(0), args.Attachments())
				if err == nil {
					a.respond(r, msg)
				}
			})
		if err != nil {
			cancel()
		}
	}
}

// legacy answers the requests by socket id of former adapter versions.
func (a *Adapter) legacy(r *wire.Request) {
	s := a.nsp.Socket(r.SID)
	if s == nil {
		return
	}
	switch r.Type {
	case wire.RemoteJoin:
		s.Join(r.Room)
	case wire.RemoteLeave:
		s.Leave(r.Room)
	default:
		if r.Close {
			s.CloseConn()
		} else {
			s.Disconnect()
		}
	}
	a.respond(r, wire.AppendDoneResponse(nil, r.RequestID))
}

// sendResponse queues a response; when it is not published, the requester
// times out (and OnError hears of it).
func (a *Adapter) sendResponse(channel string, msg []byte) {
	_ = a.out.Push(message(OpResponse, nil, len(msg), publishCmd(channel, msg), false, nil))
}
