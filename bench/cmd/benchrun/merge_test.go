package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/bench/internal/load"
)

// clusterRecords makes three repetitions of both cluster scenarios for
// both servers.
func clusterRecords() []record {
	var recs []record
	goRate := []float64{300_000, 310_000, 290_000}
	nodeRate := []float64{60_000, 62_000, 58_000}
	for rep := 1; rep <= 3; rep++ {
		i := rep - 1
		recs = append(recs,
			record{Scenario: "cluster-broadcast", Server: "go", Rep: rep, Result: &load.Result{OK: true, Ops: 1, Nodes: 3, OpsPerSec: goRate[i], CPUusPerOp: 2, RedisCPUusPerOp: 0.4}},
			record{Scenario: "cluster-broadcast", Server: "node", Rep: rep, Result: &load.Result{OK: true, Ops: 1, Nodes: 3, OpsPerSec: nodeRate[i], CPUusPerOp: 10, RedisCPUusPerOp: 0.2}},
			record{Scenario: "cluster-broadcast-rate", Server: "go", Rep: rep, Result: &load.Result{OK: true, Ops: 1, Nodes: 3, P50us: 3000, P99us: 7000}},
			record{Scenario: "cluster-broadcast-rate", Server: "node", Rep: rep, Result: &load.Result{OK: true, Ops: 1, Nodes: 3, P50us: 6000, P99us: 14000 + float64(rep)*1000}},
		)
	}
	return recs
}

func TestMerge(t *testing.T) {
	day := func(d int) machine {
		return machine{Date: time.Date(2026, 12, d, 10, 0, 0, 0, time.UTC), LoadStart: "0.10 0.10 0.10", LoadEnd: "0.20 0.10 0.10"}
	}
	// The full run had an older cluster result, for Node only.
	old := record{Scenario: "cluster-broadcast", Server: "node", Rep: 1, Result: &load.Result{OK: true, Ops: 1, OpsPerSec: 1}}
	full := resultsFile{Machine: day(1), Sizes: fullSizes(), Servers: []string{"node"}, Reps: 3, Records: append(sampleRecords(), old)}
	cluster := resultsFile{Machine: day(2), Sizes: fullSizes(), Servers: []string{"go", "node"}, Reps: 3, Records: clusterRecords()}

	m, err := merge([]resultsFile{full, cluster})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Records) != len(sampleRecords())+len(clusterRecords()) {
		t.Fatalf("%d records", len(m.Records))
	}
	for _, r := range m.Records {
		if r.Result == old.Result {
			t.Fatal("the older cluster result was kept")
		}
	}
	if !slices.Equal(m.Servers, []string{"node", "go"}) || m.Machine != full.Machine {
		t.Fatalf("servers %v, machine %+v", m.Servers, m.Machine)
	}
	want := []part{{Scenarios: []string{"cluster-broadcast", "cluster-broadcast-rate"}, Machine: day(2)}}
	if !slices.EqualFunc(m.Parts, want, func(a, b part) bool { return slices.Equal(a.Scenarios, b.Scenarios) && a.Machine == b.Machine }) {
		t.Fatalf("parts %+v", m.Parts)
	}
	if len(full.Records) != len(sampleRecords())+1 {
		t.Fatal("merge changed its input")
	}

	// A later rerun of one cluster scenario takes it from the earlier part.
	rerun := resultsFile{Machine: day(3), Sizes: fullSizes(), Servers: []string{"go", "node"}, Reps: 3}
	for _, r := range clusterRecords() {
		if r.Scenario == "cluster-broadcast-rate" {
			rerun.Records = append(rerun.Records, r)
		}
	}
	m2, err := merge([]resultsFile{m, rerun})
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Parts) != 2 || !slices.Equal(m2.Parts[0].Scenarios, []string{"cluster-broadcast"}) ||
		!slices.Equal(m2.Parts[1].Scenarios, []string{"cluster-broadcast-rate"}) || m2.Parts[1].Machine != day(3) {
		t.Fatalf("parts after a rerun %+v", m2.Parts)
	}
	if len(m2.Records) != len(m.Records) {
		t.Fatalf("%d records after a rerun, want %d", len(m2.Records), len(m.Records))
	}

	quick := cluster
	quick.Sizes = quickSizes()
	if _, err := merge([]resultsFile{full, quick}); err == nil || !strings.Contains(err.Error(), "-quick") {
		t.Errorf("merged a quick run into a full one: %v", err)
	}
	fewer := cluster
	fewer.Reps = 1
	if _, err := merge([]resultsFile{full, fewer}); err == nil || !strings.Contains(err.Error(), "repetitions") {
		t.Errorf("merged runs with different repetitions: %v", err)
	}
}

func TestMergedPageRoundTrip(t *testing.T) {
	dir := t.TempDir()
	mach := machine{Date: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), CPUs: 2, LoadStart: "0.10 0.10 0.10"}
	clusterMach := machine{Date: time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC), LoadStart: "0.30 0.20 0.10", LoadEnd: "0.40 0.20 0.10",
		ClusterPinning: "the three servers and `redis-server` are pinned to CPU 0", Redis: "7.0.15", RedisAdapter: "8.3.0"}
	page := filepath.Join(dir, "benchmarks.md")
	md := buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), mach).markdown()
	if err := os.WriteFile(page, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "cluster.jsonl")
	if err := writeRecords(jsonl, resultsFile{Machine: clusterMach, Sizes: fullSizes(), Servers: []string{"go", "node"}, Reps: 3, Records: clusterRecords()}); err != nil {
		t.Fatal(err)
	}
	f, err := readAll([]string{page, jsonl})
	if err != nil {
		t.Fatal(err)
	}
	r := buildReport(f.Records, f.Servers, f.Reps, f.Sizes, f.Machine)
	r.parts = f.Parts
	merged := r.markdown()
	for _, want := range []string{
		"| Server CPU per echo ack | µs | 4.50 | 13.00 | 0.36 | ≤ 1/3 × Node | no |",
		"## Cross-node broadcast (3 nodes, Redis)",
		"These results come from a separate run on 2026-12-02 09:30 (UTC), load average 0.30 0.20 0.10 at the start and 0.40 0.20 0.10 at the end.",
		"Pinning: the three servers and `redis-server` are pinned to CPU 0.",
		"`@socket.io/redis-adapter` 8.3.0", "`redis-server` 7.0.15",
		"| `cluster-broadcast`, `cluster-broadcast-rate` run separately | 2026-12-02 09:30 (UTC), load average 0.30 0.20 0.10 / 0.40 0.20 0.10 |",
		"Generated by `go run ./cmd/benchrun` in `bench/` on 2026-12-01 10:00 (UTC)",
	} {
		if !strings.Contains(merged, want) {
			t.Errorf("merged page lacks %q", want)
		}
	}
	// The merged page carries its parts: regenerating it changes nothing.
	if err := os.WriteFile(page, []byte(merged), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := readRecords(page)
	if err != nil {
		t.Fatal(err)
	}
	again := buildReport(g.Records, g.Servers, g.Reps, g.Sizes, g.Machine)
	again.parts = g.Parts
	if again.markdown() != merged {
		t.Fatal("regenerating the merged page from its embedded results changed it")
	}
}
