// Package pgnotify sends and reads the notifications of
// @socket.io/postgres-adapter and @socket.io/postgres-emitter: a
// ClusterAdapter message in JSON through pg_notify when it is small and
// carries no binary value, otherwise the message in MessagePack in a row of
// the attachment table and, through pg_notify, a header
// {"uid","type","attachmentId"} that points to it. The adapter and the
// emitter share it.
package pgnotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sio-go/socketio/internal/cluster/wire"
)

// Encoded is a message ready to be sent.
type Encoded struct {
	// Payload is the JSON for pg_notify, or the MessagePack for the
	// attachment table when Attachment is set.
	Payload    []byte
	Attachment bool
	UID        string
	Type       wire.ClusterType
}

// Encode returns the form of m that the Node packages send: an attachment
// when a broadcast, an acknowledgement or a server-side emit (or its
// response) carries binary values, or when the JSON is threshold bytes or
// more (NOTIFY refuses 8000 bytes and more); JSON otherwise.
func Encode(m *wire.ClusterMessage, threshold int) (Encoded, error) {
	e := Encoded{UID: m.UID, Type: m.Type}
	if !binary(m) {
		b, err := wire.AppendClusterMessage(nil, m)
		if err != nil {
			return e, err
		}
		if len(b) < threshold {
			e.Payload = b
			return e, nil
		}
	}
	b, err := wire.AppendClusterMsgpack(nil, m)
	if err != nil {
		return e, err
	}
	e.Payload, e.Attachment = b, true
	return e, nil
}

func binary(m *wire.ClusterMessage) bool {
	switch m.Type {
	case wire.ClusterBroadcast:
		return m.Packet != nil && len(m.Packet.Attachments) > 0
	case wire.ClusterBroadcastAck, wire.ClusterServerSideEmit, wire.ServerSideEmitResponse:
		return len(m.Attachments) > 0
	}
	return false
}

// Queries: one statement each, so that the row and its notification are
// committed together.
type Queries struct {
	notify, attach, fetch, cleanup string
}

// NewQueries returns the statements for the attachment table table, a name
// put as is in the SQL, as the Node packages do (it may be qualified by a
// schema).
func NewQueries(table string) *Queries {
	return &Queries{
		notify: "SELECT pg_notify($1, $2)",
		// The header is written as JSON.stringify writes it.
		attach: "WITH a AS (INSERT INTO " + table + " (payload) VALUES ($1) RETURNING id) " +
			`SELECT pg_notify($2, '{"uid":' || to_json($3::text)::text || ',"type":' || $4::text || ',"attachmentId":"' || a.id || '"}') FROM a`,
		fetch:   "SELECT payload FROM " + table + " WHERE id = $1",
		cleanup: "DELETE FROM " + table + " WHERE created_at < now() - $1::bigint * interval '1 millisecond'",
	}
}

// Fetch returns the statement that reads an attachment ($1: its id).
func (q *Queries) Fetch() string { return q.fetch }

// Cleanup returns the statement that deletes the attachments older than
// $1 milliseconds.
func (q *Queries) Cleanup() string { return q.cleanup }

// CreateTable returns the statement that creates the attachment table as
// the Node package's README does, when it does not exist.
func CreateTable(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + table +
		" (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)"
}

// Send queues the statement that sends e on channel in pipeline p, and the
// synchronization point that commits it on its own (notifications of one
// transaction with the same payload would be delivered once).
func (q *Queries) Send(p *pgconn.Pipeline, channel string, e *Encoded) {
	if e.Attachment {
		p.SendQueryParams(q.attach,
			[][]byte{e.Payload, []byte(channel), []byte(e.UID), strconv.AppendInt(nil, int64(e.Type), 10)},
			[]uint32{17, 25, 25, 25}, []int16{1, 0, 0, 0}, nil)
	} else {
		p.SendQueryParams(q.notify, [][]byte{[]byte(channel), e.Payload}, []uint32{25, 25}, nil, nil)
	}
	p.SendPipelineSync()
}

