package interop

import (
	"testing"

	"github.com/sio-go/socketio/engineio"
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
