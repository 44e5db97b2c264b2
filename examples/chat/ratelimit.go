package main

import (
	"context"
	"math"
	"time"

	"github.com/sio-go/socketio"
	"golang.org/x/time/rate"
)

// The default rate limits of one socket, as Socket.IO's security advice
// does it: a token bucket checked by a packet middleware for every event.
const (
	defaultEventsPerSecond = 10 // sustained
	defaultEventBurst      = 30 // at once: a reconnection flushes what was typed offline
	// A client refused more than strikeBurst times in a row (and more
	// than once a second after that) is disconnected.
	strikeBurst = 20
)

// rateLimit returns the packet middleware that limits s to perSecond
// events a second, in bursts of burst. An event over the limit is refused:
// its acknowledgement carries
// {"error":{"code":"rate_limited","message":…,"data":{"retryAfterMs":N}}}.
// A client that goes on sending regardless is disconnected.
func rateLimit(s *socketio.Socket, perSecond rate.Limit, burst int) socketio.PacketMiddleware {
	events := rate.NewLimiter(perSecond, burst)
	strikes := rate.NewLimiter(1, strikeBurst)
	// Middlewares of one socket run one at a time: no lock needed.
	return func(ctx context.Context, ev string, args socketio.Args) error {
		if events.Allow() {
			return nil
		}
		if !strikes.Allow() {
			s.Disconnect()
		}
		wait := time.Duration(math.Ceil((1 - events.Tokens()) / float64(perSecond) * float64(time.Second)))
		return &socketio.Error{
			Code:    socketio.CodeRateLimited,
			Message: "too many messages: slow down",
			Data:    map[string]int64{"retryAfterMs": max(wait.Milliseconds(), 1)},
		}
	}
}