// Outcome is what became of one message of a pipeline.
type Outcome struct {
	Err error
	// Unreachable tells that Err shows the database unreachable or going
	// away, rather than an error of the statement.
	Unreachable bool
	// NotRun tells that the database certainly did not commit it.
	NotRun bool
}

// Results reads the results of n messages queued with Send, then closes
// the pipeline. Once the server reported its own end (a FATAL error), the
// messages after it never ran.
func Results(p *pgconn.Pipeline, n int) []Outcome {
	out := make([]Outcome, n)
	gone := false // the backend ended: nothing after ran
	var broken error
	for i := range out {
		if gone || broken != nil {
			out[i] = Outcome{Err: firstNonNil(broken, errBackendGone), Unreachable: true, NotRun: gone}
			continue
		}
		err := result(p)
		if _, serr := p.GetResults(); err == nil && serr != nil {
			err = serr
		}
		if err == nil {
			continue
		}
		o := Outcome{Err: err, Unreachable: Unreachable(err)}
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe):
			// The statement failed: its transaction was not committed.
			o.NotRun = true
			gone = o.Unreachable
		case o.Unreachable:
			broken = err // the connection failed: results unknown
		}
		out[i] = o
	}
	_ = p.Close()
	return out
}

var errBackendGone = errors.New("pgnotify: the database ended the connection")

func firstNonNil(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// result reads the result of one statement.
func result(p *pgconn.Pipeline) error {
	res, err := p.GetResults()
	if err != nil {
		return err
	}
	if rr, ok := res.(*pgconn.ResultReader); ok {
		_, err = rr.Close()
	}
	return err
}

// Unreachable reports whether err tells that the database could not be
// reached, went away or cannot serve now, rather than an error of the
// statement.
func Unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // admin or crash shutdown, cannot connect now
			pe.Code == "53300": // too many connections
			return true
		}
		return strings.EqualFold(pe.Severity, "FATAL") || strings.EqualFold(pe.Severity, "PANIC")
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		isConnectError(err) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "closed pool")
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// Header is what a notification tells before its message is decoded.
type Header struct {
	UID  string
	Type wire.ClusterType
	// AttachmentID is the id of the row that holds the message, empty when
	// the notification is the message itself.
	AttachmentID string
}

// ReadHeader reads the sender, the type and the attachment id of a
// notification's payload. The Node packages write the attachment id as a
// string (node-postgres reads bigint as a string); a number is accepted
// too.
func ReadHeader(payload string) (Header, error) {
	var j struct {
		UID          json.RawMessage `json:"uid"`
		Type         float64         `json:"type"`
		AttachmentID json.RawMessage `json:"attachmentId"`
	}
	if err := json.Unmarshal([]byte(payload), &j); err != nil {
		return Header{}, fmt.Errorf("%w: %v", wire.ErrMalformed, err)
	}
	h := Header{Type: wire.ClusterType(j.Type)}
	_ = json.Unmarshal(j.UID, &h.UID)
	if len(j.AttachmentID) > 0 && string(j.AttachmentID) != "null" {
		var s string
		if json.Unmarshal(j.AttachmentID, &s) != nil {
			s = string(j.AttachmentID)
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return Header{}, fmt.Errorf("%w: attachment id %s", wire.ErrMalformed, j.AttachmentID)
		}
		h.AttachmentID = s
	}
	return h, nil
}

// Executor runs a statement: *pgxpool.Pool, *pgx.Conn and pgx.Tx have it.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Exec sends e on channel with one statement.
func (q *Queries) Exec(ctx context.Context, db Executor, channel string, e *Encoded) error {
	var err error
	if e.Attachment {
		_, err = db.Exec(ctx, q.attach, e.Payload, channel, e.UID, strconv.Itoa(int(e.Type)))
	} else {
		_, err = db.Exec(ctx, q.notify, channel, string(e.Payload))
	}
	return err
}

// Defaults returns the channel prefix, table name and payload threshold,
// each replaced by the Node packages' default when zero.
func Defaults(prefix, table string, threshold int) (string, string, int) {
	if prefix == "" {
		prefix = "socket.io"
	}
	if table == "" {
		table = "socket_io_attachments"
	}
	if threshold <= 0 {
		threshold = 8000
	}
	return prefix, table, threshold
}
