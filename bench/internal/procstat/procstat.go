// Package procstat reads a process's CPU time and resident memory from
// /proc, and an optional goroutine count from a server's stats URL.
package procstat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the length of one clock tick (USER_HZ) in /proc/<pid>/stat.
// Linux reports these fields in units of 1/100 s on every architecture.
const ClockTick = 10 * time.Millisecond

// Sample is one reading of a process.
type Sample struct {
	At     time.Time
	CPU    time.Duration // user + system time of all threads
	User   time.Duration // user time alone: CPU less the kernel's share (system calls, and the loopback network work done in them)
	RSSKiB int64         // VmRSS
}

// Read samples the process pid.
func Read(pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	if s.User, s.CPU, err = parseStatTimes(stat); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	if s.RSSKiB, err = ParseStatusRSS(status); err != nil {
		return s, err
	}
	return s, nil
}

// ReadSum samples several processes, such as the servers of a cluster, as
// one: their CPU times and RSS are added up, and At is the last reading's
// time. It fails when any of them cannot be read.
func ReadSum(pids []int) (Sample, error) {
	var sum Sample
	if len(pids) == 0 {
		return sum, errors.New("procstat: no pid")
	}
	for _, pid := range pids {
		s, err := Read(pid)
		if err != nil {
			return sum, err
		}
		sum.At = s.At
		sum.CPU += s.CPU
		sum.User += s.User
		sum.RSSKiB += s.RSSKiB
	}
	return sum, nil
}

// ParseStatCPU returns utime+stime from the content of /proc/<pid>/stat.
func ParseStatCPU(stat []byte) (time.Duration, error) {
	_, total, err := parseStatTimes(stat)
	return total, err
}

// parseStatTimes returns utime and utime+stime from the content of
// /proc/<pid>/stat.
func parseStatTimes(stat []byte) (user, total time.Duration, err error) {
	// The command name (field 2) is in parentheses and may contain spaces,
	// so fields are counted from the last ')'.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, 0, errors.New("procstat: malformed stat")
	}
	fields := strings.Fields(string(stat[end+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, 0, errors.New("procstat: short stat")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("procstat: bad utime/stime")
	}
	return time.Duration(utime) * ClockTick, time.Duration(utime+stime) * ClockTick, nil
}

// ParseStatusRSS returns VmRSS in KiB from the content of /proc/<pid>/status.
func ParseStatusRSS(status []byte) (int64, error) {
	for line := range strings.Lines(string(status)) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return v, nil
	}
	return 0, errors.New("procstat: no VmRSS in status")
}

// statsClient keeps no idle connection, so that reading the stats leaves
// nothing open in the server.
var statsClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Goroutines fetches url and returns the goroutine count it reports: either
// a JSON object with a numeric "goroutines" field or a bare integer.
func Goroutines(ctx context.Context, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	resp, err := statsClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("procstat: stats URL answered %s", resp.Status)
	}
	return ParseGoroutines(body)
}

// ParseGoroutines reads a goroutine count from a stats response body.
func ParseGoroutines(body []byte) (int, error) {
	body = bytes.TrimSpace(body)
	if n, err := strconv.Atoi(string(body)); err == nil {
		return n, nil
	}
	var v struct {
		Goroutines *int `json:"goroutines"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Goroutines == nil {
		return 0, errors.New(`procstat: stats body has no "goroutines" count`)
	}
	return *v.Goroutines, nil
}
