package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/sio-go/socketio/engineio"
)

func TestSplitNamespaceV2(t *testing.T) {
	for _, tc := range []struct{ in, name, auth string }{
		{"/", "/", ""},
		{"", "/", ""},
		{"/admin", "/admin", ""},
		{"/admin?token=abc&x=1&x=2", "/admin", `{"token":"abc","x":"2"}`},
		{"/admin?", "/admin", `{}`},
	} {
		name, auth := splitNamespaceV2(tc.in)
		if name != tc.name || string(auth) != tc.auth {
			t.Errorf("splitNamespaceV2(%q) = %q, %s; want %q, %s", tc.in, name, auth, tc.name, tc.auth)
		}
	}
}

func TestConnectErrorPayloadV2(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("boom"), `"boom"`},
		{&ConnectError{Message: "unauthorized"}, `"unauthorized"`},
		{&ConnectError{Message: "unauthorized", Data: map[string]int{"code": 7}}, `{"code":7}`},
	} {
		if got := string(connectErrorPayloadV2(tc.err)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
	}
}

// v3Client speaks raw Engine.IO v3 / Socket.IO v4 (a socket.io-client 2.x)
// over HTTP long-polling.
type v3Client struct {
	t    *testing.T
	sid  string
	url  string
	left []string // received, not yet returned by get
}

func dialV3(t *testing.T, url string) *v3Client {
	t.Helper()
	base := url + "/socket.io/?EIO=3&transport=polling&b64=1"
	body := httpDo(t, "GET", base, "")
	pkts := decodeV3(t, body)
	if len(pkts) == 0 || !strings.HasPrefix(pkts[0], `0{"sid":"`) {
		t.Fatalf("handshake %q", body)
	}
	sid := strings.SplitN(strings.TrimPrefix(pkts[0], `0{"sid":"`), `"`, 2)[0]
	return &v3Client{t: t, sid: sid, url: base + "&sid=" + sid, left: pkts[1:]}
}

// decodeV3 splits an ASCII v3 text payload.
func decodeV3(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for body != "" {
		n, rest, ok := strings.Cut(body, ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l > len(rest) {
			t.Fatalf("payload %q", body)
		}
		out = append(out, rest[:l])
		body = rest[l:]
	}
	return out
}

func (c *v3Client) post(packets ...string) {
	c.t.Helper()
	var b strings.Builder
	for _, p := range packets {
		b.WriteString(strconv.Itoa(len(p)) + ":" + p)
	}
	if got := httpDo(c.t, "POST", c.url, b.String()); got != "ok" {
		c.t.Fatalf("POST answered %q", got)
	}
}

// get polls until it has n packets.
func (c *v3Client) get(n int) []string {
	c.t.Helper()
	out := c.left
	for len(out) < n {
		out = append(out, decodeV3(c.t, httpDo(c.t, "GET", c.url, ""))...)
	}
	c.left = out[n:]
	return out[:n]
}

func TestLiveV2Client(t *testing.T) {
	srv, hs := liveServer(t, &Config{Engine: engineio.Config{AllowEIO3: true}})
	ids := make(chan string, 4)
	srv.OnConnect(func(s *Socket) {
		ids <- s.ID()
		OnAck(s, "sum", func(ctx context.Context, xs []int) (int, error) { return xs[0] + xs[1], nil })
	})
	admin := srv.Of("/admin")
	admin.Use(func(ctx context.Context, s *Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "secret" {
			return &ConnectError{Message: "unauthorized"}
		}
		return nil
	})
	admin.OnConnect(func(s *Socket) { ids <- s.ID() })

	c := dialV3(t, hs.URL)
	// connected to "/" without asking, with the engine's id (the reply may
	// come with the handshake)
	equal(t, "auto connect", c.get(1), []string{"40"})
	equal(t, "main id", <-ids, c.sid)
	c.post(`423["sum",[2,3]]`)
	equal(t, "ack", c.get(1), []string{`433[5]`})

	c.post("40/admin?token=wrong,")
	equal(t, "refused", c.get(1), []string{`44/admin,"unauthorized"`})
	c.post("40/admin?token=secret,")
	equal(t, "admin connect", c.get(1), []string{"40/admin,"})
	equal(t, "admin id", <-ids, "/admin#"+c.sid)
	c.post("40/nope,")
	equal(t, "invalid namespace", c.get(1), []string{`44/nope,{"message":"Invalid namespace"}`})
}
