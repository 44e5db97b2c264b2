package procstat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestParseStatCPU(t *testing.T) {
	// The command name may hold spaces and parentheses.
	stat := "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 3 0 100 1000000 500 18446744073709551615\n"
	cpu, err := ParseStatCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if want := 175 * ClockTick; cpu != want {
		t.Fatalf("cpu %v, want %v", cpu, want)
	}
	if user, total, err := parseStatTimes([]byte(stat)); err != nil || user != 150*ClockTick || total != 175*ClockTick {
		t.Fatalf("user %v, total %v, %v; want 1.5s of 1.75s", user, total, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 a b c"} {
		if _, err := ParseStatCPU([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseStatusRSS(t *testing.T) {
	status := "Name:\tnode\nVmPeak:\t 1000 kB\nVmRSS:\t   13712 kB\nThreads:\t7\n"
	rss, err := ParseStatusRSS([]byte(status))
	if err != nil || rss != 13712 {
		t.Fatalf("rss %d, %v", rss, err)
	}
	if _, err := ParseStatusRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("accepted a status without VmRSS")
	}
}

func TestReadSelf(t *testing.T) {
	s0, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if s, _ := Read(os.Getpid()); s.CPU > s0.CPU {
			break
		}
	}
	s1, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s0.RSSKiB <= 0 || s1.CPU <= s0.CPU {
		t.Fatalf("rss %d KiB, cpu %v -> %v (x=%d)", s0.RSSKiB, s0.CPU, s1.CPU, x)
	}
	if s1.User <= 0 || s1.User > s1.CPU {
		t.Fatalf("user time %v of %v: a busy loop runs in user space", s1.User, s1.CPU)
	}
	if _, err := Read(1 << 30); err == nil {
		t.Error("read a process that cannot exist")
	}
}

func TestReadSum(t *testing.T) {
	// Two sleeping processes: their CPU time and RSS stay put between reads.
	var pids []int
	for range 2 {
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	time.Sleep(50 * time.Millisecond) // let both exec
	a, errA := Read(pids[0])
	b, errB := Read(pids[1])
	sum, err := ReadSum(pids)
	if errA != nil || errB != nil || err != nil {
		t.Fatal(errA, errB, err)
	}
	if sum.RSSKiB != a.RSSKiB+b.RSSKiB || sum.CPU != a.CPU+b.CPU || a.RSSKiB <= 0 {
		t.Fatalf("sum %+v of %+v and %+v", sum, a, b)
	}
	if sum.At.Before(b.At) {
		t.Fatalf("sum read at %v, before its parts (%v)", sum.At, b.At)
	}
	if _, err := ReadSum([]int{pids[0], 1 << 30}); err == nil {
		t.Error("summed a process that cannot exist")
	}
	if _, err := ReadSum(nil); err == nil {
		t.Error("summed no process")
	}
}

func TestGoroutines(t *testing.T) {
	for body, want := range map[string]int{`{"goroutines":12,"conns":3}`: 12, "7\n": 7} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) }))
		n, err := Goroutines(context.Background(), srv.URL)
		srv.Close()
		if err != nil || n != want {
			t.Errorf("%q: %d, %v (want %d)", body, n, err, want)
		}
	}
	if _, err := ParseGoroutines([]byte(`{"other":1}`)); err == nil {
		t.Error("accepted a body without a count")
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Goroutines(context.Background(), srv.URL); err == nil {
		t.Error("accepted a 404")
	}
}
