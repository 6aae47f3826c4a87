package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gust-faas/gust/internal/redistest"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/redis"
	"github.com/gust-faas/gust/store/storetest"
)

func TestConformance(t *testing.T) {
	url := redistest.Start(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		// One server; each subtest gets its own key prefix.
		s, err := redis.New(context.Background(), url, redis.Options{
			Prefix:    fmt.Sprintf("t%d:", n.Add(1)),
			Retention: storetest.Retention,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	url := redistest.Start(b)
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		s, err := redis.New(context.Background(), url, redis.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			// Leave an empty database to the next benchmark.
			_ = s.Close()
		})
		return s
	})
}
