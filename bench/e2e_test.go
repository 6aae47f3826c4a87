package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildGust builds the gust binary for the end-to-end tests, once per test
// process, or takes the one $GUST_BENCH_BIN names.
func buildGust(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("GUST_BENCH_BIN"); bin != "" {
		return bin
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build gust")
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "gust-bench-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.bin = filepath.Join(dir, "gust")
		cmd := exec.Command("go", "build", "-o", built.bin, "github.com/gust-faas/gust/cmd/gust")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/gust: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// built is the binary buildGust built; TestMain removes its directory.
var built struct {
	once     sync.Once
	bin, dir string
	err      error
}

// TestEndToEnd runs every scenario, briefly, against a `gust up` the tool
// starts from a freshly built binary, and checks that each produced
// numbers without errors, then writes every output.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gust and starts gust up; skipped with -short")
	}
	for _, bin := range []string{"/usr/bin/node", "/usr/bin/python3"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("needs %s", bin)
		}
	}
	gust := buildGust(t)
	cfg, err := ParseConfig([]string{
		"--gust", gust, "--sandbox", "process", "--scenario", "all",
		"--duration", "500ms", "--warmup", "200ms", "--floor-duration", "200ms",
		"--clients", "2,4", "--actions", "6", "--many-clients", "2", "--many-duration", "500ms", "--burst-clients", "4",
		"--cold", "2", "--cold-gap", "150ms", "--mixed-duration", "1s", "--mixed-clients", "4",
		"--prewarm", "2", "--resume", "1", "--idle-grace", "100ms", "--density", "3",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prog := newProgress(io.Discard, false, true)
	defer prog.Close()
	rep, err := runBench(ctx, cfg, "gust bench (test)", prog)
	if err != nil {
		t.Fatalf("runBench: %v", err)
	}
	want := []string{"warm", "throughput-c2", "throughput-c4", "cold-nodejs", "cold-python",
		"prewarm-nodejs", "prewarm-python", "resume", "many", "burst", "mixed", "density"}
	if len(rep.Scenarios) != len(want) {
		t.Fatalf("%d results, want %v", len(rep.Scenarios), want)
	}
	for i, r := range rep.Scenarios {
		if r.Name != want[i] {
			t.Errorf("result %d is %q, want %q", i, r.Name, want[i])
		}
		if r.OK == 0 || r.Errors != 0 || r.Latency.P50 <= 0 {
			t.Errorf("%s: %d ok, %d errors (%v), p50 %v", r.Name, r.OK, r.Errors, r.ErrorKinds, r.Latency.P50)
		}
	}
	if c := rep.find("cold-nodejs"); c != nil && c.Cold != 2 {
		t.Errorf("cold-nodejs: %d activations ran /init, want 2 (starts %v)", c.Cold, c.Starts)
	}
	if c := rep.find("cold-python"); c != nil && !strings.HasSuffix(c.Description, ", 150ms apart") {
		t.Errorf("cold-python: description %q does not give the --cold-gap", c.Description)
	}
	if b := rep.find("burst"); b != nil && b.Cold < 1 {
		t.Errorf("burst: no cold start on a new action (starts %v)", b.Starts)
	}
	if p := rep.find("prewarm-python"); p != nil && p.Starts["prewarmed"] == 0 {
		t.Errorf("prewarm-python: no call was served by a stem cell (starts %v)", p.Starts)
	}
	if d := rep.find("density"); d != nil && (d.Memory == nil || d.Memory.Sandboxes < 3 || d.Memory.PSSP50KB <= 0) {
		t.Errorf("density: memory %+v, want 3 or more sandboxes with their PSS", d.Memory)
	}
	if w := rep.find("warm"); w != nil && w.Cold != 0 {
		t.Errorf("warm: %d cold starts in the measured phase (starts %v)", w.Cold, w.Starts)
	}
	// 500ms with a 10ms pause after each answer: at most about 50 calls.
	if w := rep.find("warm"); w != nil {
		if s := w.part("spaced"); s == nil || s.OK == 0 || s.Errors != 0 || s.OK > 51 || s.Floor != floorSpaced {
			t.Errorf("warm: spaced part %+v, want a few dozen calls and no errors, against the %s floor", s, floorSpaced)
		}
	}
	for _, f := range rep.Floor {
		if f.Error != "" {
			t.Errorf("floor %s: %s", f.Name, f.Error)
		}
	}
	lost := false
	for _, c := range rep.Checks {
		if c.Name == "no lost async activations" {
			lost = true
			if !c.Pass {
				t.Errorf("async activations lost: %+v", c)
			}
		}
	}
	if !lost {
		t.Error("the mixed scenario did not check its async activations")
	}

	dir := t.TempDir()
	cfg.JSON, cfg.Plots, cfg.Record = filepath.Join(dir, "r.json"), filepath.Join(dir, "plots"), filepath.Join(dir, "RESULTS.md")
	var out strings.Builder
	if err := rep.WriteTables(&out); err != nil {
		t.Fatal(err)
	}
	if err := writeOutputs(cfg, rep, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(cfg.JSON); err != nil {
		t.Error(err)
	}
	md, err := os.ReadFile(cfg.Record)
	if err != nil {
		t.Fatal(err)
	}
	warm := rep.find("warm")
	if !strings.Contains(string(md), "| warm | 1 | "+fmtCount(warm.OK)+" | "+fmtDur(warm.Latency.P50)+" |") {
		t.Errorf("RESULTS.md does not hold the printed warm numbers:\n%s", md)
	}
	t.Logf("\n%s", out.String())
}
