package socketio

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sio-go/socketio/protocol"
)

// logStore is a CatchUpStore over a MemoryAdapter whose offsets are "o1",
// "o2"…: it restores one session, and its MissedSince runs during, the
// test's broadcasts, as a stream reader running late would deliver them.
type logStore struct {
	*MemoryAdapter
	restore *Session
	extra   []*protocol.Packet
	during  func(a *MemoryAdapter)
}

func (l *logStore) PersistSession(*Session) {}

func (l *logStore) RestoreSession(context.Context, string, string) (*Session, error) {
	return l.restore, nil
}

func (l *logStore) MissedSince(_ context.Context, rooms []string, offset string) ([]*protocol.Packet, error) {
	if offset != "o2" {
		panic("MissedSince after " + offset + ", want the last replayed offset o2")
	}
	l.during(l.MemoryAdapter)
	return l.extra, nil
}

func (l *logStore) OffsetBefore(a, b string) bool {
	return len(a) < len(b) || len(a) == len(b) && a < b
}

func event(name, offset string) *protocol.Packet {
	data, _ := json.Marshal([]string{name, offset})
	return &protocol.Packet{Type: protocol.Event, Data: data}
}

// A restored socket of a CatchUpStore gets what the store logged after the
// replay and what was broadcast meanwhile, each once and in order; a late
// delivery of what it got already is dropped.
func TestRestoreCatchesUp(t *testing.T) {
	ctx := context.Background()
	live := func(a *MemoryAdapter, name, offset string) {
		p := &protocol.Packet{Type: protocol.Event, Data: json.RawMessage(`["` + name + `"]`)}
		noErr(t, a.BroadcastWithOffset(ctx, p, BroadcastOptions{}, offset))
	}
	var mem *MemoryAdapter
	store := &logStore{
		restore: &Session{SID: "sid1", PID: "pid1", MissedPackets: []*protocol.Packet{event("missed", "o2")}},
		extra:   []*protocol.Packet{event("logged", "o3"), event("logged", "o4")},
		during: func(a *MemoryAdapter) {
			live(a, "logged", "o3") // also in the log: sent once
			live(a, "replayed", "o2")
			live(a, "new", "o5")
		},
	}
	srv := newTestServer(t, &Config{
		ConnectionStateRecovery: &RecoveryConfig{},
		Adapter: func(nsp *Namespace) Adapter {
			store.MemoryAdapter = NewMemoryAdapter(nsp)
			mem = store.MemoryAdapter
			return store
		},
	})
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.send(`40{"pid":"pid1","offset":"o1"}`)
	c.expect(`42["missed","o2"]`)
	c.expect(`42["logged","o3"]`)
	c.expect(`42["logged","o4"]`)
	c.expect(`42["new","o5"]`)
	c.expectPrefix(`40{"sid":"sid1"`)
	s := recv(t, sockets)
	equal(t, "recovered", s.Recovered(), true)

	// A reader running late delivers o4 again: dropped. o6 is new, and
	// from then on nothing is filtered.
	live(mem, "logged", "o4")
	live(mem, "after", "o6")
	c.expect(`42["after","o6"]`)
	if s.restoring.Load() != nil {
		t.Fatal("the socket stays in restoring state after a newer broadcast")
	}
}
