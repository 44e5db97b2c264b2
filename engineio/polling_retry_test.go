package engineio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A GET sent again with the same cache buster is a retry of a poll whose
// answer did not reach the client: it gets the same packets. Another
// cache buster shows the answer arrived, and it is not sent again.
func TestPollRetryGetsTheSameAnswer(t *testing.T) {
	ts := newTestServer(t, nil, false)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)
	get := func(cb string) response {
		t.Helper()
		return do(t, "GET", ts.url+"?EIO=4&transport=polling&sid="+sid+"&t="+cb, "", nil)
	}
	noErr(t, conn.Send(Message{Data: []byte("a")}))
	equal(t, "first answer", get("x1").body, "4a")
	equal(t, "retry", get("x1").body, "4a")
	noErr(t, conn.Send(Message{Data: []byte("b")}))
	equal(t, "next poll", get("x2").body, "4b")
	noErr(t, conn.Send(Message{Data: []byte("c")}))
	equal(t, "an old cache buster", get("x1").body, "4c")
	equal(t, "retry of the last", get("x1").body, "4c")
}

// droppingProxy forwards to a server and, for every nth poll answer that
// carries packets, reads the answer and closes the client's connection
// without a byte of it, as a proxy that dies at that moment would.
type droppingProxy struct {
	to      string
	every   int
	n       atomic.Int64
	dropped atomic.Int64
}

func (p *droppingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.to+r.URL.RequestURI(), r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	data := r.Method == http.MethodGet && strings.Contains(r.URL.RawQuery, "sid=") && strings.Contains(string(body), "4m")
	if data && p.n.Add(1)%int64(p.every) == 0 {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			p.dropped.Add(1)
			_ = c.Close()
			return
		}
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

// Through a proxy that loses poll answers after the server wrote them, a
// polling client gets every message, in order, on the same session: its
// HTTP client sends the GET again and the server answers it again.
func TestPollAnswerLostInTransitIsSentAgain(t *testing.T) {
	ts := newTestServer(t, nil, false)
	proxy := &droppingProxy{to: ts.http.URL, every: 3}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	c := dialT(t, ps.URL+ts.Server.cfg.Path, &DialConfig{Transports: []Transport{Polling}})
	conn := ts.nextConn(t)

	const n = 60
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := conn.Send(Message{Data: []byte("m" + strconv.Itoa(i))}); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m, err := c.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("message %d: %v (%d answers dropped)", i, err, proxy.dropped.Load())
		}
		equal(t, "message", string(m.Data), "m"+strconv.Itoa(i))
	}
	wg.Wait()
	if proxy.dropped.Load() == 0 {
		t.Fatal("the proxy dropped no answer")
	}
	equal(t, "session", c.ID(), conn.ID())
	t.Logf("%d poll answers dropped in transit, all %d messages received", proxy.dropped.Load(), n)
}

// BenchmarkPollAnswer measures a poll that gets one message, each with its
// own cache buster, as a polling client's GETs are.
func BenchmarkPollAnswer(b *testing.B) {
	ts := newTestServer(b, nil, false)
	res, err := http.Get(ts.url + "?EIO=4&transport=polling")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sid := strings.TrimPrefix(string(body), `0{"sid":"`)
	sid = sid[:strings.IndexByte(sid, '"')]
	conn := <-ts.conns
	url := ts.url + "?EIO=4&transport=polling&sid=" + sid + "&t="
	msg := Message{Data: []byte("hello")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := conn.Send(msg); err != nil {
			b.Fatal(err)
		}
		res, err := http.Get(url + strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
