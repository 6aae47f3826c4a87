package admin

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	c, err := CreateUser(ctx, st, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Key) != 64 || c.UUID == "" || c.Namespace != "alice" {
		t.Fatalf("credentials %+v: want a uuid and a 64-character key", c)
	}
	id, err := st.IdentityByUUID(ctx, c.UUID)
	if err != nil || id.Namespace != "alice" {
		t.Fatalf("identity by uuid: %+v, %v", id, err)
	}
	if !id.Matches(c.Key) || id.Matches(c.Key[1:]) || id.KeyHash == c.Key {
		t.Errorf("stored identity must match the key by hash only: %+v", id)
	}
	if _, err := CreateUser(ctx, st, "alice"); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "a/b", "bad name ", whisk.SystemNamespace, "_"} {
		if _, err := CreateUser(ctx, st, bad); err == nil {
			t.Errorf("CreateUser(%q) succeeded, want an error", bad)
		}
	}
	c2, _ := CreateUser(ctx, st, "bob")
	if c2.Key == c.Key || c2.UUID == c.UUID {
		t.Error("two users got the same credentials")
	}
}

func TestEnsureGuestIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for range 2 {
		if err := EnsureGuest(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	id, err := st.IdentityByUUID(ctx, GuestUUID)
	if err != nil || id.Namespace != GuestNamespace || !id.Matches(GuestKey) {
		t.Fatalf("guest identity %+v, %v", id, err)
	}
}

// TestSocket drives the admin API over its unix socket, as `gust admin`
// does while gust runs.
func TestSocket(t *testing.T) {
	st := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), SocketName)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, st) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	var c *Client
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		if c, err = Dial(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	cr, err := c.CreateUser(ctx, "carol")
	if err != nil || cr.Namespace != "carol" || len(cr.Key) != 64 {
		t.Fatalf("create over the socket: %+v, %v", cr, err)
	}
	if _, err := c.CreateUser(ctx, "carol"); err == nil {
		t.Error("creating carol twice succeeded")
	}
	if _, err := c.CreateUser(ctx, "no/slash"); err == nil {
		t.Error("a bad name was accepted")
	}
	list, err := c.ListUsers(ctx)
	if err != nil || !slices.Contains(list, "carol") {
		t.Fatalf("list: %v, %v", list, err)
	}
	if err := c.DeleteUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IdentityByNamespace(ctx, "carol"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("carol still there after delete: %v", err)
	}
}
