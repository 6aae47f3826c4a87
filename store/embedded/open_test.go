package embedded_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func activation(id string) *whisk.Activation {
	return &whisk.Activation{
		Namespace: "guest", Name: "hello", ActivationID: id, Start: time.Now().UnixMilli(),
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, "guest/hello"),
	}
}

// TestReopen checks that everything written survives Close and Open, with
// and without fsync.
func TestReopen(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "sub", "gust.db") // the directory is created
		s, err := embedded.Open(path, embedded.Options{NoSync: noSync})
		must(t, err)
		k := store.Key{Namespace: "guest", Collection: store.Actions, Name: "hello"}
		must(t, s.PutEntity(ctx, k, []byte(`{"a":1}`), false))
		digest, err := s.PutCode(ctx, []byte("code"))
		must(t, err)
		must(t, s.PutIdentity(ctx, store.Identity{Namespace: "guest", UUID: "u", KeyHash: store.HashKey("k")}))
		must(t, s.KVSet(ctx, "guest", "k", []byte("v"), time.Hour))
		// Writes accepted concurrently right before Close are kept.
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { must(t, s.PutActivation(ctx, activation(strings.Repeat("x", i+1)))) })
		}
		wg.Wait()
		must(t, s.Close())

		s, err = embedded.Open(path, embedded.Options{NoSync: noSync})
		must(t, err)
		if _, err := s.GetEntity(ctx, k); err != nil {
			t.Errorf("noSync=%v: entity: %v", noSync, err)
		}
		if _, err := s.GetCode(ctx, digest); err != nil {
			t.Errorf("noSync=%v: code: %v", noSync, err)
		}
		if _, err := s.IdentityByUUID(ctx, "u"); err != nil {
			t.Errorf("noSync=%v: identity: %v", noSync, err)
		}
		if v, err := s.KVGet(ctx, "guest", "k"); err != nil || string(v) != "v" {
			t.Errorf("noSync=%v: kv = %q, %v", noSync, v, err)
		}
		if n, err := s.CountActivations(ctx, "guest", store.ActivationFilter{}); n != 50 {
			t.Errorf("noSync=%v: %d activations, %v; want 50", noSync, n, err)
		}
		must(t, s.Close())
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gust.db")
	s, err := embedded.Open(path, embedded.Options{})
	must(t, err)
	defer s.Close()
	// bbolt's lock is per open file description, so a second Open in this
	// process stands in for a second process.
	s2, err := embedded.Open(path, embedded.Options{})
	if err == nil {
		s2.Close()
		t.Fatal("a second Open of an open file succeeded")
	}
	if !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("err = %v, want a clear 'in use' message", err)
	}
}

func TestOpenRejectsOtherLayouts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gust.db")
	db, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	must(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		return b.Put([]byte("version"), []byte("99"))
	}))
	must(t, db.Close())
	if s, err := embedded.Open(path, embedded.Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a file of layout version 99")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		opts embedded.Options
	}{
		{"negative retention", filepath.Join(dir, "a.db"), embedded.Options{Retention: -time.Hour}},
		{"negative sweep interval", filepath.Join(dir, "b.db"), embedded.Options{SweepInterval: -time.Second}},
		{"path is a directory", dir, embedded.Options{}},
	} {
		if s, err := embedded.Open(tc.path, tc.opts); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", tc.name)
		}
	}
}

func TestClosed(t *testing.T) {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"), embedded.Options{})
	must(t, err)
	must(t, s.Close())
	must(t, s.Close()) // twice is harmless
	k := store.Key{Namespace: "guest", Collection: store.Actions, Name: "x"}
	if err := s.PutEntity(ctx, k, []byte("{}"), true); !errors.Is(err, embedded.ErrClosed) {
		t.Errorf("put after Close: %v, want ErrClosed", err)
	}
	if _, err := s.GetEntity(ctx, k); !errors.Is(err, embedded.ErrClosed) {
		t.Errorf("get after Close: %v, want ErrClosed", err)
	}
	if _, err := s.KVIncr(ctx, "guest", "n", 1); !errors.Is(err, embedded.ErrClosed) {
		t.Errorf("incr after Close: %v, want ErrClosed", err)
	}
}

// TestCloseRacesWriters closes the store while writers run: each write
// either commits or fails with ErrClosed, and nothing hangs or panics.
func TestCloseRacesWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gust.db")
	s, err := embedded.Open(path, embedded.Options{NoSync: true})
	must(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	committed := map[string]bool{}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				err := s.PutActivation(ctx, activation(id))
				if errors.Is(err, embedded.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				committed[id] = true
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	must(t, s.Close())
	wg.Wait()

	s, err = embedded.Open(path, embedded.Options{})
	must(t, err)
	defer s.Close()
	for id := range committed {
		if _, err := s.GetActivation(ctx, "guest", id); err != nil {
			t.Fatalf("a write that returned nil before Close is lost: %s: %v", id, err)
		}
	}
	if len(committed) == 0 {
		t.Fatal("no write committed")
	}
}
