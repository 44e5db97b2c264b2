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

// newPrivateID returns the private id of a new session and, sharing its
// memory, the socket's id: its first 20 characters. The rest, 20 random
// characters, is the secret; a server finds the live socket of a session
// a client resumes from its private id alone (see Namespace.takeOver).
func newPrivateID() (pid, sid string) {
	var b [30]byte
	_, _ = rand.Read(b[:])
	pid = base64.RawURLEncoding.EncodeToString(b[:])
	return pid, pid[:idLen]
}

// idLen is the length of the ids newID returns.
const idLen = 20

// pidSocketID returns the socket id a private id of newPrivateID starts
// with, or "" for a private id of another form (a Node server's).
func pidSocketID(pid string) string {
	if len(pid) != 2*idLen {
		return ""
	}
	return pid[:idLen]
}
