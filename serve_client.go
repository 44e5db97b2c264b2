package socketio

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// clientFiles lists the files of the official browser client that
// Server.ServeClient serves, as found in the dist/ folder of the
// socket.io-client npm package.
var clientFiles = []string{
	"socket.io.js",
	"socket.io.js.map",
	"socket.io.min.js",
	"socket.io.min.js.map",
	"socket.io.esm.min.js",
	"socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js",
	"socket.io.msgpack.min.js.map",
}

// ErrNoClientFiles is returned by ServeClient when the file system holds
// none of the client files.
var ErrNoClientFiles = errors.New("socketio: no client files found (expected socket.io.js, socket.io.min.js… as in the dist/ folder of the socket.io-client npm package)")

// clientFile is one client file, loaded in memory.
type clientFile struct {
	body        []byte
	etag        string
	contentType string

	gzipOnce sync.Once
	gzipped  []byte // nil when compression does not pay
}

// gzipBody returns the compressed body, compressing it on first use, or nil
// when compression does not make it smaller.
func (f *clientFile) gzipBody() []byte {
	f.gzipOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(f.body)
		if zw.Close() == nil && buf.Len() < len(f.body) {
			f.gzipped = buf.Bytes()
		}
	})
	return f.gzipped
}

// ClientHandler serves the official browser client under a server's path,
// like the serveClient option of the official server, and passes every other
// request to the server. Build one with Server.ServeClient.
type ClientHandler struct {
	srv     *Server
	prefix  string
	files   map[string]*clientFile
	version string
	modTime time.Time
}

// ServeClient returns a handler that serves the official browser client at
// <Path>socket.io.js, socket.io.min.js, socket.io.esm.min.js,
// socket.io.msgpack.min.js and their source maps (<name>.map), as found in
// the dist/ folder of the socket.io-client npm package, and passes every other
// request to s. Mount it in place of s:
//
//	h, err := srv.ServeClient(os.DirFS("node_modules/socket.io-client/dist"))
//	if err != nil { … }
//	mux.Handle("/socket.io/", h)
//
// The files are read from fsys once, here, and compressed on first demand;
// names missing from fsys answer 404. It returns an error wrapping ErrNoClientFiles when fsys holds none of
// them. Responses carry a strong ETag (a hash of the content) and
// Cache-Control "public, max-age=0", answer If-None-Match with 304, and are
// gzip-compressed when the client accepts it.
func (s *Server) ServeClient(fsys fs.FS) (*ClientHandler, error) {
	h := &ClientHandler{
		srv:     s,
		prefix:  s.cfg.Path,
		files:   map[string]*clientFile{},
		modTime: time.Now(),
	}
	for _, name := range clientFiles {
		body, err := fs.ReadFile(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("socketio: reading client file %s: %w", name, err)
		}
		h.files[name] = newClientFile(name, body)
		if h.version == "" && strings.HasSuffix(name, ".js") {
			h.version = clientVersion(body)
		}
	}
	if len(h.files) == 0 {
		return nil, ErrNoClientFiles
	}
	return h, nil
}

func newClientFile(name string, body []byte) *clientFile {
	sum := sha256.Sum256(body)
	f := &clientFile{
		body:        body,
		etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`,
		contentType: "application/javascript; charset=utf-8",
	}
	if strings.HasSuffix(name, ".map") {
		f.contentType = "application/json; charset=utf-8"
	}
	return f
}

var versionRe = regexp.MustCompile(`Socket\.IO v(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)`)

// clientVersion reads the version from the banner of a client bundle
// ("Socket.IO v4.8.1"), or returns "".
func clientVersion(body []byte) string {
	head := body[:min(len(body), 256)]
	if m := versionRe.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// Version returns the client's version read from the bundle's banner, such
// as "4.8.1", or "" when it has none.
func (h *ClientHandler) Version() string { return h.version }

// Has reports whether the client file name, such as "socket.io.min.js", was
// found.
func (h *ClientHandler) Has(name string) bool { return h.files[name] != nil }

// ServeHTTP serves a client file, or passes the request to the server.
func (h *ClientHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok || !isClientFile(name) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		h.srv.ServeHTTP(w, r)
		return
	}
	f := h.files[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "public, max-age=0")
	hdr.Set("ETag", f.etag)
	hdr.Set("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Last-Modified", h.modTime.UTC().Format(http.TimeFormat))
	body := f.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gz := f.gzipBody(); gz != nil {
			body = gz
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func isClientFile(name string) bool {
	for _, n := range clientFiles {
		if n == name {
			return true
		}
	}
	return false
}

// etagMatches reports whether an If-None-Match header value names etag,
// weakly or strongly, or is "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header value accepts gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
