package main

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/bench/internal/load"
	"github.com/sio-go/socketio/bench/internal/pagesection"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// sampleRecords makes three repetitions of echo and conns for both servers.
func sampleRecords() []record {
	var recs []record
	goCPU := []float64{4, 5, 4.5}
	nodeCPU := []float64{13, 14, 12}
	for rep := 1; rep <= 3; rep++ {
		i := rep - 1
		recs = append(recs,
			record{Scenario: "echo", Server: "go", Rep: rep, Result: &load.Result{OK: true, Ops: 1, OpsPerSec: 90000 + float64(rep), CPUusPerOp: goCPU[i], P99us: 500}},
			record{Scenario: "echo", Server: "node", Rep: rep, Result: &load.Result{OK: true, Ops: 1, OpsPerSec: 60000, CPUusPerOp: nodeCPU[i], P99us: 1300}},
			record{Scenario: "conns", Server: "go", Rep: rep, Result: &load.Result{OK: true, Ops: 1, RSSPerConnBytes: 5000, Alive: 19000}},
		)
	}
	// One failed Node conns run, and two good ones.
	recs = append(recs,
		record{Scenario: "conns", Server: "node", Rep: 1, Err: "server exited"},
		record{Scenario: "conns", Server: "node", Rep: 2, Result: &load.Result{OK: true, Ops: 1, RSSPerConnBytes: 14000, Alive: 19000}},
		record{Scenario: "conns", Server: "node", Rep: 3, Result: &load.Result{OK: true, Ops: 1, RSSPerConnBytes: 13000, Alive: 19000}},
	)
	return recs
}

func findRow(t *testing.T, r *report, name string) row {
	t.Helper()
	for _, rw := range r.rows {
		if rw.m.Name == name {
			return rw
		}
	}
	t.Fatalf("no row %q", name)
	return row{}
}

func TestBuildReport(t *testing.T) {
	r := buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), machine{})
	cpu := findRow(t, r, "Server CPU per echo ack")
	if cpu.med["go"] != 4.5 || cpu.med["node"] != 13 {
		t.Fatalf("medians %v", cpu.med)
	}
	// Ratios per repetition: 4/13, 5/14, 4.5/12; the median is 5/14.
	if math.Abs(cpu.ratio-5.0/14) > 1e-12 {
		t.Fatalf("ratio %v, want %v", cpu.ratio, 5.0/14)
	}
	if goal, met := cpu.target(); goal != "≤ 1/3 × Node" || met != "no" {
		t.Fatalf("target %q %q", goal, met)
	}
	rss := findRow(t, r, "RSS per idle WebSocket connection")
	if !math.IsNaN(rss.vals["node"][0]) || rss.med["node"] != 13500 {
		t.Fatalf("failed run not left out: %v", rss.vals["node"])
	}
	// Pairs 2 and 3 only: 5000/14000 and 5000/13000.
	if want := (5000.0/14000 + 5000.0/13000) / 2; math.Abs(rss.ratio-want) > 1e-12 {
		t.Fatalf("rss ratio %v, want %v", rss.ratio, want)
	}
	if _, met := rss.target(); met != "yes" {
		t.Fatalf("rss target met = %q", met)
	}
	held := findRow(t, r, "Idle connections still open after 30s")
	if goal, met := held.target(); goal != "≥ 19,000" || met != "yes" {
		t.Fatalf("held target %q %q", goal, met)
	}
	for _, rw := range r.rows {
		if rw.m.Scenario != "echo" && rw.m.Scenario != "conns" {
			t.Fatalf("row %q for a scenario that did not run", rw.m.Name)
		}
	}
}

