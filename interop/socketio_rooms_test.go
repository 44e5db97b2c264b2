package interop

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIORoomsBroadcast joins several clients to rooms and checks who
// receives each broadcast: to rooms, except rooms, from a socket (which never
// receives its own broadcast) and from the server.
func TestSIORoomsBroadcast(t *testing.T) {
	type say struct {
		Mode   string   `json:"mode"`
		Rooms  []string `json:"rooms"`
		Except []string `json:"except"`
		Event  string   `json:"event"`
	}
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			socketio.OnAck(sock, "join", func(_ context.Context, rooms []string) ([]string, error) {
				sock.Join(rooms...)
				return sock.Rooms(), nil
			})
			socketio.OnAck(sock, "leave", func(_ context.Context, room string) ([]string, error) {
				sock.Leave(room)
				return sock.Rooms(), nil
			})
			// say broadcasts from the socket: it never receives it.
			socketio.OnAck(sock, "say", func(ctx context.Context, m say) (bool, error) {
				var op socketio.BroadcastOperator
				switch m.Mode {
				case "to":
					op = sock.To(m.Rooms...)
				case "broadcast":
					op = sock.Broadcast()
				case "except":
					op = sock.Except(m.Except...)
				default:
					return false, fmt.Errorf("mode %q", m.Mode)
				}
				return true, op.Emit(ctx, m.Event, sock.ID())
			})
		})
	})
	c := startClient(t)
	clients := []string{"a", "b", "c", "d"}
	rooms := map[string][]string{"a": {"r1"}, "b": {"r1", "r2"}, "c": {"r2"}, "d": nil}
	ids := map[string]string{}
	for _, name := range clients {
		ids[name] = c.dial(name, s.URL(), "/", nodeproc.M{"forceNew": true}).Str("id")
		s.connected(t, "/")
	}
	if n := s.srv.Engine().ClientsCount(); n != len(clients) {
		t.Fatalf("Engine().ClientsCount() = %d, want %d", n, len(clients))
	}
	for _, name := range clients {
		c.emitAck(name, "join-"+name, 0, "join", nonNilStrings(rooms[name]))
		want := append([]string{ids[name]}, rooms[name]...)
		jsonEqual(t, name+" rooms", c.ack("join-"+name).Field("args"), []any{want})
	}

	ctx := testCtx(t, wait)
	nsp := s.srv.Of("/")
	fetched, err := nsp.In("r1").FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inR1 []string
	for _, rs := range fetched {
		inR1 = append(inR1, rs.ID)
	}
	slices.Sort(inR1)
	if want := sortedOf(ids["a"], ids["b"]); !slices.Equal(inR1, want) {
		t.Errorf("FetchSockets in r1: %v, want %v", inR1, want)
	}

	// Each case sends its own event; want lists its recipients.
	want := map[string][]string{}
	fromSocket := func(ev, sender string, m say, recipients ...string) {
		t.Helper()
		m.Event = ev
		c.emitAck(sender, ev, 0, "say", m)
		jsonEqual(t, ev+" ack", c.ack(ev).Field("args"), []any{true})
		want[ev] = recipients
	}
	fromServer := func(ev string, op socketio.BroadcastOperator, recipients ...string) {
		t.Helper()
		if err := op.Emit(ctx, ev, "server"); err != nil {
			t.Fatal(err)
		}
		want[ev] = recipients
	}
	fromSocket("a-to-r1", "a", say{Mode: "to", Rooms: []string{"r1"}}, "b")
	fromSocket("a-broadcast", "a", say{Mode: "broadcast"}, "b", "c", "d")
	fromSocket("b-to-r1-r2", "b", say{Mode: "to", Rooms: []string{"r1", "r2"}}, "a", "c")
	fromSocket("d-except-r2", "d", say{Mode: "except", Except: []string{"r2"}}, "a")
	fromSocket("c-to-own-room", "c", say{Mode: "to", Rooms: []string{ids["c"]}})
	fromServer("srv-to-r1-except-r2", nsp.To("r1").Except("r2"), "a")
	fromServer("srv-to-r1-r2", nsp.To("r1", "r2"), "a", "b", "c")
	fromServer("srv-except-r1", nsp.Except("r1"), "c", "d")
	fromServer("srv-in-socket-room", s.srv.In(ids["d"]), "d")
	fromServer("srv-all", nsp.Local(), "a", "b", "c", "d")

	c.emitAck("b", "leave-b", 0, "leave", "r1")
	jsonEqual(t, "b rooms after leaving r1", c.ack("leave-b").Field("args"), []any{[]string{ids["b"], "r2"}})
	fromServer("srv-to-r1-after-leave", nsp.To("r1"), "a")

	// The events of one connection arrive in order: once the marker is
	// there, every earlier event is.
	if err := nsp.Emit(ctx, "marker"); err != nil {
		t.Fatal(err)
	}
	for _, name := range clients {
		c.event(name, "marker")
	}
	for ev, recipients := range want {
		var got []string
		for _, e := range c.p.Events(nodeproc.On("event", "name", ev)) {
			got = append(got, e.Str("socket"))
		}
		slices.Sort(got)
		if !slices.Equal(got, recipients) {
			t.Errorf("%s received by %v, want %v", ev, got, recipients)
		}
	}
	// The sender's id travels as the argument of socket broadcasts.
	jsonEqual(t, "a-to-r1 args", c.event("b", "a-to-r1").Field("args"), []any{ids["a"]})
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedOf(s ...string) []string {
	slices.Sort(s)
	return s
}
