package engineio

import (
	"net"
	"testing"
)

// countConn counts the writes that reach the network.
type countConn struct {
	net.Conn
	writes [][]byte
}

func (c *countConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestCorkConn(t *testing.T) {
	nc := &countConn{}
	c := &corkConn{Conn: nc}
	c.Write([]byte("a"))
	c.cork()
	c.Write([]byte("b"))
	c.Write([]byte("c"))
	if len(nc.writes) != 1 {
		t.Fatalf("writes while corked reached the network: %q", nc.writes)
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("d"))
	want := []string{"a", "bc", "d"}
	if len(nc.writes) != len(want) {
		t.Fatalf("writes %q, want %q", nc.writes, want)
	}
	for i := range want {
		if string(nc.writes[i]) != want[i] {
			t.Fatalf("writes %q, want %q", nc.writes, want)
		}
	}
	// a large batch is flushed before it grows past maxCork
	c.cork()
	chunk := make([]byte, maxCork/2)
	for i := 0; i < 5; i++ {
		c.Write(chunk)
	}
	c.uncork()
	for _, w := range nc.writes[3:] {
		if len(w) > maxCork+len(chunk) {
			t.Fatalf("a write of %d bytes", len(w))
		}
	}
}
