package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
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
		CPUModel:      cpuinfo("model name"),
		MemTotal:      meminfo("MemTotal"),
		Kernel:        readTrim("/proc/sys/kernel/osrelease"),
		Go:            command("go", "version"),
		Node:          command("node", "--version"),
		LoadStart:     loadavg(),
		PressureStart: cpuPressure(),
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
	for f := range strings.FieldsSeq(command(bin, "--version")) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return "unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuinfo(key string) string {
	for line := range strings.Lines(readTrim("/proc/cpuinfo")) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func meminfo(key string) string {
	for line := range strings.Lines(readTrim("/proc/meminfo")) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

// loadavg returns the 1, 5 and 15 minute load averages.
func loadavg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuPressure returns the "some avg60" figure of /proc/pressure/cpu, in %,
// or "" where the kernel does not report it.
func cpuPressure() string {
	for line := range strings.Lines(readTrim("/proc/pressure/cpu")) {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for f := range strings.FieldsSeq(line) {
			if v, ok := strings.CutPrefix(f, "avg60="); ok {
				return v
			}
		}
	}
	return ""
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

func command(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
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
