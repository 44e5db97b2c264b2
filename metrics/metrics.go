// Package metrics exposes the state and traffic of a Socket.IO server
// (package socketio) as Prometheus metrics.
//
//	col := metrics.New(nil)
//	cfg := &socketio.Config{}
//	cfg.Engine.OnConnectionError = col.ConnectionError
//	srv := socketio.NewServer(cfg)
//	col.Attach(srv)
//	prometheus.MustRegister(col)
//	mux.Handle("/socket.io/", col.Instrument(srv))
//	mux.Handle("/metrics", promhttp.Handler())
//
// Metrics, all prefixed with Options.Prefix ("socketio" by default):
//
//	clients{transport}                 gauge   Engine.IO sessions by transport
//	namespaces                         gauge   namespaces seen on the server
//	sockets{namespace}                 gauge   connected sockets
//	rooms{namespace}                   gauge   rooms, without each socket's own room
//	connects_total{namespace}          counter sockets admitted (recovered ones included)
//	disconnects_total{namespace,reason} counter sockets gone, by DisconnectReason
//	events_total{namespace,direction}  counter events received ("in") and sent ("out")
//	bytes_total{transport,direction}   counter bytes of the transports (Instrument)
//	upgrades_total                     counter WebSocket upgrade requests taken (Instrument)
//	connection_errors_total{code}      counter handshakes refused (ConnectionError)
//	handler_duration_seconds{event}    histogram time in handlers wrapped by Observe…
//
// Event counts cover EVENT packets only; acknowledgements and CONNECT or
// DISCONNECT packets are not counted. Counting outgoing events makes the
// server read the event name of every packet it delivers.
package metrics

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
)

// Options configures a Collector. The zero value is valid.
type Options struct {
	// Prefix starts every metric name. Defaults to "socketio".
	Prefix string
	// ConstLabels are added to every metric.
	ConstLabels prometheus.Labels
	// Buckets are the handler duration histogram's buckets, in seconds.
	// Defaults to prometheus.DefBuckets.
	Buckets []float64
}

// Collector gathers the metrics of one server. It implements
// prometheus.Collector. Its methods are safe for concurrent use.
type Collector struct {
	srv atomic.Pointer[socketio.Server]

	clients    *prometheus.Desc
	namespaces *prometheus.Desc
	sockets    *prometheus.Desc
	rooms      *prometheus.Desc

	connects    *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	events      *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	upgrades    prometheus.Counter
	connErrors  *prometheus.CounterVec
	handlers    *prometheus.HistogramVec

	instrumented atomic.Bool
	wsOpen       atomic.Int64
	traffic      [2][2]prometheus.Counter // [transport][direction]

	mu   sync.Mutex
	nsps map[string]*nspState
}

// nspState is what the collector keeps for one namespace.
type nspState struct {
	nsp      *socketio.Namespace
	connects prometheus.Counter
	in, out  prometheus.Counter

	mu      sync.Mutex
	rooms   map[string]struct{}
	private map[string]struct{} // rooms named after one of their sockets
}

const (
	transportPolling = iota
	transportWebSocket
)

const (
	dirIn = iota
	dirOut
)

// New returns a collector; call Attach to make it observe a server.
func New(opts *Options) *Collector {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "socketio"
	}
	if o.Buckets == nil {
		o.Buckets = prometheus.DefBuckets
	}
	name := func(s string) string { return o.Prefix + "_" + s }
	desc := func(n, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name(n), help, labels, o.ConstLabels)
	}
	counter := func(n, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: name(n), Help: help, ConstLabels: o.ConstLabels,
		}, labels)
	}
	c := &Collector{
		clients:     desc("clients", "Engine.IO sessions by transport (\"unknown\" when the handler is not instrumented).", "transport"),
		namespaces:  desc("namespaces", "Namespaces of the server."),
		sockets:     desc("sockets", "Connected sockets by namespace.", "namespace"),
		rooms:       desc("rooms", "Rooms by namespace, without each socket's own room.", "namespace"),
		connects:    counter("connects_total", "Sockets admitted to a namespace.", "namespace"),
		disconnects: counter("disconnects_total", "Sockets disconnected, by reason.", "namespace", "reason"),
		events:      counter("events_total", "Events received (in) and sent (out).", "namespace", "direction"),
		bytes:       counter("bytes_total", "Bytes read (in) and written (out) by the transports.", "transport", "direction"),
		upgrades: prometheus.NewCounter(prometheus.CounterOpts{
			Name: name("upgrades_total"), Help: "WebSocket upgrade requests of polling sessions taken over by the server.",
			ConstLabels: o.ConstLabels,
		}),
		connErrors: counter("connection_errors_total", "Engine.IO requests refused, by error code.", "code"),
		handlers: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: name("handler_duration_seconds"), Help: "Time spent in event handlers.",
			ConstLabels: o.ConstLabels, Buckets: o.Buckets,
		}, []string{"event"}),
		nsps: map[string]*nspState{},
	}
	for t, tn := range []string{"polling", "websocket"} {
		for d, dn := range []string{"in", "out"} {
			c.traffic[t][d] = c.bytes.WithLabelValues(tn, dn)
		}
	}
	return c
}

