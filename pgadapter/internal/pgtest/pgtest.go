// Package pgtest gives each test a database of its own on the PostgreSQL
// server the tests use: $PGADAPTER_TEST_URL, or postgres@127.0.0.1:5432
// (scripts/setup.sh installs and starts one when missing).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ServerURL returns the URL of the server's maintenance database.
func ServerURL() string {
	if u := os.Getenv("PGADAPTER_TEST_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DB is a database created for one test, dropped when it ends.
type DB struct {
	Name string
	URL  string
	t    testing.TB
}

func admin(ctx context.Context, t testing.TB) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatalf("pgtest: no PostgreSQL server at %s (run scripts/setup.sh, or set PGADAPTER_TEST_URL): %v", ServerURL(), err)
	}
	return c
}

func (d *DB) exec(sql string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := admin(ctx, d.t)
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		d.t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// New creates a database with a unique name and the attachment table.
func New(t testing.TB) *DB {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	d := &DB{Name: "pgadapter_test_" + hex.EncodeToString(b[:]), t: t}
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + d.Name
	d.URL = u.String()
	d.exec("CREATE DATABASE " + d.Name)
	t.Cleanup(func() { d.exec("DROP DATABASE IF EXISTS " + d.Name + " WITH (FORCE)") })
	return d
}

// Pool returns a pool on the database, closed when the test ends.
func (d *DB) Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), d.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Block refuses new connections to the database and ends the open ones,
// as if the database were gone; Unblock lets connections in again.
func (d *DB) Block() {
	d.t.Helper()
	d.exec("ALTER DATABASE " + d.Name + " ALLOW_CONNECTIONS false")
	d.Terminate()
}

// Unblock lets connections to the database in again.
func (d *DB) Unblock() {
	d.t.Helper()
	d.exec("ALTER DATABASE " + d.Name + " ALLOW_CONNECTIONS true")
}

// Terminate ends every connection to the database (pg_terminate_backend).
func (d *DB) Terminate() {
	d.t.Helper()
	d.exec(fmt.Sprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()", d.Name))
}
