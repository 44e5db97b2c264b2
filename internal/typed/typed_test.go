package typed

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sio-go/socketio/protocol"
)

type acked struct {
	args [][]byte // each call's JSON
}

func (a *acked) ack(args ...any) error {
	data, _, err := protocol.MarshalArgs(args)
	if err != nil {
		return err
	}
	a.args = append(a.args, data)
	return nil
}

func (a *acked) last() string {
	if len(a.args) == 0 {
		return "<none>"
	}
	return string(a.args[len(a.args)-1])
}

func args(t *testing.T, data string, atts ...[]byte) protocol.Args {
	t.Helper()
	a, err := protocol.ArgsFromArray([]byte(data), atts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type point struct {
	X int `json:"x"`
	Y struct {
		Z []string `json:"z"`
	} `json:"y"`
}

type checked struct{ N int }

func (c *checked) Validate() error {
	if c.N < 0 {
		return errors.New("n must not be negative")
	}
	return nil
}

// TestDecodeErrors checks that what the peer reads of a decoding error is
// in JSON terms, and that the details stay in the reported error.
func TestDecodeErrors(t *testing.T) {
	var reported []error
	env := Env{Pkg: "test", Report: func(err error) { reported = append(reported, err) }, Reply: protocol.ErrorReply}
	h := AckHandler2(env, "ev", func(ctx context.Context, p point, c checked) (int, error) { return p.X + c.N, nil })
	for _, c := range []struct{ in, want string }{
		{`[{"x":1},{"N":2}]`, `[3]`},
		{`[{"x":1}]`, `[1]`}, // missing: zero value
		{`[]`, `[0]`},
		{`[{"x":"1"}]`, `[{"error":{"code":"invalid_argument","message":"argument 0: field \"x\": expected integer, got string"}}]`},
		{`[{"x":1.5}]`, `[{"error":{"code":"invalid_argument","message":"argument 0: field \"x\": expected integer, got number 1.5"}}]`},
		{`[{"y":{"z":[1]}}]`, `[{"error":{"code":"invalid_argument","message":"argument 0: field \"y.z\": expected string, got number"}}]`},
		{`[[1]]`, `[{"error":{"code":"invalid_argument","message":"argument 0: expected object, got array"}}]`},
		{`[{},{"N":-1}]`, `[{"error":{"code":"invalid_argument","message":"argument 1: n must not be negative"}}]`},
		{`[{},true]`, `[{"error":{"code":"invalid_argument","message":"argument 1: expected object, got bool"}}]`},
	} {
		var a acked
		h(context.Background(), args(t, c.in), a.ack)
		if a.last() != c.want {
			t.Errorf("%s: acknowledged %s, want %s", c.in, a.last(), c.want)
		}
		if strings.Contains(a.last(), "typed.") || strings.Contains(a.last(), "Go value") {
			t.Errorf("%s: %s names Go types", c.in, a.last())
		}
	}
	if len(reported) != 0 {
		t.Errorf("errors the peer was told about were reported: %v", reported)
	}
	// Without an acknowledgement the error goes to Report, with the cause.
	h(context.Background(), args(t, `[{"x":"1"}]`), nil)
	var te *json.UnmarshalTypeError
	if len(reported) != 1 || !errors.As(reported[0], &te) || protocol.CodeOf(reported[0]) != protocol.CodeInvalidArgument {
		t.Fatalf("reported %v", reported)
	}
}

func TestHandlerErrors(t *testing.T) {
	var reported []error
	env := Env{Pkg: "test", Report: func(err error) { reported = append(reported, err) }, Reply: protocol.ErrorReply}
	internal := errors.New("db down")
	fail := error(internal)
	h := Handler0(env, "ev", func(ctx context.Context) error { return fail })
	var a acked
	h(context.Background(), protocol.Args{}, a.ack)
	equal(t, "internal", a.last(), `[{"error":{"code":"internal","message":"internal error"}}]`)
	equal(t, "reported internal", len(reported) == 1 && errors.Is(reported[0], internal), true)

	fail = &protocol.Error{Code: "full", Message: "room full"}
	h(context.Background(), protocol.Args{}, a.ack)
	equal(t, "told", a.last(), `[{"error":{"code":"full","message":"room full"}}]`)
	equal(t, "not reported", len(reported), 1)

	fail = nil
	h(context.Background(), protocol.Args{}, a.ack)
	equal(t, "no result", a.last(), `[]`)

	// A result that cannot be encoded: the peer is told, not left waiting.
	bad := AckHandler0(env, "bad", func(ctx context.Context) (chan int, error) { return make(chan int), nil })
	bad(context.Background(), protocol.Args{}, a.ack)
	equal(t, "unencodable", a.last(), `[{"error":{"code":"internal","message":"internal error"}}]`)
}

func TestDecoderFastPaths(t *testing.T) {
	env := Env{Report: func(error) {}, Reply: protocol.ErrorReply}
	var gotS string
	var gotB []byte
	h := Handler2(env, "ev", func(ctx context.Context, s string, b []byte) error { gotS, gotB = s, b; return nil })
	att := []byte{0, 1}
	h(context.Background(), args(t, `["plain",{"_placeholder":true,"num":0}]`, att), nil)
	equal(t, "string", gotS, "plain")
	equal(t, "attachment not copied", &gotB[0] == &att[0], true)
	h(context.Background(), args(t, `["esc\u00e9\n","AAE="]`), nil)
	equal(t, "escaped string", gotS, "esc\u00e9\n")
	equal(t, "base64", string(gotB), "\x00\x01")
	in := args(t, `["plain",{"_placeholder":true,"num":0}]`, att)
	allocs := testing.AllocsPerRun(100, func() { h(context.Background(), in, nil) })
	if allocs > 1 { // the string
		t.Errorf("%v allocations for a string and an attachment", allocs)
	}
}

func equal[T comparable](t *testing.T, name string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", name, got, want)
	}
}
