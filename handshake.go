package socketio

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Handshake describes the request that opened a socket's connection. Its
// maps are shared: read them, do not modify them.
type Handshake struct {
	// Headers are the headers of the first HTTP request of the connection.
	Headers http.Header
	// Query holds the query parameters of that request.
	Query url.Values
	// Auth is the payload of the client's CONNECT packet (the client's auth
	// option), {} when it sent none.
	Auth json.RawMessage
	// Address is the client's remote address.
	Address string
	// Time is when the socket was created.
	Time time.Time
	// URL is the request URI of the first request, as the client sent it.
	URL string
	// Secure reports whether the connection uses TLS.
	Secure bool
	// XDomain reports whether the request carried an Origin header.
	XDomain bool
}

// Issued returns Time as milliseconds since the Unix epoch, as the official
// server reports it.
func (h *Handshake) Issued() int64 { return h.Time.UnixMilli() }

func newHandshake(r *http.Request, address string, auth json.RawMessage, created time.Time) *Handshake {
	if host, _, err := net.SplitHostPort(address); err == nil {
		address = host // the IP alone, as the official server reports it
	}
	h := &Handshake{Auth: auth, Address: address, Time: created}
	if len(h.Auth) == 0 {
		h.Auth = json.RawMessage("{}")
	}
	if r != nil {
		h.Headers = r.Header
		h.Query = r.URL.Query()
		h.URL = r.RequestURI // as received, like Node's req.url
		if h.URL == "" {
			h.URL = r.URL.RequestURI()
		}
		h.Secure = r.TLS != nil
		h.XDomain = r.Header.Get("Origin") != ""
	}
	if h.Headers == nil {
		h.Headers = http.Header{}
	}
	if h.Query == nil {
		h.Query = url.Values{}
	}
	return h
}

// handshakeJSON is the JSON form of the official server: lower-case header
// names with string values (set-cookie stays a list), query values as a
// string or a list, the time as a JavaScript date string.
type handshakeJSON struct {
	Headers map[string]any  `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   map[string]any  `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// jsDate formats like JavaScript's Date.prototype.toString in UTC, the zone
// Node servers usually run in.
const jsDate = "Mon Jan 02 2006 15:04:05 GMT-0700 (Coordinated Universal Time)"

// MarshalJSON encodes the handshake in the format of the official server, so
// that adapters exchange it with Node.js servers.
func (h Handshake) MarshalJSON() ([]byte, error) {
	j := handshakeJSON{
		Headers: make(map[string]any, len(h.Headers)),
		Time:    h.Time.UTC().Format(jsDate),
		Address: h.Address,
		XDomain: h.XDomain,
		Secure:  h.Secure,
		Issued:  h.Time.UnixMilli(),
		URL:     h.URL,
		Query:   make(map[string]any, len(h.Query)),
		Auth:    h.Auth,
	}
	for k, v := range h.Headers {
		k = strings.ToLower(k)
		if k == "set-cookie" {
			j.Headers[k] = v
		} else if k == "cookie" {
			j.Headers[k] = strings.Join(v, "; ")
		} else {
			j.Headers[k] = strings.Join(v, ", ")
		}
	}
	for k, v := range h.Query {
		if len(v) == 1 {
			j.Query[k] = v[0]
		} else {
			j.Query[k] = v
		}
	}
	if len(j.Auth) == 0 {
		j.Auth = json.RawMessage("{}")
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the format written by MarshalJSON and by the
// official server.
func (h *Handshake) UnmarshalJSON(b []byte) error {
	var j handshakeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*h = Handshake{
		Headers: http.Header{},
		Query:   url.Values{},
		Auth:    j.Auth,
		Address: j.Address,
		Time:    time.UnixMilli(j.Issued),
		URL:     j.URL,
		Secure:  j.Secure,
		XDomain: j.XDomain,
	}
	for k, v := range j.Headers {
		h.Headers[http.CanonicalHeaderKey(k)] = stringList(v)
	}
	for k, v := range j.Query {
		h.Query[k] = stringList(v)
	}
	return nil
}

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
