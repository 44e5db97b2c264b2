package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio"
)

// TestFloodIsRateLimited drives the official socket.io-client: one socket
// sends messages as fast as it can (ten every 5 ms) while another chats
// normally. The flooder gets its burst through, then rate_limited errors
// in the error shape, then the server disconnects it; the other socket is
// served all along.
func TestFloodIsRateLimited(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("no node on the PATH: the test drives the official client (npm ci in examples/chat)")
	}
	c, url := startChat(t, options{})
	type gone struct {
		nick   string
		reason socketio.DisconnectReason
	}
	disconnected := make(chan gone, 2)
	c.srv.OnConnect(func(s *socketio.Socket) {
		s.OnDisconnect(func(e socketio.DisconnectEvent) { disconnected <- gone{nickOf(s), e.Reason} })
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/flood.mjs", url, "1000")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("flood.mjs: %v\n%s", err, stderr.String())
	}
	var res struct {
		Flood struct {
			Sent        int `json:"sent"`
			OK          int `json:"ok"`
			RateLimited int `json:"rate_limited"`
			Other       int `json:"other"`
			Unanswered  int `json:"unanswered"`
		} `json:"flood"`
		Sample        *replyError `json:"sample"`
		Reason        string      `json:"reason"`
		CalmConnected bool        `json:"calmConnected"`
		Calm          []struct {
			OK    bool            `json:"ok"`
			MS    int             `json:"ms"`
			Error json.RawMessage `json:"error"`
		} `json:"calm"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("%s", out)
	f := res.Flood
	// The burst (30, less the nick and join events), plus what the bucket
	// refilled meanwhile, goes through; the rest is refused until the
	// server cuts the flooder off.
	if f.OK < defaultEventBurst-2 || f.OK > defaultEventBurst+10 {
		t.Errorf("%d messages accepted from the flooder, want about %d", f.OK, defaultEventBurst-2)
	}
	if f.RateLimited < 1 || f.Other != 0 {
		t.Errorf("flooder: %d refused, %d other errors", f.RateLimited, f.Other)
	}
	if f.OK+f.RateLimited+f.Unanswered != f.Sent || f.Sent >= 1000 {
		t.Errorf("flooder: %+v", f)
	}
	if s := res.Sample; s == nil || s.Code != "rate_limited" || s.Data.RetryAfterMs <= 0 || strings.Contains(s.Message, "socketio") {
		t.Errorf("refusal %+v", s)
	}
	select {
	case g := <-disconnected:
		if g.nick != "flood" || g.reason != socketio.ReasonServerNamespaceDisconnect {
			t.Errorf("the server disconnected %q with %q, want the flooder, by the rate limit", g.nick, g.reason)
		}
	case <-ctx.Done():
		t.Fatal("the server did not disconnect the flooder")
	}
	// The client sees the DISCONNECT, or the connection close that
	// follows it (the server closes a connection that sends packets for a
	// namespace it left, as Node's does).
	if res.Reason != "io server disconnect" && res.Reason != "transport close" {
		t.Errorf("flooder: %q, want it disconnected", res.Reason)
	}
	if len(res.Calm) != 10 || !res.CalmConnected {
		t.Fatalf("the other client: %d answers, connected %v", len(res.Calm), res.CalmConnected)
	}
	for i, c := range res.Calm {
		if !c.OK {
			t.Errorf("the other client's message %d: %s", i, c.Error)
		}
	}
}
