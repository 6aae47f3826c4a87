package store

import (
	"fmt"

	"github.com/gust-faas/gust/whisk"
)

// ErrInvalid reports an argument no store accepts: an empty or malformed
// namespace, an unknown collection, a negative skip or limit, a malformed
// digest, a KV value that is not an integer for KVIncr. It wraps
// whisk.ErrBadRequest, so the gateway answers 400 without knowing the store.
var ErrInvalid = fmt.Errorf("invalid store argument: %w", whisk.ErrBadRequest)
