package embedded

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/whisk"
)

// counts returns the number of keys in each bucket that expiry touches,
// once the queued name keys are moved.
func counts(t *testing.T, s *Store) map[string]int {
	t.Helper()
	if err := s.update(context.Background(), moveNames); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	err := s.db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bActs, bActsByTime, bActsByName, bActsExpiry, bKV, bKVExpiry} {
			out[string(b)] = tx.Bucket(b).Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func open(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "gust.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func record(id string, start int64) *whisk.Activation {
	return &whisk.Activation{
		Namespace: "guest", Name: "a", ActivationID: id, Start: start,
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, "guest/pkg/a"),
	}
}

func TestSweepDeletesExpired(t *testing.T) {
	const retention = time.Minute
	s := open(t, Options{Retention: retention, SweepInterval: time.Hour})
	ctx := context.Background()
	now := time.Now().UnixMilli()
	soon := now - retention.Milliseconds() + 100 // expires in 100ms
	if err := s.PutActivation(ctx, record("dies", soon)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutActivation(ctx, record("lives", now)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dies", "also"} {
		if err := s.KVSet(ctx, "guest", k, []byte("v"), 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KVSet(ctx, "guest", "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	// "also" is overwritten without a ttl: its old expiry entry must go.
	if err := s.KVSet(ctx, "guest", "also", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"activations": 2, "activations.time": 2, "activations.name": 2, "activations.expiry": 2, "kv": 3, "kv.expiry": 1}
	if got := counts(t, s); !equal(got, want) {
		t.Fatalf("before the sweep: %v, want %v", got, want)
	}
	if n, err := s.sweep(); err != nil || n != 0 {
		t.Fatalf("early sweep deleted %d, %v; want 0", n, err)
	}
	time.Sleep(200 * time.Millisecond)
	if n, err := s.sweep(); err != nil || n != 2 {
		t.Fatalf("sweep deleted %d, %v; want 2", n, err)
	}
	want = map[string]int{"activations": 1, "activations.time": 1, "activations.name": 1, "activations.expiry": 1, "kv": 2, "kv.expiry": 0}
	if got := counts(t, s); !equal(got, want) {
		t.Fatalf("after the sweep: %v, want %v", got, want)
	}
}

func TestSweepLoopAndChunks(t *testing.T) {
	const retention = time.Minute
	s := open(t, Options{Retention: retention, SweepInterval: 20 * time.Millisecond})
	// More expired entries than one chunk, written in one transaction.
	old := time.Now().UnixMilli() - retention.Milliseconds() - 1000
	n := 2*sweepChunk + 10
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range n {
			id := strconv.Itoa(i)
			key := join("guest", id)
			v := joinTime(nil, old, `{"activationId":"`+id+`"}`)
			if err := tx.Bucket(bActs).Put(key, v); err != nil {
				return err
			}
			if err := tx.Bucket(bActsByTime).Put(joinTime(join("guest", ""), old, id), nil); err != nil {
				return err
			}
			if err := tx.Bucket(bActsByName).Put(joinTime(join("guest", "a", ""), old, id), nil); err != nil {
				return err
			}
			if err := tx.Bucket(bActsExpiry).Put(joinTime(nil, old, string(key)), []byte("a")); err != nil {
				return err
			}
			kvKey := join("guest", id)
			if err := tx.Bucket(bKV).Put(kvKey, joinTime(nil, old, "v")); err != nil {
				return err
			}
			if err := tx.Bucket(bKVExpiry).Put(joinTime(nil, old, string(kvKey)), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	zero := map[string]int{"activations": 0, "activations.time": 0, "activations.name": 0, "activations.expiry": 0, "kv": 0, "kv.expiry": 0}
	deadline := time.Now().Add(5 * time.Second)
	for got := counts(t, s); !equal(got, zero); got = counts(t, s) {
		if time.Now().After(deadline) {
			t.Fatalf("the sweeper left %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
