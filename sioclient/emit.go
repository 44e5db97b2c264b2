package sioclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// ErrDropped is returned by EmitWithAck of a volatile Emitter when the event
// was dropped because the socket was disconnected or its connection busy.
// (Emit of a volatile event drops silently.)
var ErrDropped = errors.New("sioclient: volatile event dropped")

// Emit sends an event with arguments encoded as JSON; []byte values, at top
// level or nested in []any and map[string]any, travel as binary attachments.
// It never blocks. While the socket is disconnected the event is buffered
// (up to SocketConfig.MaxBufferBytes, else ErrBufferFull) and sent once
// connected. With SocketConfig.Retries, the event goes through the retry
// queue.
func (s *Socket) Emit(ev string, args ...any) error { return Emitter{s: s}.Emit(ev, args...) }

// EmitWithAck sends an event asking for an acknowledgement and waits for
// it, under ctx and SocketConfig.AckTimeout. It returns the server's
// acknowledgement arguments, or ErrAckTimeout, ErrDisconnected (the
// connection ended after the event was sent, without retries), ErrClosed, or
// an error wrapping ctx.Err().
func (s *Socket) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	return Emitter{s: s}.EmitWithAck(ctx, ev, args...)
}

// Volatile returns an Emitter whose events are dropped, not buffered, when
// the socket is disconnected or its connection busy.
func (s *Socket) Volatile() Emitter { return Emitter{s: s, volatile: true} }

// Emitter sends events with flags. It is an immutable value.
type Emitter struct {
	s        *Socket
	volatile bool
}

// Volatile returns a copy whose events are volatile.
func (e Emitter) Volatile() Emitter { e.volatile = true; return e }

// Emit sends an event; see Socket.Emit.
func (e Emitter) Emit(ev string, args ...any) error {
	data, atts, err := encodeEvent(ev, args)
	if err != nil {
		return err
	}
	if e.s.cfg.Retries > 0 && !e.volatile {
		_, err := e.s.enqueueRetry(data, atts, nil)
		return err
	}
	_, err = e.s.send(data, atts, nil, e.volatile)
	if errors.Is(err, ErrDropped) {
		return nil
	}
	return err
}

type ackResult struct {
	args Args
	err  error
}

// EmitWithAck sends an event and waits for its acknowledgement; see
// Socket.EmitWithAck.
func (e Emitter) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	data, atts, err := encodeEvent(ev, args)
	if err != nil {
		return Args{}, err
	}
	s := e.s
	defer s.m.awaitServer()()
	res := make(chan ackResult, 1)
	done := func(a Args, err error) { res <- ackResult{a, err} }
	if s.cfg.Retries > 0 && !e.volatile {
		it, err := s.enqueueRetry(data, atts, done)
		if err != nil {
			return Args{}, err
		}
		select {
		case r := <-res:
			return r.args, r.err
		case <-ctx.Done():
			s.abandon(it)
			return Args{}, fmt.Errorf("sioclient: waiting for the acknowledgement of %q: %w", ev, ctx.Err())
		}
	}
	id, err := s.send(data, atts, &pendingAck{fn: done}, e.volatile)
	if err != nil {
		return Args{}, err
	}
	select {
	case r := <-res:
		return r.args, r.err
	case <-ctx.Done():
		s.cancelAck(id)
		return Args{}, fmt.Errorf("sioclient: waiting for the acknowledgement of %q: %w", ev, ctx.Err())
	}
}

func encodeEvent(ev string, args []any) ([]byte, [][]byte, error) {
	if protocol.IsReservedEvent(ev) {
		return nil, nil, ErrReservedEvent
	}
	all := make([]any, 0, len(args)+1)
	all = append(append(all, ev), args...)
	data, atts, err := protocol.MarshalArgs(all)
	if err != nil {
		return nil, nil, fmt.Errorf("sioclient: %w", err)
	}
	return data, atts, nil
}

// encode returns the Engine.IO messages of a packet in the manager's wire
// format (Config.Parser).
func (m *Manager) encode(p *protocol.Packet) ([]engineio.Message, error) {
	msgs, err := m.cfg.Parser.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("sioclient: encoding a %v packet: %w", p.Type, err)
	}
	return msgs, nil
}

func packetSize(data []byte, atts [][]byte) int {
	n := len(data) + 16
	for _, a := range atts {
		n += len(a) + 1
	}
	return n
}

// send writes an event, or buffers it while disconnected, registering ack
// (when not nil) under a fresh id, which it returns.
func (s *Socket) send(data []byte, atts [][]byte, ack *pendingAck, volatile bool) (uint64, error) {
	p := &protocol.Packet{Type: protocol.Event, Namespace: s.nsp, Data: data, Attachments: atts}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.m.isClosed() {
		return 0, ErrClosed
	}
	var id uint64
	if ack != nil {
		id = s.nextID
		s.nextID++
		p.ID, p.HasID = id, true
	}
	switch {
	case s.connected:
		if err := s.writeLocked(p, volatile); err != nil {
			return 0, err
		}
	case volatile:
		return 0, ErrDropped
	default:
		size := packetSize(data, atts)
		if s.bufBytes+size > s.cfg.MaxBufferBytes {
			return 0, ErrBufferFull
		}
		s.sendBuf = append(s.sendBuf, buffered{p, size})
		s.bufBytes += size
	}
	if ack != nil {
		s.acks[id] = ack
		if s.cfg.AckTimeout > 0 {
			ack.timer = time.AfterFunc(s.cfg.AckTimeout, func() { s.expireAck(id) })
		}
	}
	return id, nil
}

