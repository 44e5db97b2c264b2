package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// PersistSession writes the state of a disconnected socket to Redis, under
// "<SessionKeyPrefix><pid>" for the recovery window (SET … PX), in the
// form the Node adapter writes: a Node server of the cluster can restore
// it. The write happens in the background, bounded by PublishConfig.Timeout
// (and skipped while Redis is unreachable); Close waits for it.
func (a *StreamsAdapter) PersistSession(s *socketio.Session) {
	rc := a.node.Nsp.Server().ConnectionStateRecovery()
	if rc == nil {
		return
	}
	data, err := json.Marshal(s.Data)
	if err != nil {
		data = []byte("null")
	}
	val, err := wire.AppendSession(nil, &wire.Session{SID: s.SID, PID: s.PID, Rooms: cluster.NonNil(s.Rooms), Data: data})
	if err != nil {
		a.cfg.Logger.Warn("redisadapter: session not persisted", "nsp", a.node.NspName, "err", err)
		return
	}
	a.node.Mu.Lock()
	if a.node.IsClosed() {
		a.node.Mu.Unlock()
		return
	}
	a.persists.Add(1)
	a.node.Mu.Unlock()
	go func() {
		defer a.persists.Done()
		key := a.cfg.SessionKeyPrefix + s.PID
		err := a.node.Out.Link().Do(context.Background(), func(ctx context.Context) error {
			return a.hub.client.Set(ctx, key, val, rc.MaxDisconnectionDuration).Err()
		})
		if err != nil {
			a.cfg.Logger.Warn("redisadapter: session not persisted", "nsp", a.node.NspName, "err", err)
		}
	}()
}

// errRestoreTooLong is returned when more entries followed the offset than
// RestoreSession reads.
var errRestoreTooLong = errors.New("redisadapter: too many entries after the offset to restore the session")

// RestoreSession takes the session pid out of Redis (GET and DEL in one
// transaction) and returns it with the broadcasts it missed: the entries of
// the stream after offset, read ReadCount at a time, that target the
// session's rooms, and are neither volatile nor with acknowledgements. It
// returns nil when the session is unknown or expired, or offset is no
// longer in the stream. It reads at most twice MaxLen entries: beyond,
// entries come faster than they can be read, and the session is dropped
// rather than restored with missing packets.
func (a *StreamsAdapter) RestoreSession(ctx context.Context, pid, offset string) (*socketio.Session, error) {
	if !validOffset(offset) {
		return nil, nil
	}
	if a.node.Out.Link().IsDown() {
		return nil, fmt.Errorf("redisadapter: restore session: %w", ErrRedisDown)
	}
	key := a.cfg.SessionKeyPrefix + pid
	var get *redis.StringCmd
	_, err := a.hub.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		p.Del(ctx, key)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisadapter: restore session: %w", err)
	}
	stored, err := wire.DecodeSession([]byte(get.Val()))
	if err != nil {
		return nil, fmt.Errorf("redisadapter: restore session: %w", err)
	}
	at, err := a.hub.client.XRange(ctx, a.stream, offset, offset).Result()
	if err != nil {
		return nil, fmt.Errorf("redisadapter: restore session: %w", err)
	}
	if len(at) == 0 {
		return nil, nil // trimmed, or from another stream
	}
	s := &socketio.Session{SID: stored.SID, PID: stored.PID, Rooms: stored.Rooms}
	if d := stored.Data; len(d) > 0 {
		_ = s.Data.UnmarshalJSON(d) // read with socketio.DataAs, like local data
	}
	if s.MissedPackets, err = a.MissedSince(ctx, s.Rooms, offset); err != nil {
		if errors.Is(err, errRestoreTooLong) {
			return nil, err
		}
		return nil, fmt.Errorf("redisadapter: restore session: %w", err)
	}
	return s, nil
}

// MissedSince returns the broadcasts of the stream after offset that a
// socket in rooms received, each with its entry id as offset
// (socketio.CatchUpStore: the server calls it once a restored socket has
// joined its rooms, for what the stream got since RestoreSession read it).
// It reads at most twice MaxLen entries.
func (a *StreamsAdapter) MissedSince(ctx context.Context, rooms []string, offset string) ([]*protocol.Packet, error) {
	if !validOffset(offset) {
		return nil, nil
	}
	var out []*protocol.Packet
	limit := 2 * a.cfg.MaxLen
	for read := int64(0); ; {
		entries, err := a.hub.client.XRangeN(ctx, a.stream, nextOffset(offset), "+", a.cfg.ReadCount).Result()
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			offset = e.ID
			if p := a.missed(e, rooms); p != nil {
				out = append(out, p)
			}
		}
		if int64(len(entries)) < a.cfg.ReadCount {
			return out, nil
		}
		if read += int64(len(entries)); read >= limit {
			return nil, errRestoreTooLong
		}
	}
}

// OffsetBefore reports whether stream entry id x comes before id y
// (socketio.CatchUpStore). An id that does not parse comes before none.
func (a *StreamsAdapter) OffsetBefore(x, y string) bool {
	xm, xs, ok1 := parseOffset(x)
	ym, ys, ok2 := parseOffset(y)
	if !ok1 || !ok2 {
		return false
	}
	return xm < ym || xm == ym && xs < ys
}

// parseOffset splits a stream entry id, "<ms>-<seq>" (decimal, no sign).
func parseOffset(id string) (ms, seq uint64, ok bool) {
	m, s, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(m, 10, 64)
	seq, err2 := strconv.ParseUint(s, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

var _ socketio.CatchUpStore = (*StreamsAdapter)(nil)

// missed returns the packet of entry e, with e's id as offset, when it is
// a broadcast of this namespace that a socket in rooms received.
func (a *StreamsAdapter) missed(e redis.XMessage, rooms []string) *protocol.Packet {
	if nsp, _ := e.Values["nsp"].(string); nsp != a.node.NspName {
		return nil
	}
	if typ, _ := e.Values["type"].(string); typ != "3" {
		return nil
	}
	m, err := decodeEntry(e)
	if err != nil || m.RequestID != "" || m.Opts == nil || m.Opts.Flags.Volatile || m.Opts.Flags.Local {
		return nil
	}
	if opts := cluster.FromWire(m.Opts); !opts.Includes(rooms) {
		return nil
	}
	return socketio.WithOffset(m.Packet, e.ID)
}

// validOffset reports whether offset is a stream entry id, "<ms>-<seq>".
func validOffset(offset string) bool {
	_, _, ok := parseOffset(offset)
	return ok
}

// nextOffset returns the smallest id after id (exclusive ranges need
// Redis 6.2).
func nextOffset(id string) string {
	ms, seq, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseUint(seq, 10, 64)
	return ms + "-" + strconv.FormatUint(n+1, 10)
}
