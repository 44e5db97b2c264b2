package socketio

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
)

// FuzzServerPackets feeds arbitrary Socket.IO packets (one per line; lines
// starting with "b:" are binary) to a server with handlers, recovery and a
// dynamic namespace: it must never panic nor hang.
func FuzzServerPackets(f *testing.F) {
	for _, seed := range []string{
		"0\n2[\"echo\",1]\n21[\"echo\",{\"a\":[1]}]",
		"0/custom,\n2/custom,[\"echo\"]\n1/custom,",
		"0\n51-[\"bin\",{\"_placeholder\":true,\"num\":0}]\nb:\x01\x02",
		"0{\"pid\":\"x\",\"offset\":\"y\"}\n2[\"echo\"]\n1",
		"0/dyn-1,\n2/dyn-1,3[\"echo\"]",
		"0\n30[1]\n2{}",
		"0\n0",
		"abc",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		srv := newServer(&Config{ConnectionStateRecovery: &RecoveryConfig{}, MaxPendingEvents: 8})
		srv.OfFunc(func(ctx context.Context, name string, _ json.RawMessage) bool {
			return strings.HasPrefix(name, "/dyn-")
		})
		handlers := func(s *Socket) {
			s.OnRaw("echo", func(ctx context.Context, args Args, ack AckFunc) {
				_ = s.Emit("echo", args.Values()...)
				if ack != nil {
					_ = ack(args.Values()...)
				}
			})
			s.OnRaw("bin", func(ctx context.Context, args Args, ack AckFunc) {
				var v any
				_ = args.Decode(0, &v)
				_, _ = args.Binary(0)
			})
		}
		srv.OnConnect(handlers)
		srv.Of("/custom").OnConnect(handlers)
		req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil)
		fc := &fakeConn{id: "fuzz", req: req, out: make(chan engineio.Message, 64)}
		fc.c = srv.accept(fc)
		for _, line := range strings.Split(input, "\n") {
			if b, ok := strings.CutPrefix(line, "b:"); ok {
				fc.c.onMessage([]byte(b), true)
			} else {
				fc.c.onMessage([]byte(line), false)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})
}
