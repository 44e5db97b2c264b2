package engineio

// A session's outbound queue is bounded three ways (see Config):
// MaxQueueBytes bounds its size; SlowConsumerTimeout bounds how long it
// may hold a backlog (more than backlogBytes) that the transport does not
// take; MaxTotalQueueBytes bounds the backlogs of all sessions together.
// The last two are kept only for backlogged sessions, so that a session
// that keeps up pays no clock read and no shared counter.

// backlogBytes is the queue size above which a session is backlogged.
const backlogBytes = 64 << 10

// excess returns how far a queue of n bytes is over backlogBytes.
func excess(n int) int64 { return int64(max(n-backlogBytes, 0)) }

// overLimitLocked reports whether queueing n more bytes would break one of
// the bounds, in which case the session is cut as a slow consumer.
func (c *Conn) overLimitLocked(n int) bool {
	cfg := c.srv.cfg
	after := c.queueBytes + n
	if after > cfg.MaxQueueBytes {
		return true
	}
	if after <= backlogBytes {
		return false
	}
	if c.backlogSince > 0 && c.srv.now()-c.backlogSince > cfg.SlowConsumerTimeout {
		return true
	}
	grow := excess(after) - excess(c.queueBytes)
	return c.srv.backlog.Load()+grow > int64(cfg.MaxTotalQueueBytes)
}

// resizeLocked sets the queue's size to n bytes, keeping the backlog
// accounts.
func (c *Conn) resizeLocked(n int) {
	old := c.queueBytes
	c.queueBytes = n
	if old <= backlogBytes && n <= backlogBytes {
		return
	}
	c.srv.backlog.Add(excess(n) - excess(old))
	switch {
	case n <= backlogBytes:
		c.backlogSince = 0
	case old <= backlogBytes:
		c.backlogSince = max(c.srv.now(), 1)
	}
}

// QueuedBytes returns the bytes waiting in the outbound queues of all
// sessions above 64 KiB each: the backlog Config.MaxTotalQueueBytes bounds.
func (s *Server) QueuedBytes() int64 { return s.backlog.Load() }
