package nodepeer

import (
	"context"
	"encoding/json"

	"github.com/sio-go/socketio"
)

// Serve sets nsp up as the Go servers of the adapters' cluster tests, the
// counterpart of peer.js's server: a socket joins the rooms listed in its
// auth payload ({"rooms": [...]}) and answers "rooms" with its rooms; the
// server-side event "hello" is answered {"from": name, "args": [...]}.
func Serve(nsp *socketio.Namespace, name string) {
	nsp.OnConnect(func(s *socketio.Socket) {
		var auth struct {
			Rooms []string `json:"rooms"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		s.Join(auth.Rooms...)
		s.OnRaw("rooms", func(ctx context.Context, _ socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(s.Rooms())
			}
		})
	})
	nsp.OnServerSideEmit("hello", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
		if ack != nil {
			raw := make([]json.RawMessage, args.Len())
			for i := range raw {
				raw[i] = args.Raw(i)
			}
			_ = ack(map[string]any{"from": name, "args": raw})
		}
	})
}
