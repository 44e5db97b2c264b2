package interop

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

var clientTransports = []engineio.Transport{engineio.Polling, engineio.WebSocket}

func transportsOnly(tr engineio.Transport) *sioclient.Config {
	cfg := fast()
	cfg.Engine.Transports = []engineio.Transport{tr}
	return cfg
}

// TestClientCloseLeavesNamespace: Close tells the server the client left
// ("client namespace disconnect"), over polling as over WebSocket, and not
// that the connection dropped.
func TestClientCloseLeavesNamespace(t *testing.T) {
	for _, tr := range clientTransports {
		t.Run(string(tr), func(t *testing.T) {
			srv := startNodeSio(t, 0, nil)
			s := sioDial(t, srv.URL(), transportsOnly(tr))
			id := s.ID()
			srv.p.Wait(nodeproc.On("connection", "id", id))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if r := srv.p.Wait(nodeproc.On("disconnect", "id", id)).Str("reason"); r != "client namespace disconnect" {
				t.Fatalf("the server saw %q", r)
			}
		})
	}
}

// TestClientCloseIsFinal: after Socket.Close, Emit, EmitWithAck and Connect
// fail at once with ErrClosed, the manager Dial made is closed too, and no
// goroutine of the client is left when Close returns.
func TestClientCloseIsFinal(t *testing.T) {
	for _, tr := range clientTransports {
		t.Run(string(tr), func(t *testing.T) {
			srv := startNodeSio(t, 0, nil)
			verify := testutil.VerifyNone(t)
			before := goroutineIDs()
			s := sioDial(t, srv.URL(), transportsOnly(tr))
			srv.p.Wait(nodeproc.On("connection", "id", s.ID()))
			if _, err := s.EmitWithAck(cctx(t, 10*time.Second), "echo", 1); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if left := clientGoroutines(before); len(left) > 0 {
				t.Fatalf("%d goroutine(s) of the client still running after Close:\n\n%s",
					len(left), strings.Join(left, "\n\n"))
			}
			if err := s.Emit("echo", 2); !errors.Is(err, sioclient.ErrClosed) {
				t.Errorf("Emit after Close: %v, want ErrClosed", err)
			}
			start := time.Now()
			if _, err := s.EmitWithAck(cctx(t, 10*time.Second), "echo", 3); !errors.Is(err, sioclient.ErrClosed) {
				t.Errorf("EmitWithAck after Close: %v after %v, want ErrClosed", err, time.Since(start))
			}
			if err := s.Connect(cctx(t, 10*time.Second)); !errors.Is(err, sioclient.ErrClosed) {
				t.Errorf("Connect after Close: %v, want ErrClosed", err)
			}
			// Dial's manager was closed with its socket.
			if err := s.Manager().Socket("/admin", nil).Connect(cctx(t, 10*time.Second)); !errors.Is(err, sioclient.ErrClosed) {
				t.Errorf("Connect on the manager after Close: %v, want ErrClosed", err)
			}
			if left := clientGoroutines(before); len(left) > 0 {
				t.Fatalf("%d goroutine(s) of the client running:\n\n%s", len(left), strings.Join(left, "\n\n"))
			}
			if len(srv.p.Events(nodeproc.Type("connection"))) != 1 {
				t.Fatalf("the client connected again:\n%s", srv.p.Log())
			}
			verify() // the HTTP client's own goroutines end soon after
		})
	}
}

// TestClientCloseOneOfTwoSockets: closing one socket of a manager is final
// for it, the other goes on over the same connection; closing the last one
// closes the connection, and the manager's goroutines are gone when it
// returns.
func TestClientCloseOneOfTwoSockets(t *testing.T) {
	srv := startNodeSio(t, 0, nil)
	before := goroutineIDs()
	m, err := sioclient.NewManager(srv.URL(), fast())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	root, admin := m.Socket("/", nil), m.Socket("/admin", nil)
	for _, s := range []*sioclient.Socket{root, admin} {
		if err := s.Connect(cctx(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	_ = admin.Close()
	if r := srv.p.Wait(nodeproc.On("disconnect", "nsp", "/admin")).Str("reason"); r != "client namespace disconnect" {
		t.Fatalf("the server saw %q", r)
	}
	if err := admin.Emit("echo", 1); !errors.Is(err, sioclient.ErrClosed) {
		t.Fatalf("Emit on the closed socket: %v", err)
	}
	if got, err := sioclient.Call[int](cctx(t, 10*time.Second), root, "echo", 7); err != nil || got != 7 {
		t.Fatalf("the other socket: %d %v", got, err)
	}
	// A new socket for the namespace can be made.
	admin2 := m.Socket("/admin", nil)
	if admin2 == admin {
		t.Fatal("Manager.Socket returned the closed socket")
	}
	if err := admin2.Connect(cctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	_ = admin2.Close()
	_ = root.Close()
	if left := clientGoroutines(before); len(left) > 0 {
		t.Fatalf("%d goroutine(s) of the client running after the last socket closed:\n\n%s",
			len(left), strings.Join(left, "\n\n"))
	}
	for _, r := range srv.p.WaitN(2, 10*time.Second, nodeproc.Type("disconnect")) {
		if r.Str("reason") != "client namespace disconnect" {
			t.Fatalf("the server saw %s", r)
		}
	}
}

// goroutineIDs returns the ids of the goroutines running now.
func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for _, g := range testutil.Goroutines() {
		ids[goroutineHeader(g)] = true
	}
	return ids
}

func goroutineHeader(stack string) string {
	line, _, _ := strings.Cut(stack, "\n")
	id, _, _ := strings.Cut(line, " [")
	return id
}

// clientGoroutines returns the stacks of goroutines not in before that run
// code of the Go client. A goroutine whose end Close waited for may still
// be returning when Close returns: one that is runnable or running is given
// a second to end. A blocked one is reported at once.
func clientGoroutines(before map[string]bool) []string {
	deadline := time.Now().Add(time.Second)
	for {
		var left []string
		exiting := true
		for _, g := range testutil.Goroutines() {
			if before[goroutineHeader(g)] || !strings.Contains(g, "github.com/sio-go/socketio/sioclient.") &&
				!strings.Contains(g, "github.com/sio-go/socketio/engineio.") {
				continue
			}
			left = append(left, g)
			line, _, _ := strings.Cut(g, "\n")
			if !strings.HasSuffix(line, " [runnable]:") && !strings.HasSuffix(line, " [running]:") {
				exiting = false
			}
		}
		if len(left) == 0 || !exiting || time.Now().After(deadline) {
			return left
		}
		time.Sleep(time.Millisecond)
	}
}
