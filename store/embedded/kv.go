package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// A KV value is S8(expiry in epoch ms, 0 = none) followed by the bytes.

func kvExpiry(v []byte) int64 { return s8(v) }

func live(v []byte, now int64) bool {
	exp := kvExpiry(v)
	return exp == 0 || exp > now
}

// KVGet returns a copy of the value.
func (s *Store) KVGet(_ context.Context, namespace, key string) ([]byte, error) {
	if err := check.KVKey(namespace, key); err != nil {
		return nil, err
	}
	k := join(namespace, key)
	now := nowMs()
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bKV).Get(k)
		if len(v) < 8 || !live(v, now) {
			return fmt.Errorf("key %s/%s: %w", namespace, key, store.ErrNotFound)
		}
		out = bytes.Clone(v[8:])
		return nil
	})
	return out, err
}

// putKV writes value with expiry exp, replacing the old entry's expiry
// index entry.
func putKV(tx *bolt.Tx, k, old []byte, exp int64, value []byte) error {
	if len(old) >= 8 {
		if oldExp := kvExpiry(old); oldExp != 0 {
			if err := tx.Bucket(bKVExpiry).Delete(joinTime(nil, oldExp, string(k))); err != nil {
				return err
			}
		}
	}
	if exp != 0 {
		if err := tx.Bucket(bKVExpiry).Put(joinTime(nil, exp, string(k)), nil); err != nil {
			return err
		}
	}
	return tx.Bucket(bKV).Put(k, value)
}

// KVSet writes the value; ttl > 0 is rounded up to whole milliseconds.
func (s *Store) KVSet(ctx context.Context, namespace, key string, value []byte, ttl time.Duration) error {
	if err := check.KVKey(namespace, key); err != nil {
		return err
	}
	if err := check.TTL(ttl); err != nil {
		return err
	}
	var exp int64
	if ttl > 0 {
		exp = nowMs() + int64((ttl+time.Millisecond-1)/time.Millisecond)
	}
	k := join(namespace, key)
	v := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(v, uint64(exp))
	copy(v[8:], value)
	return s.update(ctx, func(tx *bolt.Tx) error {
		return putKV(tx, k, tx.Bucket(bKV).Get(k), exp, v)
	})
}

// KVDelete removes a live key.
func (s *Store) KVDelete(ctx context.Context, namespace, key string) error {
	if err := check.KVKey(namespace, key); err != nil {
		return err
	}
	k := join(namespace, key)
	return s.update(ctx, func(tx *bolt.Tx) error {
		old := tx.Bucket(bKV).Get(k)
		if len(old) < 8 || !live(old, nowMs()) {
			return fmt.Errorf("key %s/%s: %w", namespace, key, store.ErrNotFound)
		}
		if exp := kvExpiry(old); exp != 0 {
			if err := tx.Bucket(bKVExpiry).Delete(joinTime(nil, exp, string(k))); err != nil {
				return err
			}
		}
		return tx.Bucket(bKV).Delete(k)
	})
}

// KVIncr adds by to the decimal value (a missing or expired key counts as
// 0) and keeps the key's expiry.
func (s *Store) KVIncr(ctx context.Context, namespace, key string, by int64) (int64, error) {
	if err := check.KVKey(namespace, key); err != nil {
		return 0, err
	}
	k := join(namespace, key)
	var result int64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old := tx.Bucket(bKV).Get(k)
		var n, exp int64
		if len(old) >= 8 && live(old, nowMs()) {
			exp = kvExpiry(old)
			var err error
			if n, err = parseInt(old[8:]); err != nil {
				return fmt.Errorf("%w: incr key %s/%s: %v", store.ErrInvalid, namespace, key, err)
			}
		}
		sum := n + by
		if (by > 0 && sum < n) || (by < 0 && sum > n) {
			return fmt.Errorf("%w: incr key %s/%s: %d + %d overflows int64", store.ErrInvalid, namespace, key, n, by)
		}
		v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+20), uint64(exp))
		v = strconv.AppendInt(v, sum, 10)
		if err := putKV(tx, k, old, exp, v); err != nil {
			return err
		}
		result = sum
		return nil
	})
	return result, err
}

// parseInt accepts what Redis's INCRBY does: the canonical decimal form of
// an int64, no sign '+', spaces or leading zeros.
func parseInt(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != string(b) {
		return 0, fmt.Errorf("value %.40q is not an integer or out of range", b)
	}
	return n, nil
}

// KVKeys walks the namespace's keys from the prefix on, in byte order,
// skipping expired ones.
func (s *Store) KVKeys(_ context.Context, namespace, prefix string, limit int) ([]string, error) {
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
	from := join(namespace, prefix)
	skip := len(namespace) + 1
	now := nowMs()
	out := []string{}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bKV).Cursor()
		for k, v := c.Seek(from); k != nil && bytes.HasPrefix(k, from); k, v = c.Next() {
			if len(v) < 8 || !live(v, now) {
				continue
			}
			out = append(out, string(k[skip:]))
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
