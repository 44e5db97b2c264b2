package redistest

import (
	"testing"

	"github.com/sio-go/socketio/internal/nodepeer"
)

// Peer is a Node.js process running testdata/capture/peer.js: a Socket.IO
// server with the official Redis adapter, and Socket.IO clients.
type Peer = nodepeer.Peer

// Event is a line a Node peer printed on its own.
type Event = nodepeer.Event

// StartPeer starts a Node peer connected to the Redis at url. env adds
// variables such as KEY, ADAPTER, REQUESTS_TIMEOUT or SPECIFIC_CHANNEL=1.
// The peer is stopped when the test ends.
func StartPeer(t testing.TB, url string, env ...string) *Peer {
	t.Helper()
	return nodepeer.Start(t, append([]string{"REDIS_URL=" + url}, env...)...)
}
