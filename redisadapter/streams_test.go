package redisadapter

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

var recovery = &socketio.RecoveryConfig{MaxDisconnectionDuration: time.Minute}

// startStreams starts a Go server on the Streams adapter, with connection
// state recovery.
func startStreams(t *testing.T, addr, name string, cfg *StreamsConfig) *goServer {
	t.Helper()
	return startGoRecovering(t, newClient(addr), name,
		func(rdb redis.UniversalClient) socketio.AdapterFactory { return NewStreams(rdb, cfg) }, recovery)
}

// argsOnly returns the arguments of an event without the recovery offset
// the server appends.
func argsOnly(t *testing.T, args json.RawMessage) []byte {
	t.Helper()
	var list []json.RawMessage
	must(t, json.Unmarshal(args, &list))
	if n := len(list); n > 0 {
		var off string
		if json.Unmarshal(list[n-1], &off) == nil && validOffset(off) {
			list = list[:n-1]
		}
	}
	b, err := json.Marshal(list)
	must(t, err)
	return b
}

func (g *goServer) streams(nsp string) *StreamsAdapter {
	return g.srv.Of(nsp).Adapter().(*StreamsAdapter)
}

type streamsRecording struct {
	UID     string `json:"uid"`
	ChatUID string `json:"chatUid"`
	Steps   []struct {
		Name    string `json:"name"`
		Entries []struct {
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"entries"`
		Messages []struct {
			Channel string `json:"channel"`
			Hex     string `json:"hex"`
		} `json:"messages"`
	} `json:"steps"`
	Session struct {
		Value   string          `json:"value"`
		PID     string          `json:"pid"`
		SID     string          `json:"sid"`
		Decoded json.RawMessage `json:"decoded"`
	} `json:"session"`
}

func loadStreamsRecording(t *testing.T) *streamsRecording {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "streams.json"))
	must(t, err)
	var r streamsRecording
	must(t, json.Unmarshal(data, &r))
	return &r
}

func (r *streamsRecording) step(t *testing.T, name string) int {
	t.Helper()
	for i, s := range r.Steps {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("no recorded step %s", name)
	return 0
}

// entryReader returns the entries added to a stream since its last call.
func entryReader(t *testing.T, rdb *redis.Client, stream string) func(n int) []redis.XMessage {
	last := "0-0"
	return func(n int) []redis.XMessage {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			msgs, err := rdb.XRange(context.Background(), stream, nextOffset(last), "+").Result()
			must(t, err)
			if len(msgs) >= n {
				if len(msgs) > 0 {
					last = msgs[len(msgs)-1].ID
				}
				return msgs
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d entries added to %s, want %d", len(msgs), stream, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// The entries the Go adapter adds to the stream, and the requests it
// publishes, are those the Node adapter writes for the same operations.
func TestStreamsEntriesMatchNode(t *testing.T) {
	rec := loadStreamsRecording(t)
	rs := redistest.Start(t)
	cfg := &StreamsConfig{RequestsTimeout: 300 * time.Millisecond}
	g := startStreams(t, rs.Addr(), "g", cfg)
	g2 := startStreams(t, rs.Addr(), "g2", cfg)
	g.ready(t)
	g2.ready(t)
	spy := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = spy.Close() })
	entries := entryReader(t, spy, "socket.io")
	entries(0)
	next := spyOn(t, rs.Addr())
	ctx := ctxFor(t, 30*time.Second)
	srv := g.srv

	checkEntry := func(step string, op func() error) {
		t.Helper()
		must(t, op())
		got := entries(1)
		want := rec.Steps[rec.step(t, step)].Entries
		if len(got) != len(want) {
			t.Fatalf("%s: %d entries, want %d", step, len(got), len(want))
		}
		uid := g.streams("/").UID()
		if want[0].Fields["uid"] == rec.ChatUID {
			uid = g.streams("/chat").UID()
		}
		for k, w := range want[0].Fields {
			if k == "uid" {
				w = uid
			}
			if g, _ := got[0].Values[k].(string); g != w {
				t.Errorf("%s: field %s:\n got %q\nwant %q", step, k, g, w)
			}
		}
		if len(got[0].Values) != len(want[0].Fields) {
			t.Errorf("%s: fields %v, want %v", step, got[0].Values, want[0].Fields)
		}
	}
	checkEntry("emit", func() error { return srv.Emit(ctx, "hello", "world", 1) })
	checkEntry("emit-room", func() error {
		return srv.To("room1").Emit(ctx, "hello", map[string]any{"a": []any{1.5, nil}})
	})
	checkEntry("emit-rooms-except", func() error { return srv.To("room1", "room2").Except("room3").Emit(ctx, "multi") })
	checkEntry("emit-volatile", func() error { return srv.Volatile().Emit(ctx, "v", 1) })
	checkEntry("emit-compress-false", func() error { return srv.Of("/").Compress(false).Emit(ctx, "c", 1) })
	checkEntry("emit-binary", func() error { return srv.Emit(ctx, "bin", []byte{1, 2, 3}, map[string]int{"x": 1}) })
	checkEntry("emit-namespace", func() error { return srv.Of("/chat").Emit(ctx, "chat", "hi") })
	checkEntry("sockets-join", func() error {
		return srv.In("room1").Except("room3").SocketsJoin(ctx, "room2", "room4")
	})
	checkEntry("sockets-leave", func() error { return srv.In("room2").SocketsLeave(ctx, "room4") })
	checkEntry("disconnect-sockets", func() error { return srv.In("nobody").CloseConns(ctx) })

	checkMessage := func(step string, op func()) {
		t.Helper()
		op()
		got := next()
		m := rec.Steps[rec.step(t, step)].Messages[0]
		want, err := hex.DecodeString(m.Hex)
		must(t, err)
		want = bytes.ReplaceAll(want, []byte(rec.UID), []byte(g.streams("/").UID()))
		if gm, err := wire.DecodeClusterMessage(got.payload); err == nil && gm.RequestID != "" {
			wm, err := wire.DecodeClusterMessage(want)
			must(t, err)
			want = bytes.ReplaceAll(want, []byte(wm.RequestID), []byte(gm.RequestID))
		}
		if got.channel != m.Channel {
			t.Errorf("%s: channel %q, want %q", step, got.channel, m.Channel)
		}
		if !bytes.Equal(got.payload, want) {
			t.Errorf("%s:\n got %x\nwant %x", step, got.payload, want)
		}
	}
	nsp := srv.Of("/")
	checkMessage("server-side-emit", func() { must(t, nsp.ServerSideEmit(ctx, "hello", "world", map[string]int{"x": 1})) })
	checkMessage("server-side-emit-binary", func() { must(t, nsp.ServerSideEmit(ctx, "hello", []byte{7})) })
	checkMessage("fetch-sockets", func() {
		go func() { _, _ = srv.In("room1").FetchSockets(ctx) }()
	})
	next() // the response of g2
	checkMessage("server-side-emit-ack", func() {
		go func() { _, _ = nsp.ServerSideEmitWithAck(ctx, "ping", 7) }()
	})
	if entries := entries(0); len(entries) != 0 {
		t.Errorf("requests added %d entries to the stream", len(entries))
	}
}

// A session is stored in the very form the Node adapter writes.
func TestStreamsSessionMatchesNode(t *testing.T) {
	rec := loadStreamsRecording(t)
	s, err := wire.DecodeSession([]byte(rec.Session.Value))
	must(t, err)
	equal(t, "sid", s.SID, rec.Session.SID)
	equal(t, "pid", s.PID, rec.Session.PID)
	equal(t, "rooms", s.Rooms, []string{rec.Session.SID, "room3"})
	jsonEqual(t, "data", s.Data, `{"user":"ada","n":1,"tags":["x"]}`)
	b, err := wire.AppendSession(nil, s)
	must(t, err)
	equal(t, "encoded session", string(b), rec.Session.Value)
}

// Two Go servers on the Streams adapter: every cluster operation.
func TestStreamsCluster(t *testing.T) {
	_, g1, g2 := startStreamsPair(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g1.url, "room1")
	connect(t, clients, "c2", g2.url, "room2")
	connect(t, clients, "c3", g2.url, "room1", "room3")
	ctx := ctxFor(t, 30*time.Second)

	n, err := g1.srv.Of("/").Adapter().ServerCount(ctx)
	must(t, err)
	equal(t, "server count", n, 2)

	must(t, g1.srv.To("room1").Except("room3").Emit(ctx, "hi", 1))
	must(t, g2.srv.To("room2", "room3").Emit(ctx, "rooms", 2))
	ev, err := clients.ClientEvent("c1", "hi", wait)
	must(t, err)
	jsonEqual(t, "c1 hi", argsOnly(t, ev.Args), `[1]`)
	for _, c := range []string{"c2", "c3"} {
		ev, err := clients.ClientEvent(c, "rooms", wait)
		must(t, err)
		jsonEqual(t, c+" rooms", argsOnly(t, ev.Args), `[2]`)
	}
	noEvent(t, clients, "c3", "hi")
	noEvent(t, clients, "c1", "rooms")

	sockets, err := g1.srv.Of("/").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets", len(sockets), 3)
	inRoom1, err := g2.srv.In("room1").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets in room1", len(inRoom1), 2)

	replies, err := g1.srv.Of("/").ServerSideEmitWithAck(ctx, "hello", "x")
	must(t, err)
	equal(t, "replies", len(replies), 1)
	jsonEqual(t, "reply", replies[0].Raw(0), `{"from":"g2","args":["x"]}`)

	acks, err := g2.srv.To("room1").EmitWithAck(ctx, "ack-me", 5)
	must(t, err)
	equal(t, "acks", len(acks), 2)

	must(t, g1.srv.In("room2").SocketsJoin(ctx, "room9"))
	time.Sleep(200 * time.Millisecond) // the join travels through the stream
	must(t, g1.srv.To("room9").Emit(ctx, "joined"))
	_, err = clients.ClientEvent("c2", "joined", wait)
	must(t, err)

	must(t, g2.srv.In("room9").DisconnectSockets(ctx))
	_, err = clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" && e.Client == "c2" }, wait)
	must(t, err)
}

// Redis is down when the server starts, then lost while it runs: local
// delivery goes on, requests fail in time, and the reader resumes.
func TestStreamsRedisOutage(t *testing.T) {
	rs := redistest.Reserve(t)
	cfg := &StreamsConfig{RequestsTimeout: time.Second, Publish: quickOutage}
	g1 := startStreams(t, rs.Addr(), "g1", cfg)
	clients := clientHost(t)
	connect(t, clients, "c1", g1.url, "room1")
	emitRefused(t, g1, "room1", "local")
	_, err := clients.ClientEvent("c1", "local", wait)
	must(t, err)
	start := time.Now()
	if _, err := g1.srv.Of("/").FetchSockets(context.Background()); !errors.Is(err, ErrRedisDown) {
		t.Errorf("FetchSockets without Redis returned %v, want ErrRedisDown", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("FetchSockets took %v without Redis", d)
	}
	waitQueueEmpty(t, g1)

	rs.Restart()
	g1.ready(t)
	g2 := startStreams(t, rs.Addr(), "g2", cfg)
	g2.ready(t)
	octx := ctxFor(t, 30*time.Second)
	must(t, g2.srv.To("room1").Emit(octx, "remote", 2))
	_, err = clients.ClientEvent("c1", "remote", wait)
	must(t, err)

	rs.Stop()
	emitRefused(t, g1, "room1", "during")
	_, err = clients.ClientEvent("c1", "during", wait)
	must(t, err)
	if _, err := g1.srv.Of("/").ServerSideEmitWithAck(context.Background(), "hello"); !errors.Is(err, ErrRedisDown) {
		t.Errorf("ServerSideEmitWithAck without Redis returned %v, want ErrRedisDown", err)
	}
	waitQueueEmpty(t, g1)

	rs.Restart()
	g1.ready(t)
	g2.ready(t)
	deadline := time.Now().Add(wait)
	for { // the reader resumes after its backoff
		must(t, g2.srv.To("room1").Emit(octx, "after"))
		if _, err := clients.ClientEvent("c1", "after", 500*time.Millisecond); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reader did not resume after the outage")
		}
	}
}

// Closing the server's adapters ends the reader, the subscriber and the
// session writers.
func TestStreamsCloseLeavesNoGoroutine(t *testing.T) {
	rs := redistest.Start(t)
	before := len(testutil.Goroutines())
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	srv := socketio.NewServer(&socketio.Config{Adapter: NewStreams(rdb, nil), ConnectionStateRecovery: recovery})
	a := srv.Of("/").Adapter().(*StreamsAdapter)
	ctx := ctxFor(t, 10*time.Second)
	must(t, a.Ready(ctx))
	must(t, srv.Emit(ctx, "x"))
	a.PersistSession(&socketio.Session{SID: "s", PID: "p", Rooms: []string{"s"}})
	start := time.Now()
	must(t, srv.Shutdown(ctx))
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %v: the blocked XREAD was not interrupted", d)
	}
	_ = rdb.Close()
	deadline := time.Now().Add(3 * time.Second)
	for len(testutil.Goroutines()) > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%v", testutil.Goroutines())
		}
		time.Sleep(20 * time.Millisecond)
	}
	check := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer check.Close()
	if n, _ := check.Exists(context.Background(), "sio:session:p").Result(); n != 1 {
		t.Error("the session persisted just before Close was not written")
	}
}

// Every entry the Node adapter wrote decodes, binary values included.
func TestStreamsDecodeNodeEntries(t *testing.T) {
	rec := loadStreamsRecording(t)
	for _, s := range rec.Steps {
		for _, e := range s.Entries {
			f := e.Fields
			m, err := wire.DecodeStreamEntry(f["uid"], f["nsp"], f["type"], f["data"])
			if err != nil {
				t.Errorf("%s: %v", s.Name, err)
				continue
			}
			if s.Name == "emit-binary" {
				equal(t, "binary attachments", m.Packet.Attachments, [][]byte{{1, 2, 3}})
				jsonEqual(t, "binary packet", m.Packet.Data, `["bin",{"_placeholder":true,"num":0},{"x":1}]`)
			}
			if s.Name == "sockets-join" {
				equal(t, "rooms to join", m.Rooms, []string{"room2", "room4"})
				equal(t, "except", m.Opts.Except, []string{"room3"})
			}
		}
	}
}

// The stream of a namespace, with several streams, is the one the Node
// adapter picks: Java's String.hashCode over UTF-16 code units, and
// JavaScript's remainder, negative for a negative hash.
func TestStreamNames(t *testing.T) {
	h := &streamsHub{cfg: (&StreamsConfig{StreamCount: 3}).withDefaults()}
	for nsp, want := range map[string]string{
		"/":              "socket.io-2",
		"/chat":          "socket.io-1",
		"/é😀":            "socket.io-2", // a surrogate pair counts as two code units
		"/notifications": "socket.io--2",
		"/stocks":        "socket.io-0",
	} {
		if got := h.streamName(nsp); got != want {
			t.Errorf("stream of %q = %q, want %q", nsp, got, want)
		}
	}
	one := &streamsHub{cfg: (&StreamsConfig{}).withDefaults()}
	if got := one.streamName("/chat"); got != "socket.io" {
		t.Errorf("with one stream: %q", got)
	}
}

// With several streams, each namespace's broadcasts go through the stream
// the Node adapter would pick for it, and still reach every server.
func TestStreamsSeveralStreams(t *testing.T) {
	rs := redistest.Start(t)
	cfg := &StreamsConfig{StreamCount: 3}
	g1 := startStreams(t, rs.Addr(), "g1", cfg)
	g2 := startStreams(t, rs.Addr(), "g2", cfg)
	g1.ready(t)
	g2.ready(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g2.url)
	clients.MustCall(map[string]any{"op": "connect", "client": "c2", "url": g2.url, "nsp": "/chat"}, nil)
	ctx := ctxFor(t, 20*time.Second)

	must(t, g1.srv.Emit(ctx, "root", 1))
	must(t, g1.srv.Of("/chat").Emit(ctx, "chat", 2))
	ev, err := clients.ClientEvent("c1", "root", wait)
	must(t, err)
	jsonEqual(t, "c1 root", argsOnly(t, ev.Args), `[1]`)
	ev, err = clients.ClientEvent("c2", "chat", wait)
	must(t, err)
	jsonEqual(t, "c2 chat", argsOnly(t, ev.Args), `[2]`)
	noEvent(t, clients, "c1", "chat")
	noEvent(t, clients, "c2", "root")

	rdb := newClient(rs.Addr())
	defer rdb.Close()
	for stream, want := range map[string]int64{"socket.io-2": 1, "socket.io-1": 1, "socket.io": 0} {
		n, err := rdb.XLen(ctx, stream).Result()
		must(t, err)
		equal(t, "entries in "+stream, n, want)
	}
}

// Stream entry ids as offsets: what parses, and their order.
func TestStreamOffsets(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"1-0", true}, {"1796363124895-12", true}, {"0-0", true},
		{"", false}, {"1", false}, {"-1", false}, {"1-", false}, {"+1-0", false}, {"1-+0", false},
		{"1-0-0", false}, {"a-0", false}, {"18446744073709551616-0", false}, {"x.1", false},
	} {
		equal(t, "valid "+tc.id, validOffset(tc.id), tc.ok)
	}
	a := &StreamsAdapter{}
	for _, tc := range []struct {
		x, y string
		want bool
	}{
		{"1-0", "1-1", true}, {"1-1", "1-0", false}, {"1-5", "2-0", true}, {"2-0", "1-9", false},
		{"1-0", "1-0", false}, {"", "1-0", false}, {"1-0", "bad", false},
	} {
		equal(t, tc.x+" before "+tc.y, a.OffsetBefore(tc.x, tc.y), tc.want)
	}
	equal(t, "next", nextOffset("7-41"), "7-42")
}
