package emitter_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/pgadapter"
	"github.com/sio-go/socketio/pgadapter/emitter"
	"github.com/sio-go/socketio/pgadapter/internal/pgtest"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// The emitter reaches a Go server's namespaces: server-side emits, a
// large one through the attachment table, and joins.
func TestEmitterToGoServer(t *testing.T) {
	db := pgtest.New(t)
	pool := db.Pool(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pgadapter.EnsureTable(ctx, pool, ""); err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.Config{Adapter: pgadapter.New(pool, nil)})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		hs.Close()
	})
	got := make(chan string, 4)
	admin := srv.Of("/admin")
	admin.OnServerSideEmit("refresh", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
		var s string
		_ = args.Decode(0, &s)
		got <- s
	})
	if err := admin.Adapter().(*pgadapter.Adapter).Ready(ctx); err != nil {
		t.Fatal(err)
	}

	e := emitter.New(pool, nil).Of("admin")
	if e.Namespace() != "/admin" {
		t.Fatalf("namespace %q", e.Namespace())
	}
	big := strings.Repeat("z", 9000)
	for _, arg := range []string{"small", big} {
		if err := e.ServerSideEmit(ctx, "refresh", arg); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != arg {
				t.Fatalf("received %d bytes, want %d", len(s), len(arg))
			}
		case <-ctx.Done():
			t.Fatal("the server-side emit did not arrive")
		}
	}
	if err := e.Emit(ctx, "disconnect"); !errors.Is(err, emitter.ErrReservedEvent) {
		t.Fatalf("reserved event: %v", err)
	}
	if err := (emitter.Emitter{}).Emit(ctx, "x"); err == nil {
		t.Fatal("the zero Emitter sent")
	}
}
