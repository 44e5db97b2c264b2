package admin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sio-go/socketio"
)

// errInvalidCredentials is the refusal the UI recognizes.
var errInvalidCredentials = errors.New("invalid credentials")

// maxSessions bounds the session ids kept; past it, the oldest go first.
const maxSessions = 10000

// authenticator checks the UI's credentials and keeps the session ids it
// handed out, so that the UI reconnects without the password.
type authenticator struct {
	user BasicAuth
	ttl  time.Duration

	mu       sync.Mutex
	sessions map[string]time.Time // session id → expiry
	issued   map[*socketio.Socket]string
}

func newAuthenticator(user BasicAuth, ttl time.Duration) *authenticator {
	return &authenticator{
		user:     user,
		ttl:      ttl,
		sessions: map[string]time.Time{},
		issued:   map[*socketio.Socket]string{},
	}
}

// credentials is what the UI sends as the auth of its CONNECT packet: a
// session id from an earlier login, or a username and password.
type credentials struct {
	SessionID string `json:"sessionId"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

// middleware admits the UI with a valid session id or the right username
// and password; a login gets a new session id, sent once connected.
func (a *authenticator) middleware(ctx context.Context, s *socketio.Socket) error {
	var c credentials
	if json.Unmarshal(s.Handshake().Auth, &c) != nil {
		return errInvalidCredentials
	}
	if c.SessionID != "" && a.valid(c.SessionID) {
		return nil
	}
	userOK := subtle.ConstantTimeCompare([]byte(c.Username), []byte(a.user.Username)) == 1
	// compared even for a wrong username, so that timing does not tell it
	passOK := bcrypt.CompareHashAndPassword([]byte(a.user.PasswordHash), []byte(c.Password)) == nil
	if !userOK || !passOK {
		return errInvalidCredentials
	}
	id := a.newSession()
	a.mu.Lock()
	a.issued[s] = id
	a.mu.Unlock()
	context.AfterFunc(s.Context(), func() { a.takeIssued(s) })
	return nil
}

// takeIssued returns, once, the session id issued to s by its login.
func (a *authenticator) takeIssued(s *socketio.Socket) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.issued[s]
	delete(a.issued, s)
	return id
}

func (a *authenticator) valid(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[id]
	if ok && time.Now().After(exp) {
		delete(a.sessions, id)
		return false
	}
	return ok
}

func (a *authenticator) newSession() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sessions) >= maxSessions {
		var oldest string
		var oldestExp time.Time
		for k, exp := range a.sessions {
			if now.After(exp) {
				delete(a.sessions, k)
			} else if oldest == "" || exp.Before(oldestExp) {
				oldest, oldestExp = k, exp
			}
		}
		if len(a.sessions) >= maxSessions {
			delete(a.sessions, oldest)
		}
	}
	a.sessions[id] = now.Add(a.ttl)
	return id
}
