package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIONestedBinary sends binary values at depth inside objects and arrays
// both ways, on each transport: the server reads them with Args.Binary and
// Decode into []byte fields, and sends []byte values inside maps and slices.
func TestSIONestedBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	big := make([]byte, 200_000)
	for i := range big {
		big[i] = byte(r.IntN(256))
	}
	type upload struct {
		Name  string            `json:"name"`
		Data  []byte            `json:"data"`
		Empty []byte            `json:"empty"`
		Parts []json.RawMessage `json:"parts"`
		Meta  struct {
			Deep struct {
				Deeper [][]byte `json:"deeper"`
			} `json:"deep"`
		} `json:"meta"`
	}
	uploadArg := nodeproc.M{
		"name":  "pic",
		"data":  nodeproc.Bin(big),
		"empty": nodeproc.Bin(nil),
		"parts": []any{binOf("p0"), nodeproc.M{"inner": binOf("p1"), "n": 1}},
		"meta":  nodeproc.M{"deep": nodeproc.M{"deeper": []any{binOf("d0"), binOf("d1")}}},
	}
	list := []any{binOf("x"), "txt", binOf("\x00y\xff")}

	check := func(t *testing.T, args socketio.Args) {
		t.Helper()
		var u upload
		if err := args.Decode(0, &u); err != nil {
			t.Fatalf("Decode(0): %v", err)
		}
		if u.Name != "pic" || !bytes.Equal(u.Data, big) || u.Empty == nil || len(u.Empty) != 0 {
			t.Errorf("upload: name %q, data %d bytes (equal %v), empty %v",
				u.Name, len(u.Data), bytes.Equal(u.Data, big), u.Empty)
		}
		var p0 []byte
		var p1 struct {
			Inner []byte `json:"inner"`
			N     int    `json:"n"`
		}
		if len(u.Parts) != 2 || json.Unmarshal(u.Parts[0], &p0) != nil || json.Unmarshal(u.Parts[1], &p1) != nil ||
			string(p0) != "p0" || string(p1.Inner) != "p1" || p1.N != 1 {
			t.Errorf("parts %s", u.Parts)
		}
		if d := u.Meta.Deep.Deeper; len(d) != 2 || string(d[0]) != "d0" || string(d[1]) != "d1" {
			t.Errorf("meta.deep.deeper %q", d)
		}
		if b, ok := args.Binary(1); !ok || string(b) != "top" {
			t.Errorf("Binary(1) = %q, %v", b, ok)
		}
		if _, ok := args.Binary(0); ok {
			t.Error("Binary(0) is true for an object")
		}
		var l []json.RawMessage
		var x, y []byte
		var txt string
		if err := args.Decode(2, &l); err != nil || len(l) != 3 || json.Unmarshal(l[0], &x) != nil ||
			json.Unmarshal(l[1], &txt) != nil || json.Unmarshal(l[2], &y) != nil ||
			string(x) != "x" || txt != "txt" || string(y) != "\x00y\xff" {
			t.Errorf("argument 2: %s (%v)", l, err)
		}
		if n := len(args.Attachments()); n != 9 {
			t.Errorf("%d attachments, want 9", n)
		}
	}

	reply := map[string]any{
		"file":   []byte("file-bytes"),
		"chunks": []any{[]byte{1}, []byte{2, 3}, "not binary"},
		"info":   map[string]any{"raw": []byte{0, 0xff}, "size": 3},
	}
	replyJSON := nodeproc.M{
		"file":   binOf("file-bytes"),
		"chunks": []any{nodeproc.Bin([]byte{1}), nodeproc.Bin([]byte{2, 3}), "not binary"},
		"info":   nodeproc.M{"raw": nodeproc.Bin([]byte{0, 0xff}), "size": 3},
	}

	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			// checked from the log, on the test's goroutine
			sock.OnRaw("upload", func(_ context.Context, _ socketio.Args, ack socketio.AckFunc) {
				_ = ack(reply, []byte("second"))
			})
		})
	})
	c := startClient(t)
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			c.dial(tr, s.URL(), "/", nodeproc.M{"transports": []string{tr}, "forceNew": true})
			sock := s.connected(t, "/")

			// client → server, decoded by the handler; its ack carries
			// binary at depth
			c.emitAck(tr, tr+"up", 0, "upload", uploadArg, binOf("top"), list)
			jsonEqual(t, "upload ack", c.ack(tr+"up").Field("args"), []any{replyJSON, binOf("second")})
			check(t, s.log.wait(t, sEvent("upload")).Args)

			// forwarded unchanged with Args.Values, by event and by ack
			c.emit(tr, "echo", uploadArg, binOf("top"), list)
			jsonEqual(t, "echo event", c.event(tr, "echo").Field("args"), []any{uploadArg, binOf("top"), list})
			c.emitAck(tr, tr+"echo", 0, "echo", list, nodeproc.M{"only": list})
			jsonEqual(t, "echo ack", c.ack(tr+"echo").Field("args"), []any{list, nodeproc.M{"only": list}})

			// server → client
			if err := sock.Emit("download", reply, []byte("top"), []any{[]byte("in list")}); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, "download", c.event(tr, "download").Field("args"),
				[]any{replyJSON, binOf("top"), []any{binOf("in list")}})
			ctx := testCtx(t, wait)
			if err := s.srv.Of("/").To(sock.ID()).Emit(ctx, "broadcast-bin", map[string]any{"b": []byte("bc")}); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, "broadcast", c.event(tr, "broadcast-bin").Field("args"), []any{nodeproc.M{"b": binOf("bc")}})

			// the client's acknowledgement carries binary at depth
			c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": tr, "event": "fetch",
				"args": []any{uploadArg, binOf("top"), list}})
			a, err := sock.EmitWithAck(ctx, "fetch")
			if err != nil {
				t.Fatal(err)
			}
			check(t, a)
			c.call("disconnect", tr)
		})
	}
}