func TestMarkdownAndRoundTrip(t *testing.T) {
	recs := sampleRecords()
	mach := machine{Date: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC), CPUs: 2, CPUModel: "Test CPU", Kernel: "6.1", Go: "go1.26.8", Node: "v20", SocketIO: "4.8.4", Pinning: "pinned"}
	r := buildReport(recs, []string{"go", "node"}, 3, fullSizes(), mach)
	md := r.markdown()
	for _, want := range []string{
		"| Server CPU per echo ack | µs | 4.50 | 13.00 | 0.36 | ≤ 1/3 × Node | no |",
		"| RSS per idle WebSocket connection | bytes | 5,000 | 13,500 | 0.37 | ≤ 1/2 × Node | yes |",
		"`conns` on Node, run 1: server exited",
		"2 × Test CPU", "socket.io 4.8.4", "2026-11-28 12:00",
		"<svg", "</svg>",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := readRecords(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Records) != len(recs) || f.Reps != 3 || f.Machine.CPUModel != "Test CPU" || f.Sizes != fullSizes() {
		t.Fatalf("round trip: %d records, reps %d, %+v", len(f.Records), f.Reps, f.Machine)
	}
	again := buildReport(f.Records, f.Servers, f.Reps, f.Sizes, f.Machine).markdown()
	if again != md {
		t.Fatal("regenerating from the embedded results changed the page")
	}
}

// A section another generator put in the page survives regeneration, in
// front of the chart, and does not disturb reading the results back.
func TestKeptSection(t *testing.T) {
	r := buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), machine{})
	sec := pagesection.Wrap(pagesection.Scale, "## Cluster at 100,000 clients\n\n```json\n{\"kind\":\"go\"}\n```\n")
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	page, err := pagesection.Splice(r.markdown(), pagesection.Scale, sec, "## Chart")
	if err != nil {
		t.Fatal(err)
	}
	if r.kept, err = pagesection.Extract(page, pagesection.Scale); err != nil || r.kept != sec {
		t.Fatalf("Extract = %q, %v", r.kept, err)
	}
	md := r.markdown()
	if i, j := strings.Index(md, "## Cluster at 100,000"), strings.Index(md, "## Chart"); i < 0 || i > j {
		t.Fatalf("kept section missing or after the chart:\n%s", md)
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := readRecords(path); err != nil || len(f.Records) != len(sampleRecords()) {
		t.Fatalf("reading back: %v, %d records", err, len(f.Records))
	}
}

func TestNodeOnlyReport(t *testing.T) {
	var recs []record
	for _, r := range sampleRecords() {
		if r.Server == "node" {
			recs = append(recs, r)
		}
	}
	md := buildReport(recs, []string{"node"}, 3, fullSizes(), machine{}).markdown()
	if !strings.Contains(md, "| Server CPU per echo ack | µs | 13.00 | ≤ 1/3 × Node | — |") {
		t.Fatalf("node-only row missing:\n%s", md)
	}
	if strings.Contains(md, "Go/Node |") {
		t.Fatal("node-only report has a ratio column")
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	r := buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), machine{})
	svg := r.svg()
	d := xml.NewDecoder(strings.NewReader(svg))
	rects := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// Background + 2 legend swatches + 2 bars for each of the 3 charted rows.
	if rects != 1+2+3*2 {
		t.Fatalf("%d rects", rects)
	}
	if !strings.Contains(svg, "Go/Node 0.36 (target ≤ 1/3 × Node: no)") {
		t.Fatal("ratio note missing")
	}
}

func TestBusyMachineCaution(t *testing.T) {
	quiet := machine{LoadStart: "0.20 0.10 0.05", PressureStart: "1.5", PressureEnd: "30"}
	busy := machine{LoadStart: "3.20 5.80 8.33", PressureStart: "85.1", PressureEnd: "80"}
	if quiet.busy() || !busy.busy() {
		t.Fatalf("busy() quiet=%v busy=%v", quiet.busy(), busy.busy())
	}
	md := buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), busy).markdown()
	if !strings.Contains(md, "**Caution:** the machine was shared") || !strings.Contains(md, "| CPU pressure (some, avg60) at start / end | 85.1% / 80% |") {
		t.Fatal("no caution for a busy machine")
	}
	if strings.Contains(buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), quiet).markdown(), "Caution") {
		t.Fatal("caution for a quiet machine")
	}
}

