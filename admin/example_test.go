package admin_test

import (
	"log"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/admin"
)

// The UI (https://admin.socket.io, or the static files of the npm package
// @socket.io/admin-ui, folder ui/dist, served by any web server) connects
// to http://localhost:8080/admin as user "admin".
func ExampleInstrument() {
	io := socketio.NewServer(&socketio.Config{})
	// Store the hash, not the password: made once with
	// bcrypt.GenerateFromPassword, or by Node's bcryptjs.
	hash, err := bcrypt.GenerateFromPassword([]byte("change me"), bcrypt.DefaultCost)
	if err != nil {
		log.Fatal(err)
	}
	_, err = admin.Instrument(io, admin.Config{
		Auth: &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)},
		Mode: admin.Production, // statistics only, for a busy server
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	_ = http.ListenAndServe(":8080", mux)
}
