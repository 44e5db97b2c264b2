// Command siocat connects to a Socket.IO server, prints the events it
// receives as JSON lines and emits the events typed on its standard input,
// like wscat for Socket.IO.
//
// Usage:
//
//	siocat [flags] URL
//
// The URL's path is the namespace: http://localhost:3000/chat connects to
// "/chat". Each input line is an event name followed by its arguments as
// JSON values, for example
//
//	chat "hello" {"room":"lobby"}
//
// With -ack, every event asks for an acknowledgement and siocat waits up to
// that long for it. Output lines are JSON objects:
//
//	{"type":"connect","id":"..."}
//	{"type":"event","event":"chat","args":[...]}
//	{"type":"ack","event":"chat","args":[...]}
//	{"type":"error","error":"..."}
//	{"type":"connect_error","message":"...","data":...}
//	{"type":"disconnect","reason":"transport close"}
//
// Binary values appear as {"$bin":"<base64>"}. At the end of the input,
// siocat waits for the acknowledgements still due, stays connected for
// -linger, then exits.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
	"github.com/sio-go/socketio/sioclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "siocat:", err)
		os.Exit(1)
	}
}

type headers http.Header

func (h headers) String() string { return "" }
func (h headers) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q is not Name: value", v)
	}
	http.Header(h).Add(strings.TrimSpace(name), strings.TrimSpace(value))
	return nil
}

// run is the whole program, for tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("siocat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	auth := fs.String("auth", "", "auth payload, a JSON object")
	transport := fs.String("transport", "", `"polling", "websocket", or empty for polling then WebSocket`)
	path := fs.String("path", "/socket.io/", "the server's Socket.IO path")
	ack := fs.Duration("ack", 0, "ask for an acknowledgement of every event and wait this long for it")
	linger := fs.Duration("linger", 0, "stay connected this long after the end of the input")
	timeout := fs.Duration("timeout", 20*time.Second, "connection timeout")
	hdr := headers{}
	fs.Var(hdr, "H", "extra header \"Name: value\" (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("one URL expected")
	}
	cfg := &sioclient.Config{Engine: engineio.DialConfig{Path: *path, Header: http.Header(hdr)}}
	switch *transport {
	case "":
	case "polling":
		cfg.Engine.Transports = []engineio.Transport{engineio.Polling}
	case "websocket":
		cfg.Engine.Transports = []engineio.Transport{engineio.WebSocket}
	default:
		return fmt.Errorf("unknown transport %q", *transport)
	}
	if *auth != "" {
		var a map[string]any
		if err := json.Unmarshal([]byte(*auth), &a); err != nil {
			return fmt.Errorf("-auth: %w", err)
		}
		cfg.Socket.Auth = a
	}
	out := &printer{w: stdout}
	m, err := sioclient.NewManager(fs.Arg(0), cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	u, err := url.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	s := m.Socket(u.Path, nil)
	s.OnAny(func(ctx context.Context, event string, a sioclient.Args) {
		out.print(map[string]any{"type": "event", "event": event, "args": printable(a)})
	})
	s.OnConnect(func() { out.print(map[string]any{"type": "connect", "id": s.ID()}) })
	s.OnDisconnect(func(e sioclient.DisconnectEvent) {
		out.print(map[string]any{"type": "disconnect", "reason": e.Reason})
	})
	s.OnConnectError(func(err error) {
		var ce *sioclient.ConnectError
		if !errors.As(err, &ce) { // a refusal is printed below
			out.print(map[string]any{"type": "connect_error", "message": err.Error()})
		}
	})
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := s.Connect(dctx); err != nil {
		var ce *sioclient.ConnectError
		if errors.As(err, &ce) {
			out.print(map[string]any{"type": "connect_error", "message": ce.Message, "data": ce.Data})
		}
		return err
	}

	var wg sync.WaitGroup
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		event, vals, err := parseLine(line)
		if err != nil {
			out.print(map[string]any{"type": "error", "error": err.Error()})
			continue
		}
		if *ack <= 0 {
			if err := s.Emit(event, vals...); err != nil {
				out.print(map[string]any{"type": "error", "error": err.Error()})
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			actx, cancel := context.WithTimeout(ctx, *ack)
			defer cancel()
			a, err := s.EmitWithAck(actx, event, vals...)
			if err != nil {
				out.print(map[string]any{"type": "error", "event": event, "error": err.Error()})
				return
			}
			out.print(map[string]any{"type": "ack", "event": event, "args": printable(a)})
		}()
	}
	wg.Wait()
	if err := sc.Err(); err != nil {
		return err
	}
	if *linger > 0 {
		select {
		case <-time.After(*linger):
		case <-ctx.Done():
		}
	}
	return nil
}

// parseLine splits "event json json..." into the name and the values;
// {"$bin":"<base64>"} values become []byte.
func parseLine(line string) (string, []any, error) {
	name, rest, _ := strings.Cut(line, " ")
	if name == "" {
		return "", nil, errors.New("empty event name")
	}
	dec := json.NewDecoder(strings.NewReader(rest))
	dec.UseNumber()
	var vals []any
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("arguments of %q: %w", name, err)
		}
		vals = append(vals, fromPrintable(v))
	}
	return name, vals, nil
}

// fromPrintable turns {"$bin":...} into []byte, keeping other JSON as is.
func fromPrintable(raw json.RawMessage) any {
	var b struct {
		Bin *string `json:"$bin"`
	}
	if strings.Contains(string(raw), `"$bin"`) && json.Unmarshal(raw, &b) == nil && b.Bin != nil {
		if d, err := base64.StdEncoding.DecodeString(*b.Bin); err == nil {
			return d
		}
	}
	return raw
}

// printable returns the arguments as JSON with attachments as {"$bin":...}.
func printable(a sioclient.Args) json.RawMessage {
	elems := make([]json.RawMessage, a.Len())
	for i := range elems {
		raw := a.Raw(i)
		if len(a.Attachments()) > 0 {
			if v := a.Values()[i]; v != nil {
				if b, err := json.Marshal(binToPrintable(v)); err == nil {
					raw = b
				}
			}
		}
		elems[i] = raw
	}
	return protocol.AppendArray(nil, elems...)
}

func binToPrintable(v any) any {
	switch t := v.(type) {
	case []byte:
		return map[string]string{"$bin": base64.StdEncoding.EncodeToString(t)}
	case []any:
		for i := range t {
			t[i] = binToPrintable(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = binToPrintable(t[k])
		}
	}
	return v
}

// printer writes JSON lines, one at a time.
type printer struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *printer) print(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"type": "error", "error": err.Error()})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.w.Write(append(b, '\n'))
}
