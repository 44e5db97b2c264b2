package socketio

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Socket.IO v2 clients (socket.io-client 2.x) reach the server over
// Engine.IO v3, when engineio.Config.AllowEIO3 is set. Their Socket.IO
// protocol (v4) differs from v5 in the namespace handshake only, which the
// server adapts as the Node server does:
//
//   - The client is connected to the main namespace as soon as its
//     Engine.IO session opens: it sends no CONNECT for "/".
//   - A CONNECT carries no payload; the namespace may have a query string
//     ("/admin?token=abc"), which becomes the auth object of the handshake
//     ({"token":"abc"}).
//   - The server answers CONNECT without payload ("40", "40/admin,"), and
//     refuses with a CONNECT_ERROR whose payload is the error's data, or
//     else its message as a JSON string.
//   - A socket's id is the Engine.IO session id, prefixed with the
//     namespace and "#" outside the main namespace: the client computes it
//     that way.
//
// Events, acknowledgements, binary attachments and DISCONNECT are the same
// in both versions.

// isEIO3 reports whether an Engine.IO connection speaks protocol v3: a
// Socket.IO v2 client.
func isEIO3(ec engineConn) bool {
	p, ok := ec.(interface{ Protocol() int })
	return ok && p.Protocol() == 3
}

// connectMainV2 connects a v2 client to the main namespace, as if it had
// sent a CONNECT for it.
func (c *conn) connectMainV2() {
	c.mu.Lock()
	c.pending.put("/", nil)
	c.mu.Unlock()
	c.srv.track.Add()
	go func() {
		defer c.srv.track.Done()
		c.connect("/", nil)
	}()
}

// splitNamespaceV2 splits the namespace of a v2 packet into its name and
// the auth object its query string makes (nil without a query).
func splitNamespaceV2(nsp string) (string, json.RawMessage) {
	name, query, ok := strings.Cut(nsp, "?")
	if name == "" {
		name = "/"
	}
	if !ok {
		return name, nil
	}
	values, _ := url.ParseQuery(query)
	auth := make(map[string]string, len(values))
	for k, v := range values {
		auth[k] = v[len(v)-1] // the last one, as Object.fromEntries keeps
	}
	b, _ := json.Marshal(auth)
	return name, b
}

// connectErrorPayloadV2 returns the CONNECT_ERROR payload for a v2 client
// refused with err: the ConnectError's data, or its message.
func connectErrorPayloadV2(err error) json.RawMessage {
	var ce *ConnectError
	msg := err.Error()
	if errors.As(err, &ce) {
		if ce.Data != nil {
			if b, err := json.Marshal(ce.Data); err == nil {
				return b
			}
		}
		msg = ce.Message
	}
	b, _ := json.Marshal(msg)
	return b
}

// socketIDV2 returns the id a v2 client gives its socket of namespace nsp
// on Engine.IO session sid.
func socketIDV2(nsp, sid string) string {
	if nsp == "/" {
		return sid
	}
	return nsp + "#" + sid
}
