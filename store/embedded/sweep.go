package embedded

import (
	"bytes"
	"context"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepChunk bounds the deletions of one transaction, so that a sweep after
// a long pause never holds the writer for long.
const sweepChunk = 1000

// sweepLoop deletes expired records and keys every interval until Close.
func (s *Store) sweepLoop(interval time.Duration) {
	defer s.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopSweep:
			return
		case <-t.C:
			if _, err := s.sweep(); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Warn("sweeping expired records failed", "err", err)
			}
		}
	}
}

// sweep deletes what expired by now, chunk by chunk, and reports how many
// activation records and KV entries it deleted.
func (s *Store) sweep() (deleted int, err error) {
	for _, f := range []func(*bolt.Tx, int64) (int, error){s.sweepActivations, sweepKV} {
		for {
			select {
			case <-s.stopSweep:
				return deleted, nil
			default:
			}
			n := 0
			now := nowMs()
			err := s.update(context.Background(), func(tx *bolt.Tx) (err error) {
				n, err = f(tx, now)
				return err
			})
			if err != nil {
				return deleted, err
			}
			deleted += n
			if n < sweepChunk {
				break
			}
		}
	}
	return deleted, nil
}

// sweepActivations deletes up to sweepChunk records whose Start is a
// retention old, oldest first.
func (s *Store) sweepActivations(tx *bolt.Tx, now int64) (int, error) {
	type victim struct {
		ns, id string
		start  int64
	}
	var victims []victim
	c := tx.Bucket(bActsExpiry).Cursor()
	for k, _ := c.First(); k != nil && len(victims) < sweepChunk; k, _ = c.Next() {
		start := s8(k)
		if start+s.retentionMs > now {
			break
		}
		ns, id, ok := bytes.Cut(k[8:], []byte{0})
		if !ok {
			continue // not written by this package; leave it
		}
		victims = append(victims, victim{string(ns), string(id), start})
	}
	for _, v := range victims {
		if err := s.deleteActivation(tx, v.ns, v.id, v.start); err != nil {
			return 0, err
		}
	}
	return len(victims), nil
}

// sweepKV deletes up to sweepChunk expired KV entries, oldest first.
func sweepKV(tx *bolt.Tx, now int64) (int, error) {
	var victims [][]byte // expiry index keys
	c := tx.Bucket(bKVExpiry).Cursor()
	for k, _ := c.First(); k != nil && len(victims) < sweepChunk; k, _ = c.Next() {
		if s8(k) > now {
			break
		}
		victims = append(victims, bytes.Clone(k))
	}
	kv, exp := tx.Bucket(bKV), tx.Bucket(bKVExpiry)
	for _, k := range victims {
		// Delete the entry only if it still has this expiry.
		if v := kv.Get(k[8:]); len(v) >= 8 && kvExpiry(v) == s8(k) {
			if err := kv.Delete(k[8:]); err != nil {
				return 0, err
			}
		}
		if err := exp.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(victims), nil
}
