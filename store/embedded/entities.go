package embedded

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// PutEntity writes the document; without overwrite an existing key fails
// with ErrExists.
func (s *Store) PutEntity(ctx context.Context, k store.Key, doc []byte, overwrite bool) error {
	if err := check.Entity(k, doc); err != nil {
		return err
	}
	key := join(k.Namespace, k.Collection, k.Name)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bEntities)
		if !overwrite && b.Get(key) != nil {
			return fmt.Errorf("entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, store.ErrExists)
		}
		return b.Put(key, doc)
	})
}

// GetEntity returns a copy of the document.
func (s *Store) GetEntity(_ context.Context, k store.Key) ([]byte, error) {
	if err := check.Key(k); err != nil {
		return nil, err
	}
	key := join(k.Namespace, k.Collection, k.Name)
	var doc []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bEntities).Get(key)
		if v == nil {
			return fmt.Errorf("entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, store.ErrNotFound)
		}
		doc = bytes.Clone(v)
		return nil
	})
	return doc, err
}

// DeleteEntity removes the document.
func (s *Store) DeleteEntity(ctx context.Context, k store.Key) error {
	if err := check.Key(k); err != nil {
		return err
	}
	key := join(k.Namespace, k.Collection, k.Name)
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bEntities)
		if b.Get(key) == nil {
			return fmt.Errorf("entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, store.ErrNotFound)
		}
		return b.Delete(key)
	})
}

// ListEntities walks the collection's keys from the prefix on, in name
// order, copying the documents of the page.
func (s *Store) ListEntities(_ context.Context, namespace, collection, prefix string, skip, limit int) ([][]byte, int, error) {
	if err := check.Namespace(namespace); err != nil {
		return nil, 0, err
	}
	if err := check.Collection(collection); err != nil {
		return nil, 0, err
	}
	if err := check.Prefix(prefix); err != nil {
		return nil, 0, err
	}
	if err := check.Page(skip, limit); err != nil {
		return nil, 0, err
	}
	from := join(namespace, collection, prefix)
	docs := [][]byte{}
	total := 0
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEntities).Cursor()
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, from); k, v = c.Next() {
			if total >= skip && (limit == 0 || len(docs) < limit) {
				docs = append(docs, bytes.Clone(v))
			}
			total++
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return docs, total, nil
}

// PutCode stores code under its digest, once.
func (s *Store) PutCode(ctx context.Context, code []byte) (string, error) {
	digest := store.Digest(code)
	key := []byte(digest)
	exists := false
	_ = s.view(func(tx *bolt.Tx) error {
		exists = tx.Bucket(bCodes).Get(key) != nil
		return nil
	})
	if exists {
		return digest, nil // no write, no fsync
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bCodes)
		if b.Get(key) != nil {
			return nil
		}
		return b.Put(key, code)
	})
	if err != nil {
		return "", err
	}
	return digest, nil
}

// GetCode returns a copy of the code.
func (s *Store) GetCode(_ context.Context, digest string) ([]byte, error) {
	if err := check.Digest(digest); err != nil {
		return nil, err
	}
	var code []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bCodes).Get([]byte(digest))
		if v == nil {
			return fmt.Errorf("code %s: %w", digest, store.ErrNotFound)
		}
		code = bytes.Clone(v)
		return nil
	})
	return code, err
}
