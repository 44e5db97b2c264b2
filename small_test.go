package socketio

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

func TestNspSockets(t *testing.T) {
	var m nspSockets
	a, b, c := &Socket{id: "a"}, &Socket{id: "b"}, &Socket{id: "c"}
	if _, ok := m.get("/"); ok || m.len() != 0 {
		t.Fatal("empty set reports an entry")
	}
	m.put("/", nil) // resolving
	if s, ok := m.get("/"); !ok || s != nil {
		t.Fatalf("get(/) = %v, %v; want nil, true", s, ok)
	}
	m.put("/", a)
	m.put("/x", b)
	m.put("/y", c)
	if m.len() != 3 {
		t.Fatalf("len = %d, want 3", m.len())
	}
	for name, want := range map[string]*Socket{"/": a, "/x": b, "/y": c} {
		if s, ok := m.get(name); !ok || s != want {
			t.Errorf("get(%s) = %v, %v", name, s, ok)
		}
	}
	m.del("/")
	if _, ok := m.get("/"); ok {
		t.Fatal("deleted entry still present")
	}
	// The freed inline slot takes a new name; existing names stay where
	// they are and are not duplicated.
	m.put("/x", a)
	m.put("/z", b)
	if m.len() != 3 {
		t.Fatalf("len = %d, want 3", m.len())
	}
	if s, _ := m.get("/x"); s != a {
		t.Fatalf("get(/x) = %v, want a", s)
	}
	got := m.appendTo(nil)
	if len(got) != 3 {
		t.Fatalf("appendTo = %d sockets, want 3", len(got))
	}
	m.put("/w", nil)
	if n := len(m.appendTo(nil)); n != 3 {
		t.Fatalf("appendTo counts nil entries: %d", n)
	}
	for _, name := range []string{"/w", "/x", "/y", "/z"} {
		m.del(name)
	}
	if m.len() != 0 || m.more != nil {
		t.Fatalf("after deleting everything: len %d, map %v", m.len(), m.more)
	}
}

func TestHandlerSet(t *testing.T) {
	var hs handlerSet
	mark := func(i int, out *[]int) RawHandler {
		return func(context.Context, Args, AckFunc) { *out = append(*out, i) }
	}
	var calls []int
	for _, n := range []int{3, smallHandlers + 5} {
		hs = handlerSet{}
		for i := range n {
			hs.set(fmt.Sprint("ev", i), mark(i, &calls))
		}
		if hs.get("missing") != nil {
			t.Fatal("unknown event has a handler")
		}
		calls = nil
		for i := range n {
			h := hs.get(fmt.Sprint("ev", i))
			if h == nil {
				t.Fatalf("n=%d: ev%d has no handler", n, i)
			}
			h(context.Background(), Args{}, nil)
		}
		if want := seq(n); !slices.Equal(calls, want) {
			t.Fatalf("n=%d: calls %v, want %v", n, calls, want)
		}
		hs.set("ev1", mark(100, &calls)) // replaces
		calls = nil
		hs.get("ev1")(context.Background(), Args{}, nil)
		if !slices.Equal(calls, []int{100}) {
			t.Fatalf("n=%d: replaced handler not called: %v", n, calls)
		}
		hs.del("ev0")
		hs.del("missing")
		if hs.get("ev0") != nil || hs.get("ev2") == nil {
			t.Fatalf("n=%d: del removed the wrong entry", n)
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
