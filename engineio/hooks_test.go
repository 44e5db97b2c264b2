package engineio

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The header hooks reach every response of a session: the handshake (both
// hooks), the polls and posts, and the 101 of a WebSocket, the upgrade's
// included.
func TestHeaderHooks(t *testing.T) {
	hook := func(name string) func(http.Header, *http.Request) {
		return func(h http.Header, r *http.Request) {
			h.Add("X-Hook", name+" "+r.URL.Query().Get("transport")+" sid="+boolStr(r.URL.Query().Has("sid")))
		}
	}
	ts := newTestServer(t, &Config{InitialHeaders: hook("initial"), Headers: hook("every"), Cookie: &Cookie{}}, true)

	res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", nil)
	equalStrings(t, "handshake", res.header.Values("X-Hook"), "initial polling sid=false", "every polling sid=false")
	if res.header.Get("Set-Cookie") == "" {
		t.Error("the cookie was lost")
	}
	sid := strings.TrimPrefix(res.body, `0{"sid":"`)
	sid = sid[:strings.IndexByte(sid, '"')]
	equalStrings(t, "post", ts.post(t, sid, "4x").header.Values("X-Hook"), "every polling sid=true")
	equalStrings(t, "poll", ts.poll(t, sid).header.Values("X-Hook"), "every polling sid=true")

	u := "ws" + strings.TrimPrefix(ts.url, "http") + "?EIO=4&transport=websocket"
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	equalStrings(t, "WebSocket handshake 101", resp.Header.Values("X-Hook"), "initial websocket sid=false", "every websocket sid=false")

	c := ts.nextConn(t) // the polling session
	upgraded := make(chan Transport, 1)
	c.OnUpgrade(func(tr Transport) { upgraded <- tr })
	up, resp, err := websocket.DefaultDialer.Dial(u+"&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	equalStrings(t, "upgrade 101", resp.Header.Values("X-Hook"), "every websocket sid=true")
	write(t, up, "2probe")
	if got := readText(t, up); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	select {
	case <-upgraded:
		t.Fatal("upgraded before the client's 5")
	default:
	}
	write(t, up, "5")
	select {
	case tr := <-upgraded:
		if tr != WebSocket || c.Transport() != WebSocket {
			t.Errorf("OnUpgrade got %q, transport %q", tr, c.Transport())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnUpgrade was not called")
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func equalStrings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s: %q, want %q", what, got, want)
	}
}
