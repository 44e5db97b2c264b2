package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
)

// Config configures the adapters of a server. The zero value takes the
// defaults of the Node adapter.
type Config struct {
	// Key is the prefix of the Redis channels; every server of the cluster
	// must use the same. Defaults to "socket.io".
	Key string
	// RequestsTimeout bounds the wait for the other servers' responses to
	// FetchSockets, AllRooms and ServerSideEmit with replies, even under a
	// context without deadline, as Node's requestsTimeout does:
	// FetchSockets and AllRooms then fail with ErrTimeout, and
	// socketio.Namespace.ServerSideEmitWithAck returns the replies so far
	// with an error matching context.DeadlineExceeded. It is also how long
	// acknowledgements of a broadcast received from another server are
	// awaited when that server gave no timeout. Defaults to 5 seconds.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel makes this server answer requests on
	// the requester's own channel "<key>-response#<namespace>#<uid>#"
	// instead of the channel every server listens to. Defaults to false.
	PublishOnSpecificResponseChannel bool
	// Publish tells how the messages for the other servers are published,
	// and what happens while Redis is unreachable. Its zero value takes
	// the defaults of its fields.
	Publish PublishConfig
	// Logger receives the adapter's logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

// ErrTimeout is returned (wrapped) when other servers did not answer a
// request within the adapter's RequestsTimeout. It matches
// context.DeadlineExceeded too.
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "redisadapter: timeout reached" }

func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// ErrClosed is returned by the operations of a closed adapter.
var ErrClosed = errors.New("redisadapter: adapter closed")

// New returns the adapter factory to put in socketio.Config.Adapter. client
// publishes and runs PUBSUB NUMSUB; a dedicated connection of it subscribes.
// *redis.Client and *redis.ClusterClient both work. cfg may be nil.
//
// The factory's namespaces share one subscriber connection, opened with the
// first namespace and closed when the last adapter is closed.
func New(client redis.UniversalClient, cfg *Config) socketio.AdapterFactory {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Key == "" {
		c.Key = "socket.io"
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Publish = c.Publish.withDefaults()
	h := &hub{client: client, log: c.Logger, timeout: c.Publish.Timeout}
	return func(nsp *socketio.Namespace) socketio.Adapter {
		a := newAdapter(h, &c, nsp)
		a.sub.add(a.subscription(), a.onMessage)
		return a
	}
}

// hub holds what the adapters of one factory share: the Redis client, the
// subscriber and the link that tells whether Redis answers.
type hub struct {
	client  redis.UniversalClient
	log     *slog.Logger
	sharded bool          // the factory of NewSharded
	timeout time.Duration // PublishConfig.Timeout

	mu    sync.Mutex
	sub   *subscriber   // nil when no adapter is open
	link  *cluster.Link // idem
	users int
}

// acquire returns the subscriber and the link, opening them for the first
// adapter.
func (h *hub) acquire() (*subscriber, *cluster.Link) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sub == nil {
		h.link = newLink(h.client, h.log, h.timeout)
		h.sub = newSubscriber(h.client, h.log, h.sharded, h.link)
	}
	h.users++
	return h.sub, h.link
}

// release unsubscribes a closing adapter; the last one closes the
// subscriber and the link.
func (h *hub) release(sub subscription) {
	h.mu.Lock()
	s, l := h.sub, h.link
	h.users--
	last := h.users == 0
	if last {
		h.sub, h.link = nil, nil
	}
	h.mu.Unlock()
	s.remove(sub)
	if last {
		s.close()
		l.Close()
	}
}

// uidAlphabet is the alphabet of the uid2 package the Node adapter uses.
const uidAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID returns 6 random characters, like the Node adapter's uid2(6).
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = uidAlphabet[int(b[i])%len(uidAlphabet)]
	}
	return string(b[:])
}
