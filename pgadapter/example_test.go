package pgadapter_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/pgadapter"
)

// Every server of the cluster, Go or Node.js, uses an adapter with the same
// channel prefix and attachment table on the same database.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	if err := pgadapter.EnsureTable(ctx, pool, ""); err != nil {
		log.Print(err) // large and binary messages cannot cross servers without it
	}
	srv := socketio.NewServer(&socketio.Config{
		Adapter: pgadapter.New(pool, &pgadapter.Config{
			RequestsTimeout: 3 * time.Second,
			Publish: pgadapter.PublishConfig{
				OnError: func(pe *pgadapter.PublishError) { log.Print(pe) },
			},
		}),
	})
	http.Handle("/socket.io/", srv)
}
