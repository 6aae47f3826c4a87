package redis

import (
	"context"
	"fmt"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/internal/check"
)

// PutCode stores code under its digest with SET NX: the same code is written
// once. Code never expires; an action's update may orphan its old code.
func (s *Store) PutCode(ctx context.Context, code []byte) (string, error) {
	digest := store.Digest(code)
	if err := s.rdb.SetNX(ctx, s.k.code(digest), code, 0).Err(); err != nil {
		return "", fmt.Errorf("redis: put code %s: %w", digest, err)
	}
	return digest, nil
}

// GetCode is one GET.
func (s *Store) GetCode(ctx context.Context, digest string) ([]byte, error) {
	if err := check.Digest(digest); err != nil {
		return nil, err
	}
	code, err := s.rdb.Get(ctx, s.k.code(digest)).Bytes()
	if err != nil {
		return nil, notFound(err, "code "+digest)
	}
	return code, nil
}
