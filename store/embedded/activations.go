package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
	"github.com/gust-faas/gust/whisk"
)

// PutActivation writes the record and its three index entries in a group
// commit. The first write of an id wins; a record already past the
// retention is not written.
func (s *Store) PutActivation(ctx context.Context, a *whisk.Activation) error {
	fn, err := s.putActivationFn(a)
	if err != nil || fn == nil {
		return err
	}
	return s.update(ctx, fn)
}

// PutActivations writes several records as PutActivation does, all in the
// same group commit (the invoker's recorder uses it: invoker.BatchPutter).
// Each record is its own write: one that fails does not fail the others.
// The error is the first record's error; the caller may retry them one by
// one, as writing a record twice is harmless (the first write wins).
//
// Measured: with PutActivation alone the recorder writes its batches one
// record at a time, each waiting for its own commit (two fdatasyncs): one
// client's no-op invocations (gust bench warm) made 1,113 fdatasyncs a
// second and bbolt took 37% of gust up's CPU; batched, far fewer (see the
// recorder in invoker/recorder.go).
func (s *Store) PutActivations(ctx context.Context, as []*whisk.Activation) error {
	fns := make([]func(*bolt.Tx) error, 0, len(as))
	for _, a := range as {
		fn, err := s.putActivationFn(a)
		if err != nil {
			return err
		}
		if fn != nil {
			fns = append(fns, fn)
		}
	}
	return s.updateAll(ctx, fns)
}

// putActivationFn checks and encodes a and returns the write transaction
// function that stores it; nil when a is already past the retention.
func (s *Store) putActivationFn(a *whisk.Activation) (func(*bolt.Tx) error, error) {
	name, err := check.Activation(a)
	if err != nil {
		return nil, err
	}
	now := nowMs()
	if a.Start+s.retentionMs <= now {
		return nil, nil
	}
	// S8(start) then the JSON, built in one buffer.
	value := binary.BigEndian.AppendUint64(make([]byte, 0, 1024), uint64(a.Start))
	value = append(a.AppendJSON(value), '\n')
	ns, id := a.Namespace, a.ActivationID
	key := join(ns, id)
	byTime := joinTime(join(ns, ""), a.Start, id)
	byName := joinTime(join(ns, name, ""), a.Start, id)
	expiry := joinTime(nil, a.Start, string(key))
	return func(tx *bolt.Tx) error {
		acts := tx.Bucket(bActs)
		if old := acts.Get(key); old != nil {
			oldStart := s8(old)
			if oldStart+s.retentionMs > now {
				return nil // the first write won
			}
			// An expired record the sweeper has not reached: replace it.
			if err := s.deleteActivation(tx, ns, id, oldStart); err != nil {
				return err
			}
		}
		if err := acts.Put(key, value); err != nil {
			return err
		}
		if err := tx.Bucket(bActsByTime).Put(byTime, nil); err != nil {
			return err
		}
		if err := queueName(tx, byName); err != nil {
			return err
		}
		return tx.Bucket(bActsExpiry).Put(expiry, []byte(name))
	}, nil
}

// queueName appends an activations.name key to activations.name.new; see
// "The name index, deferred" in the package comment.
func queueName(tx *bolt.Tx, byName []byte) error {
	b := tx.Bucket(bActsNameNew)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return b.Put(binary.BigEndian.AppendUint64(nil, seq), byName)
}

