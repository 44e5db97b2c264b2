package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/gorilla/websocket"
)

// rawReader reads the server's WebSocket frames straight from the socket
// once the connection is established. Reading through the WebSocket library
// and the net package costs, after every message, a read that ends in
// EAGAIN before the goroutine parks; here, when the last read drained the
// socket, the reader waits for readiness first. On a busy load generator
// that is one system call in three for an echo. The price: a peer that
// sends data and closes at once (no close frame, no close packet) may be
// noticed only at the read deadline.
//
// The whole read loop runs inside one RawConn.Read call: the runtime keeps
// the readiness notifications that arrive between two waits, which it would
// forget at the start of a new call.
type rawReader struct {
	buf     []byte // unread bytes are buf[r:w]
	r, w    int
	drained bool // the last read returned less than it asked for
	// waited tells that the reader has waited for readiness once: from
	// then on the runtime has recorded every readiness change, so a read
	// that drained the socket needs no EAGAIN probe. Before that, a
	// notification from before the call may have been dropped.
	waited bool

	msg        []byte // a fragmented message being assembled
	fragmented bool
	binary     bool // the message parse returned (or assembles) is binary

	// onBinary receives binary messages; nil refuses them.
	onBinary func([]byte) error
}

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
	maxFrame       = 1 << 20
)

var errServerCloseFrame = errors.New("wire: server sent a close frame")

func newRawReader() *rawReader {
	return &rawReader{buf: make([]byte, 2048)}
}

// run reads frames from rc and hands each text message to onText, binary
// messages to rr.onBinary, pings to onPing, until an error.
func (rr *rawReader) run(rc syscall.RawConn, onText, onPing func([]byte) error) error {
	var loopErr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			for {
				msg, ok, err := rr.parse(onPing)
				if err != nil {
					loopErr = err
					return true
				}
				if !ok {
					break
				}
				handle := onText
				if rr.binary {
					handle = rr.onBinary
				}
				if err := handle(msg); err != nil {
					loopErr = err
					return true
				}
			}
			if rr.drained && rr.waited {
				rr.drained = false
				return false // wait until the socket is readable
			}
			rr.makeRoom()
			want := len(rr.buf) - rr.w
			n, err := syscall.Read(int(fd), rr.buf[rr.w:])
			switch {
			case err == syscall.EAGAIN:
				rr.waited = true
				rr.drained = false
				return false
			case err == syscall.EINTR:
				continue
			case err != nil:
				loopErr = err
				return true
			case n == 0:
				loopErr = io.EOF
				return true
			}
			rr.w += n
			rr.drained = n < want
		}
	})
	if err != nil {
		return err
	}
	return loopErr
}

// makeRoom ensures free space after the unread bytes.
func (rr *rawReader) makeRoom() {
	if rr.r == rr.w {
		rr.r, rr.w = 0, 0
	}
	if rr.w < len(rr.buf) {
		return
	}
	if rr.r > 0 {
		rr.w = copy(rr.buf, rr.buf[rr.r:rr.w])
		rr.r = 0
		return
	}
	rr.buf = append(rr.buf, make([]byte, len(rr.buf))...)
}

// parse returns the next complete text message in the buffer, valid until
// the buffer is next changed, with ok false when more bytes are needed.
func (rr *rawReader) parse(onPing func([]byte) error) (msg []byte, ok bool, err error) {
	for {
		avail := rr.buf[rr.r:rr.w]
		if len(avail) < 2 {
			return nil, false, nil
		}
		b0, b1 := avail[0], avail[1]
		fin, op := b0&0x80 != 0, b0&0x0f
		if b0&0x70 != 0 || b1&0x80 != 0 {
			return nil, false, fmt.Errorf("wire: bad frame header %#x %#x (reserved bits or a masked server frame)", b0, b1)
		}
		head, size := 2, uint64(b1&0x7f)
		switch size {
		case 126:
			if len(avail) < 4 {
				return nil, false, nil
			}
			size, head = uint64(binary.BigEndian.Uint16(avail[2:])), 4
		case 127:
			if len(avail) < 10 {
				return nil, false, nil
			}
			size, head = binary.BigEndian.Uint64(avail[2:]), 10
		}
		if size > maxFrame {
			return nil, false, fmt.Errorf("wire: frame of %d bytes", size)
		}
		if uint64(len(avail)-head) < size {
			if need := head + int(size); need > len(rr.buf) {
				rr.grow(need)
			}
			return nil, false, nil
		}
		payload := avail[head : head+int(size)]
		rr.r += head + int(size)
		switch op {
		case opPing:
			if err := onPing(payload); err != nil {
				return nil, false, err
			}
		case opPong:
		case opClose:
			return nil, false, errServerCloseFrame
		case opText, opBinary:
			if rr.fragmented {
				return nil, false, errors.New("wire: data frame inside a fragmented message")
			}
			rr.binary = op == opBinary
			if rr.binary && rr.onBinary == nil {
				return nil, false, errors.New("wire: unexpected binary frame")
			}
			if fin {
				return payload, true, nil
			}
			rr.fragmented = true
			rr.msg = append(rr.msg[:0], payload...)
		case opContinuation:
			if !rr.fragmented {
				return nil, false, errors.New("wire: continuation frame without a message")
			}
			rr.msg = append(rr.msg, payload...)
			if fin {
				rr.fragmented = false
				return rr.msg, true, nil
			}
		default:
			return nil, false, fmt.Errorf("wire: unknown opcode %#x", op)
		}
	}
}

// grow makes the buffer hold at least n bytes, keeping the unread ones at
// its start.
func (rr *rawReader) grow(n int) {
	nb := make([]byte, max(n, 2*len(rr.buf)))
	rr.w = copy(nb, rr.buf[rr.r:rr.w])
	rr.r = 0
	rr.buf = nb
}

// rawConnOf returns the raw connection under a WebSocket connection.
func rawConnOf(conn *websocket.Conn) (syscall.RawConn, error) {
	sc, ok := conn.NetConn().(syscall.Conn)
	if !ok {
		return nil, errors.New("wire: connection has no file descriptor")
	}
	return sc.SyscallConn()
}
