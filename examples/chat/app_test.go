package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/internal/siotest"
)

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startChat runs the chat server on a test HTTP server.
func startChat(t *testing.T, o options) (*chat, string) {
	t.Helper()
	if o.ClientDir == "" {
		o.ClientDir = clientDir
	}
	c, err := newChat(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(c.handler)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Shutdown(ctx)
		hs.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return c, hs.URL
}

func dial(t *testing.T, ctx context.Context, url string) *siotest.Client {
	t.Helper()
	cl, err := siotest.Dial(ctx, url, &siotest.Options{Upgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// reply is any acknowledgement of the chat.
type reply struct {
	Error   *replyError `json:"error"`
	Nick    string      `json:"nick"`
	Room    string      `json:"room"`
	ID      uint64      `json:"id"`
	TS      int64       `json:"ts"`
	Count   int         `json:"count"`
	Members []string    `json:"members"`
}

// replyError is the error shape of socketio.ErrorReply.
type replyError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		RetryAfterMs int `json:"retryAfterMs"`
	} `json:"data"`
}

func call(t *testing.T, ctx context.Context, cl *siotest.Client, ev string, arg any) reply {
	t.Helper()
	var r reply
	if err := cl.Call(ctx, &r, ev, arg); err != nil {
		t.Fatalf("%s: %v", ev, err)
	}
	return r
}

func mustOK(t *testing.T, r reply) reply {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("unexpected error answer: %+v", *r.Error)
	}
	return r
}

func next[T any](t *testing.T, ctx context.Context, cl *siotest.Client, ev string) T {
	t.Helper()
	e, err := cl.Next(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(e.Args[0], &v); err != nil {
		t.Fatalf("%s: %v", ev, err)
	}
	return v
}

func TestChatRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, url := startChat(t, options{})
	a, b := dial(t, ctx, url), dial(t, ctx, url)

	if r := mustOK(t, call(t, ctx, a, "nick", "  Ann  ")); r.Nick != "Ann" {
		t.Fatalf("nick = %q, want the trimmed name", r.Nick)
	}
	mustOK(t, call(t, ctx, a, "join", "lobby"))
	if p := next[presence](t, ctx, a, "presence"); p.Count != 1 || fmt.Sprint(p.Members) != "[Ann]" {
		t.Fatalf("presence = %+v", p)
	}
	mustOK(t, call(t, ctx, b, "nick", "Ben"))
	mustOK(t, call(t, ctx, b, "join", "lobby"))
	if n := next[notice](t, ctx, a, "notice"); n.Text != "Ben joined" || n.Room != "lobby" {
		t.Fatalf("notice = %+v", n)
	}
	if p := next[presence](t, ctx, a, "presence"); p.Count != 2 || fmt.Sprint(p.Members) != "[Ann Ben]" {
		t.Fatalf("presence = %+v", p)
	}
	// Joining again is harmless.
	mustOK(t, call(t, ctx, b, "join", "lobby"))

	before := time.Now().UnixMilli()
	r := mustOK(t, call(t, ctx, a, "message", messageIn{Room: "lobby", Text: " hello\n"}))
	if r.ID == 0 || r.TS < before {
		t.Fatalf("message ack = %+v", r)
	}
	m := next[chatMessage](t, ctx, b, "message")
	if m != (chatMessage{ID: r.ID, Room: "lobby", Nick: "Ann", Text: "hello", TS: r.TS}) {
		t.Fatalf("b received %+v", m)
	}

	// Typing indicators are volatile: dropped when a's connection is busy
	// writing, so b repeats them, as the page does while one types.
	var ty typing
	for i := 0; ty.Nick == "" && i < 50; i++ {
		if err := b.Emit("typing", typingIn{Room: "lobby", Typing: true}); err != nil {
			t.Fatal(err)
		}
		short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
		if e, err := a.Next(short, "typing"); err == nil {
			_ = json.Unmarshal(e.Args[0], &ty)
		}
		cancelShort()
	}
	if ty != (typing{Room: "lobby", Nick: "Ben", Typing: true}) {
		t.Fatalf("typing = %+v", ty)
	}

	// Renaming updates the room's members.
	mustOK(t, call(t, ctx, b, "nick", "Bea"))
	if p := next[presence](t, ctx, a, "presence"); fmt.Sprint(p.Members) != "[Ann Bea]" {
		t.Fatalf("presence after rename = %+v", p)
	}

	mustOK(t, call(t, ctx, b, "leave", "lobby"))
	if n := next[notice](t, ctx, a, "notice"); n.Text != "Bea left" {
		t.Fatalf("notice = %+v", n)
	}
	if p := next[presence](t, ctx, a, "presence"); p.Count != 1 {
		t.Fatalf("presence after leave = %+v", p)
	}

	// Going away updates the others.
	mustOK(t, call(t, ctx, b, "join", "lobby"))
	if p := next[presence](t, ctx, a, "presence"); p.Count != 2 {
		t.Fatalf("presence after join = %+v", p)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if p := next[presence](t, ctx, a, "presence"); p.Count != 1 || fmt.Sprint(p.Members) != "[Ann]" {
		t.Fatalf("presence after b left = %+v", p)
	}
}

func TestChatRejectsBadInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, url := startChat(t, options{EventBurst: 1000}) // many events at once
	cl := dial(t, ctx, url)
	other := dial(t, ctx, url)

	expect := func(ev string, arg any, want string) {
		t.Helper()
		r := call(t, ctx, cl, ev, arg)
		if r.Error == nil || !strings.Contains(r.Error.Message, want) {
			t.Fatalf("%s %v answered %+v, want an error with %q", ev, arg, r, want)
		}
	}
	expect("join", "lobby", "choose a nickname first")
	expect("message", messageIn{Room: "lobby", Text: "hi"}, "choose a nickname first")
	expect("nick", "", "nickname is empty")
	expect("nick", "   ", "nickname is empty")
	expect("nick", strings.Repeat("x", 21), "longer than 20")
	expect("nick", "<script>", "letters, digits")
	expect("nick", 42, "argument 0: expected string, got number")
	expect("nick", nil, "nickname is empty")
	mustOK(t, call(t, ctx, cl, "nick", strings.Repeat("é", 20)))

	expect("join", "", "room name is empty")
	expect("join", "Lobby", "a-z, 0-9")
	expect("join", "a b", "a-z, 0-9")
	expect("join", strings.Repeat("r", 25), "longer than 24")
	expect("join", []string{"lobby"}, "argument 0: expected string, got array")
	expect("leave", "lobby", "join the room first")
	expect("message", messageIn{Room: "lobby", Text: "hi"}, "join the room first")

	mustOK(t, call(t, ctx, cl, "join", "lobby"))
	expect("message", messageIn{Room: "lobby", Text: " \n "}, "message is empty")
	expect("message", messageIn{Room: "lobby", Text: strings.Repeat("ü", 501)}, "longer than 500")
	expect("message", messageIn{Room: "lobby", Text: "bell\a"}, "control characters")
	expect("message", messageIn{Room: "../lobby", Text: "hi"}, "a-z, 0-9")
	expect("message", "just text", "argument 0: expected object, got string")
	mustOK(t, call(t, ctx, cl, "message", messageIn{Room: "lobby", Text: strings.Repeat("ü", 500)}))

	for i := 1; i < maxRooms; i++ {
		mustOK(t, call(t, ctx, cl, "join", "room-"+strconv.Itoa(i)))
	}
	expect("join", "one-too-many", "too many rooms")

	// Typing in a room one is not in, or garbage, is ignored; the
	// connection stays up.
	if err := cl.Emit("typing", "garbage"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Emit("typing", typingIn{Room: "elsewhere", Typing: true}); err != nil {
		t.Fatal(err)
	}
	mustOK(t, call(t, ctx, other, "nick", "other"))
	mustOK(t, call(t, ctx, cl, "message", messageIn{Room: "lobby", Text: "still here"}))
}

func TestMissingClientBundle(t *testing.T) {
	for _, dir := range []string{t.TempDir() + "/nowhere", t.TempDir()} {
		_, err := newChat(options{ClientDir: dir, LogOutput: io.Discard})
		var nc *errNoClient
		if !errors.As(err, &nc) {
			t.Fatalf("newChat(%s) = %v, want errNoClient", dir, err)
		}
		for _, want := range []string{dir, "socket.io-client", "npm ci", "make demo", "CLIENT_DIR"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not mention %q", err, want)
			}
		}
	}
}

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct{ addr, port, want string }{
		{"", "", "127.0.0.1:8080"},
		{"", "9000", "127.0.0.1:9000"},
		{"0.0.0.0", "", "0.0.0.0:8080"},
		{"localhost:7000", "9000", "localhost:7000"},
		{"::1", "9000", "[::1]:9000"},
		{"[::1]", "", "[::1]:8080"},
	} {
		if got := listenAddr(tc.addr, tc.port); got != tc.want {
			t.Errorf("listenAddr(%q, %q) = %q, want %q", tc.addr, tc.port, got, tc.want)
		}
	}
}

