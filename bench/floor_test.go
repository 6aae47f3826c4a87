package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

func TestHTTPFloor(t *testing.T) {
	for _, clients := range []int{1, 4} {
		p := measureHTTPFloor(context.Background(), clients, 0, 300*time.Millisecond, func(string, time.Duration, counter) {})
		if p.Error != "" {
			t.Fatalf("http floor with %d clients: %s", clients, p.Error)
		}
		if p.Latency.N < 100 || p.Latency.P50 <= 0 || p.Latency.P50 > p.Latency.P99 || p.Throughput <= 0 {
			t.Errorf("http floor with %d clients: %+v", clients, p)
		}
	}
}

func TestNATSFloor(t *testing.T) {
	var phases []string
	p := measureNATSFloor(context.Background(), 300*time.Millisecond, func(name string, _ time.Duration, _ counter) { phases = append(phases, name) })
	if p.Error != "" {
		t.Fatalf("nats floor: %s", p.Error)
	}
	if p.Latency.N < 100 || p.Latency.P50 <= 0 || p.Latency.P50 > p.Latency.P99 || len(phases) != 1 {
		t.Errorf("nats floor %+v, phases %v", p, phases)
	}
}

func TestSumFloor(t *testing.T) {
	parts := []FloorPart{
		{Name: floorHTTP, Latency: Summary{N: 10, P50: 80, P99: 200}},
		{Name: floorNATS, Latency: Summary{N: 20, P50: 15, P99: 60}},
		{Name: "http-c32", Latency: Summary{N: 5, P50: 1000}},
		{Name: floorRun, Latency: Summary{N: 30, P50: 90, P99: 400}},
	}
	s := sumFloor(parts)
	if s.Error != "" || s.Latency.P50 != 185 || s.Latency.P99 != 660 || s.Latency.N != 10 {
		t.Errorf("sum %+v", s)
	}
	parts[3].Error = "no node"
	if s := sumFloor(parts); s.Error == "" {
		t.Error("sum with a missing hop has no error")
	}
	if s := sumFloor(parts[:2]); s.Error == "" {
		t.Error("sum of two hops has no error")
	}
}

func TestRunFloor(t *testing.T) {
	if _, err := os.Stat("/usr/bin/node"); err != nil {
		t.Skip("needs /usr/bin/node")
	}
	p := measureRunFloor(context.Background(), whisk.KindNode, 300*time.Millisecond, func(string, time.Duration, counter) {})
	if p.Error != "" {
		t.Fatalf("run floor: %s", p.Error)
	}
	if p.Latency.N < 50 || p.Latency.P50 <= 0 || p.Latency.P50 > p.Latency.P99 {
		t.Errorf("run floor %+v", p)
	}
}

func TestColdFloor(t *testing.T) {
	for _, kind := range []string{whisk.KindNode, whisk.KindPython} {
		bin := map[string]string{whisk.KindNode: "/usr/bin/node", whisk.KindPython: "/usr/bin/python3"}[kind]
		if _, err := os.Stat(bin); err != nil {
			t.Logf("skipping %s: needs %s", kind, bin)
			continue
		}
		p := measureColdFloor(context.Background(), kind, 2)
		if p.Error != "" {
			t.Fatalf("cold floor of %s: %s", kind, p.Error)
		}
		if p.Latency.N != 2 || p.Latency.P50 < time.Millisecond || p.Name != "cold-"+family(kind) {
			t.Errorf("cold floor of %s: %+v", kind, p)
		}
	}
}
