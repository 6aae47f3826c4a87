package process_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/sandbox"
	"github.com/gust-faas/gust/sandbox/process"
	"github.com/gust-faas/gust/sandbox/sandboxtest"
)

// BenchmarkColdStart measures Create, then Start until the stand-in's
// first answer to /run: the cost of a process sandbox, the baseline for
// the others.
//
//	go test -run ^$ -bench ColdStart ./sandbox/process/
func BenchmarkColdStart(b *testing.B) {
	d := process.New(process.Config{RunDir: b.TempDir(), ProxyEntry: sandboxtest.StandInEntry})
	ctx := context.Background()
	var create, start, answer time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		sb, err := d.Create(ctx, sandbox.Spec{ID: fmt.Sprintf("bench-%d", i), Kind: "blackbox"})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := sb.Start(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		c := sandboxtest.Client(sb)
		resp, err := c.Post("http://sandbox/run", "application/json", strings.NewReader(`{}`))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t3 := time.Now()
		create += t1.Sub(t0)
		start += t2.Sub(t1)
		answer += t3.Sub(t2)
		b.StopTimer()
		c.CloseIdleConnections()
		if err := sb.Destroy(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(create.Microseconds())/n/1000, "create-ms")
	b.ReportMetric(float64(start.Microseconds())/n/1000, "start-ms")
	b.ReportMetric(float64(answer.Microseconds())/n/1000, "first-run-ms")
}