// Attach makes the collector observe srv. Call it once, before clients
// connect: sockets connected before are not counted. The namespaces that
// exist at that time, other than "/", are not observed either; create them
// after Attach.
func (c *Collector) Attach(srv *socketio.Server) {
	if !c.srv.CompareAndSwap(nil, srv) {
		panic("metrics: Collector.Attach called twice")
	}
	srv.OnNamespace(c.addNamespace)
	c.addNamespace(srv.Of("/"))
}

func (c *Collector) addNamespace(n *socketio.Namespace) {
	c.mu.Lock()
	if c.nsps[n.Name()] != nil {
		c.mu.Unlock()
		return
	}
	st := &nspState{
		nsp:      n,
		connects: c.connects.WithLabelValues(n.Name()),
		in:       c.events.WithLabelValues(n.Name(), "in"),
		out:      c.events.WithLabelValues(n.Name(), "out"),
		rooms:    map[string]struct{}{},
		private:  map[string]struct{}{},
	}
	c.nsps[n.Name()] = st
	c.mu.Unlock()

	n.OnRoomEvent(st.roomEvent)
	n.OnConnect(func(s *socketio.Socket) {
		st.connects.Inc()
		s.OnAny(func(context.Context, string, socketio.Args) { st.in.Inc() })
		s.OnAnyOutgoing(func(string, socketio.Args) { st.out.Inc() })
		s.OnDisconnect(func(ev socketio.DisconnectEvent) {
			c.disconnects.WithLabelValues(n.Name(), string(ev.Reason)).Inc()
		})
	})
}

func (st *nspState) roomEvent(ev socketio.RoomEvent) {
	st.mu.Lock()
	defer st.mu.Unlock()
	switch ev.Type {
	case socketio.RoomCreated:
		st.rooms[ev.Room] = struct{}{}
	case socketio.RoomDeleted:
		delete(st.rooms, ev.Room)
		delete(st.private, ev.Room)
	case socketio.RoomJoined:
		if ev.SocketID == ev.Room {
			st.private[ev.Room] = struct{}{}
		}
	}
}

func (st *nspState) roomCount() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.rooms) - len(st.private)
}

// ConnectionError counts a request refused by the Engine.IO layer. Set it as
// the server's engineio.Config.OnConnectionError (or call it from yours).
func (c *Collector) ConnectionError(e *engineio.ConnectionError) {
	c.connErrors.WithLabelValues(strconv.Itoa(int(e.Code))).Inc()
}

// Observe wraps an event handler of socketio.On so that its duration is
// recorded under event.
func Observe[T any](c *Collector, event string, h func(context.Context, T) error) func(context.Context, T) error {
	hist := c.handlers.WithLabelValues(event)
	return func(ctx context.Context, v T) error {
		start := time.Now()
		defer func() { hist.Observe(time.Since(start).Seconds()) }()
		return h(ctx, v)
	}
}

// ObserveAck wraps an event handler of socketio.OnAck so that its duration
// is recorded under event.
func ObserveAck[T, R any](c *Collector, event string, h func(context.Context, T) (R, error)) func(context.Context, T) (R, error) {
	hist := c.handlers.WithLabelValues(event)
	return func(ctx context.Context, v T) (R, error) {
		start := time.Now()
		defer func() { hist.Observe(time.Since(start).Seconds()) }()
		return h(ctx, v)
	}
}

// ObserveRaw wraps a socketio.RawHandler so that its duration is recorded
// under event.
func ObserveRaw(c *Collector, event string, h socketio.RawHandler) socketio.RawHandler {
	hist := c.handlers.WithLabelValues(event)
	return func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
		start := time.Now()
		defer func() { hist.Observe(time.Since(start).Seconds()) }()
		h(ctx, args, ack)
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.clients
	ch <- c.namespaces
	ch <- c.sockets
	ch <- c.rooms
	c.connects.Describe(ch)
	c.disconnects.Describe(ch)
	c.events.Describe(ch)
	c.bytes.Describe(ch)
	c.upgrades.Describe(ch)
	c.connErrors.Describe(ch)
	c.handlers.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if srv := c.srv.Load(); srv != nil {
		total := int64(srv.Engine().ClientsCount())
		if c.instrumented.Load() {
			ws := min(c.wsOpen.Load(), total)
			ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(total-ws), "polling")
			ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(ws), "websocket")
		} else {
			ch <- prometheus.MustNewConstMetric(c.clients, prometheus.GaugeValue, float64(total), "unknown")
		}
	}
	c.mu.Lock()
	states := make([]*nspState, 0, len(c.nsps))
	for _, st := range c.nsps {
		states = append(states, st)
	}
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.namespaces, prometheus.GaugeValue, float64(len(states)))
	for _, st := range states {
		name := st.nsp.Name()
		ch <- prometheus.MustNewConstMetric(c.sockets, prometheus.GaugeValue, float64(len(st.nsp.Sockets())), name)
		ch <- prometheus.MustNewConstMetric(c.rooms, prometheus.GaugeValue, float64(st.roomCount()), name)
	}
	c.connects.Collect(ch)
	c.disconnects.Collect(ch)
	c.events.Collect(ch)
	c.bytes.Collect(ch)
	c.upgrades.Collect(ch)
	c.connErrors.Collect(ch)
	c.handlers.Collect(ch)
}
