package engineio

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestRequest(t *testing.T) {
	ts := newTestServer(t, nil, true)
	do(t, "GET", ts.url+"?EIO=4&transport=polling&token=abc", "", http.Header{"X-Token": {"secret"}, "X-Multi": {"a", "b"}})
	conn := ts.nextConn(t)
	r := conn.Request()
	if vs := r.Header.Values("X-Multi"); len(vs) != 2 || vs[0] != "a" || vs[1] != "b" {
		t.Errorf("X-Multi %q, want [a b] in order", vs)
	}
	r.Header.Set("X-Token", "changed") // a copy: the next one is intact
	if conn.Request().Header.Get("X-Token") != "secret" {
		t.Error("changing a copy's header changed the session's")
	}
	r.Header.Set("X-Token", "secret")
	if r.Method != http.MethodGet || r.URL.Query().Get("token") != "abc" || r.Header.Get("X-Token") != "secret" ||
		r.Proto != "HTTP/1.1" || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.Host != ts.http.Listener.Addr().String() ||
		!strings.HasPrefix(r.RequestURI, "/engine.io/?") || r.Context() == nil || r.Body != http.NoBody {
		t.Errorf("request %+v", r)
	}
	if r.RemoteAddr == "" || r.RemoteAddr != conn.RemoteAddr() {
		t.Errorf("RemoteAddr %q, %q", r.RemoteAddr, conn.RemoteAddr())
	}
	if conn.Request() == r {
		t.Error("Request returned the same copy twice")
	}
}

func TestDone(t *testing.T) {
	ts := newTestServer(t, nil, true)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)
	done := conn.Done()
	select {
	case <-done:
		t.Fatal("Done closed while open")
	default:
	}
	conn.Close()
	ts.poll(t, sid) // takes the close packet
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	sid = ts.handshake(t)
	conn = ts.nextConn(t)
	conn.Close()
	ts.poll(t, sid)
	select {
	case <-conn.Done(): // asked for after the end
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
}

// TestDeflateReadByLibrary checks that a WebSocket with permessage-deflate
// is read by the WebSocket library, which decompresses, and one without by
// the poller.
func TestDeflateReadByLibrary(t *testing.T) {
	ts := newTestServer(t, &Config{PerMessageDeflate: &PerMessageDeflate{Threshold: 10}}, true)
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "?EIO=4&transport=websocket"
	for _, compress := range []bool{true, false} {
		d := websocket.Dialer{EnableCompression: compress}
		ws, _, err := d.Dial(u, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		readText(t, ws)
		conn := ts.nextConn(t)
		conn.mu.Lock()
		_, polled := conn.ws.(*pollWS)
		conn.mu.Unlock()
		if want := !compress && runtime.GOOS == "linux"; polled != want {
			t.Errorf("compression %v: read by the poller: %v", compress, polled)
		}
		big := "4" + strings.Repeat("compress me ", 50)
		write(t, ws, big)
		if got := readText(t, ws); got != big {
			t.Errorf("compression %v: echo of %d bytes", compress, len(got))
		}
	}
}
