package engineio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const openPacket = `0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000}`

// fakeServer answers the handshake with open and every later poll with
// poll (blocking until the request ends when poll is ""); POSTs get "ok".
// WebSocket requests are upgraded and get wsFirst as first frame (nothing
// when "") and then nothing.
func fakeServer(t *testing.T, open, poll, wsFirst string) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("transport") == "websocket" {
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer ws.Close()
			if wsFirst != "" {
				_ = ws.WriteMessage(websocket.TextMessage, []byte(wsFirst))
			}
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}
		if r.Method == http.MethodPost {
			_, _ = w.Write([]byte("ok"))
			return
		}
		body := poll
		if q.Get("sid") == "" {
			body = open
		}
		if body == "" {
			<-r.Context().Done()
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientBadHandshake(t *testing.T) {
	for _, tc := range []struct{ name, open string }{
		{"garbage", "hello"},
		{"empty", " "},
		{"message first", "4hi"},
		{"not json", "0{sid"},
		{"no sid", `0{"pingInterval":100,"pingTimeout":100}`},
		{"no pingInterval", `0{"sid":"x","pingTimeout":100}`},
		{"zero pingTimeout", `0{"sid":"x","pingInterval":100,"pingTimeout":0}`},
		{"bad payload after open", openPacket + "\x1ebA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, tr := range []Transport{Polling, WebSocket} {
				u := fakeServer(t, tc.open, "6", tc.open)
				if tr == WebSocket && strings.Contains(tc.open, "\x1e") {
					continue
				}
				_, err := Dial(context.Background(), u, &DialConfig{Transports: []Transport{tr}})
				if !errors.Is(err, ErrHandshake) {
					t.Fatalf("%s: got %v, want ErrHandshake", tr, err)
				}
			}
		})
	}
}

func TestClientHandshakeHTTPError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := Dial(context.Background(), srv.URL, nil)
	var he *HandshakeError
	if !errors.As(err, &he) || he.StatusCode != 503 || he.Code != -1 || he.Message != "overloaded" {
		t.Fatalf("got %#v", err)
	}
}

func TestClientServerNeverAnswers(t *testing.T) {
	for _, tr := range []Transport{Polling, WebSocket} {
		// The HTTP request hangs, or the WebSocket opens and stays silent.
		u := fakeServer(t, "", "", "")
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		_, err := Dial(ctx, u, &DialConfig{Transports: []Transport{tr}})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: got %v", tr, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s: took %v", tr, d)
		}
	}
}

func TestClientBadPackets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		poll   string
		reason CloseReason
		cause  error
	}{
		{"garbage", "garbage", ReasonParseError, ErrParse},
		{"truncated base64", "bAQI", ReasonParseError, ErrParse},
		{"unknown type", "9x", ReasonParseError, ErrParse},
		{"oversized", "4" + strings.Repeat("x", 300), ReasonTransportError, ErrMessageTooBig},
		{"close packet", "4a\x1e1", ReasonTransportClose, ErrServerClose},
		{"silent", "", ReasonPingTimeout, ErrPingTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := fakeServer(t, openPacket, tc.poll, "")
			c, err := Dial(context.Background(), u, &DialConfig{Transports: []Transport{Polling}, MaxMessageBytes: 200})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = readErr(t, c, 3*time.Second)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Reason != tc.reason || !errors.Is(err, tc.cause) {
				t.Fatalf("got %v, want %s / %v", err, tc.reason, tc.cause)
			}
		})
	}
}

func TestClientBadWebSocketFrames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  string
		reason CloseReason
		cause  error
	}{
		{"garbage", "?", ReasonParseError, ErrParse},
		{"oversized", "4" + strings.Repeat("x", 300), ReasonTransportError, ErrMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := websocket.Upgrader{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer ws.Close()
				_ = ws.WriteMessage(websocket.TextMessage, []byte(openPacket))
				_ = ws.WriteMessage(websocket.TextMessage, []byte(tc.frame))
				_, _, _ = ws.ReadMessage()
			}))
			defer srv.Close()
			c, err := Dial(context.Background(), srv.URL, &DialConfig{Transports: []Transport{WebSocket}, MaxMessageBytes: 200})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = readErr(t, c, 3*time.Second)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Reason != tc.reason || !errors.Is(err, tc.cause) {
				t.Fatalf("got %v, want %s / %v", err, tc.reason, tc.cause)
			}
		})
	}
}

// upgradeSaboteur serves a real server but breaks WebSocket upgrades of
// existing sessions with mode: "close" closes after the probe ping, "mute"
// never answers it, "refuse" answers 400.
func upgradeSaboteur(t *testing.T, ts *testServer, mode string) string {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("transport") != "websocket" || q.Get("sid") == "" {
			ts.ServeHTTP(w, r)
			return
		}
		if mode == "refuse" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_, _, _ = ws.ReadMessage() // 2probe
		if mode == "mute" {
			_, _, _ = ws.ReadMessage()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientFailedUpgradeKeepsPolling(t *testing.T) {
	for _, mode := range []string{"close", "mute", "refuse"} {
		t.Run(mode, func(t *testing.T) {
			ts := newTestServer(t, &Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, true)
			c := dialT(t, upgradeSaboteur(t, ts, mode), nil)
			for i := range 5 {
				if err := c.Send(Message{Data: []byte{'a' + byte(i)}}); err != nil {
					t.Fatal(err)
				}
				if m := readT(t, c); string(m.Data) != string(rune('a'+i)) {
					t.Fatalf("got %q", m.Data)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if c.Transport() != Polling {
				t.Fatalf("transport %s", c.Transport())
			}
		})
	}
}

// A WebSocket handshake that never gets an HTTP answer ends when its
// context is cancelled, even without a deadline.
func TestClientWebSocketHandshakeCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := Dial(ctx, srv.URL, &DialConfig{Transports: []Transport{WebSocket}})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}
