package socketio

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// sessionStore keeps, for connection state recovery, the sessions of
// disconnected sockets and the packets broadcast during the last
// maxAge. Expired entries are dropped as new ones arrive; there is no
// timer goroutine.
//
// Offsets are "<prefix>.<seq>": a random prefix per store and a sequence
// number in base 36, so that finding the position of an offset is a
// subtraction.
type sessionStore struct {
	maxAge time.Duration
	prefix string
	now    func() time.Time

	mu        sync.Mutex
	sessions  map[string]storedSession
	lastSweep time.Time
	packets   []storedPacket // in sequence order, without gaps
	nextSeq   uint64
}

type storedSession struct {
	s              *Session
	disconnectedAt time.Time
}

type storedPacket struct {
	seq  uint64
	at   time.Time
	p    *protocol.Packet // with its offset
	opts BroadcastOptions
}

func newSessionStore(maxAge time.Duration) *sessionStore {
	return &sessionStore{
		maxAge:   maxAge,
		prefix:   newID()[:8],
		now:      time.Now,
		sessions: map[string]storedSession{},
	}
}

// append stores an event packet and returns it with its offset appended.
func (st *sessionStore) append(p *protocol.Packet, opts BroadcastOptions) *protocol.Packet {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	seq := st.nextSeq
	st.nextSeq++
	q := WithOffset(p, st.prefix+"."+strconv.FormatUint(seq, 36))
	opts.Rooms = slices.Clone(opts.Rooms)
	opts.Except = slices.Clone(opts.Except)
	st.expirePackets(now)
	st.packets = append(st.packets, storedPacket{seq: seq, at: now, p: q, opts: opts})
	return q
}

func (st *sessionStore) expirePackets(now time.Time) {
	limit := now.Add(-st.maxAge)
	i := 0
	for i < len(st.packets) && st.packets[i].at.Before(limit) {
		i++
	}
	if i == 0 {
		return
	}
	if i == len(st.packets) {
		st.packets = nil
		return
	}
	// Copy the rest when more than half is dropped, so the array shrinks.
	if i*2 >= len(st.packets) {
		st.packets = slices.Clone(st.packets[i:])
	} else {
		clear(st.packets[:i])
		st.packets = st.packets[i:]
	}
}

// persist stores a session.
func (st *sessionStore) persist(s *Session) {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sessions[s.PID] = storedSession{s: s, disconnectedAt: now}
	if now.Sub(st.lastSweep) > st.maxAge/2 {
		st.lastSweep = now
		for pid, ss := range st.sessions {
			if now.Sub(ss.disconnectedAt) > st.maxAge {
				delete(st.sessions, pid)
			}
		}
	}
}

// restore consumes session pid and returns it with the packets it missed
// after offset, or nil.
func (st *sessionStore) restore(pid, offset string) *Session {
	now := st.now()
	st.mu.Lock()
	defer st.mu.Unlock()
	ss, ok := st.sessions[pid]
	if !ok {
		return nil
	}
	delete(st.sessions, pid)
	if now.Sub(ss.disconnectedAt) > st.maxAge {
		return nil
	}
	st.expirePackets(now)
	rest, ok := strings.CutPrefix(offset, st.prefix+".")
	if !ok || len(st.packets) == 0 {
		return nil
	}
	seq, err := strconv.ParseUint(rest, 36, 64)
	first := st.packets[0].seq
	if err != nil || seq < first || seq >= first+uint64(len(st.packets)) {
		return nil // unknown, or too old
	}
	s := *ss.s
	s.MissedPackets = nil
	for _, sp := range st.packets[seq-first+1:] {
		if sp.opts.Includes(s.Rooms) {
			s.MissedPackets = append(s.MissedPackets, sp.p)
		}
	}
	return &s
}

// catchUp completes the restore of socket s, which has joined rooms with
// r holding: it sends the broadcasts the store logged after the last
// packet it replayed, then those held meanwhile that were not among them,
// and stops holding. seen holds the offsets already sent.
func (c *conn) catchUp(s *Socket, r *restoreState, rooms []string, offset string, seen map[string]bool) {
	store := r.store
	ctx, cancel := context.WithTimeout(c.srv.ctx, c.srv.cfg.ConnectionStateRecovery.RestoreTimeout)
	extra, err := store.MissedSince(ctx, rooms, offset)
	cancel()
	if err != nil {
		c.srv.cfg.Logger.Debug("socketio: catching up a restored session failed", "err", err)
	}
	for _, p := range extra {
		off := packetOffset(p)
		if off != "" && seen[off] {
			continue
		}
		if off != "" {
			seen[off] = true
			if offset == "" || store.OffsetBefore(offset, off) {
				offset = off
			}
		}
		q := *p
		q.Namespace = s.nsp.name
		_ = c.sendPacket(&q)
	}
	// Sent under the lock, so that no broadcast overtakes them; the
	// engine's Send does not block.
	var sent []*protocol.Packet
	s.mu.Lock()
	for _, h := range r.held {
		if off := packetOffset(h.p); off != "" && (seen[off] || offset != "" && !store.OffsetBefore(offset, off)) {
			continue // sent already, or got before the reconnection
		}
		_ = s.conn.send(h.msgs, h.volatile)
		sent = append(sent, h.p)
	}
	r.held, r.holding, r.floor = nil, false, offset
	if offset == "" {
		s.restoring.Store(nil) // nothing to compare with
	}
	s.mu.Unlock()
	for _, p := range sent {
		s.notifyOutgoing(p)
	}
}

// packetOffset returns the recovery offset an EVENT packet carries as its
// last argument, or "".
func packetOffset(p *protocol.Packet) string {
	if p.Type != protocol.Event && p.Type != protocol.BinaryEvent {
		return ""
	}
	elems, err := protocol.SplitArray(p.Data)
	if err != nil || len(elems) < 2 {
		return ""
	}
	var off string
	if json.Unmarshal(elems[len(elems)-1], &off) != nil {
		return ""
	}
	return off
}