func TestClusterSection(t *testing.T) {
	r := buildReport(append(sampleRecords(), clusterRecords()...), []string{"go", "node"}, 3, fullSizes(), machine{})
	md := r.markdown()
	section, after, ok := strings.Cut(md, "## Cross-node broadcast (3 nodes, Redis)\n")
	if !ok {
		t.Fatal("no cross-node section")
	}
	section, _, _ = strings.Cut(after, "\n## ")
	for _, want := range []string{
		// Medians 300,000 and 60,000; ratios 5, 5, 5.
		"| Cross-node deliveries/s (1,000 receivers, 3 nodes) | deliveries/s | 300,000 | 60,000 | 5.00 | — | — |",
		"| Server CPU per cross-node delivery (3 servers) | µs | 2.00 | 10.00 | 0.20 | — | — |",
		"| Redis CPU per cross-node delivery | µs | 0.40 | 0.20 | 2.00 | — | — |",
		"| Cross-node delivery p50 at 20 msg/s | µs | 3,000 | 6,000 | 0.50 | — | — |",
		// Node p99 15,000, 16,000, 17,000: ratios 7/15, 7/16, 7/17, median 7/16.
		"| Cross-node delivery p99 at 20 msg/s | µs | 7,000 | 16,000 | 0.44 | — | — |",
	} {
		if !strings.Contains(section, want) {
			t.Errorf("cross-node section lacks %q:\n%s", want, section)
		}
	}
	summary, _, _ := strings.Cut(md, "## Cross-node")
	if strings.Contains(summary, "Cross-node deliveries") || !strings.Contains(summary, "Server CPU per echo ack") {
		t.Error("cluster rows in the summary table, or echo rows missing from it")
	}
	if strings.Contains(section, "separate run") {
		t.Error("a separate-run note on a page from one run")
	}
	if !strings.Contains(md, "`cluster-broadcast-rate`: the same cluster and receivers") {
		t.Error("the cluster scenarios are not described in the method")
	}
	if strings.Contains(buildReport(sampleRecords(), []string{"go", "node"}, 3, fullSizes(), machine{}).markdown(), "Cross-node") {
		t.Error("a cross-node section without cluster runs")
	}
}

func TestClusterOnlyPage(t *testing.T) {
	md := buildReport(clusterRecords(), []string{"go", "node"}, 3, quickSizes(), machine{}).markdown()
	if strings.Contains(md, "## Summary") {
		t.Error("an empty summary table")
	}
	if !strings.Contains(md, "| Cross-node deliveries/s (200 receivers, 3 nodes) |") {
		t.Error("the cross-node table is missing")
	}
}

// TestTypedReport: the echo-typed variants are compared with each other,
// run by run, in a section of their own.
func TestTypedReport(t *testing.T) {
	recs := sampleRecords()
	raw := []float64{5, 6, 5.5}
	typed := []float64{5.5, 6.3, 6.6}
	for rep := 1; rep <= 3; rep++ {
		recs = append(recs,
			record{Scenario: "echo-typed", Server: labelRaw, Rep: rep, Result: &load.Result{OK: true, Ops: 1, OpsPerSec: 100, CPUusPerOp: raw[rep-1]}},
			record{Scenario: "echo-typed", Server: labelTyped, Rep: rep, Result: &load.Result{OK: true, Ops: 1, OpsPerSec: 90, CPUusPerOp: typed[rep-1]}})
	}
	r := buildReport(recs, []string{"go", "node"}, 3, fullSizes(), machine{})
	var cpu row
	for _, rw := range r.rows {
		if rw.m.Section == sectionTyped && rw.m.Name == "Server CPU per echo ack" {
			cpu = rw
		}
	}
	// Ratios 1.1, 1.05, 1.2: the median is 1.1.
	if cpu.med[labelTyped] != 6.3 || math.Abs(cpu.ratio-1.1) > 1e-9 {
		t.Fatalf("typed row: medians %v, ratio %v", cpu.med, cpu.ratio)
	}
	if goal, met := cpu.target(); goal != "≤ 1.15 × raw" || met != "yes" {
		t.Fatalf("target %q %q", goal, met)
	}
	md := r.markdown()
	for _, want := range []string{"## Typed handlers (Go server)", "| Server CPU per echo ack | µs | 5.50 | 6.30 | 1.10 | ≤ 1.15 × raw | yes |",
		"- Server CPU per echo ack (µs): 5.00 / 5.50 · 6.00 / 6.30 · 5.50 / 6.60"} {
		if !strings.Contains(md, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Count(md, "| Server CPU per echo ack (µs) |") != 1 {
		t.Error("the typed rows leaked into the per-run table")
	}
}
