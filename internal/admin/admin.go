package admin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Guest is OpenWhisk's well-known development namespace and key, so a stock
// wsk configured for an OpenWhisk standalone works against `gust up`.
const (
	GuestNamespace = "guest"
	GuestUUID      = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
	GuestKey       = "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"
	GuestAuth      = GuestUUID + ":" + GuestKey
)

// ErrReserved is returned for namespaces users may not create.
var ErrReserved = errors.New("namespace is reserved")

// Credentials are a namespace's uuid and key, as `uuid:key`.
type Credentials struct {
	Namespace string `json:"namespace"`
	UUID      string `json:"uuid"`
	Key       string `json:"key"`
}

// Auth is the form wsk's --auth takes.
func (c Credentials) Auth() string { return c.UUID + ":" + c.Key }

// CreateUser adds namespace ns with a fresh uuid and key. It fails with
// store.ErrExists if the namespace exists.
func CreateUser(ctx context.Context, ids store.Identities, ns string) (Credentials, error) {
	if !whisk.ValidName(ns) || strings.Contains(ns, "/") {
		return Credentials{}, fmt.Errorf("%w: %q", whisk.ErrBadName, ns)
	}
	if ns == whisk.SystemNamespace || ns == whisk.DefaultNamespace {
		return Credentials{}, fmt.Errorf("%w: %q", ErrReserved, ns)
	}
	if _, err := ids.IdentityByNamespace(ctx, ns); err == nil {
		return Credentials{}, fmt.Errorf("namespace %q: %w", ns, store.ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Credentials{}, err
	}
	c := Credentials{Namespace: ns, UUID: uuid.NewString(), Key: newKey()}
	return c, put(ctx, ids, c)
}

// EnsureGuest creates the guest namespace with the well-known key unless it
// exists.
func EnsureGuest(ctx context.Context, ids store.Identities) error {
	if _, err := ids.IdentityByNamespace(ctx, GuestNamespace); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return put(ctx, ids, Credentials{Namespace: GuestNamespace, UUID: GuestUUID, Key: GuestKey})
}

func put(ctx context.Context, ids store.Identities, c Credentials) error {
	return ids.PutIdentity(ctx, store.Identity{Namespace: c.Namespace, UUID: c.UUID, KeyHash: store.HashKey(c.Key)})
}

// newKey returns 64 random characters from OpenWhisk's key alphabet.
func newKey() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	out := make([]byte, 0, 64)
	buf := make([]byte, 64)
	for len(out) < cap(out) {
		rand.Read(buf) // never fails on Linux
		for _, c := range buf {
			// 248 = 4*62: rejecting the rest keeps every character equally likely.
			if c < 248 && len(out) < cap(out) {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// StoreAdmin administers namespaces directly in a store.
type StoreAdmin struct{ Identities store.Identities }

// CreateUser creates namespace ns.
func (s StoreAdmin) CreateUser(ctx context.Context, ns string) (Credentials, error) {
	return CreateUser(ctx, s.Identities, ns)
}

// DeleteUser deletes namespace ns's identity.
func (s StoreAdmin) DeleteUser(ctx context.Context, ns string) error {
	return s.Identities.DeleteIdentity(ctx, ns)
}

// ListUsers lists namespaces.
func (s StoreAdmin) ListUsers(ctx context.Context) ([]string, error) {
	list, err := s.Identities.ListIdentities(ctx)
	return namespaces(list), err
}
