package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
	"github.com/gust-faas/gust/whisk"
)

// PutActivation writes the record and indexes it in one round trip (see
// doc.go). The first write of an id wins.
func (s *Store) PutActivation(ctx context.Context, a *whisk.Activation) error {
	name, err := check.Activation(a)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	expires := a.Start + s.retentionMs
	if expires <= now {
		return nil // already past the retention: there is nothing to keep
	}
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("%w: activation %s: %v", store.ErrInvalid, a.ActivationID, err)
	}
	stale := strconv.FormatInt(now-s.retentionMs, 10)
	member := goredis.Z{Score: float64(a.Start), Member: a.ActivationID}
	cmds, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SetArgs(ctx, s.k.activation(a.Namespace, a.ActivationID), body,
			goredis.SetArgs{Mode: "NX", ExpireAt: time.UnixMilli(expires)})
		for _, index := range [2]string{s.k.activationIndex(a.Namespace), s.k.nameIndex(a.Namespace, name)} {
			p.ZRemRangeByScore(ctx, index, "-inf", stale) // before ZADD NX: a reused id re-indexes
			p.ZAddNX(ctx, index, member)
			p.PExpire(ctx, index, s.indexTTL)
		}
		return nil
	})
	if err := execErr(cmds, err); err != nil {
		return fmt.Errorf("redis: put activation %s/%s: %w", a.Namespace, a.ActivationID, err)
	}
	return nil
}

// GetActivation is one GET.
func (s *Store) GetActivation(ctx context.Context, namespace, id string) (*whisk.Activation, error) {
	if err := check.Namespace(namespace); err != nil {
		return nil, err
	}
	if err := check.Text("activation id", id, check.MaxID); err != nil {
		return nil, err
	}
	body, err := s.rdb.Get(ctx, s.k.activation(namespace, id)).Bytes()
	if err != nil {
		return nil, notFound(err, "activation "+namespace+"/"+id)
	}
	a := new(whisk.Activation)
	if err := json.Unmarshal(body, a); err != nil {
		return nil, fmt.Errorf("redis: activation %s/%s: corrupt record: %w", namespace, id, err)
	}
	return a, nil
}

// scoreRange is the index, the inclusive Start bounds (hi -1 = none) and
// the stale bound of f at now; ok is false when nothing can match.
func (s *Store) scoreRange(namespace string, f *store.ActivationFilter) (index, lo, hi, stale string, ok bool) {
	index = s.k.activationIndex(namespace)
	if f.Name != "" {
		index = s.k.nameIndex(namespace, f.Name)
	}
	now := time.Now().UnixMilli()
	min := max(f.Since, now-s.retentionMs+1) // alive: Start + retention > now
	stale = strconv.FormatInt(now-s.retentionMs, 10)
	lo, hi = strconv.FormatInt(min, 10), "+inf"
	if f.Upto != 0 {
		if f.Upto < min {
			return "", "", "", "", false
		}
		hi = strconv.FormatInt(f.Upto, 10)
	}
	return index, lo, hi, stale, true
}

// ListActivations reads a page of ids, newest first, then the records.
func (s *Store) ListActivations(ctx context.Context, namespace string, f store.ActivationFilter) ([]*whisk.Activation, error) {
	if err := check.Namespace(namespace); err != nil {
		return nil, err
	}
	if err := check.Filter(&f); err != nil {
		return nil, err
	}
	index, lo, hi, stale, ok := s.scoreRange(namespace, &f)
	if !ok {
		return []*whisk.Activation{}, nil
	}
	count := int64(f.Limit)
	if f.Limit == 0 {
		count = -1
	}
	var ids *goredis.StringSliceCmd
	cmds, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, index, "-inf", stale)
		ids = p.ZRangeArgs(ctx, goredis.ZRangeArgs{Key: index, Start: hi, Stop: lo, ByScore: true, Rev: true, Offset: int64(f.Skip), Count: count})
		return nil
	})
	if err := execErr(cmds, err); err != nil {
		return nil, fmt.Errorf("redis: list activations of %s: %w", namespace, err)
	}
	if len(ids.Val()) == 0 {
		return []*whisk.Activation{}, nil
	}
	ks := make([]string, len(ids.Val()))
	for i, id := range ids.Val() {
		ks[i] = s.k.activation(namespace, id)
	}
	vals, err := s.rdb.MGet(ctx, ks...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list activations of %s: %w", namespace, err)
	}
	out := make([]*whisk.Activation, 0, len(vals))
	var gone []any
	for i, v := range vals {
		body, ok := v.(string)
		if !ok {
			gone = append(gone, ids.Val()[i])
			continue
		}
		a := new(whisk.Activation)
		if err := json.Unmarshal([]byte(body), a); err != nil {
			return nil, fmt.Errorf("redis: activation %s/%s: corrupt record: %w", namespace, ids.Val()[i], err)
		}
		out = append(out, a)
	}
	if len(gone) > 0 {
		// Records evicted before their time: forget them. Failing here
		// only leaves the work to the next list.
		_ = s.rdb.ZRem(ctx, index, gone...).Err()
	}
	return out, nil
}

// CountActivations is one ZCOUNT (after pruning), less Skip.
func (s *Store) CountActivations(ctx context.Context, namespace string, f store.ActivationFilter) (int, error) {
	if err := check.Namespace(namespace); err != nil {
		return 0, err
	}
	if err := check.Filter(&f); err != nil {
		return 0, err
	}
	index, lo, hi, stale, ok := s.scoreRange(namespace, &f)
	if !ok {
		return 0, nil
	}
	var n *goredis.IntCmd
	cmds, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, index, "-inf", stale)
		n = p.ZCount(ctx, index, lo, hi)
		return nil
	})
	if err := execErr(cmds, err); err != nil {
		return 0, fmt.Errorf("redis: count activations of %s: %w", namespace, err)
	}
	return max(int(n.Val())-f.Skip, 0), nil
}
