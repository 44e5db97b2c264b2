package interop

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

type greeting struct {
	Blob []byte `json:"blob"`
}

type greetReply struct {
	Text  string            `json:"text"`
	Blob  []byte            `json:"blob"`
	Parts [][]byte          `json:"parts"`
	Meta  map[string][]byte `json:"meta"`
	Hash  []byte            `json:"hash" socketio:"base64"`
}

// TestClientTypedShapes: our client's typed handlers of several shapes,
// called by the official server and ours, and byte slices inside values
// both ways: the server receives Buffers where the client has []byte.
func TestClientTypedShapes(t *testing.T) {
	forEachSioServer(t, func(t *testing.T, srv clientTarget) {
		s := sioDial(t, srv.URL(), fast())
		pairs := make(inbox[string], 1)
		ticks := make(inbox[struct{}], 1)
		sioclient.On2(s, "pair", func(ctx context.Context, a string, n int) error {
			pairs <- strings.Repeat(a, n)
			return nil
		})
		sioclient.On0(s, "tick", func(context.Context) error { ticks <- struct{}{}; return nil })
		sioclient.OnAck0(s, "status", func(context.Context) (string, error) { return "ok", nil })
		sioclient.OnAck3(s, "greet", func(ctx context.Context, name string, n int, g greeting) (greetReply, error) {
			return greetReply{Text: strings.Repeat(name, n), Blob: g.Blob, Parts: [][]byte{{1}, {2}},
				Meta: map[string][]byte{"k": {3}}, Hash: []byte{0xff}}, nil
		})
		sioclient.OnAck(s, "fail", func(ctx context.Context, n int) (int, error) {
			return 0, &sioclient.Error{Code: "nope", Message: "not today"}
		})

		srv.Emit(t, "/", "pair", "ab", 2)
		if got := pairs.get(t); got != "abab" {
			t.Errorf("On2 got %q", got)
		}
		srv.Emit(t, "/", "tick", "ignored")
		ticks.get(t)
		jsonEqual(t, "OnAck0", srv.Call(t, "/", "status"), "ok")
		jsonEqual(t, "OnAck3", srv.Call(t, "/", "greet", "ab", 2, nodeproc.M{"blob": binOf("b")}),
			nodeproc.M{"text": "abab", "blob": binOf("b"), "parts": []any{nodeproc.Bin([]byte{1}), nodeproc.Bin([]byte{2})},
				"meta": nodeproc.M{"k": nodeproc.Bin([]byte{3})}, "hash": "/w=="})
		jsonEqual(t, "error shape", srv.Call(t, "/", "fail", 1), nodeproc.M{"error": nodeproc.M{"code": "nope", "message": "not today"}})
		jsonEqual(t, "decoding error", srv.Call(t, "/", "fail", "one"),
			nodeproc.M{"error": nodeproc.M{"code": "invalid_argument", "message": "argument 0: expected integer, got string"}})

		// Client to server: the server sees Buffers inside the struct.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shape, err := sioclient.Call[[]any](ctx, s, "types", greetReply{Text: "t", Blob: []byte{1}, Parts: [][]byte{{2}},
			Meta: map[string][]byte{"m": {3}}, Hash: []byte{4}})
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, "what the server received", mustJSON(t, shape), []any{nodeproc.M{
			"text": "string", "blob": "Buffer", "parts": []any{"Buffer"}, "meta": nodeproc.M{"m": "Buffer"}, "hash": "string"}})
		// And back: the echo decodes into the same value.
		back, err := sioclient.Call[greetReply](ctx, s, "echo", greetReply{Text: "t", Blob: []byte{1}, Parts: [][]byte{{2}},
			Meta: map[string][]byte{"m": {3}}, Hash: []byte{4}})
		if err != nil || back.Text != "t" || string(back.Blob) != "\x01" || string(back.Parts[0]) != "\x02" ||
			string(back.Meta["m"]) != "\x03" || string(back.Hash) != "\x04" {
			t.Errorf("echo: %+v, %v", back, err)
		}
		// A reply in the error shape is an *Error.
		_, err = sioclient.Call[string](ctx, s, "echo", nodeproc.M{"error": nodeproc.M{"code": "x", "message": "m"}})
		var e *sioclient.Error
		if !errors.As(err, &e) || e.Code != "x" || e.Message != "m" {
			t.Errorf("Call of an error reply: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
