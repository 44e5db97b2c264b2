package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/debugenv"
	"github.com/sio-go/socketio/metrics"
	"golang.org/x/time/rate"
)

//go:embed static
var static embed.FS

// options configures the chat server.
type options struct {
	// ClientDir is the folder holding the official browser client
	// (socket.io.js…): the dist/ folder of the socket.io-client npm package.
	ClientDir string
	// Debug is a DEBUG value ("socket.io:*,engine.io:*"); debug logs go to
	// LogOutput.
	Debug     string
	LogOutput io.Writer
	// Engine configures the Engine.IO layer; the zero value takes the
	// defaults. Tests shorten the heartbeat with it.
	Engine engineio.Config
	// RecoveryWindow is how long a lost connection can be recovered.
	// Defaults to 2 minutes.
	RecoveryWindow time.Duration
	// ProcessMetrics adds the Go runtime and process collectors to /metrics.
	ProcessMetrics bool
	// EventsPerSecond and EventBurst limit the events of each socket (see
	// rateLimit). Default to 10 a second in bursts of 30.
	EventsPerSecond rate.Limit
	EventBurst      int
}

// chat is the chat server: the Socket.IO server, its page, its metrics.
type chat struct {
	srv     *socketio.Server
	col     *metrics.Collector
	handler http.Handler
	log     *slog.Logger
	nextID  atomic.Uint64
	limit   rate.Limit // events a second per socket
	burst   int
}

// errNoClient explains how to get the browser client when it is missing.
type errNoClient struct {
	dir string
	err error
}

func (e *errNoClient) Error() string {
	return fmt.Sprintf("the official browser client is missing from %s (%v).\n"+
		"It comes from the socket.io-client npm package, which this repository does not include. Get it with:\n"+
		"    make demo                     # from the repository root: installs it, then starts the demo\n"+
		"    (cd examples/chat && npm ci)  # or install it alone\n"+
		"or point CLIENT_DIR at the dist/ folder of an installed socket.io-client", e.dir, e.err)
}

func (e *errNoClient) Unwrap() error { return e.err }

