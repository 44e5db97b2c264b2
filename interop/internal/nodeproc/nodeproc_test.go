package nodeproc

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestCallEvalAndWait(t *testing.T) {
	p := Start(t, "eio-client.mjs")
	ev := p.Call(M{"cmd": "eval", "code": `
		ctx.note = "x";
		return { bin: Buffer.from([1, 2, 255]), n: 42, nested: [Buffer.from("hi")] };`})
	var v struct {
		N      int  `json:"n"`
		Bin    M    `json:"bin"`
		Nested []M  `json:"nested"`
		Null   *int `json:"null"`
	}
	if !ev.Decode("value", &v) || v.N != 42 {
		t.Fatalf("eval result %s", ev)
	}
	if data, ok := DecodeData(mustJSON(v.Bin)); !ok || string(data) != "\x01\x02\xff" {
		t.Errorf("binary value %v decoded as %q, %v", v.Bin, data, ok)
	}
	if data, ok := DecodeData(mustJSON(v.Nested[0])); !ok || string(data) != "hi" {
		t.Errorf("nested binary %v decoded as %q, %v", v.Nested, data, ok)
	}

	// events are matched in order and each is returned once
	p.Send(M{"cmd": "eval", "code": `
		for (let i = 0; i < 3; i++) ctx.out({ type: "tick", i });`})
	ticks := p.WaitN(2, time.Second*5, Type("tick"))
	if ticks[0].Int("i") != 0 || ticks[1].Int("i") != 1 {
		t.Errorf("ticks %v", ticks)
	}
	if third := p.Wait(Type("tick")); third.Int("i") != 2 {
		t.Errorf("third tick %s", third)
	}
	if _, ok := p.Poll(100*time.Millisecond, Type("tick")); ok {
		t.Error("a tick was returned twice")
	}
	if n := len(p.Events(Type("tick"))); n != 3 {
		t.Errorf("Events found %d ticks, want 3", n)
	}
}

func TestCommandErrors(t *testing.T) {
	p := Start(t, "eio-client.mjs")
	p.Send(M{"cmd": "nope", "ref": "x"})
	ev := p.Wait(On("cmdError", "ref", "x"))
	if !strings.Contains(ev.Str("message"), "unknown command") {
		t.Errorf("cmdError %s", ev)
	}
	p.Send(M{"cmd": "send", "socket": "missing", "ref": "y"})
	if ev := p.Wait(On("cmdError", "ref", "y")); !strings.Contains(ev.Str("message"), "no socket") {
		t.Errorf("cmdError %s", ev)
	}
}

func TestSignalAndExit(t *testing.T) {
	p := Start(t, "eio-client.mjs")
	p.Signal(syscall.SIGSTOP)
	p.Send(M{"cmd": "eval", "code": "return 1", "ref": "s"})
	if _, ok := p.Poll(300*time.Millisecond, On("done", "ref", "s")); ok {
		t.Fatal("a stopped process answered")
	}
	p.Signal(syscall.SIGCONT)
	p.Wait(On("done", "ref", "s"))
	p.Send(M{"cmd": "exit"})
	p.Wait(Type("exit"))
	if !p.Exited() {
		t.Error("Exited() = false after the exit event")
	}
}
