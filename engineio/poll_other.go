//go:build !linux

package engineio

import (
	"errors"
	"syscall"

	"github.com/sio-go/socketio/internal/track"
)

// Without epoll there is no poller: every WebSocket is read by a goroutine
// of its own.

const readBufSize = 8 << 10

var errNoPoller = errors.New("engineio: no WebSocket poller on this system")

type poller struct{}

func newPoller(*track.Group) (*poller, error) { return nil, errNoPoller }

func (p *poller) add(*pollWS) error { return errNoPoller }

func (p *poller) remove(r *pollWS) { r.done.Store(true) }

func (p *poller) stop() {}

func (p *poller) flusher() *flusher { return nil }

type rawReader struct{ buf []byte }

func (rb *rawReader) readNow(syscall.RawConn, []byte) (int, error) { return 0, errNoPoller }

func writeNonblock(syscall.RawConn, []byte) (int, error) { return 0, errNoPoller }