func newChat(o options) (*chat, error) {
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	if o.RecoveryWindow <= 0 {
		o.RecoveryWindow = 2 * time.Minute
	}
	if o.EventsPerSecond <= 0 {
		o.EventsPerSecond = defaultEventsPerSecond
	}
	if o.EventBurst <= 0 {
		o.EventBurst = defaultEventBurst
	}
	sioLog, eioLog := debugenv.Parse(o.Debug).Loggers(o.LogOutput)
	c := &chat{col: metrics.New(nil), log: sioLog, limit: o.EventsPerSecond, burst: o.EventBurst}

	cfg := &socketio.Config{
		Engine:                  o.Engine,
		ConnectionStateRecovery: &socketio.RecoveryConfig{MaxDisconnectionDuration: o.RecoveryWindow},
		Logger:                  sioLog,
	}
	cfg.Engine.Logger = eioLog
	cfg.Engine.OnConnectionError = func(e *engineio.ConnectionError) {
		c.col.ConnectionError(e)
		eioLog.Debug("connection refused", "code", int(e.Code), "message", e.Message,
			"context", e.Context, "remote", e.Request.RemoteAddr)
	}
	c.srv = socketio.NewServer(cfg)
	c.col.Attach(c.srv)
	c.srv.OnConnect(c.onConnect)

	if _, err := os.Stat(o.ClientDir); err != nil {
		return nil, &errNoClient{dir: o.ClientDir, err: err}
	}
	client, err := c.srv.ServeClient(os.DirFS(o.ClientDir))
	if err == nil && !client.Has("socket.io.min.js") {
		err = errors.New("socket.io.min.js not found")
	}
	if err != nil {
		_ = c.srv.Shutdown(context.Background())
		return nil, &errNoClient{dir: o.ClientDir, err: err}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(c.col)
	if o.ProcessMetrics {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	page, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", c.col.Instrument(client))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", http.FileServerFS(page))
	c.handler = mux
	return c, nil
}

// Shutdown disconnects every client and waits for the handlers.
func (c *chat) Shutdown(ctx context.Context) error { return c.srv.Shutdown(ctx) }

// What the server sends.
type (
	chatMessage struct {
		ID   uint64 `json:"id"`
		Room string `json:"room"`
		Nick string `json:"nick"`
		Text string `json:"text"`
		TS   int64  `json:"ts"` // Unix milliseconds
	}
	presence struct {
		Room    string   `json:"room"`
		Count   int      `json:"count"`
		Members []string `json:"members"`
	}
	typing struct {
		Room   string `json:"room"`
		Nick   string `json:"nick"`
		Typing bool   `json:"typing"`
	}
	notice struct {
		Room string `json:"room"`
		Text string `json:"text"`
		TS   int64  `json:"ts"`
	}
)

// What clients send.
type (
	messageIn struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	typingIn struct {
		Room   string `json:"room"`
		Typing bool   `json:"typing"`
	}
)

// Acknowledgements.
type (
	nickAck struct {
		Nick string `json:"nick"`
	}
	roomAck struct {
		Room string `json:"room"`
	}
	messageAck struct {
		ID uint64 `json:"id"`
		TS int64  `json:"ts"`
	}
)

// roomKey is the Socket.IO room of a chat room; the prefix keeps chat rooms
// apart from the sockets' own rooms.
func roomKey(room string) string { return "room:" + room }

// chatRooms returns the chat rooms s is in, sorted.
func chatRooms(s *socketio.Socket) []string {
	var out []string
	for _, r := range s.Rooms() {
		if name, ok := strings.CutPrefix(r, "room:"); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func nickOf(s *socketio.Socket) string {
	n, _ := socketio.DataAs[string](s.Data())
	return n
}

func (c *chat) onConnect(s *socketio.Socket) {
	s.Use(rateLimit(s, c.limit, c.burst))

	socketio.OnAck(s, "nick", metrics.ObserveAck(c.col, "nick",
		func(ctx context.Context, nick string) (nickAck, error) {
			nick, err := validNick(nick)
			if err != nil {
				return nickAck{}, err
			}
			s.SetData(nick)
			for _, room := range chatRooms(s) {
				c.presence(ctx, room)
			}
			return nickAck{Nick: nick}, nil
		}))

	socketio.OnAck(s, "join", metrics.ObserveAck(c.col, "join",
		func(ctx context.Context, room string) (roomAck, error) {
			room, err := validRoom(room)
			if err != nil {
				return roomAck{}, err
			}
			nick := nickOf(s)
			if nick == "" {
				return roomAck{}, errNoNick
			}
			rooms := chatRooms(s)
			if slices.Contains(rooms, room) {
				return roomAck{Room: room}, nil
			}
			if len(rooms) >= maxRooms {
				return roomAck{}, errTooManyRoom
			}
			s.Join(roomKey(room))
			c.notice(ctx, s, room, nick+" joined")
			c.presence(ctx, room)
			return roomAck{Room: room}, nil
		}))

	socketio.OnAck(s, "leave", metrics.ObserveAck(c.col, "leave",
		func(ctx context.Context, room string) (roomAck, error) {
			room, err := validRoom(room)
			if err != nil {
				return roomAck{}, err
			}
			if !slices.Contains(chatRooms(s), room) {
				return roomAck{}, errNotInRoom
			}
			s.Leave(roomKey(room))
			c.notice(ctx, s, room, nickOf(s)+" left")
			c.presence(ctx, room)
			return roomAck{Room: room}, nil
		}))

	socketio.OnAck(s, "message", metrics.ObserveAck(c.col, "message",
		func(ctx context.Context, m messageIn) (messageAck, error) {
			nick := nickOf(s)
			if nick == "" {
				return messageAck{}, errNoNick
			}
			room, err := validRoom(m.Room)
			if err != nil {
				return messageAck{}, err
			}
			text, err := validText(m.Text)
			if err != nil {
				return messageAck{}, err
			}
			if !slices.Contains(chatRooms(s), room) {
				return messageAck{}, errNotInRoom
			}
			msg := chatMessage{ID: c.nextID.Add(1), Room: room, Nick: nick, Text: text,
				TS: time.Now().UnixMilli()}
			if err := s.To(roomKey(room)).Emit(ctx, "message", msg); err != nil {
				return messageAck{}, err
			}
			return messageAck{ID: msg.ID, TS: msg.TS}, nil
		}))

	// Typing indicators are volatile: dropped for busy clients, not kept for
	// recovery, and invalid ones are ignored.
	socketio.On(s, "typing", func(ctx context.Context, t typingIn) error {
		nick := nickOf(s)
		if nick == "" || !slices.Contains(chatRooms(s), t.Room) {
			return nil
		}
		return s.To(roomKey(t.Room)).Volatile().Emit(ctx, "typing",
			typing{Room: t.Room, Nick: nick, Typing: t.Typing})
	})

	s.OnError(func(err error) {
		c.log.Debug("chat: handler error", "socket", s.ID(), "err", err)
	})

	s.OnDisconnect(func(ev socketio.DisconnectEvent) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, r := range ev.Rooms {
			if room, ok := strings.CutPrefix(r, "room:"); ok {
				c.presence(ctx, room)
			}
		}
	})

	// A recovered socket is back in its rooms: tell them.
	if s.Recovered() {
		for _, room := range chatRooms(s) {
			c.presence(s.Context(), room)
		}
	}
}

// presence sends the room its members.
func (c *chat) presence(ctx context.Context, room string) {
	socks, err := c.srv.Of("/").In(roomKey(room)).FetchSockets(ctx)
	if err != nil {
		c.log.Debug("chat: fetching sockets", "room", room, "err", err)
		return
	}
	p := presence{Room: room, Count: len(socks), Members: []string{}}
	for _, rs := range socks {
		if nick, err := socketio.DataAs[string](rs.Data); err == nil && nick != "" {
			p.Members = append(p.Members, nick)
		}
	}
	slices.Sort(p.Members)
	if err := c.srv.To(roomKey(room)).Emit(ctx, "presence", p); err != nil {
		c.log.Debug("chat: presence", "room", room, "err", err)
	}
}

// notice tells a room that someone joined or left; s receives it too.
func (c *chat) notice(ctx context.Context, s *socketio.Socket, room, text string) {
	n := notice{Room: room, Text: text, TS: time.Now().UnixMilli()}
	if err := c.srv.To(roomKey(room), s.ID()).Emit(ctx, "notice", n); err != nil {
		c.log.Debug("chat: notice", "room", room, "err", err)
	}
}
