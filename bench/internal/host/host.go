// Package host reads what the benchmark pages say about the machine they
// ran on: CPUs, memory, kernel, load, and the versions of the tools.
package host

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ReadTrim returns the trimmed content of a file, or "unknown".
func ReadTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// CPUInfo returns the value of key ("model name") for the first CPU of
// /proc/cpuinfo, or "unknown".
func CPUInfo(key string) string {
	for line := range strings.Lines(ReadTrim("/proc/cpuinfo")) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// MemInfo returns a /proc/meminfo size in GiB ("23.4 GiB"), or "unknown".
func MemInfo(key string) string {
	for line := range strings.Lines(ReadTrim("/proc/meminfo")) {
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

// LoadAvg returns the 1, 5 and 15 minute load averages.
func LoadAvg() string {
	f := strings.Fields(ReadTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// CPUPressure returns the "some avg60" figure of /proc/pressure/cpu, in %,
// or "" where the kernel does not report it.
func CPUPressure() string {
	for line := range strings.Lines(ReadTrim("/proc/pressure/cpu")) {
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

// Command returns the trimmed output of a command, or "unknown".
func Command(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
