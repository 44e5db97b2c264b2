package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
)

// jsTime is a time as JSON.stringify writes a JavaScript Date:
// 2006-01-02T15:04:05.000Z.
type jsTime time.Time

func (t jsTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z") + `"`), nil
}

func now() jsTime { return jsTime(time.Now()) }

// fetchTimeout bounds the cluster-wide requests made for the UI.
const fetchTimeout = 5 * time.Second

// onAdminConnect welcomes a UI: its session id after a login, the features
// it may use and, in development mode, every socket of the cluster.
func (in *Instrumentation) onAdminConnect(s *socketio.Socket) {
	if in.auth != nil {
		if id := in.auth.takeIssued(s); id != "" {
			_ = s.Emit("session", id)
		}
	}
	if !in.cfg.ReadOnly {
		in.handleActions(s)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": in.features})
	if in.cfg.Mode == Development {
		_ = s.Emit("all_sockets", in.allSockets(s.Context()))
	}
}

// allSockets lists the sockets of every namespace on every server.
func (in *Instrumentation) allSockets(ctx context.Context) []serializedSocket {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	out := []serializedSocket{}
	for _, n := range in.srv.Namespaces() {
		rs, err := n.FetchSockets(ctx)
		if err != nil {
			continue
		}
		for _, r := range rs {
			out = append(out, serializeRemote(n, r))
		}
	}
	return out
}

// watch reports the sockets and rooms of n as they change (development
// mode).
func (in *Instrumentation) watch(n *socketio.Namespace) {
	in.mu.Lock()
	seen := in.known[n]
	in.known[n] = true
	in.mu.Unlock()
	if seen {
		return
	}
	name := n.Name()
	n.OnConnect(func(s *socketio.Socket) { in.watchSocket(n, s) })
	n.OnRoomEvent(func(ev socketio.RoomEvent) {
		switch ev.Type {
		case socketio.RoomJoined:
			in.send("room_joined", name, ev.Room, ev.SocketID, now())
		case socketio.RoomLeft:
			in.send("room_left", name, ev.Room, ev.SocketID, now())
		}
	})
}

// adminData is the data an instrumented socket gets when it has none, as
// with Node's instrument(): the UI connected to another server of the
// cluster reads the socket's client id and transport from it.
type adminData struct {
	Admin adminMeta `json:"_admin"`
}

type adminMeta struct {
	ClientID  string `json:"clientId"`
	Transport string `json:"transport"`
}

func (in *Instrumentation) watchSocket(n *socketio.Namespace, s *socketio.Socket) {
	name, id := n.Name(), s.ID()
	conn := s.Conn()
	if s.Data().IsZero() {
		s.SetData(adminData{adminMeta{clientID(conn), string(conn.Transport())}})
	}
	in.send("socket_connected", serializeLocal(n, s), now())
	conn.OnUpgrade(func(t engineio.Transport) {
		if d, ok := socketio.DataAs[adminData](s.Data()); ok == nil && d.Admin.ClientID != "" {
			d.Admin.Transport = string(t)
			s.SetData(d)
		}
		in.send("socket_updated", map[string]any{"id": id, "nsp": name, "transport": string(t)})
	})
	if n != in.nsp {
		s.OnAny(func(_ context.Context, ev string, args socketio.Args) {
			in.send("event_received", name, id, eventArgs(ev, args), now())
		})
		s.OnAnyOutgoing(func(ev string, args socketio.Args) {
			in.send("event_sent", name, id, eventArgs(ev, args), now())
		})
	}
	s.OnDisconnect(func(ev socketio.DisconnectEvent) {
		in.send("socket_disconnected", name, id, string(ev.Reason), now())
	})
}

// eventArgs is an event as Node's onAny listeners see it: its name, then
// its arguments.
func eventArgs(ev string, args socketio.Args) []any {
	return append([]any{ev}, args.Values()...)
}

func clientID(c socketio.Conn) string {
	id := c.ID()
	if len(id) > 12 {
		id = id[:12] // as Node's instrument shows it
	}
	return id
}

// serializedSocket is a socket as the UI shows it (SerializedSocket in
// Node's typed-events.ts).
type serializedSocket struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId,omitempty"`
	Transport string          `json:"transport,omitempty"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Handshake json.RawMessage `json:"handshake"`
	Rooms     []string        `json:"rooms"`
}

func serializeLocal(n *socketio.Namespace, s *socketio.Socket) serializedSocket {
	return serializedSocket{
		ID:        s.ID(),
		ClientID:  clientID(s.Conn()),
		Transport: string(s.Conn().Transport()),
		Nsp:       n.Name(),
		Data:      userData(s.Data()),
		Handshake: handshake(s.Handshake()),
		Rooms:     nonNil(s.Rooms()),
	}
}

// serializeRemote describes a socket of a FetchSockets result: one of this
// server is read directly, one of another server through the _admin data
// its server gave it.
func serializeRemote(n *socketio.Namespace, r *socketio.RemoteSocket) serializedSocket {
	if s := n.Socket(r.ID); s != nil {
		return serializeLocal(n, s)
	}
	out := serializedSocket{
		ID:        r.ID,
		Nsp:       n.Name(),
		Data:      userData(r.Data),
		Handshake: handshake(&r.Handshake),
		Rooms:     nonNil(r.Rooms),
	}
	if d, err := socketio.DataAs[adminData](r.Data); err == nil {
		out.ClientID, out.Transport = d.Admin.ClientID, d.Admin.Transport
	}
	return out
}

// userData is a socket's data without the _admin field.
func userData(d socketio.Data) json.RawMessage {
	raw, err := d.MarshalJSON()
	if err != nil {
		return json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return raw // not an object
	}
	if _, ok := obj["_admin"]; !ok {
		return raw
	}
	delete(obj, "_admin")
	if raw, err = json.Marshal(obj); err != nil {
		return json.RawMessage("{}")
	}
	return raw
}

// handshake is the handshake as the UI shows it: the official server's
// form without the auth, the address taken from a proxy's headers when it
// set them.
func handshake(h *socketio.Handshake) json.RawMessage {
	raw, err := json.Marshal(h)
	if err != nil {
		return json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return raw
	}
	delete(obj, "auth")
	if a := clientAddress(h.Headers, h.Address); a != h.Address {
		obj["address"], _ = json.Marshal(a)
	}
	raw, _ = json.Marshal(obj)
	return raw
}

func clientAddress(h http.Header, addr string) string {
	if a := h.Get("Cf-Connecting-Ip"); a != "" {
		return a
	}
	if a := h.Get("X-Forwarded-For"); a != "" {
		return a
	}
	return addr
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
