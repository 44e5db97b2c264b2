package msgpackparser_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/msgpackparser"
	"github.com/sio-go/socketio/protocol"
	"github.com/sio-go/socketio/sioclient"
)

// deep is a JSON value nested past what the encoder accepts.
var deep = json.RawMessage(strings.Repeat("[", 1100) + strings.Repeat("]", 1100))

func TestEncodeRefusesTooDeep(t *testing.T) {
	data := append(append(json.RawMessage(`["e",`), deep...), ']')
	if _, err := msgpackparser.Parser.Encode(&protocol.Packet{Type: protocol.Event, Namespace: "/", Data: data}); err == nil {
		t.Fatal("a payload nested 1,100 deep encoded")
	}
}

// An emit the parser cannot encode fails with an error, a broadcast of it is
// dropped, and the connection goes on.
func TestUnencodableEmit(t *testing.T) {
	srv := socketio.NewServer(&socketio.Config{Parser: msgpackparser.Parser})
	errs := make(chan error, 2)
	srv.OnConnect(func(s *socketio.Socket) {
		s.OnRaw("go", func(ctx context.Context, _ socketio.Args, _ socketio.AckFunc) {
			errs <- s.Emit("deep", deep)
			errs <- srv.Emit(ctx, "deep", deep)
			_ = s.Emit("after", 1)
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := sioclient.Dial(ctx, hs.URL, &sioclient.Config{Parser: msgpackparser.Parser})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make(chan string, 4)
	s.OnAny(func(_ context.Context, ev string, _ sioclient.Args) { got <- ev })
	if err := s.Emit("go"); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "encoding") {
		t.Errorf("Emit of an unencodable value: %v, want an encoding error", err)
	}
	if err := <-errs; err != nil {
		t.Errorf("broadcast of an unencodable value: %v, want it dropped (and logged) without error", err)
	}
	select {
	case ev := <-got:
		if ev != "after" {
			t.Fatalf("the client got %q first, want only \"after\"", ev)
		}
	case <-ctx.Done():
		t.Fatal("nothing arrived after the refused emits")
	}
	if !s.Connected() {
		t.Fatal("the connection ended")
	}
}
