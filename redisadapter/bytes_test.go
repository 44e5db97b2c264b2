package redisadapter

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

type recordedStep struct {
	Name     string `json:"name"`
	Messages []struct {
		Channel string `json:"channel"`
		Hex     string `json:"hex"`
	} `json:"messages"`
}

type recording struct {
	UID   string         `json:"uid"`
	Steps []recordedStep `json:"steps"`
}

func loadRecording(t *testing.T) *recording {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "classic.json"))
	must(t, err)
	var r recording
	must(t, json.Unmarshal(data, &r))
	return &r
}

// message returns message i of step name, with the Node adapter's uid
// replaced by uid and the request ids by the given ones (all are 6
// characters, so the MessagePack lengths do not change).
func (r *recording) message(t *testing.T, name string, i int, repl ...string) (string, []byte) {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			b, err := hex.DecodeString(s.Messages[i].Hex)
			must(t, err)
			for j := 0; j+1 < len(repl); j += 2 {
				b = bytes.ReplaceAll(b, []byte(repl[j]), []byte(repl[j+1]))
			}
			return s.Messages[i].Channel, b
		}
	}
	t.Fatalf("no recorded step %s", name)
	return "", nil
}

type spyMsg struct {
	channel string
	payload []byte
}

func spyOn(t *testing.T, addr string) func() spyMsg {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	ps := c.PSubscribe(context.Background(), "*")
	t.Cleanup(func() { _ = ps.Close(); _ = c.Close() })
	_, err := ps.Receive(context.Background())
	must(t, err)
	return func() spyMsg {
		t.Helper()
		for {
			msg, err := ps.ReceiveTimeout(context.Background(), 3*time.Second)
			must(t, err)
			if m, ok := msg.(*redis.Message); ok {
				return spyMsg{m.Channel, []byte(m.Payload)}
			}
		}
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// What the Go adapter publishes is byte for byte what the Node adapter
// publishes for the same operation.
func TestPublishedBytesMatchNode(t *testing.T) {
	rec := loadRecording(t)
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", &Config{RequestsTimeout: 200 * time.Millisecond})
	g.ready(t)
	next := spyOn(t, rs.Addr())
	a := g.adapter("/")
	ctx := ctxFor(t, 30*time.Second)
	nsp := g.srv.Of("/")

	check := func(step string, ids ...string) {
		t.Helper()
		got := next()
		repl := []string{rec.UID, a.uid}
		for _, id := range ids {
			repl = append(repl, id, requestID(t, got.payload))
		}
		channel, want := rec.message(t, step, 0, repl...)
		if got.channel != channel {
			t.Errorf("%s: channel %q, want %q", step, got.channel, channel)
		}
		if !bytes.Equal(got.payload, want) {
			t.Errorf("%s:\n got %x\nwant %x", step, got.payload, want)
		}
	}
	nodeID := func(step string) string {
		_, b := rec.message(t, step, 0)
		return requestID(t, b)
	}

	must(t, nsp.Emit(ctx, "hello", "world", 1))
	check("emit")
	must(t, nsp.To("room1").Emit(ctx, "hello", "to room1"))
	check("emit-room")
	must(t, nsp.To("room1", "room2").Except("room3").Emit(ctx, "multi", map[string]any{"a": 1, "b": []any{true, nil}}))
	check("emit-rooms-except")
	must(t, nsp.Emit(ctx, "ints", 0, 127, 128, 255, 256, 65535, 65536, uint32(4294967295), int64(4294967296),
		int64(9007199254740991), -1, -32, -33, -128, -129, -32768, -32769, int32(-2147483648), int64(-2147483649),
		int64(-9007199254740991)))
	check("emit-integers")
	must(t, nsp.Emit(ctx, "floats", 1.5, -0.25, math.Pi, 1e-7, 2.5e-300, math.Copysign(0, -1)))
	check("emit-floats")
	must(t, nsp.Emit(ctx, "strings", "", "é€😀\"\\\n\u0001", strings.Repeat("x", 31), strings.Repeat("x", 32),
		strings.Repeat("y", 255), strings.Repeat("y", 256)))
	check("emit-strings")
	arr15, arr16, map16 := make([]int, 15), make([]int, 16), []string{}
	for i := range arr16 {
		if i < 15 {
			arr15[i] = i
		}
		arr16[i] = i
		map16 = append(map16, `"k`+strconv.Itoa(i)+`":`+strconv.Itoa(i))
	}
	must(t, nsp.Emit(ctx, "containers", arr15, arr16, raw("{"+strings.Join(map16, ",")+"}"),
		raw(`{"b":1,"2":"two","1":"one","a":[]}`), map[string]any{}, [][]int{{}}))
	check("emit-containers")
	must(t, nsp.Emit(ctx, "bin", []byte{1, 2, 3}, map[string]any{"nested": bytes.Repeat([]byte{7}, 300)}, []any{[]byte{}}))
	check("emit-binary")
	must(t, nsp.Volatile().Emit(ctx, "v"))
	check("emit-volatile")
	must(t, nsp.Compress(false).Emit(ctx, "c", 1))
	check("emit-compress-false")
	must(t, g.srv.Of("/chat").To("room1").Emit(ctx, "chat", "hi"))
	got := next()
	_, nodeMsg := rec.message(t, "emit-namespace", 0)
	b, err := wire.DecodeBroadcast(nodeMsg) // the Node adapter of /chat has a uid of its own
	must(t, err)
	channel, want := rec.message(t, "emit-namespace", 0, b.UID, g.adapter("/chat").uid)
	if got.channel != channel || !bytes.Equal(got.payload, want) {
		t.Errorf("emit-namespace:\n got %s %x\nwant %s %x", got.channel, got.payload, channel, want)
	}

	// A broadcast with acknowledgements, with the timeout Node had.
	p := &protocol.Packet{Type: protocol.Event, Namespace: "/", Data: raw(`["ack-me",42]`)}
	bctx, cancel := context.WithCancel(ctx)
	must(t, a.BroadcastWithAck(bctx, p, socketio.BroadcastOptions{Rooms: []string{"room1"}, Flags: socketio.BroadcastFlags{Timeout: time.Second}},
		func(int) {}, func(socketio.Args) {}))
	cancel()
	check("broadcast-ack", nodeID("broadcast-ack"))

	must(t, nsp.In("room1").Except("room3").SocketsJoin(ctx, "room2", "room4"))
	check("sockets-join")
	must(t, nsp.In("room2").SocketsLeave(ctx, "room4"))
	check("sockets-leave")
	must(t, nsp.In("nobody").DisconnectSockets(ctx))
	check("disconnect-sockets")
	must(t, nsp.In("nobody").Except("room1").CloseConns(ctx))
	check("disconnect-sockets-close")
	must(t, nsp.ServerSideEmit(ctx, "hello", "world", map[string]int{"x": 1}))
	check("server-side-emit")

	// Requests that wait for other servers: a silent member makes two.
	silent := g.rdb.Subscribe(ctx, a.requestChannel)
	defer silent.Close()
	_, err = silent.Receive(ctx)
	must(t, err)
	_, _ = nsp.In("room1").FetchSockets(ctx)
	check("fetch-sockets", nodeID("fetch-sockets"))
	_, _ = a.AllRooms(ctx)
	check("all-rooms", nodeID("all-rooms"))
	sctx, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	_, _ = nsp.ServerSideEmitWithAck(sctx, "ping", 7)
	cancel2()
	check("server-side-emit-ack", nodeID("server-side-emit-ack"))
}

// What the Go adapter answers to the Node adapter's requests is byte for
// byte what a Node server answers.
func TestResponsesMatchNode(t *testing.T) {
	rec := loadRecording(t)
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", nil)
	g.srv.Of("/").OnServerSideEmit("ping", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
		var n int
		_ = args.Decode(0, &n)
		_ = ack(map[string]int{"pong": n})
	})
	g.ready(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g.url, "room1")
	next := spyOn(t, rs.Addr())
	ctx := ctxFor(t, 20*time.Second)

	publish := func(step string) {
		t.Helper()
		channel, msg := rec.message(t, step, 0)
		must(t, g.rdb.Publish(ctx, channel, msg).Err())
		if m := next(); !bytes.Equal(m.payload, msg) {
			t.Fatalf("%s: the spy saw %x first", step, m.payload)
		}
	}

	// serverSideEmit with an acknowledgement.
	publish("server-side-emit-ack")
	got := next()
	channel, want := rec.message(t, "server-side-emit-ack", 1)
	if got.channel != channel || !bytes.Equal(got.payload, want) {
		t.Errorf("server-side-emit-ack response:\n got %s %s\nwant %s %s", got.channel, got.payload, channel, want)
	}

	// Broadcast with acknowledgements: the client count matches exactly;
	// the acknowledgement carries what this client answered.
	publish("broadcast-ack")
	got = next()
	channel, want = rec.message(t, "broadcast-ack", 1)
	if got.channel != channel || !bytes.Equal(got.payload, want) {
		t.Errorf("client count:\n got %s %s\nwant %s %s", got.channel, got.payload, channel, want)
	}
	got = next()
	r, err := wire.DecodeResponse(got.payload)
	must(t, err)
	if r.Type != wire.BroadcastAck || r.RequestID != requestID(t, want) {
		t.Errorf("ack response %+v", r)
	}
	jsonEqual(t, "ack", r.Data, `{"client":"c1","got":[42]}`)

	// allRooms: same shape, this server's rooms.
	publish("all-rooms")
	got = next()
	r, err = wire.DecodeResponse(got.payload)
	must(t, err)
	_, req := rec.message(t, "all-rooms", 0)
	if r.RequestID != requestID(t, req) || len(r.Rooms) != 2 {
		t.Errorf("allRooms response %s", got.payload)
	}
	if !strings.HasPrefix(string(got.payload), `{"requestId":"`+r.RequestID+`","rooms":["`) {
		t.Errorf("allRooms response %s", got.payload)
	}
}

func requestID(t *testing.T, msg []byte) string {
	t.Helper()
	r, err := wire.DecodeRequest(msg)
	if err != nil || r.RequestID == "" {
		r2, err2 := wire.DecodeResponse(msg)
		if err2 != nil || r2.RequestID == "" {
			t.Fatalf("no request id in %x (%v)", msg, err)
		}
		return r2.RequestID
	}
	return r.RequestID
}
