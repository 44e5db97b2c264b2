package pgadapter

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sio-go/socketio/internal/backoff"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/pgadapter/internal/pgnotify"
)

// hub holds what the adapters of one factory share: the pool, the link
// that tells whether the database answers, the listening connection, the
// goroutine that applies the notifications in order, and the cleanup of
// old attachments. It runs while at least one adapter is open.
type hub struct {
	pool *pgxpool.Pool
	cfg  *Config
	log  *slog.Logger
	q    *pgnotify.Queries

	mu       sync.Mutex
	adapters map[string]*Adapter // by channel
	run      *running            // nil when no adapter is open
	users    int                 // adapters open
}

// running is one period of activity of a hub, from its first adapter to
// the closing of its last.
type running struct {
	link   *cluster.Link
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	notes  chan *pgconn.Notification // from the listener to the dispatcher

	mu        sync.Mutex
	listening map[string]time.Time // channels listened to, and since when
	dirty     bool                 // the channels to listen to changed
	stopWait  context.CancelFunc   // interrupts the listener's wait
	waiters   []chan struct{}      // woken when listening changes
}

// notesQueue bounds the notifications read and not applied yet; past it,
// the listener waits (PostgreSQL keeps them meanwhile).
const notesQueue = 1024

// acquire returns the link of the hub, starting the hub's goroutines for
// the first adapter. The adapter registers itself once ready (register),
// and calls release when it closes.
func (h *hub) acquire() *cluster.Link {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run == nil {
		r := &running{notes: make(chan *pgconn.Notification, notesQueue), listening: map[string]time.Time{}}
		r.ctx, r.cancel = context.WithCancel(context.Background())
		r.link = cluster.NewLink(cluster.LinkConfig{
			Probe:       func(ctx context.Context) error { return h.pool.Ping(ctx) },
			Timeout:     h.cfg.Publish.Timeout,
			Unreachable: pgnotify.Unreachable,
			Down:        ErrDatabaseDown,
			Closed:      ErrClosed,
			Log:         h.log,
			Prefix:      "pgadapter",
			Backend:     "PostgreSQL",
		})
		h.run = r
		r.wg.Add(3)
		go h.listen(r)
		go h.dispatch(r)
		go h.cleanup(r)
	}
	h.users++
	return h.run.link
}

// register makes the listener listen to the adapter's channel and pass it
// its notifications.
func (h *hub) register(a *Adapter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adapters[a.channel] = a
	h.run.changed()
}

// release unregisters a closing adapter; the last one stops the hub.
func (h *hub) release(a *Adapter) {
	h.mu.Lock()
	if h.adapters[a.channel] == a {
		delete(h.adapters, a.channel)
	}
	r := h.run
	h.users--
	last := h.users == 0
	if last {
		h.run = nil
	}
	h.mu.Unlock()
	if !last {
		r.changed()
		return
	}
	r.cancel()
	r.wg.Wait()
	r.link.Close()
}

func (h *hub) adapter(channel string) *Adapter {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.adapters[channel]
}

func (h *hub) channels() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.adapters))
	for ch := range h.adapters {
		out = append(out, ch)
	}
	return out
}

func (h *hub) current() *running {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.run
}

