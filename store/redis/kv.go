package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// scanCount is the COUNT hint of each SCAN step.
const scanCount = 1000

// KVGet is one GET.
func (s *Store) KVGet(ctx context.Context, namespace, key string) ([]byte, error) {
	if err := check.KVKey(namespace, key); err != nil {
		return nil, err
	}
	v, err := s.rdb.Get(ctx, s.k.kv(namespace, key)).Bytes()
	if err != nil {
		return nil, notFound(err, "key "+namespace+"/"+key)
	}
	return v, nil
}

// KVSet is one SET, with PX when ttl > 0 (rounded up to whole milliseconds).
func (s *Store) KVSet(ctx context.Context, namespace, key string, value []byte, ttl time.Duration) error {
	if err := check.KVKey(namespace, key); err != nil {
		return err
	}
	if err := check.TTL(ttl); err != nil {
		return err
	}
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	if err := s.rdb.Set(ctx, s.k.kv(namespace, key), value, ttl).Err(); err != nil {
		return fmt.Errorf("redis: set key %s/%s: %w", namespace, key, err)
	}
	return nil
}

// KVDelete is one DEL.
func (s *Store) KVDelete(ctx context.Context, namespace, key string) error {
	if err := check.KVKey(namespace, key); err != nil {
		return err
	}
	n, err := s.rdb.Del(ctx, s.k.kv(namespace, key)).Result()
	if err != nil {
		return fmt.Errorf("redis: delete key %s/%s: %w", namespace, key, err)
	}
	if n == 0 {
		return fmt.Errorf("key %s/%s: %w", namespace, key, store.ErrNotFound)
	}
	return nil
}

// KVIncr is one INCRBY.
func (s *Store) KVIncr(ctx context.Context, namespace, key string, by int64) (int64, error) {
	if err := check.KVKey(namespace, key); err != nil {
		return 0, err
	}
	n, err := s.rdb.IncrBy(ctx, s.k.kv(namespace, key), by).Result()
	if err != nil {
		if isNotInteger(err) {
			return 0, fmt.Errorf("%w: incr key %s/%s by %d: %v", store.ErrInvalid, namespace, key, by, err)
		}
		return 0, fmt.Errorf("redis: incr key %s/%s: %w", namespace, key, err)
	}
	return n, nil
}

// KVKeys scans the keyspace for the namespace's keys starting with prefix
// and returns them sorted, at most limit (0 = all).
func (s *Store) KVKeys(ctx context.Context, namespace, prefix string, limit int) ([]string, error) {
	if err := check.Namespace(namespace); err != nil {
		return nil, err
	}
	if prefix != "" {
		if err := check.Text("key prefix", prefix, check.MaxKVKey); err != nil {
			return nil, err
		}
	}
	if err := check.Page(0, limit); err != nil {
		return nil, err
	}
	strip := len(s.k.kv(namespace, ""))
	out := []string{}
	it := s.rdb.Scan(ctx, 0, s.k.kvPattern(namespace, prefix), scanCount).Iterator()
	for it.Next(ctx) {
		// SCAN may return a key twice when the table is rehashed.
		out = append(out, strings.Clone(it.Val()[strip:]))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("redis: keys of %s: %w", namespace, err)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
