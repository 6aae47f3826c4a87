package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// PutIdentity writes the identity and its UUID, dropping the namespace's
// previous UUID.
func (s *Store) PutIdentity(ctx context.Context, id store.Identity) error {
	if err := check.Identity(&id); err != nil {
		return err
	}
	body, err := json.Marshal(id)
	if err != nil {
		return fmt.Errorf("embedded: identity %s: %w", id.Namespace, err)
	}
	ns, uuid := []byte(id.Namespace), []byte(id.UUID)
	return s.update(ctx, func(tx *bolt.Tx) error {
		ids, uuids := tx.Bucket(bIdentities), tx.Bucket(bIdentityIDs)
		if owner := uuids.Get(uuid); owner != nil && string(owner) != id.Namespace {
			return fmt.Errorf("identity uuid %s belongs to another namespace: %w", id.UUID, store.ErrExists)
		}
		if old := ids.Get(ns); old != nil {
			var prev store.Identity
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("embedded: identity %s: corrupt: %w", id.Namespace, err)
			}
			if prev.UUID != id.UUID {
				if err := uuids.Delete([]byte(prev.UUID)); err != nil {
					return err
				}
			}
		}
		if err := ids.Put(ns, body); err != nil {
			return err
		}
		return uuids.Put(uuid, ns)
	})
}

// IdentityByUUID reads the UUID's namespace, then its identity, in one
// read transaction.
func (s *Store) IdentityByUUID(_ context.Context, uuid string) (store.Identity, error) {
	var id store.Identity
	if err := check.Text("uuid", uuid, check.MaxID); err != nil {
		return id, err
	}
	err := s.view(func(tx *bolt.Tx) error {
		ns := tx.Bucket(bIdentityIDs).Get([]byte(uuid))
		if ns == nil {
			return fmt.Errorf("identity uuid %s: %w", uuid, store.ErrNotFound)
		}
		return getIdentity(tx, ns, &id)
	})
	return id, err
}

// IdentityByNamespace reads the namespace's identity.
func (s *Store) IdentityByNamespace(_ context.Context, namespace string) (store.Identity, error) {
	var id store.Identity
	if err := check.Namespace(namespace); err != nil {
		return id, err
	}
	err := s.view(func(tx *bolt.Tx) error { return getIdentity(tx, []byte(namespace), &id) })
	return id, err
}

func getIdentity(tx *bolt.Tx, ns []byte, id *store.Identity) error {
	v := tx.Bucket(bIdentities).Get(ns)
	if v == nil {
		return fmt.Errorf("identity %s: %w", ns, store.ErrNotFound)
	}
	if err := json.Unmarshal(v, id); err != nil {
		return fmt.Errorf("embedded: identity %s: corrupt: %w", ns, err)
	}
	return nil
}

// ListIdentities returns every identity, by namespace.
func (s *Store) ListIdentities(context.Context) ([]store.Identity, error) {
	out := []store.Identity{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bIdentities).ForEach(func(k, v []byte) error {
			var id store.Identity
			if err := json.Unmarshal(v, &id); err != nil {
				return fmt.Errorf("embedded: identity %s: corrupt: %w", k, err)
			}
			out = append(out, id)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteIdentity removes the identity and its UUID.
func (s *Store) DeleteIdentity(ctx context.Context, namespace string) error {
	if err := check.Namespace(namespace); err != nil {
		return err
	}
	ns := []byte(namespace)
	return s.update(ctx, func(tx *bolt.Tx) error {
		var id store.Identity
		if err := getIdentity(tx, ns, &id); err != nil {
			return err
		}
		if err := tx.Bucket(bIdentityIDs).Delete([]byte(id.UUID)); err != nil {
			return err
		}
		return tx.Bucket(bIdentities).Delete(ns)
	})
}
