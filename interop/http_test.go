package interop

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// These tests speak HTTP directly, with what a browser would send, and check
// the same answers from our server and the official one.

const allowedOrigin = "http://app.example.test"

// forEachHTTPServer runs f against both servers configured with CORS for
// allowedOrigin with credentials, the default cookie and a 1000-byte limit.
func forEachHTTPServer(t *testing.T, f func(t *testing.T, s server)) {
	t.Run("go", func(t *testing.T) {
		selectServer(t, "go")
		f(t, startGoServerConfig(t, &engineio.Config{
			MaxBufferSize: 1000,
			Cookie:        &engineio.Cookie{},
			CORS: &engineio.CORS{
				AllowOrigins:     []string{allowedOrigin},
				AllowCredentials: true,
			},
		}, false))
	})
	t.Run("node", func(t *testing.T) {
		selectServer(t, "node")
		f(t, startNodeServerOpts(t, nodeproc.M{
			"maxHttpBufferSize": 1000,
			"cookie":            true,
			"cors":              nodeproc.M{"origin": []string{allowedOrigin}, "credentials": true},
		}, false))
	})
}

type httpResult struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header map[string]string, body string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return httpResult{status: res.StatusCode, header: res.Header, body: string(b)}
}

// handshake opens a polling session and returns its id.
func handshake(t *testing.T, s server, header map[string]string) (string, httpResult) {
	t.Helper()
	r := do(t, "GET", s.URL()+"/engine.io/?EIO=4&transport=polling", header, "")
	if r.status != 200 || !strings.HasPrefix(r.body, "0{") {
		t.Fatalf("handshake: %d %q", r.status, r.body)
	}
	var h struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(r.body[1:]), &h); err != nil || h.SID == "" {
		t.Fatalf("handshake body %q: %v", r.body, err)
	}
	return h.SID, r
}

func checkHeader(t *testing.T, r httpResult, name, want string) {
	t.Helper()
	if got := strings.Join(r.header.Values(name), ", "); got != want {
		t.Errorf("%s: %q, want %q", name, got, want)
	}
}

func TestCORSPreflight(t *testing.T) {
	forEachHTTPServer(t, func(t *testing.T, s server) {
		r := do(t, "OPTIONS", s.URL()+"/engine.io/?EIO=4&transport=polling", map[string]string{
			"Origin":                         allowedOrigin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "content-type",
		}, "")
		if r.status != http.StatusNoContent {
			t.Errorf("status %d, want 204", r.status)
		}
		checkHeader(t, r, "Access-Control-Allow-Origin", allowedOrigin)
		checkHeader(t, r, "Access-Control-Allow-Credentials", "true")
		checkHeader(t, r, "Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
		checkHeader(t, r, "Access-Control-Allow-Headers", "content-type")
		if v := strings.Join(r.header.Values("Vary"), ", "); !strings.Contains(v, "Origin") {
			t.Errorf("Vary %q does not name Origin", v)
		}
	})
}

func TestCORSHandshake(t *testing.T) {
	forEachHTTPServer(t, func(t *testing.T, s server) {
		_, r := handshake(t, s, map[string]string{"Origin": allowedOrigin})
		checkHeader(t, r, "Access-Control-Allow-Origin", allowedOrigin)
		checkHeader(t, r, "Access-Control-Allow-Credentials", "true")

		// another origin gets no CORS headers (the browser then refuses the
		// answer); the request itself is served
		_, r = handshake(t, s, map[string]string{"Origin": "http://other.example.test"})
		checkHeader(t, r, "Access-Control-Allow-Origin", "")
	})
}

func TestCookie(t *testing.T) {
	forEachHTTPServer(t, func(t *testing.T, s server) {
		sid, r := handshake(t, s, nil)
		checkHeader(t, r, "Set-Cookie", "io="+sid+"; Path=/; HttpOnly; SameSite=Lax")
		// only the handshake sets it
		r = do(t, "GET", s.URL()+"/engine.io/?EIO=4&transport=polling&sid="+sid, nil, "")
		if r.status != 200 {
			t.Fatalf("poll: %d %q", r.status, r.body)
		}
		checkHeader(t, r, "Set-Cookie", "")
	})
}

func TestPollingErrors(t *testing.T) {
	forEachHTTPServer(t, func(t *testing.T, s server) {
		base := s.URL() + "/engine.io/?EIO=4&transport="
		cases := []struct {
			name, method, url, body string
			status                  int
			code                    int
			message                 string
		}{
			{"unknown transport", "GET", base + "carrier-pigeon", "", 400, 0, "Transport unknown"},
			{"unknown sid", "GET", base + "polling&sid=nope", "", 400, 1, "Session ID unknown"},
			{"POST handshake", "POST", base + "polling", "40", 400, 2, "Bad handshake method"},
			{"protocol 5", "GET", s.URL() + "/engine.io/?EIO=5&transport=polling", "", 400, 5, "Unsupported protocol version"},
		}
		for _, tc := range cases {
			r := do(t, tc.method, tc.url, nil, tc.body)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if r.status != tc.status || json.Unmarshal([]byte(r.body), &e) != nil || e.Code != tc.code || e.Message != tc.message {
				t.Errorf("%s: %d %q, want %d {code:%d, message:%q}", tc.name, r.status, r.body, tc.status, tc.code, tc.message)
			}
		}
	})
}

// TestPollingBodyLimit posts a body of exactly the limit, then one byte over
// it: the first is taken, the second gets 413 and ends the session.
func TestPollingBodyLimit(t *testing.T) {
	forEachHTTPServer(t, func(t *testing.T, s server) {
		sid, _ := handshake(t, s, nil)
		sess := s.Next(t)
		url := s.URL() + "/engine.io/?EIO=4&transport=polling&sid=" + sid
		ct := map[string]string{"Content-Type": "text/plain;charset=UTF-8"}
		if r := do(t, "POST", url, ct, "4"+strings.Repeat("a", 999)); r.status != 200 || r.body != "ok" {
			t.Fatalf("POST of 1000 bytes: %d %q, want 200 \"ok\"", r.status, r.body)
		}
		checkMsgs(t, "server", sess.Recv(t, 1, wait), []msg{text(strings.Repeat("a", 999))})
		if r := do(t, "POST", url, ct, "4"+strings.Repeat("a", 1000)); r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("POST of 1001 bytes: %d %q, want 413", r.status, r.body)
		}
		if reason := sess.WaitClosed(t, wait); reason != "transport error" {
			t.Errorf("close reason %q, want transport error", reason)
		}
		waitCount(t, s, 0, wait)
	})
}