func TestPageAndClientServed(t *testing.T) {
	_, url := startChat(t, options{})
	for _, tc := range []struct{ path, want string }{
		{"/", `<script src="/socket.io/socket.io.min.js">`},
		{"/app.js", `io({`},
		{"/style.css", `.msg`},
		{"/socket.io/socket.io.min.js", `Socket.IO v4.8`},
	} {
		resp, err := http.Get(url + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
			t.Fatalf("GET %s: %s, body without %q", tc.path, resp.Status, tc.want)
		}
	}
}

func TestDebugLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var logs syncBuffer
	_, url := startChat(t, options{Debug: "socket.io:*,engine.io:*", LogOutput: &logs})
	cl := dial(t, ctx, url)
	mustOK(t, call(t, ctx, cl, "nick", "dbg"))
	// A refused handshake reaches the connection error hook.
	resp, err := http.Get(url + "/socket.io/?EIO=3&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := logs.String()
	for _, want := range []string{"lib=socket.io", "lib=engine.io", "socket connected", `msg="connection refused"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("debug logs lack %q:\n%s", want, out)
		}
	}

	var quiet syncBuffer
	_, url = startChat(t, options{Debug: "", LogOutput: &quiet})
	mustOK(t, call(t, ctx, dial(t, ctx, url), "nick", "quiet"))
	if quiet.String() != "" {
		t.Fatalf("logs without DEBUG: %q", quiet.String())
	}
}

// scrape reads /metrics into a map from series to value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestDemoMetrics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, url := startChat(t, options{})
	a, b := dial(t, ctx, url), dial(t, ctx, url)
	mustOK(t, call(t, ctx, a, "nick", "a"))
	mustOK(t, call(t, ctx, b, "nick", "b"))
	mustOK(t, call(t, ctx, a, "join", "lobby"))
	mustOK(t, call(t, ctx, b, "join", "lobby"))
	for i := range 5 {
		mustOK(t, call(t, ctx, a, "message", messageIn{Room: "lobby", Text: fmt.Sprint("m", i)}))
	}
	if r := call(t, ctx, a, "message", messageIn{Room: "lobby", Text: ""}); r.Error == nil || r.Error.Code != "invalid_argument" {
		t.Fatal("empty message accepted")
	}

	m := scrape(t, url)
	for series, want := range map[string]float64{
		`socketio_sockets{namespace="/"}`:                                  2,
		`socketio_rooms{namespace="/"}`:                                    1,
		`socketio_clients{transport="websocket"}`:                          2,
		`socketio_clients{transport="polling"}`:                            0,
		`socketio_upgrades_total`:                                          2,
		`socketio_connects_total{namespace="/"}`:                           2,
		`socketio_events_total{direction="in",namespace="/"}`:              10, // 2 nick, 2 join, 6 message
		`socketio_handler_duration_seconds_count{event="message"}`:         6,
		`socketio_handler_duration_seconds_count{event="join"}`:            2,
		`socketio_handler_duration_seconds_bucket{event="nick",le="+Inf"}`: 2,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	// Out: notices, presences and the five messages to b.
	if got := m[`socketio_events_total{direction="out",namespace="/"}`]; got < 5+4 {
		t.Errorf("events out = %v, want at least 9", got)
	}
	for _, series := range []string{
		`socketio_bytes_total{direction="in",transport="websocket"}`,
		`socketio_bytes_total{direction="out",transport="websocket"}`,
		`socketio_bytes_total{direction="out",transport="polling"}`,
	} {
		if m[series] <= 0 {
			t.Errorf("%s = %v, want > 0", series, m[series])
		}
	}
	if _, ok := m[`go_goroutines`]; ok {
		t.Error("process metrics exported although not asked for")
	}
}

func TestRunWithoutClient(t *testing.T) {
	// The binary reads its client folder from CLIENT_DIR: a wrong one is a
	// clear startup error, not a crash.
	t.Setenv("CLIENT_DIR", t.TempDir())
	t.Setenv("PORT", "0")
	err := run()
	if err == nil || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("run() = %v, want the missing client message", err)
	}
}
