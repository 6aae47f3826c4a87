package embedded

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// queued is the number of name keys waiting in activations.name.new.
func queued(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bActsNameNew).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// holdNames keeps the committer from moving the name keys for an hour. It
// sets the committer's field from a write, which the committer runs.
func holdNames(t *testing.T, s *Store) {
	t.Helper()
	if err := s.update(context.Background(), func(*bolt.Tx) error {
		s.namesMoved = time.Now().Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func named(id, name string, start int64) *whisk.Activation {
	a := record(id, start)
	a.Name = name
	a.Annotations = whisk.KeyValues{}.Set(whisk.AnnPath, "guest/"+name)
	return a
}

// TestNameIndexDeferred: records listed by name right after their write,
// whose name keys still wait in the queue; a record swept before its key
// moved leaves no index entry behind; the queue survives a restart.
func TestNameIndexDeferred(t *testing.T) {
	const retention = time.Minute
	path := filepath.Join(t.TempDir(), "gust.db")
	s, err := Open(path, Options{Retention: retention, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	holdNames(t, s)
	ctx := context.Background()
	now := time.Now().UnixMilli()
	for i, name := range []string{"a", "b", "a", "a"} {
		if err := s.PutActivation(ctx, named(string(rune('p'+i)), name, now+int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	soon := now - retention.Milliseconds() + 100 // expires in 100ms
	if err := s.PutActivation(ctx, named("gone", "c", soon)); err != nil {
		t.Fatal(err)
	}
	if n := queued(t, s); n != 5 {
		t.Fatalf("%d name keys queued, want 5", n)
	}
	time.Sleep(200 * time.Millisecond)
	if n, err := s.sweep(); err != nil || n != 1 {
		t.Fatalf("sweep deleted %d, %v; want 1", n, err)
	}

	// A restart keeps the queue; the first list by name moves it.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{Retention: retention, SweepInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	holdNames(t, s)
	if n := queued(t, s); n != 5 {
		t.Fatalf("after the restart, %d name keys queued, want 5", n)
	}
	got, err := s.ListActivations(ctx, "guest", store.ActivationFilter{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range got {
		ids = append(ids, a.ActivationID)
	}
	if want := []string{"s", "r", "p"}; !slices.Equal(ids, want) {
		t.Errorf("listed %v by name a, want %v (newest first)", ids, want)
	}
	if n := queued(t, s); n != 0 {
		t.Errorf("%d name keys still queued after a list by name", n)
	}
	for name, want := range map[string]int{"a": 3, "b": 1, "c": 0} {
		if n, err := s.CountActivations(ctx, "guest", store.ActivationFilter{Name: name}); err != nil || n != want {
			t.Errorf("count of %s: %d, %v; want %d", name, n, err, want)
		}
	}
	if got := counts(t, s)["activations.name"]; got != 4 {
		t.Errorf("activations.name holds %d keys, want 4: the swept record's key is dropped", got)
	}
}

// TestNameKeysMoveOnTheirOwn: without reads, a later commit moves the
// queue once nameMoveEvery has passed.
func TestNameKeysMoveOnTheirOwn(t *testing.T) {
	s := open(t, Options{})
	ctx := context.Background()
	if err := s.PutActivation(ctx, named("x", "a", time.Now().UnixMilli())); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for queued(t, s) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the name key was not moved in 5s of commits")
		}
		time.Sleep(nameMoveEvery / 5)
		if err := s.update(ctx, func(*bolt.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
}
