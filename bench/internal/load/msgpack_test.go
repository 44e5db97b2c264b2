package load

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/msgpackparser"
)

// TestMsgpackEcho runs echo in socket.io-msgpack-parser's format against the
// Node reference started with PARSER=msgpack and against our server with
// msgpackparser: every ack is checked byte for byte after decoding.
func TestMsgpackEcho(t *testing.T) {
	servers := map[string]func(t *testing.T) (string, int){
		"node": func(t *testing.T) (string, int) { return nodeServer(t, "PARSER=msgpack") },
		"go": func(t *testing.T) (string, int) {
			srv := socketio.NewServer(&socketio.Config{Parser: msgpackparser.Parser})
			srv.OnConnect(func(s *socketio.Socket) {
				s.OnRaw("echo", func(_ context.Context, args socketio.Args, ack socketio.AckFunc) {
					if ack != nil {
						_ = ack(args.Values()...)
					}
				})
			})
			hs := httptest.NewServer(srv)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
				hs.Close()
			})
			return hs.URL, os.Getpid()
		},
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			url, pid := start(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := Run(ctx, Config{URL: url, PID: pid, Label: name, Scenario: Echo, Clients: 4, Msgpack: true,
				Warmup: 200 * time.Millisecond, Duration: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Errors != 0 || res.Mismatches != 0 || res.Connected != 4 || res.Ops < 50 {
				t.Fatalf("checks failed: %+v", res)
			}
		})
	}
	// A client in the other format is refused.
	url, pid := servers["go"](t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, _ := Run(ctx, Config{URL: url, PID: pid, Label: "go", Scenario: Echo, Clients: 1,
		Warmup: 100 * time.Millisecond, Duration: 200 * time.Millisecond})
	if res == nil || res.OK || res.Connected != 0 {
		t.Fatalf("a JSON client ran against a msgpack server: %+v", res)
	}
}
