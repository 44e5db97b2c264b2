package interop

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientCLI runs siocat against the official server.
func TestClientCLI(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "siocat")
	build := exec.Command("go", "build", "-o", bin, "../cmd/siocat")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := startNodeSio(t, 0, nil)
	cmd := exec.Command(bin, "-auth", `{"token":"good"}`, "-ack", "3s", "-linger", "500ms", srv.URL()+"/secure")
	cmd.Stdin = strings.NewReader("echo \"hi\" {\"$bin\":\"AQI=\"}\nask \"q\"\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("siocat: %v\n%s", err, out)
	}
	for _, want := range []string{
		`"type":"connect"`,
		`{"args":["hi",{"$bin":"AQI="}],"event":"echo","type":"ack"}`,
		`{"args":["q"],"event":"question","type":"event"}`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	cmd = exec.Command(bin, srv.URL()+"/secure")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `{"data":{"code":42},"message":"unauthorized","type":"connect_error"}`) {
		t.Fatalf("refusal: %v\n%s", err, out)
	}
}
