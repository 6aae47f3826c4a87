package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// txRetries bounds optimistic transactions that lose a race on their
// watched keys.
const txRetries = 16

// PutIdentity writes the identity under its namespace and its UUID in a
// WATCHed transaction, dropping the namespace's previous UUID.
func (s *Store) PutIdentity(ctx context.Context, id store.Identity) error {
	if err := check.Identity(&id); err != nil {
		return err
	}
	body, err := json.Marshal(id)
	if err != nil {
		return fmt.Errorf("redis: identity %s: %w", id.Namespace, err)
	}
	nsKey, uuidKey := s.k.identity(id.Namespace), s.k.identityUUID(id.UUID)
	put := func(tx *goredis.Tx) error {
		owner, err := getIdentity(ctx, tx, uuidKey)
		switch {
		case err == nil && owner.Namespace != id.Namespace:
			return fmt.Errorf("identity uuid %s belongs to another namespace: %w", id.UUID, store.ErrExists)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		old, err := getIdentity(ctx, tx, nsKey)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			if old.UUID != "" && old.UUID != id.UUID {
				p.Del(ctx, s.k.identityUUID(old.UUID))
			}
			p.Set(ctx, nsKey, body, 0)
			p.Set(ctx, uuidKey, body, 0)
			p.ZAdd(ctx, s.k.identities(), goredis.Z{Member: id.Namespace})
			return nil
		})
		return err
	}
	return s.watch(ctx, "put identity "+id.Namespace, put, nsKey, uuidKey)
}

// watch runs fn in a WATCH transaction, again while a watched key changes.
func (s *Store) watch(ctx context.Context, what string, fn func(*goredis.Tx) error, keys ...string) error {
	for range txRetries {
		err := s.rdb.Watch(ctx, fn, keys...)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, goredis.TxFailedErr):
			continue
		case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrNotFound):
			return err
		default:
			return fmt.Errorf("redis: %s: %w", what, err)
		}
	}
	return fmt.Errorf("redis: %s: %d transactions lost races: %w", what, txRetries, store.ErrConflict)
}

func getIdentity(ctx context.Context, c goredis.Cmdable, key string) (store.Identity, error) {
	var id store.Identity
	body, err := c.Get(ctx, key).Bytes()
	if err != nil {
		return id, notFound(err, "identity")
	}
	if err := json.Unmarshal(body, &id); err != nil {
		return id, fmt.Errorf("redis: %s: corrupt identity: %w", key, err)
	}
	return id, nil
}

// IdentityByUUID is one GET.
func (s *Store) IdentityByUUID(ctx context.Context, uuid string) (store.Identity, error) {
	if err := check.Text("uuid", uuid, check.MaxID); err != nil {
		return store.Identity{}, err
	}
	return getIdentity(ctx, s.rdb, s.k.identityUUID(uuid))
}

// IdentityByNamespace is one GET.
func (s *Store) IdentityByNamespace(ctx context.Context, namespace string) (store.Identity, error) {
	if err := check.Namespace(namespace); err != nil {
		return store.Identity{}, err
	}
	return getIdentity(ctx, s.rdb, s.k.identity(namespace))
}

// ListIdentities reads the namespaces, then their identities with one MGET.
func (s *Store) ListIdentities(ctx context.Context) ([]store.Identity, error) {
	names, err := s.rdb.ZRange(ctx, s.k.identities(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list identities: %w", err)
	}
	out := make([]store.Identity, 0, len(names))
	if len(names) == 0 {
		return out, nil
	}
	ks := make([]string, len(names))
	for i, n := range names {
		ks[i] = s.k.identity(n)
	}
	vals, err := s.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list identities: %w", err)
	}
	for i, v := range vals {
		body, ok := v.(string)
		if !ok {
			continue // deleted in between
		}
		var id store.Identity
		if err := json.Unmarshal([]byte(body), &id); err != nil {
			return nil, fmt.Errorf("redis: identity %s: corrupt: %w", names[i], err)
		}
		out = append(out, id)
	}
	return out, nil
}

// DeleteIdentity removes the identity, its UUID and its name in a WATCHed
// transaction.
func (s *Store) DeleteIdentity(ctx context.Context, namespace string) error {
	if err := check.Namespace(namespace); err != nil {
		return err
	}
	nsKey := s.k.identity(namespace)
	del := func(tx *goredis.Tx) error {
		old, err := getIdentity(ctx, tx, nsKey)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Del(ctx, nsKey, s.k.identityUUID(old.UUID))
			p.ZRem(ctx, s.k.identities(), namespace)
			return nil
		})
		return err
	}
	return s.watch(ctx, "delete identity "+namespace, del, nsKey)
}