// moveNames moves the queued activations.name keys of live records into
// activations.name and empties the queue.
func moveNames(tx *bolt.Tx) error {
	queue, byName, acts := tx.Bucket(bActsNameNew), tx.Bucket(bActsByName), tx.Bucket(bActs)
	c := queue.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		if ns, start, id, ok := splitNameKey(v); ok {
			if rec := acts.Get(join(ns, id)); len(rec) >= 8 && s8(rec) == start {
				if err := byName.Put(bytes.Clone(v), nil); err != nil {
					return err
				}
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// splitNameKey returns the namespace, start and id of an activations.name
// key: ns NUL name NUL S8(start) id.
func splitNameKey(k []byte) (ns string, start int64, id string, ok bool) {
	i := bytes.IndexByte(k, 0)
	if i < 0 {
		return "", 0, "", false
	}
	j := bytes.IndexByte(k[i+1:], 0)
	if j < 0 || len(k) < i+1+j+1+8 {
		return "", 0, "", false
	}
	t := k[i+1+j+1:]
	return string(k[:i]), s8(t), string(t[8:]), true
}

// namesQueued tells whether activations.name.new holds keys.
func (s *Store) namesQueued() bool {
	queued := false
	s.view(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bActsNameNew).Cursor().First()
		queued = k != nil
		return nil
	})
	return queued
}

// settleNames moves the queued name keys before a read of activations.name.
func (s *Store) settleNames(ctx context.Context, f *store.ActivationFilter) error {
	if f.Name == "" || !s.namesQueued() {
		return nil
	}
	return s.update(ctx, moveNames)
}

// deleteActivation removes the record of (ns, id) that started at start,
// and its index entries.
func (s *Store) deleteActivation(tx *bolt.Tx, ns, id string, start int64) error {
	key := join(ns, id)
	if v := tx.Bucket(bActs).Get(key); len(v) >= 8 && s8(v) == start {
		if err := tx.Bucket(bActs).Delete(key); err != nil {
			return err
		}
	}
	expiry := joinTime(nil, start, string(key))
	name := string(tx.Bucket(bActsExpiry).Get(expiry))
	for _, del := range []struct {
		bucket []byte
		key    []byte
	}{
		{bActsByTime, joinTime(join(ns, ""), start, id)},
		{bActsByName, joinTime(join(ns, name, ""), start, id)},
		{bActsExpiry, expiry},
	} {
		if err := tx.Bucket(del.bucket).Delete(del.key); err != nil {
			return err
		}
	}
	return nil
}

// GetActivation decodes the record straight from the file's memory.
func (s *Store) GetActivation(_ context.Context, namespace, id string) (*whisk.Activation, error) {
	if err := check.Namespace(namespace); err != nil {
		return nil, err
	}
	if err := check.Text("activation id", id, check.MaxID); err != nil {
		return nil, err
	}
	key := join(namespace, id)
	alive := nowMs() - s.retentionMs // records with Start > alive
	var a *whisk.Activation
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bActs).Get(key)
		if v == nil || s8(v) <= alive {
			return fmt.Errorf("activation %s/%s: %w", namespace, id, store.ErrNotFound)
		}
		var err error
		a, err = decodeActivation(v)
		return err
	})
	return a, err
}

func decodeActivation(v []byte) (*whisk.Activation, error) {
	a := new(whisk.Activation)
	if len(v) < 8 {
		return nil, fmt.Errorf("embedded: corrupt activation record of %d bytes", len(v))
	}
	// Unmarshal copies what it keeps, so v may be the file's memory.
	if err := json.Unmarshal(v[8:], a); err != nil {
		return nil, fmt.Errorf("embedded: corrupt activation record: %w", err)
	}
	return a, nil
}

// scan calls fn with the ids of the namespace's live records that match f,
// newest first, until fn returns false.
func (s *Store) scan(tx *bolt.Tx, namespace string, f *store.ActivationFilter, fn func(id []byte) bool) {
	prefix := join(namespace, "")
	bucket := bActsByTime
	if f.Name != "" {
		prefix = join(namespace, f.Name, "")
		bucket = bActsByName
	}
	lo := max(f.Since, nowMs()-s.retentionMs+1)
	hi := int64(math.MaxInt64)
	if f.Upto != 0 {
		hi = f.Upto
	}
	if hi < lo {
		return
	}
	c := tx.Bucket(bucket).Cursor()
	// Seek to the first key past hi, then walk back.
	end := binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(hi)+1)
	k, _ := c.Seek(end)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(k) >= len(prefix)+8; k, _ = c.Prev() {
		if s8(k[len(prefix):]) < lo {
			return
		}
		if !fn(k[len(prefix)+8:]) {
			return
		}
	}
}

// ListActivations walks an index newest first and decodes the page.
func (s *Store) ListActivations(ctx context.Context, namespace string, f store.ActivationFilter) ([]*whisk.Activation, error) {
	if err := check.Namespace(namespace); err != nil {
		return nil, err
	}
	if err := check.Filter(&f); err != nil {
		return nil, err
	}
	if err := s.settleNames(ctx, &f); err != nil {
		return nil, err
	}
	out := []*whisk.Activation{}
	err := s.view(func(tx *bolt.Tx) error {
		acts := tx.Bucket(bActs)
		key := join(namespace, "")
		skip := f.Skip
		var err error
		s.scan(tx, namespace, &f, func(id []byte) bool {
			if skip > 0 {
				skip--
				return true
			}
			v := acts.Get(append(key, id...))
			if v == nil {
				return true
			}
			var a *whisk.Activation
			if a, err = decodeActivation(v); err != nil {
				return false
			}
			out = append(out, a)
			return f.Limit == 0 || len(out) < f.Limit
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CountActivations walks an index without decoding records.
func (s *Store) CountActivations(ctx context.Context, namespace string, f store.ActivationFilter) (int, error) {
	if err := check.Namespace(namespace); err != nil {
		return 0, err
	}
	if err := check.Filter(&f); err != nil {
		return 0, err
	}
	if err := s.settleNames(ctx, &f); err != nil {
		return 0, err
	}
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		s.scan(tx, namespace, &f, func([]byte) bool { n++; return true })
		return nil
	})
	return max(n-f.Skip, 0), err
}