// listening reports whether the listener listens to channel, and since
// when.
func (h *hub) listening(channel string) (time.Time, bool) {
	r := h.current()
	if r == nil {
		return time.Time{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.listening[channel]
	return at, ok
}

// waitListening waits until the listener listens to channel.
func (h *hub) waitListening(ctx context.Context, channel string) error {
	for {
		r := h.current()
		if r == nil {
			return ErrClosed
		}
		ch := make(chan struct{})
		r.mu.Lock()
		_, ok := r.listening[channel]
		if !ok {
			r.waiters = append(r.waiters, ch)
		}
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-r.ctx.Done():
			return ErrClosed
		}
	}
}

// changed tells the listener that the channels to listen to changed.
func (r *running) changed() {
	r.mu.Lock()
	r.dirty = true
	if r.stopWait != nil {
		r.stopWait()
	}
	r.mu.Unlock()
}

// setListening records the channels listened to and wakes the waiters.
func (r *running) setListening(channels map[string]time.Time) {
	r.mu.Lock()
	r.listening = channels
	waiters := r.waiters
	r.waiters = nil
	r.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
}

// idleCheck is how long the listener waits for a notification before it
// checks its connection with a query.
const idleCheck = 30 * time.Second

// listen keeps a connection of its own listening to the channels of the
// adapters: after an error it connects again, after a delay that grows
// from 50 ms to 500 ms (with jitter) while it keeps failing, and as soon as
// the database answers again when it is down.
func (h *hub) listen(r *running) {
	defer r.wg.Done()
	defer close(r.notes)
	delays := backoff.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond, Jitter: 0.5}
	for r.ctx.Err() == nil {
		err := h.listenOn(r, delays.Reset)
		r.setListening(map[string]time.Time{})
		if r.ctx.Err() != nil {
			return
		}
		r.link.Suspect()
		d := delays.Next()
		h.log.Debug("pgadapter: listening connection", "err", err, "retry", d)
		select {
		case <-time.After(d):
		case <-r.ctx.Done():
			return
		}
		if r.link.WaitUp(r.ctx) != nil {
			return
		}
	}
}

// listenOn connects, listens to the channels and passes the notifications
// on until the connection fails or the hub stops. Once it listens to a
// channel, it sends the adapter's initial heartbeat on the connection
// itself: the other servers answer, and are counted, while it listens.
func (h *hub) listenOn(r *running, healthy func()) error {
	cctx, cancel := context.WithTimeout(r.ctx, h.cfg.Publish.Timeout)
	conn, err := pgx.ConnectConfig(cctx, h.pool.Config().ConnConfig.Copy())
	cancel()
	if err != nil {
		if pgnotify.Unreachable(err) && r.ctx.Err() == nil {
			r.link.Fail(err)
		}
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Publish.Timeout)
		_ = conn.Close(ctx)
		cancel()
	}()
	listened := map[string]time.Time{}
	exec := func(sql string, args ...any) error {
		ctx, cancel := context.WithTimeout(r.ctx, h.cfg.Publish.Timeout)
		defer cancel()
		_, err := conn.Exec(ctx, sql, args...)
		return err
	}
	for {
		r.mu.Lock()
		r.dirty = false
		r.mu.Unlock()
		changed := false
		var added []string
		for _, ch := range h.channels() {
			if _, ok := listened[ch]; !ok {
				if err := exec("LISTEN " + pgx.Identifier{ch}.Sanitize()); err != nil {
					return err
				}
				listened[ch], changed = time.Now(), true
				added = append(added, ch)
			}
		}
		for ch := range listened {
			if h.adapter(ch) == nil {
				if err := exec("UNLISTEN " + pgx.Identifier{ch}.Sanitize()); err != nil {
					return err
				}
				delete(listened, ch)
				changed = true
			}
		}
		if changed {
			cp := make(map[string]time.Time, len(listened))
			for ch, at := range listened {
				cp[ch] = at
			}
			r.setListening(cp)
		}
		for _, ch := range added {
			if a := h.adapter(ch); a != nil {
				if err := exec(pgnotifySQL, ch, a.initialHeartbeat()); err != nil {
					return err
				}
			}
		}
		healthy()

		wctx, stop := context.WithTimeout(r.ctx, idleCheck)
		r.mu.Lock()
		if r.dirty {
			r.mu.Unlock()
			stop()
			continue
		}
		r.stopWait = stop
		r.mu.Unlock()
		n, err := conn.WaitForNotification(wctx)
		r.mu.Lock()
		r.stopWait = nil
		r.mu.Unlock()
		woken := wctx.Err() != nil
		idle := errors.Is(wctx.Err(), context.DeadlineExceeded)
		stop()
		switch {
		case err == nil:
			select {
			case r.notes <- n:
			case <-r.ctx.Done():
				return nil
			}
		case r.ctx.Err() != nil:
			return nil
		case idle:
			if err := exec("SELECT 1"); err != nil {
				return err
			}
		case woken: // the channels changed
		default:
			return err
		}
	}
}

