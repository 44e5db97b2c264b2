package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sio-go/socketio/bench/internal/wire"
)

// serveFake speaks the server side of a WebSocket session with the default
// handshake: it answers the namespace connect, calls joined, then hands
// every event frame to onEvent until the client goes away.
// serveFake speaks just enough of the protocol for the load generator.
// joined writes the namespace's connect reply: a fake that delivers to
// this socket registers it first, so that nothing it must deliver is sent
// before the client is told it joined.
func serveFake(w http.ResponseWriter, r *http.Request, joined func(c *websocket.Conn, reply []byte), onEvent func(c *websocket.Conn, frame []byte)) {
	c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.WriteMessage(websocket.TextMessage, []byte(`0{"sid":"brk","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		switch s := string(b); {
		case s == "40":
			joined(c, []byte(`40{"sid":"s"}`))
		case strings.HasPrefix(s, "42"):
			onEvent(c, b)
		}
	}
}

// newBrokenServer answers the handshake correctly and then acks every echo
// with the given rewrite of the event frame.
func newBrokenServer(t *testing.T, ack func(id int64) string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveFake(w, r, func(c *websocket.Conn, reply []byte) {
			c.WriteMessage(websocket.TextMessage, reply)
		}, func(c *websocket.Conn, b []byte) {
			var id int64
			for _, ch := range string(b[2:]) {
				if ch < '0' || ch > '9' {
					break
				}
				id = id*10 + int64(ch-'0')
			}
			c.WriteMessage(websocket.TextMessage, []byte(ack(id)))
		})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestEchoDetectsWrongAcks(t *testing.T) {
	cases := map[string]func(id int64) string{
		"changed argument": func(id int64) string { return string(wire.AppendAck(nil, id, []byte(`"abcdefgX"`))) },
		"unknown id":       func(id int64) string { return string(wire.AppendAck(nil, id+1000, wire.StringArg(8))) },
		"extra space":      func(id int64) string { return string(wire.AppendAck(nil, id, []byte(` "abcdefgh"`))) },
	}
	for name, ack := range cases {
		t.Run(name, func(t *testing.T) {
			url := newBrokenServer(t, ack)
			res, err := Run(context.Background(), Config{
				URL: url, Scenario: Echo, Clients: 2, PayloadSize: 8,
				Warmup: -1, Duration: 300 * time.Millisecond, SourceIPs: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Mismatches == 0 {
				t.Fatalf("wrong acks not caught: %+v", res)
			}
			if res.Errors == 0 {
				t.Errorf("unacknowledged emits not counted as errors: %+v", res)
			}
		})
	}
}

func TestEchoAgainstCorrectFake(t *testing.T) {
	url := newBrokenServer(t, func(id int64) string { return string(wire.AppendAck(nil, id, wire.StringArg(8))) })
	res, err := Run(context.Background(), Config{
		URL: url, Scenario: Echo, Clients: 2, PayloadSize: 8,
		Warmup: -1, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Ops == 0 || res.Mismatches != 0 || res.P50us <= 0 {
		t.Fatalf("correct acks not accepted: %+v", res)
	}
}
