package storetest

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gust-faas/gust/store"
)

// Benchmark measures the hot paths of a store: the reads of every
// invocation (GetEntity, GetActivation), the record write at its tail
// (PutActivation, alone and from many goroutines), KV counters and a list
// page. open is called once per benchmark and must return an empty store.
func Benchmark(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("GetEntity", func(b *testing.B) {
		s := open(b)
		k := key("guest", store.Actions, "hello")
		doc := make([]byte, 1024)
		for i := range doc {
			doc[i] = 'x'
		}
		if err := s.PutEntity(ctx, k, doc, false); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetEntity(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetActivation", func(b *testing.B) {
		s := open(b)
		a := record("guest", "guest/hello", now())
		if err := s.PutActivation(ctx, a); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetActivation(ctx, "guest", a.ActivationID); err != nil {
				b.Fatal(err)
			}
		}
	})
	putActivation := func(parallel bool) func(b *testing.B) {
		return func(b *testing.B) {
			s := open(b)
			a := record("guest", "guest/hello", now())
			var n atomic.Int64
			b.ReportAllocs()
			put := func() {
				r := *a
				r.ActivationID = strconv.FormatInt(n.Add(1), 16)
				if err := s.PutActivation(ctx, &r); err != nil {
					b.Error(err)
				}
			}
			if !parallel {
				for b.Loop() {
					put()
				}
				return
			}
			b.SetParallelism(16) // the invoker writes records from many goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					put()
				}
			})
		}
	}
	b.Run("PutActivation", putActivation(false))
	b.Run("PutActivationParallel", putActivation(true))
	b.Run("KVIncrParallel", func(b *testing.B) {
		s := open(b)
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.KVIncr(ctx, "guest", "counter", 1); err != nil {
					b.Error(err)
				}
			}
		})
	})
	b.Run("ListActivations30of1000", func(b *testing.B) {
		s := open(b)
		start := now() - 1000
		for i := range 1000 {
			r := record("guest", fmt.Sprintf("guest/a%d", i%10), start+int64(i))
			if err := s.PutActivation(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			l, err := s.ListActivations(ctx, "guest", store.ActivationFilter{Skip: 30, Limit: 30, Since: start - time.Hour.Milliseconds()})
			if err != nil || len(l) != 30 {
				b.Fatalf("list = %d, %v", len(l), err)
			}
		}
	})
}
