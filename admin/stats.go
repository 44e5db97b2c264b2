package admin

import (
	"os"
	"sync"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
)

// serverStats is the server_stats event, field for field as Node sends it.
type serverStats struct {
	ServerID            string            `json:"serverId"`
	Hostname            string            `json:"hostname"`
	PID                 int               `json:"pid"`
	Uptime              float64           `json:"uptime"` // seconds
	ClientsCount        int               `json:"clientsCount"`
	PollingClientsCount int64             `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []namespaceStats  `json:"namespaces"`
}

type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// aggregatedEvent counts the events of one type in one second; Timestamp is
// the second's start in milliseconds since the Unix epoch.
type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int    `json:"count"`
}

// The aggregated event types the UI charts.
const (
	evRawConnection    = "rawConnection"
	evRawDisconnection = "rawDisconnection" // subType: the reason
	evPacketsIn        = "packetsIn"
	evPacketsOut       = "packetsOut"
	evBytesIn          = "bytesIn"
	evBytesOut         = "bytesOut"
)

// eventBuffer counts events per second and type until the next statistics.
type eventBuffer struct {
	mu     sync.Mutex
	counts map[aggregatedKey]int
}

type aggregatedKey struct {
	second  int64
	typ     string
	subType string
}

func (b *eventBuffer) add(typ, subType string, n int) {
	k := aggregatedKey{time.Now().Truncate(time.Second).UnixMilli(), typ, subType}
	b.mu.Lock()
	if b.counts == nil {
		b.counts = map[aggregatedKey]int{}
	}
	b.counts[k] += n
	b.mu.Unlock()
}

// take returns the counts and starts over.
func (b *eventBuffer) take() []aggregatedEvent {
	b.mu.Lock()
	counts := b.counts
	b.counts = nil
	b.mu.Unlock()
	out := make([]aggregatedEvent, 0, len(counts))
	for k, n := range counts {
		out = append(out, aggregatedEvent{Timestamp: k.second, Type: k.typ, SubType: k.subType, Count: n})
	}
	return out
}

// onConn counts a new connection, its messages and its end, and the
// connections on the polling transport.
func (in *Instrumentation) onConn(c socketio.Conn) {
	in.events.add(evRawConnection, "", 1)
	if c.Transport() == engineio.Polling {
		in.polling.Add(1)
		var once sync.Once
		left := func() { once.Do(func() { in.polling.Add(-1) }) }
		c.OnUpgrade(func(engineio.Transport) { left() })
		c.OnClose(func(socketio.DisconnectReason) { left() })
	}
	c.OnRead(func(n int) {
		if n > 0 {
			in.events.add(evPacketsIn, "", 1)
			in.events.add(evBytesIn, "", n)
		}
	})
	c.OnWrite(func(n int) {
		if n > 0 {
			in.events.add(evPacketsOut, "", 1)
			in.events.add(evBytesOut, "", n)
		}
	})
	c.OnClose(func(r socketio.DisconnectReason) { in.events.add(evRawDisconnection, string(r), 1) })
}

func (in *Instrumentation) stats() serverStats {
	st := serverStats{
		ServerID:            in.cfg.ServerID,
		Hostname:            in.hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(startTime).Seconds(),
		PollingClientsCount: in.polling.Load(),
		AggregatedEvents:    in.events.take(),
		Namespaces:          []namespaceStats{},
	}
	if e := in.srv.Engine(); e != nil {
		st.ClientsCount = e.ClientsCount()
	}
	for _, n := range in.srv.Namespaces() {
		st.Namespaces = append(st.Namespaces, namespaceStats{Name: n.Name(), SocketsCount: len(n.Sockets())})
	}
	return st
}
