package socketio

import (
	"crypto/rand"
	"encoding/base64"
)

// newID returns a random id of 20 URL-safe characters, like the ids of the
// official server.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
