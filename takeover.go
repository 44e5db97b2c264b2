package socketio

import (
	"context"
	"crypto/subtle"
	"slices"
	"strconv"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// takeoverEvent is the server-side event by which a server asks the other
// servers of its cluster to end the socket of a session that its client is
// resuming on the asking server. The name is reserved: ServerSideEmit
// refuses it and no OnServerSideEmit handler receives it.
const takeoverEvent = "socket.io#takeover"

// A client can come back before the server it left knows it is gone: the
// server notices a silent client only when the ping timeout passes (up to
// pingInterval + pingTimeout, 45s by default), and a polling client whose
// request a stopping server was forwarding (Config.Route) sees an error
// while the owner of its session serves it on. Until the server notices,
// the session is not stored, and the official server answers the
// client's recovery attempt with a new session: what was broadcast
// meanwhile is lost. This server looks for the socket of the session
// instead, here and, when the store shares sessions between servers (a
// CatchUpStore), on the other servers; it closes that socket's connection,
// which stores the session, and restores it.

// takeOver ends the connection of the socket of session pid if it is still
// connected, on this server or, with a store shared by the servers, on
// another one, and reports whether it did.
func (c *conn) takeOver(ctx context.Context, nsp *Namespace, pid string) bool {
	if pidSocketID(pid) == "" {
		return false
	}
	if nsp.endSession(pid, c) {
		return true
	}
	if _, shared := nsp.adapter.(CatchUpStore); !shared {
		return false
	}
	p, err := eventPacket(takeoverEvent, []any{pid})
	if err != nil {
		return false
	}
	p.Namespace = nsp.name
	replies, _, err := nsp.askServers(ctx, p, endedSession)
	if err != nil {
		c.srv.cfg.Logger.Debug("socketio: asking the cluster for a live session failed", "nsp", nsp.name, "err", err)
	}
	return slices.ContainsFunc(replies, endedSession)
}

// endedSession reports whether a server's answer to takeoverEvent is yes.
func endedSession(a Args) bool {
	var yes bool
	return a.Decode(0, &yes) == nil && yes
}

// restoreTakenOver restores session pid once the connection that held it
// is closed: the store gets the session shortly after (a remote store
// writes in the background), so it tries again, less and less often,
// until ctx ends.
func restoreTakenOver(ctx context.Context, store SessionStore, pid, offset string) (*Session, error) {
	wait := time.Millisecond
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, nil
		}
		sess, err := store.RestoreSession(ctx, pid, offset)
		if sess != nil || err != nil {
			return sess, err
		}
		t.Reset(wait)
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// endSession closes the connection of the socket of session pid if the
// socket is connected here, on another connection than except, and
// reports whether it did. Closing it stores its session (the reason,
// transport close, is recoverable).
func (n *Namespace) endSession(pid string, except *conn) bool {
	sid := pidSocketID(pid)
	if sid == "" {
		return false
	}
	s := n.Socket(sid)
	if s == nil || s.conn == except || subtle.ConstantTimeCompare([]byte(s.pid), []byte(pid)) != 1 {
		return false
	}
	n.srv.cfg.Logger.Debug("socketio: session resumed on another connection, closing this one",
		"nsp", n.name, "socket", sid)
	s.conn.close(ReasonTransportClose, nil)
	return true
}

// onTakeover answers another server's takeoverEvent: whether it ended the
// connection of the session's socket (no, for a request without a private
// id, so that the asker does not wait for an answer that never comes).
func (n *Namespace) onTakeover(args Args, reply func(Args)) {
	var pid string
	_ = args.Decode(0, &pid)
	n.srv.track.Add()
	go func() {
		defer n.srv.track.Done()
		ended := pid != "" && n.endSession(pid, nil)
		if reply != nil {
			a, _ := protocol.ArgsFromArray([]byte("["+strconv.FormatBool(ended)+"]"), nil)
			reply(a)
		}
	}()
}
