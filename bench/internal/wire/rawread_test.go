package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// frame encodes one unmasked server frame.
func frame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, byte(n))
	case n < 1<<16:
		out = append(out, 126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, payload...)
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client *net.TCPConn, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s
}

func TestRawReader(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70_000)
	mid := bytes.Repeat([]byte("y"), 3000)
	var stream []byte
	stream = append(stream, frame(true, opText, []byte("2"))...)
	stream = append(stream, frame(true, opPing, []byte("hi"))...)
	stream = append(stream, frame(false, opText, []byte(`42["fr`))...)
	stream = append(stream, frame(false, opContinuation, []byte(`ag`))...)
	stream = append(stream, frame(true, opPing, nil)...) // control frames may interleave
	stream = append(stream, frame(true, opContinuation, []byte(`"]`))...)
	stream = append(stream, frame(true, opText, mid)...)
	stream = append(stream, frame(true, opText, big)...)
	stream = append(stream, frame(true, opText, []byte(`431["last"]`))...)
	stream = append(stream, frame(true, opClose, []byte{3, 232})...)

	client, server := tcpPair(t)
	go func() {
		// Dribble the bytes in uneven pieces so frames straddle reads.
		for i, step := 0, 1; i < len(stream); step = step%977 + 7 {
			end := min(i+step, len(stream))
			server.Write(stream[i:end])
			i = end
			if step%5 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	rc, err := client.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var msgs, pings []string
	err = newRawReader().run(rc,
		func(m []byte) error { msgs = append(msgs, string(m)); return nil },
		func(p []byte) error { pings = append(pings, string(p)); return nil })
	if !errors.Is(err, errServerCloseFrame) {
		t.Fatalf("run ended with %v, want the close frame", err)
	}
	want := []string{"2", `42["frag"]`, string(mid), string(big), `431["last"]`}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("message %d: %.40q…, want %.40q…", i, msgs[i], want[i])
		}
	}
	if strings.Join(pings, "|") != "hi|" {
		t.Errorf("pings %q", pings)
	}
}

func TestRawReaderRejects(t *testing.T) {
	cases := map[string][]byte{
		"masked frame":        {0x81, 0x81, 1, 2, 3, 4, 'x'},
		"reserved bits":       {0xc1, 0x01, 'x'},
		"binary frame":        frame(true, opBinary, []byte{1}),
		"stray continuation":  frame(true, opContinuation, []byte("x")),
		"unknown opcode":      frame(true, 0x3, nil),
		"frame over the size": {0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			client, server := tcpPair(t)
			server.Write(b)
			rc, _ := client.SyscallConn()
			err := newRawReader().run(rc, func([]byte) error { return nil }, func([]byte) error { return nil })
			if err == nil || errors.Is(err, syscall.EAGAIN) {
				t.Fatalf("accepted: %v", err)
			}
		})
	}
}

func TestRawReaderPeerClose(t *testing.T) {
	client, server := tcpPair(t)
	server.Write(frame(true, opText, []byte("4x")))
	server.Close()
	rc, _ := client.SyscallConn()
	n := 0
	err := newRawReader().run(rc, func([]byte) error { n++; return nil }, func([]byte) error { return nil })
	if n != 1 || err == nil {
		t.Fatalf("%d messages, err %v", n, err)
	}
}
