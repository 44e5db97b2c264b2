package redistest

import (
	"context"
	"testing"
	"time"
)

func TestSlot(t *testing.T) {
	for key, want := range map[string]int{
		"123456789":         0x31c3, // the CRC16 check value
		"foo":               12182,
		"{user1000}.a":      Slot("user1000"),
		"x{}y":              Slot("x{}y"),
		"socket.io#/#room#": Slot("socket.io#/#room#"),
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
	if Slot("{a}1") != Slot("{a}2") {
		t.Error("hash tags are ignored")
	}
}

// The cluster forms, and Redis agrees with Slot about where keys live.
func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := c.Client()
	for _, key := range []string{"a", "b", "c", "room1", "{x}y"} {
		n, err := r.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if int(n) != Slot(key) {
			t.Errorf("slot of %q: redis %d, Slot %d", key, n, Slot(key))
		}
		if err := r.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	owners := map[int]bool{}
	for _, slot := range []int{0, Slots / 2, Slots - 1} {
		i, err := c.Owner(ctx, slot)
		if err != nil {
			t.Fatal(err)
		}
		owners[i] = true
	}
	if len(owners) != 3 {
		t.Errorf("slots 0, 8192, 16383 served by %v, want three nodes", owners)
	}
	slot := Slot("moving")
	from, err := c.Owner(ctx, slot)
	if err != nil {
		t.Fatal(err)
	}
	to := (from + 1) % 3
	if err := c.MoveSlot(ctx, slot, to); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitOwner(ctx, slot, to); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "moving", "v", 0).Err(); err != nil {
		t.Fatalf("after the move: %v", err)
	}
}
