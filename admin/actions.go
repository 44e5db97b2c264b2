package admin

import (
	"context"
	"encoding/json"

	"github.com/sio-go/socketio"
)

// handleActions registers the UI's actions on its socket. Each names a
// namespace and, optionally, a room (a socket id for one socket); they act
// through the adapter, on every server of the cluster. An action with
// arguments of the wrong types, or for a namespace this server does not
// have, is ignored.
func (in *Instrumentation) handleActions(s *socketio.Socket) {
	// join(nsp, room, filter?) and leave(nsp, room, filter?)
	s.OnRaw("join", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
		if nsp, room, filter, ok := in.roomAction(args); ok {
			ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
			defer cancel()
			_ = operator(nsp, filter).SocketsJoin(ctx, room)
		}
	})
	s.OnRaw("leave", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
		if nsp, room, filter, ok := in.roomAction(args); ok {
			ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
			defer cancel()
			_ = operator(nsp, filter).SocketsLeave(ctx, room)
		}
	})
	// _disconnect(nsp, close, filter?)
	s.OnRaw("_disconnect", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
		var name string
		var closeConn bool
		if args.Decode(0, &name) != nil || args.Decode(1, &closeConn) != nil {
			return
		}
		filter, ok := optionalString(args, 2)
		nsp := in.namespace(name)
		if !ok || nsp == nil {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		if closeConn {
			_ = operator(nsp, filter).CloseConns(ctx)
		} else {
			_ = operator(nsp, filter).DisconnectSockets(ctx)
		}
	})
	// emit(nsp, filter, event, ...args)
	s.OnRaw("emit", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
		var name, ev string
		if args.Decode(0, &name) != nil || args.Decode(2, &ev) != nil || ev == "" {
			return
		}
		filter, ok := optionalString(args, 1)
		nsp := in.namespace(name)
		if !ok || nsp == nil {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		_ = operator(nsp, filter).Emit(ctx, ev, args.Values()[3:]...)
	})
}

// roomAction reads the arguments of join and leave.
func (in *Instrumentation) roomAction(args socketio.Args) (nsp *socketio.Namespace, room, filter string, ok bool) {
	var name string
	if args.Decode(0, &name) != nil || args.Decode(1, &room) != nil || room == "" {
		return nil, "", "", false
	}
	filter, ok = optionalString(args, 2)
	nsp = in.namespace(name)
	return nsp, room, filter, ok && nsp != nil
}

// optionalString reads argument i: a string, or nothing (missing, null).
func optionalString(args socketio.Args, i int) (string, bool) {
	if i >= args.Len() || string(args.Raw(i)) == "null" {
		return "", true
	}
	var s string
	if err := json.Unmarshal(args.Raw(i), &s); err != nil {
		return "", false
	}
	return s, true
}

// namespace returns this server's namespace called name, without creating
// it.
func (in *Instrumentation) namespace(name string) *socketio.Namespace {
	for _, n := range in.srv.Namespaces() {
		if n.Name() == name {
			return n
		}
	}
	return nil
}

// operator selects the sockets of nsp in room filter, or all of them.
func operator(nsp *socketio.Namespace, filter string) socketio.BroadcastOperator {
	if filter == "" {
		return nsp.Except()
	}
	return nsp.In(filter)
}
