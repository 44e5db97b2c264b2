package socketio

import (
	"slices"
	"sync"
	"testing"
)

// connLog records what the observers of one connection are told.
type connLog struct {
	mu     sync.Mutex
	id     string
	reads  []int
	writes []int
	closed []DisconnectReason
}

func (l *connLog) add(dst *[]int, n int) {
	l.mu.Lock()
	*dst = append(*dst, n)
	l.mu.Unlock()
}

func (l *connLog) snapshot() (reads, writes []int, closed []DisconnectReason) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int(nil), l.reads...), append([]int(nil), l.writes...), append([]DisconnectReason(nil), l.closed...)
}

func TestOnConnObservesTrafficAndClose(t *testing.T) {
	srv := newTestServer(t, nil)
	logs := make(chan *connLog, 4)
	srv.OnConn(func(c Conn) {
		l := &connLog{id: c.ID()}
		c.OnRead(func(n int) { l.add(&l.reads, n) })
		c.OnWrite(func(n int) { l.add(&l.writes, n) })
		c.OnClose(func(r DisconnectReason) {
			l.mu.Lock()
			l.closed = append(l.closed, r)
			l.mu.Unlock()
		})
		logs <- l
	})
	sockets := connected(srv.Of("/"))

	c := dial(t, srv)
	l := <-logs
	equal(t, "id", l.id, c.f.id)
	sid := c.connect("/") // in: "0" (1 byte); out: `0{"sid":"…"}`
	s := <-sockets
	equal(t, "conn id", s.Conn().ID(), c.f.id)
	noErr(t, s.Emit("hi", []byte{1, 2, 3})) // a packet and its attachment
	c.expect(`451-["hi",{"_placeholder":true,"num":0}]`)
	c.expectBinary([]byte{1, 2, 3})

	reads, writes, _ := l.snapshot()
	equal(t, "reads", reads, []int{1})
	equal(t, "writes", writes, []int{len(`0{"sid":"` + sid + `"}`), len(`51-["hi",{"_placeholder":true,"num":0}]`), 3})

	s.CloseConn()
	c.waitClosed()
	waitFor(t, "close observed", func() bool { _, _, cl := l.snapshot(); return len(cl) > 0 })
	_, _, closed := l.snapshot()
	equal(t, "close reasons", closed, []DisconnectReason{ReasonForcedServerClose})
}

func TestDoneClosesOnShutdown(t *testing.T) {
	srv := newTestServer(t, nil)
	select {
	case <-srv.Done():
		t.Fatal("Done closed before Shutdown")
	default:
	}
	noErr(t, srv.Shutdown(t.Context()))
	<-srv.Done()
}

func TestNamespacesListsCreatedOnes(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Of("/chat")
	var names []string
	for _, n := range srv.Namespaces() {
		names = append(names, n.Name())
	}
	slices.Sort(names)
	equal(t, "names", names, []string{"/", "/chat"})
}
