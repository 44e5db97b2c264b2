package redisadapter

import (
	"context"
	"testing"
	"time"

	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

func TestDirectory(t *testing.T) {
	rs := redistest.Start(t)
	rdb := newClient(rs.Addr())
	defer rdb.Close()
	ctx := context.Background()
	d := NewDirectory(rdb, "")
	if addr, err := d.Lookup(ctx, "nodeAAAA"); err != nil || addr != "" {
		t.Fatalf("lookup before any announcement: %q, %v", addr, err)
	}
	if err := d.Announce(ctx, "nodeAAAA", "10.0.0.7:3000", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if addr, err := d.Lookup(ctx, "nodeAAAA"); err != nil || addr != "10.0.0.7:3000" {
		t.Fatalf("lookup: %q, %v", addr, err)
	}
	if v, _ := rdb.Get(ctx, "socket.io#route#nodeAAAA").Result(); v != "10.0.0.7:3000" {
		t.Fatalf("key holds %q", v)
	}
	// Another prefix is another cluster.
	if addr, _ := NewDirectory(rdb, "other").Lookup(ctx, "nodeAAAA"); addr != "" {
		t.Fatalf("other prefix sees %q", addr)
	}
	// Not renewed, the announcement expires.
	deadline := time.Now().Add(5 * time.Second)
	for {
		addr, err := d.Lookup(ctx, "nodeAAAA")
		if err != nil {
			t.Fatal(err)
		}
		if addr == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the announcement never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
