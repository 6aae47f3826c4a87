package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/whisk"
)

// TestAppendedBucketsFillPages: the buckets written at their right end keep
// their leaf pages full. bbolt splits a page at half its size by default,
// which left every page of them half empty: a store of 168,000 records
// took 305 MB, against 160 MB full, and wrote 3.5 KB per record, against
// 2.4 KB (batches of 56, 100 action names).
func TestAppendedBucketsFillPages(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "gust.db"), Options{Retention: time.Hour, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now().UnixMilli()
	for b := range 100 {
		as := make([]*whisk.Activation, 50)
		for i := range as {
			n := b*len(as) + i
			as[i] = named(fmt.Sprintf("%016x%016x", start, n), fmt.Sprintf("action%d", n%100), start+int64(n))
		}
		if err := s.PutActivations(context.Background(), as); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bActs, bActsByTime, bActsExpiry} {
			st := tx.Bucket(name).Stats()
			if use := float64(st.LeafInuse) / float64(st.LeafAlloc); st.LeafPageN < 4 || use < 0.8 {
				t.Errorf("%s: %d leaf pages %.0f%% used, want at least 4 pages and 80%%", name, st.LeafPageN, 100*use)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
