package siotest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// CheckEchoServer connects to the server at base twice, with a direct
// WebSocket and with long-polling upgraded to WebSocket, and checks the
// mounting examples' contract: "echo" is acknowledged with its argument,
// "shout" answered by an event "shouted" with the text in capitals, and the
// application's own route, GET /health, still answers "ok".
func CheckEchoServer(t testing.TB, base string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, upgrade := range []bool{false, true} {
		c, err := Dial(ctx, base, &Options{Upgrade: upgrade})
		if err != nil {
			t.Fatalf("dial (upgrade %v): %v", upgrade, err)
		}
		var got map[string]any
		if err := c.Call(ctx, &got, "echo", map[string]any{"n": 1.5, "s": "x"}); err != nil {
			t.Fatalf("echo: %v", err)
		}
		if got["n"] != 1.5 || got["s"] != "x" {
			t.Fatalf("echo answered %v", got)
		}
		if err := c.Emit("shout", "hello"); err != nil {
			t.Fatal(err)
		}
		ev, err := c.Next(ctx, "shouted")
		if err != nil {
			t.Fatal(err)
		}
		var text string
		if len(ev.Args) == 0 || json.Unmarshal(ev.Args[0], &text) != nil || text != "HELLO" {
			t.Fatalf("shouted carried %s", ev.Args)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK || string(body) != "ok\n" {
		t.Fatalf("GET /health: %s %q", resp.Status, body)
	}
}
