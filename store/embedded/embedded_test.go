package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"), embedded.Options{Retention: storetest.Retention})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store {
		s, err := embedded.Open(filepath.Join(b.TempDir(), "gust.db"), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
