package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sio-go/socketio/bench/internal/host"
)

// machine describes where the benchmark ran.
type machine struct {
	Date      time.Time `json:"date"`
	CPUs      int       `json:"cpus"`
	CPUModel  string    `json:"cpu_model"`
	MemTotal  string    `json:"mem_total"`
	Kernel    string    `json:"kernel"`
	Go        string    `json:"go"`
	Node      string    `json:"node"`
	SocketIO  string    `json:"socket_io"`
	LoadStart string    `json:"load_start"`
	LoadEnd   string    `json:"load_end,omitempty"`
	Pinning   string    `json:"pinning"`
	// CPU pressure (share of time some runnable task waited for a CPU,
	// over the last minute) at the start and the end.
	PressureStart string `json:"cpu_pressure_start,omitempty"`
	PressureEnd   string `json:"cpu_pressure_end,omitempty"`
	// For the cluster scenarios: how their processes were pinned, the
	// redis-server version and the Node Redis adapter's.
	ClusterPinning string `json:"cluster_pinning,omitempty"`
	Redis          string `json:"redis,omitempty"`
	RedisAdapter   string `json:"redis_adapter,omitempty"`
}

func describeMachine() machine {
	m := machine{
		Date:          time.Now().UTC().Truncate(time.Second),
		CPUs:          runtime.NumCPU(),
		CPUModel:      host.CPUInfo("model name"),
		MemTotal:      host.MemInfo("MemTotal"),
		Kernel:        host.ReadTrim("/proc/sys/kernel/osrelease"),
		Go:            host.Command("go", "version"),
		Node:          host.Command("node", "--version"),
		LoadStart:     host.LoadAvg(),
		PressureStart: host.CPUPressure(),
	}
	m.SocketIO = npmVersion("socket.io")
	m.RedisAdapter = npmVersion("@socket.io/redis-adapter")
	return m
}

// npmVersion returns the version of an installed package of the Node
// reference, or "".
func npmVersion(pkg string) string {
	b, err := os.ReadFile(filepath.Join("node", "node_modules", filepath.FromSlash(pkg), "package.json"))
	if err != nil {
		return ""
	}
	var p struct{ Version string }
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}

// redisVersion returns the version redis-server reports ("v=7.0.15"), or
// "unknown".
func redisVersion(bin string) string {
	for f := range strings.FieldsSeq(host.Command(bin, "--version")) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return "unknown"
}

// busy reports whether the machine was visibly shared during the run: a
// load average or CPU pressure that the benchmark alone does not explain.
func (m machine) busy() bool {
	over := func(s string, limit float64) bool {
		f := strings.Fields(s)
		if len(f) == 0 {
			return false
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return err == nil && v > limit
	}
	return over(m.LoadStart, 1) || over(m.PressureStart, 20) || over(m.PressureEnd, 50)
}

// resultsFile is the JSONL-like record of a run: one header line, then
// one line per record.
type resultsFile struct {
	Machine machine  `json:"machine"`
	Sizes   sizes    `json:"sizes"`
	Servers []string `json:"servers"`
	Reps    int      `json:"reps"`
	Parts   []part   `json:"parts,omitempty"` // scenarios merged from other runs
	Records []record `json:"-"`
}

// part names the scenarios of a merged report that come from another run,
// and where and when that run was made.
type part struct {
	Scenarios []string `json:"scenarios"`
	Machine   machine  `json:"machine"`
}

func encodeRecords(w io.Writer, f resultsFile) error {
	head, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "%s\n", head); err != nil {
		return err
	}
	for _, r := range f.Records {
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
			return err
		}
	}
	return nil
}

func writeRecords(path string, f resultsFile) error {
	var b strings.Builder
	if err := encodeRecords(&b, f); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func readRecords(path string) (resultsFile, error) {
	var f resultsFile
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	text := string(b)
	if strings.HasSuffix(path, ".md") {
		// A generated report carries its results in a jsonl code block.
		_, rest, ok := strings.Cut(text, "```jsonl\n")
		if !ok {
			return f, fmt.Errorf("%s: no jsonl block", path)
		}
		text, _, _ = strings.Cut(rest, "```")
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if err := json.Unmarshal([]byte(lines[0]), &f); err != nil {
		return f, fmt.Errorf("%s: header: %w", path, err)
	}
	for i, l := range lines[1:] {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			return f, fmt.Errorf("%s:%d: %w", path, i+2, err)
		}
		f.Records = append(f.Records, r)
	}
	return f, nil
}
