package invoker

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

const benchJS = `function main(p) { return {echo: p.v}; }`

// BenchmarkWarmInvoke measures a warm blocking invocation end to end: a
// NATS request to the invoker, /run on a warm nodejs sandbox, the reply
// with the record (the store write is off the critical path).
//
//	go test ./invoker -run '^$' -bench WarmInvoke -benchtime 5000x
func BenchmarkWarmInvoke(b *testing.B) {
	e := newEnv(b)
	inv, _ := e.start(Config{})
	a := e.action("bench", "nodejs", benchJS, whisk.Limits{})
	msg := e.message(a, `{"v":"hello"}`)
	e.invoke(inv, msg) // cold start
	data, _ := json.Marshal(msg)
	subject := e.subj.Invoke(inv.cfg.ID)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		reply, err := e.nc.Request(subject, data, 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if len(reply.Data) == 0 {
			b.Fatal("empty reply")
		}
	}
	b.StopTimer()
	report(b, lat)
}

// BenchmarkExecuteWarm measures the invoker's own warm path without NATS:
// pool acquire, /run over the unix socket, log sentinels, record.
func BenchmarkExecuteWarm(b *testing.B) {
	e := newEnv(b)
	inv, _ := e.start(Config{})
	a := e.action("bench", "nodejs", benchJS, whisk.Limits{})
	msg := e.message(a, `{"v":"hello"}`)
	ctx := context.Background()
	if _, err := inv.execute(ctx, msg); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		rec, err := inv.execute(ctx, msg)
		lat = append(lat, time.Since(start))
		if err != nil || rec.StatusCode != 0 {
			b.Fatal(err, rec.Response)
		}
	}
	b.StopTimer()
	report(b, lat)
}

func report(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
