package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// PutEntity writes the document and indexes its name in one MULTI. Without
// overwrite the write is SET NX, so of racing creators exactly one wins.
func (s *Store) PutEntity(ctx context.Context, k store.Key, doc []byte, overwrite bool) error {
	if err := check.Entity(k, doc); err != nil {
		return err
	}
	var created *goredis.BoolCmd
	cmds, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		if overwrite {
			p.Set(ctx, s.k.entity(k.Namespace, k.Collection, k.Name), doc, 0)
		} else {
			created = p.SetNX(ctx, s.k.entity(k.Namespace, k.Collection, k.Name), doc, 0)
		}
		// Re-adding a member is a no-op, so this is right whether or not
		// the SET NX took.
		p.ZAdd(ctx, s.k.entityIndex(k.Namespace, k.Collection), goredis.Z{Member: k.Name})
		return nil
	})
	if err := execErr(cmds, err); err != nil {
		return fmt.Errorf("redis: put entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, err)
	}
	if created != nil && !created.Val() {
		return fmt.Errorf("entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, store.ErrExists)
	}
	return nil
}

// GetEntity is one GET.
func (s *Store) GetEntity(ctx context.Context, k store.Key) ([]byte, error) {
	if err := check.Key(k); err != nil {
		return nil, err
	}
	doc, err := s.rdb.Get(ctx, s.k.entity(k.Namespace, k.Collection, k.Name)).Bytes()
	if err != nil {
		return nil, notFound(err, "entity "+k.Namespace+"/"+k.Collection+"/"+k.Name)
	}
	return doc, nil
}

// DeleteEntity removes the document and its name in one MULTI.
func (s *Store) DeleteEntity(ctx context.Context, k store.Key) error {
	if err := check.Key(k); err != nil {
		return err
	}
	var del *goredis.IntCmd
	cmds, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		del = p.Del(ctx, s.k.entity(k.Namespace, k.Collection, k.Name))
		p.ZRem(ctx, s.k.entityIndex(k.Namespace, k.Collection), k.Name)
		return nil
	})
	if err := execErr(cmds, err); err != nil {
		return fmt.Errorf("redis: delete entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, err)
	}
	if del.Val() == 0 {
		return fmt.Errorf("entity %s/%s/%s: %w", k.Namespace, k.Collection, k.Name, store.ErrNotFound)
	}
	return nil
}

// ListEntities reads the page of names and the total in one MULTI, then the
// documents with one MGET. A document deleted in between is left out.
func (s *Store) ListEntities(ctx context.Context, namespace, collection, prefix string, skip, limit int) ([][]byte, int, error) {
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
	index := s.k.entityIndex(namespace, collection)
	lo, hi := lexRange(prefix)
	count := int64(limit)
	if limit == 0 {
		count = -1
	}
	var total *goredis.IntCmd
	var names *goredis.StringSliceCmd
	cmds, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		total = p.ZLexCount(ctx, index, lo, hi)
		names = p.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: index, Start: lo, Stop: hi, ByLex: true, Offset: int64(skip), Count: count})
		return nil
	})
	if err := execErr(cmds, err); err != nil {
		return nil, 0, fmt.Errorf("redis: list %s/%s: %w", namespace, collection, err)
	}
	if len(names.Val()) == 0 {
		return [][]byte{}, int(total.Val()), nil
	}
	ks := make([]string, len(names.Val()))
	for i, n := range names.Val() {
		ks[i] = s.k.entity(namespace, collection, n)
	}
	vals, err := s.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("redis: list %s/%s: %w", namespace, collection, err)
	}
	docs := make([][]byte, 0, len(vals))
	for _, v := range vals {
		if str, ok := v.(string); ok {
			docs = append(docs, []byte(str))
		}
	}
	return docs, int(total.Val()), nil
}
