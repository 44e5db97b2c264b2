// Package admin serves the official Socket.IO Admin UI (@socket.io/admin-ui)
// from a Go server: it is the Go counterpart of Node's instrument(io, opts).
//
// Instrument adds an admin namespace ("/admin") to a server. The UI connects
// to it like any client, authenticates, and receives the server's
// statistics every two seconds, the list of sockets and, in development
// mode, every connection, disconnection, room change and event as it
// happens. Unless the instrumentation is read-only, the UI can make sockets
// join or leave rooms, disconnect them and emit events to them.
//
// Everything goes through the server's adapter, as in Node: with a cluster
// adapter (redisadapter, pgadapter) the UI connected to one server sees the
// sockets and statistics of every server of the cluster, Node servers
// instrumented by instrument() included, and its actions reach sockets
// wherever they are.
package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sio-go/socketio"
)

// Mode chooses how much the UI is told.
type Mode string

const (
	// Development sends the list of sockets when the UI connects and every
	// event of every socket as it happens (Node's mode "development").
	Development Mode = "development"
	// Production sends only the periodic statistics and their aggregated
	// counts, for busy servers (Node's mode "production").
	Production Mode = "production"
)

// BasicAuth is the username and password the UI must give.
type BasicAuth struct {
	Username string
	// PasswordHash is the bcrypt hash of the password, as made by
	// bcrypt.GenerateFromPassword or by the bcrypt tools of any language.
	PasswordHash string
}

// Config configures Instrument. One of Auth and NoAuth must be set.
type Config struct {
	// Auth requires the UI to log in with a username and password. After a
	// login the UI receives a session id, which this server accepts in place
	// of the password for SessionTTL.
	Auth *BasicAuth
	// NoAuth lets anyone who can reach the server use the UI (Node's
	// auth: false).
	NoAuth bool
	// Namespace is the name of the admin namespace. Defaults to "/admin".
	Namespace string
	// ReadOnly refuses the UI's actions: joining, leaving, disconnecting,
	// emitting. Defaults to false.
	ReadOnly bool
	// ServerID names this server in the UI. Defaults to "hostname#pid".
	ServerID string
	// Mode defaults to Development.
	Mode Mode
	// StatsInterval is the period of the statistics. Defaults to 2 seconds,
	// as in Node.
	StatsInterval time.Duration
	// SessionTTL is how long a session id stays valid. Defaults to 24
	// hours, as Node's RedisStore.
	SessionTTL time.Duration
}

// The defaults of Config.
const (
	DefaultNamespace     = "/admin"
	DefaultStatsInterval = 2 * time.Second
	DefaultSessionTTL    = 24 * time.Hour
)

// queueSize bounds the events waiting to be sent to the UI; past it, events
// are dropped rather than slow the sockets they describe.
const queueSize = 4096

// Instrumentation is a server instrumented for the Admin UI. Its work ends
// when the server shuts down.
type Instrumentation struct {
	srv      *socketio.Server
	nsp      *socketio.Namespace
	cfg      Config
	features []string
	hostname string
	auth     *authenticator

	events  eventBuffer
	polling atomic.Int64 // connections on the polling transport

	mu    sync.Mutex
	known map[*socketio.Namespace]bool // namespaces with listeners

	queue chan message
	done  chan struct{} // closed when the sending goroutine has returned
}

// message is an event for the UI.
type message struct {
	event string
	args  []any
}

// The features the UI shows controls for (typed-events.ts in Node).
const (
	featureEmit             = "EMIT"
	featureJoin             = "JOIN"
	featureLeave            = "LEAVE"
	featureDisconnect       = "DISCONNECT"
	featureMJoin            = "MJOIN"
	featureMLeave           = "MLEAVE"
	featureMDisconnect      = "MDISCONNECT"
	featureAggregatedEvents = "AGGREGATED_EVENTS"
	featureAllEvents        = "ALL_EVENTS"
)

// startTime stands for the process's start: the UI shows the uptime.
var startTime = time.Now()

// Instrument serves the Admin UI's namespace on srv. Call it once, before
// the server accepts connections: connections opened earlier are not
// counted. It starts one goroutine, which returns when srv shuts down.
func Instrument(srv *socketio.Server, cfg Config) (*Instrumentation, error) {
	if srv == nil {
		return nil, errors.New("admin: nil server")
	}
	switch {
	case cfg.Auth == nil && !cfg.NoAuth:
		return nil, errors.New("admin: set Auth, or NoAuth to let anyone in")
	case cfg.Auth != nil && cfg.NoAuth:
		return nil, errors.New("admin: Auth and NoAuth are both set")
	case cfg.Auth != nil:
		if _, err := bcrypt.Cost([]byte(cfg.Auth.PasswordHash)); err != nil {
			return nil, fmt.Errorf("admin: the password hash is not a bcrypt hash: %w", err)
		}
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = Development
	case Development, Production:
	default:
		return nil, fmt.Errorf("admin: unknown mode %q", cfg.Mode)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	hostname, _ := os.Hostname()
	if cfg.ServerID == "" {
		cfg.ServerID = fmt.Sprintf("%s#%d", hostname, os.Getpid())
	}

	in := &Instrumentation{
		srv:      srv,
		cfg:      cfg,
		hostname: hostname,
		known:    map[*socketio.Namespace]bool{},
		queue:    make(chan message, queueSize),
		done:     make(chan struct{}),
	}
	if !cfg.ReadOnly {
		in.features = []string{featureEmit, featureJoin, featureLeave, featureDisconnect,
			featureMJoin, featureMLeave, featureMDisconnect}
	}
	in.features = append(in.features, featureAggregatedEvents)
	if cfg.Mode == Development {
		in.features = append(in.features, featureAllEvents)
	}

	in.nsp = srv.Of(cfg.Namespace)
	if cfg.Auth != nil {
		in.auth = newAuthenticator(*cfg.Auth, cfg.SessionTTL)
		in.nsp.Use(in.auth.middleware)
	}
	in.nsp.OnConnect(in.onAdminConnect)
	srv.OnConn(in.onConn)
	if cfg.Mode == Development {
		srv.OnNamespace(in.watch)
		for _, n := range srv.Namespaces() {
			in.watch(n)
		}
	}
	go in.run()
	return in, nil
}

// Namespace returns the admin namespace.
func (in *Instrumentation) Namespace() *socketio.Namespace { return in.nsp }

// Done returns a channel closed once the instrumentation has stopped, after
// the server's Shutdown began.
func (in *Instrumentation) Done() <-chan struct{} { return in.done }

// send queues an event for the UI, dropped when the queue is full.
func (in *Instrumentation) send(event string, args ...any) {
	select {
	case in.queue <- message{event, args}:
	default:
	}
}

// run sends the statistics periodically and the queued events, in order,
// until the server shuts down.
func (in *Instrumentation) run() {
	defer close(in.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-in.srv.Done():
			cancel()
		case <-in.done:
		}
	}()
	tick := time.NewTicker(in.cfg.StatsInterval)
	defer tick.Stop()
	in.emit(ctx, message{"server_stats", []any{in.stats()}})
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			in.emit(ctx, message{"server_stats", []any{in.stats()}})
		case m := <-in.queue:
			in.emit(ctx, m)
		}
	}
}

// emit broadcasts m to the UIs connected to any server of the cluster.
func (in *Instrumentation) emit(ctx context.Context, m message) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = in.nsp.Emit(ctx, m.event, m.args...)
}