const pgnotifySQL = "SELECT pg_notify($1, $2)"

// initialHeartbeat returns the JSON of the adapter's initial heartbeat.
func (a *Adapter) initialHeartbeat() string {
	b, _ := wire.AppendClusterMessage(nil, &wire.ClusterMessage{Type: wire.InitialHeartbeat, UID: a.node.UID, Nsp: a.node.NspName})
	return string(b)
}

// dispatch applies the notifications in the order they arrived, reading
// the attachments they point to.
func (h *hub) dispatch(r *running) {
	defer r.wg.Done()
	for n := range r.notes {
		h.apply(r, n)
	}
}

func (h *hub) apply(r *running, n *pgconn.Notification) {
	a := h.adapter(n.Channel)
	if a == nil {
		return
	}
	hd, err := pgnotify.ReadHeader(n.Payload)
	if err != nil {
		h.log.Debug("pgadapter: malformed notification ignored", "channel", n.Channel, "err", err)
		return
	}
	if hd.UID == a.node.UID {
		return
	}
	payload := []byte(n.Payload)
	if hd.AttachmentID != "" {
		err := r.link.Do(r.ctx, func(ctx context.Context) error {
			return h.pool.QueryRow(ctx, h.q.Fetch(), hd.AttachmentID).Scan(&payload)
		})
		if err != nil {
			h.log.Warn("pgadapter: attachment not read; message lost", "nsp", a.node.NspName,
				"id", hd.AttachmentID, "type", int(hd.Type), "err", err)
			return
		}
	}
	m, err := wire.DecodeClusterMessage(payload)
	if err != nil {
		h.log.Debug("pgadapter: malformed message ignored", "channel", n.Channel, "err", err)
		return
	}
	if m.Nsp == "" { // the Node emitter does not name the namespace
		m.Nsp = a.node.NspName
		if m.Packet != nil {
			m.Packet.Namespace = m.Nsp
		}
	}
	a.node.Apply(r.ctx, m, "")
}

// cleanup deletes the attachments older than CleanupInterval, every
// CleanupInterval, as the Node adapter does; it skips a round while the
// database is down.
func (h *hub) cleanup(r *running) {
	defer r.wg.Done()
	t := time.NewTicker(h.cfg.CleanupInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		err := r.link.Do(r.ctx, func(ctx context.Context) error {
			_, err := h.pool.Exec(ctx, h.q.Cleanup(), h.cfg.CleanupInterval.Milliseconds())
			return err
		})
		var pe *pgconn.PgError
		switch {
		case err == nil, r.ctx.Err() != nil:
		case errors.As(err, &pe) && pe.Code == "42P01": // no table: no attachments either
			h.log.Debug("pgadapter: no attachment table to clean up", "table", h.cfg.TableName)
		default:
			h.log.Warn("pgadapter: old attachments not deleted", "table", h.cfg.TableName, "err", err)
		}
	}
}

// send sends a batch of messages in one round trip, each in a transaction
// of its own.
func (h *hub) send(ctx context.Context, batch []*cluster.Message) []cluster.Result {
	out := make([]cluster.Result, len(batch))
	fail := func(err error, notRun bool) []cluster.Result {
		u := pgnotify.Unreachable(err)
		for i := range out {
			out[i] = cluster.Result{Err: err, Receivers: -1, Unreachable: u, NotRun: notRun, MaybeSent: !notRun}
		}
		return out
	}
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return fail(err, true)
	}
	defer conn.Release()
	pl := conn.Conn().PgConn().StartPipeline(ctx)
	for _, m := range batch {
		o := m.Payload.(*outgoing)
		h.q.Send(pl, o.channel, &o.enc)
	}
	if err := pl.Flush(); err != nil {
		_ = pl.Close()
		return fail(err, false)
	}
	for i, o := range pgnotify.Results(pl, len(batch)) {
		out[i] = cluster.Result{Err: o.Err, Receivers: -1, Unreachable: o.Unreachable, NotRun: o.NotRun,
			MaybeSent: !o.NotRun}
	}
	return out
}
