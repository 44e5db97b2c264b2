package socketio

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var bundle = "/*!\n * Socket.IO v4.8.1\n * (c) 2014-2024 Guillermo Rauch\n * Released under the MIT License.\n */\n" +
	strings.Repeat("console.log('client');\n", 200)

func clientFS() fstest.MapFS {
	return fstest.MapFS{
		"socket.io.js":         {Data: []byte(bundle)},
		"socket.io.js.map":     {Data: []byte(`{"version":3}`)},
		"socket.io.min.js":     {Data: []byte("/*! Socket.IO v4.8.1 */x()")},
		"socket.io.esm.min.js": {Data: []byte("export{}")},
		"other.js":             {Data: []byte("not served")},
	}
}

func serveClient(t *testing.T, cfg *Config, fsys fs.FS) (*Server, *ClientHandler) {
	t.Helper()
	srv := NewServer(cfg)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	h, err := srv.ServeClient(fsys)
	noErr(t, err)
	return srv, h
}

func get(h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServeClientFiles(t *testing.T) {
	_, h := serveClient(t, nil, clientFS())
	equal(t, "version", h.Version(), "4.8.1")
	equal(t, "has min", h.Has("socket.io.min.js"), true)
	equal(t, "has msgpack", h.Has("socket.io.msgpack.min.js"), false)

	w := get(h, "GET", "/socket.io/socket.io.js", nil)
	equal(t, "status", w.Code, 200)
	equal(t, "body", w.Body.String(), bundle)
	equal(t, "content-type", w.Header().Get("Content-Type"), "application/javascript; charset=utf-8")
	equal(t, "cache-control", w.Header().Get("Cache-Control"), "public, max-age=0")
	etag := w.Header().Get("ETag")
	if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag = %q, want a quoted strong tag", etag)
	}

	w = get(h, "GET", "/socket.io/socket.io.js.map", nil)
	equal(t, "map status", w.Code, 200)
	equal(t, "map type", w.Header().Get("Content-Type"), "application/json; charset=utf-8")
	if w.Header().Get("ETag") == etag {
		t.Fatal("two files share one ETag")
	}

	w = get(h, "HEAD", "/socket.io/socket.io.min.js", nil)
	equal(t, "head status", w.Code, 200)
	equal(t, "head body", w.Body.Len(), 0)
	equal(t, "head length", w.Header().Get("Content-Length"), "26")

	// A client file absent from the file system: 404, not the engine.
	w = get(h, "GET", "/socket.io/socket.io.msgpack.min.js", nil)
	equal(t, "missing status", w.Code, 404)
}

func TestServeClientConditional(t *testing.T) {
	_, h := serveClient(t, nil, clientFS())
	etag := get(h, "GET", "/socket.io/socket.io.js", nil).Header().Get("ETag")
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		w := get(h, "GET", "/socket.io/socket.io.js", map[string]string{"If-None-Match": inm})
		equal(t, "status for "+inm, w.Code, http.StatusNotModified)
		equal(t, "body for "+inm, w.Body.Len(), 0)
		equal(t, "etag for "+inm, w.Header().Get("ETag"), etag)
	}
	w := get(h, "GET", "/socket.io/socket.io.js", map[string]string{"If-None-Match": `"stale"`})
	equal(t, "stale status", w.Code, 200)
}

func TestServeClientGzip(t *testing.T) {
	_, h := serveClient(t, nil, clientFS())
	w := get(h, "GET", "/socket.io/socket.io.js", map[string]string{"Accept-Encoding": "br, gzip"})
	equal(t, "encoding", w.Header().Get("Content-Encoding"), "gzip")
	equal(t, "vary", w.Header().Get("Vary"), "Accept-Encoding")
	if w.Body.Len() >= len(bundle) {
		t.Fatalf("gzipped body is %d bytes, plain %d", w.Body.Len(), len(bundle))
	}
	zr, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	noErr(t, err)
	plain, err := io.ReadAll(zr)
	noErr(t, err)
	equal(t, "inflated", string(plain), bundle)

	w = get(h, "GET", "/socket.io/socket.io.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
	equal(t, "refused encoding", w.Header().Get("Content-Encoding"), "")
	equal(t, "refused body", w.Body.String(), bundle)

	// Too small to gain from compression: sent as is.
	w = get(h, "GET", "/socket.io/socket.io.min.js", map[string]string{"Accept-Encoding": "gzip"})
	equal(t, "small encoding", w.Header().Get("Content-Encoding"), "")
}

func TestServeClientPassesOtherRequests(t *testing.T) {
	_, h := serveClient(t, &Config{Path: "/rt"}, clientFS())
	// The engine's handshake goes through to the server.
	w := get(h, "GET", "/rt/?EIO=4&transport=polling", nil)
	equal(t, "handshake status", w.Code, 200)
	if !strings.HasPrefix(w.Body.String(), `0{"sid":`) {
		t.Fatalf("handshake body = %q", w.Body.String())
	}
	equal(t, "served under the path", get(h, "GET", "/rt/socket.io.js", nil).Code, 200)
	// Names that are not client files, other prefixes and methods reach the
	// server, which refuses them.
	for _, tc := range []struct{ method, target string }{
		{"GET", "/rt/other.js"},
		{"GET", "/socket.io/socket.io.js"},
		{"POST", "/rt/socket.io.js"},
	} {
		w := get(h, tc.method, tc.target, nil)
		if w.Code == 200 {
			t.Fatalf("%s %s answered 200 %q", tc.method, tc.target, w.Body.String())
		}
	}
}

func TestServeClientNoFiles(t *testing.T) {
	srv := NewServer(nil)
	defer func() { _ = srv.Shutdown(context.Background()) }()
	_, err := srv.ServeClient(fstest.MapFS{"index.html": {Data: []byte("x")}})
	if !errors.Is(err, ErrNoClientFiles) {
		t.Fatalf("err = %v, want ErrNoClientFiles", err)
	}
	_, err = srv.ServeClient(fstest.MapFS{"socket.io.js": {Mode: fs.ModeDir}})
	if err == nil {
		t.Fatal("a directory in place of a file was accepted")
	}
}

func TestClientVersion(t *testing.T) {
	equal(t, "banner", clientVersion([]byte("/*!\n * Socket.IO v4.8.1\n")), "4.8.1")
	equal(t, "pre-release", clientVersion([]byte("/*! Socket.IO v5.0.0-beta.1 */")), "5.0.0-beta.1")
	equal(t, "none", clientVersion([]byte("var io;")), "")
}
