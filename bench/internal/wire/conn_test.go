package wire

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const (
	fakeOpenWS   = `0{"sid":"fake1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	fakeOpenPoll = `0{"sid":"fake1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
)

// fakeServer speaks just enough Engine.IO over WebSocket or polling for the
// client: it records what the client sends and lets the test push frames.
type fakeServer struct {
	t        *testing.T
	open     string
	received chan string
	push     chan string
	srv      *httptest.Server
}

func newFakeServer(t *testing.T, open string) *fakeServer {
	f := &fakeServer{t: t, open: open, received: make(chan string, 100), push: make(chan string, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) endpoint() *Endpoint {
	e, err := ParseEndpoint(f.srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("EIO") != "4" {
		http.Error(w, "bad EIO", http.StatusBadRequest)
		return
	}
	if q.Get("transport") == "websocket" {
		f.serveWS(w, r)
		return
	}
	switch {
	case q.Get("sid") == "":
		io.WriteString(w, f.open)
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		_ = SplitPayload(body, func(p []byte) error {
			f.received <- string(p)
			if string(p) == "40" {
				f.push <- `40{"sid":"sock1"}`
			}
			return nil
		})
		io.WriteString(w, "ok")
	default:
		select {
		case p := <-f.push:
			payload := []byte(p)
			for more := true; more; {
				select {
				case p := <-f.push:
					payload = AppendPayload(payload, []byte(p))
				default:
					more = false
				}
			}
			w.Write(payload)
		case <-time.After(time.Second):
			io.WriteString(w, "6")
		case <-r.Context().Done():
		}
	}
}

func (f *fakeServer) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.WriteMessage(websocket.TextMessage, []byte(f.open))
	var wmu sync.Mutex
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case p := <-f.push:
				wmu.Lock()
				c.WriteMessage(websocket.TextMessage, []byte(p))
				wmu.Unlock()
			case <-done:
				return
			}
		}
	}()
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		f.received <- string(b)
		if string(b) == "40" {
			f.push <- `40{"sid":"sock1"}`
		}
	}
}

func (f *fakeServer) expect(want string) {
	f.t.Helper()
	select {
	case got := <-f.received:
		if got != want {
			f.t.Fatalf("server received %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		f.t.Fatalf("server did not receive %q", want)
	}
}

func TestConnTransports(t *testing.T) {
	for _, tc := range []struct {
		tr   Transport
		open string
	}{{WebSocket, fakeOpenWS}, {Polling, fakeOpenPoll}} {
		t.Run(tc.tr.String(), func(t *testing.T) {
			f := newFakeServer(t, tc.open)
			var pings atomic.Int64
			got := make(chan string, 10)
			c, err := Dial(context.Background(), DialOptions{
				Endpoint:  f.endpoint(),
				Transport: tc.tr,
				Pings:     &pings,
				Handler:   func(_ *Conn, fr []byte) { got <- string(fr) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.SID != "fake1" || c.Socket != "sock1" {
				t.Fatalf("ids %q %q", c.SID, c.Socket)
			}
			f.expect("40")

			f.push <- "2"
			f.expect("3")
			if pings.Load() != 1 {
				t.Fatalf("pings %d, want 1", pings.Load())
			}
			f.push <- `431["x"]`
			select {
			case fr := <-got:
				if fr != `431["x"]` {
					t.Fatalf("handler got %q", fr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("handler not called")
			}
			if err := c.Send(AppendEvent(nil, 2, "echo", []byte(`"y"`))); err != nil {
				t.Fatal(err)
			}
			f.expect(`422["echo","y"]`)
			if !c.Alive() {
				t.Fatal("connection died")
			}
			c.Close()
			f.expect("41")
			if tc.tr == Polling {
				f.expect("1")
			}
			if c.Alive() || c.Err() != nil {
				t.Fatalf("after Close: alive=%v err=%v", c.Alive(), c.Err())
			}
		})
	}
}

func TestConnServerClose(t *testing.T) {
	f := newFakeServer(t, fakeOpenWS)
	c, err := Dial(context.Background(), DialOptions{Endpoint: f.endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.push <- "1"
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("close packet did not end the connection")
	}
	if c.Err() != ErrClosedByServer {
		t.Fatalf("err %v, want ErrClosedByServer", c.Err())
	}
}

func TestConnUnexpectedPacket(t *testing.T) {
	f := newFakeServer(t, fakeOpenWS)
	c, err := Dial(context.Background(), DialOptions{Endpoint: f.endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.push <- "5"
	<-c.Done()
	if c.Err() == nil || !strings.Contains(c.Err().Error(), "unexpected packet") {
		t.Fatalf("err %v", c.Err())
	}
}

func TestDialRejectsOtherHandshake(t *testing.T) {
	f := newFakeServer(t, strings.Replace(fakeOpenWS, "25000", "30000", 1))
	_, err := Dial(context.Background(), DialOptions{Endpoint: f.endpoint(), Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "unexpected open packet") {
		t.Fatalf("err %v", err)
	}
}
