package interop

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// These tests check what only our server exposes, still driven by the
// official client.

// TestRequestInfo checks that a session exposes the handshake request: the
// client's query, headers and address.
func TestRequestInfo(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			s := startGoServer(t, srvOpts{})
			dialEIO(t, s.URL(), nodeproc.M{
				"transports":   []string{tr},
				"query":        nodeproc.M{"room": "blue", "n": "1"},
				"extraHeaders": nodeproc.M{"X-Interop": "yes"},
			})
			c := s.NextConn(t).c
			r := c.Request()
			if q := r.URL.Query(); q.Get("room") != "blue" || q.Get("n") != "1" || q.Get("EIO") != "4" || q.Get("transport") != tr {
				t.Errorf("query %v", q)
			}
			if h := r.Header.Get("X-Interop"); h != "yes" {
				t.Errorf("X-Interop header %q, want yes", h)
			}
			if a := c.RemoteAddr(); !strings.HasPrefix(a, "127.0.0.1:") {
				t.Errorf("RemoteAddr %q, want 127.0.0.1:port", a)
			}
			if len(c.ID()) != 20 {
				t.Errorf("ID %q, want 20 characters", c.ID())
			}
		})
	}
}

// TestCustomPath serves under another path; the client must use it.
func TestCustomPath(t *testing.T) {
	s := startGoServerConfig(t, &engineio.Config{Path: "/rt/eio"}, true)
	c, _ := dialEIO(t, s.URL(), nodeproc.M{"path": "/rt/eio"})
	c.Send(t, text("here"))
	checkMsgs(t, "client", c.Recv(t, 1, wait), []msg{text("here")})
	c.p.Wait(nodeproc.Type("upgrade"))
	if r := do(t, "GET", s.URL()+"/engine.io/?EIO=4&transport=polling", nil, ""); r.status != 404 {
		t.Errorf("default path answered %d, want 404", r.status)
	}
}

// TestSlowConsumer stops the client and keeps sending: Send must fail with
// ErrSlowConsumer once the queue bound is passed, the session must end
// with "slow consumer", and no goroutine may stay blocked on the stopped
// client.
func TestSlowConsumer(t *testing.T) {
	const bound = 256 << 10
	chunk := bytes.Repeat([]byte("s"), 16<<10)
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			s := startGoServerConfig(t, &engineio.Config{MaxQueueBytes: bound}, false)
			c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
			sess := s.NextConn(t)
			c.p.Signal(syscall.SIGSTOP)
			t.Cleanup(func() { c.p.Signal(syscall.SIGCONT) })

			// Sending slowly lets the writer fill the kernel's socket buffers
			// (some megabytes) and block on the stopped client; only then does
			// the queue fill. 64 MiB is far beyond both.
			var err error
			sent := 0
			for sent < 64<<20 {
				if err = sess.c.Send(engineio.Message{Data: chunk}); err != nil {
					break
				}
				sent += len(chunk)
				time.Sleep(time.Millisecond)
			}
			if !errors.Is(err, engineio.ErrSlowConsumer) {
				t.Fatalf("after %d bytes Send returned %v, want ErrSlowConsumer", sent, err)
			}
			t.Logf("ErrSlowConsumer after %d KiB", sent>>10)
			if r := sess.WaitClosed(t, wait); r != string(engineio.ReasonSlowConsumer) {
				t.Errorf("close reason %q, want %q", r, engineio.ReasonSlowConsumer)
			}
			if err := sess.c.Send(engineio.Message{Data: []byte("late")}); !errors.Is(err, engineio.ErrClosed) {
				t.Errorf("Send after close returned %v, want ErrClosed", err)
			}
			waitCount(t, s, 0, wait)
			deadline := time.Now().Add(5 * time.Second)
			for len(engineioGoroutines()) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("engineio goroutines still running while the client is stopped:\n\n%s",
						strings.Join(engineioGoroutines(), "\n\n"))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