// writeLocked writes a packet to the connection. When the connection turns
// out to be closed, a non-volatile packet is buffered for the next one. It
// returns ErrDropped when a volatile packet was dropped, and the parser's
// error for a packet it cannot encode.
func (s *Socket) writeLocked(p *protocol.Packet, volatile bool) error {
	msgs, err := s.m.encode(p)
	if err != nil {
		s.m.cfg.Logger.Warn("sioclient: packet not sent", "nsp", s.nsp, "err", err)
		return err
	}
	if volatile {
		err = s.conn.SendVolatile(msgs...)
	} else {
		err = s.conn.Send(msgs...)
	}
	if err != nil {
		if volatile {
			return ErrDropped
		}
		s.sendBuf = append(s.sendBuf, buffered{p, packetSize(p.Data, p.Attachments)})
		s.bufBytes += packetSize(p.Data, p.Attachments)
		return nil
	}
	if len(s.anyOutgoing) > 0 {
		hooks := s.anyOutgoing
		if name, elems, err := protocol.EventName(p.Data); err == nil {
			args := protocol.NewArgs(elems, p.Attachments)
			s.schedule(func() {
				for _, h := range hooks {
					s.safely(name, func() { h(name, args) })
				}
			})
		}
	}
	return nil
}

// expireAck fails an acknowledgement that did not arrive in time, removing
// its event from the buffer when it is still there.
func (s *Socket) expireAck(id uint64) {
	s.mu.Lock()
	a := s.removeAckLocked(id)
	s.mu.Unlock()
	if a != nil {
		a.fn(Args{}, ErrAckTimeout)
	}
}

// cancelAck forgets an acknowledgement nobody waits for any more.
func (s *Socket) cancelAck(id uint64) {
	s.mu.Lock()
	a := s.removeAckLocked(id)
	s.mu.Unlock()
	if a != nil {
		stopAck(a)
	}
}

func (s *Socket) removeAckLocked(id uint64) *pendingAck {
	a := s.acks[id]
	if a == nil {
		return nil
	}
	delete(s.acks, id)
	for i, b := range s.sendBuf {
		if b.p.HasID && b.p.ID == id {
			s.bufBytes -= b.size
			s.sendBuf = append(s.sendBuf[:i], s.sendBuf[i+1:]...)
			break
		}
	}
	return a
}

// retryItem is an event in the retry queue.
type retryItem struct {
	data    []byte
	atts    [][]byte
	size    int
	tries   int
	pending bool
	done    func(Args, error) // nil for Emit, or once abandoned
}

// enqueueRetry queues an event to be sent until acknowledged.
func (s *Socket) enqueueRetry(data []byte, atts [][]byte, done func(Args, error)) (*retryItem, error) {
	it := &retryItem{data: data, atts: atts, size: packetSize(data, atts), done: done}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.m.isClosed() {
		return nil, ErrClosed
	}
	if s.retryLen+it.size > s.cfg.MaxBufferBytes {
		return nil, ErrBufferFull
	}
	s.retryQ = append(s.retryQ, it)
	s.retryLen += it.size
	s.drainRetryLocked(false)
	return it, nil
}

// drainRetryLocked sends the head of the retry queue when connected and it
// is not already waiting for its acknowledgement (or force is set).
func (s *Socket) drainRetryLocked(force bool) {
	if s.connected && len(s.retryQ) > 0 {
		it := s.retryQ[0]
		if it.pending && !force {
			return
		}
		it.pending = true
		it.tries++
		id := s.nextID
		s.nextID++
		a := &pendingAck{fn: func(args Args, err error) { s.onRetryAck(it, args, err) }}
		if s.cfg.AckTimeout > 0 {
			a.timer = time.AfterFunc(s.cfg.AckTimeout, func() { s.expireAck(id) })
		}
		s.acks[id] = a
		_ = s.writeLocked(&protocol.Packet{Type: protocol.Event, Namespace: s.nsp, ID: id, HasID: true,
			Data: it.data, Attachments: it.atts}, false)
	}
}

func (s *Socket) popRetryLocked() {
	s.retryLen -= s.retryQ[0].size
	s.retryQ[0] = nil
	s.retryQ = s.retryQ[1:]
	if len(s.retryQ) == 0 {
		s.retryQ = nil
	}
}

// onRetryAck handles the outcome of one try of the queue's head.
func (s *Socket) onRetryAck(it *retryItem, args Args, err error) {
	s.mu.Lock()
	if len(s.retryQ) == 0 || s.retryQ[0] != it {
		s.mu.Unlock()
		return
	}
	var done func(Args, error)
	if err == nil || it.tries > s.cfg.Retries {
		s.popRetryLocked()
		done = it.done
	}
	it.pending = false
	s.drainRetryLocked(false)
	s.mu.Unlock()
	if done != nil {
		done(args, err)
	}
}

// abandon drops an event of the retry queue whose caller stopped waiting:
// removed when not in flight, otherwise finished silently.
func (s *Socket) abandon(it *retryItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it.done = nil
	if it.pending {
		return
	}
	for i, x := range s.retryQ {
		if x == it {
			s.retryLen -= it.size
			s.retryQ = append(s.retryQ[:i], s.retryQ[i+1:]...)
			return
		}
	}
}
