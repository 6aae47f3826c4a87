package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Length limits, in bytes.
const (
	MaxNamespace = whisk.MaxNameLength
	MaxName      = 2*whisk.MaxNameLength + 1 // "pkg/name"
	MaxID        = 256                       // activation ids and UUIDs
	MaxKVKey     = 1024
)

var nsByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_@ .-" {
		t[c] = true
	}
	return t
}()

// Namespace checks a namespace name.
func Namespace(ns string) error {
	if ns == "" || len(ns) > MaxNamespace {
		return fmt.Errorf("%w: namespace must be 1 to %d bytes long, got %d", store.ErrInvalid, MaxNamespace, len(ns))
	}
	for i := 0; i < len(ns); i++ {
		if !nsByte[ns[i]] {
			return fmt.Errorf("%w: namespace %q holds %q", store.ErrInvalid, ns, ns[i])
		}
	}
	return nil
}

// Collection checks an entity collection.
func Collection(c string) error {
	switch c {
	case store.Actions, store.Packages, store.Triggers, store.Rules:
		return nil
	}
	return fmt.Errorf("%w: unknown collection %q", store.ErrInvalid, c)
}

// Key checks an entity key.
func Key(k store.Key) error {
	if err := Namespace(k.Namespace); err != nil {
		return err
	}
	if err := Collection(k.Collection); err != nil {
		return err
	}
	return Text("entity name", k.Name, MaxName)
}

// Entity checks the key and the document of an entity write.
func Entity(k store.Key, doc []byte) error {
	if err := Key(k); err != nil {
		return err
	}
	if len(doc) == 0 {
		return fmt.Errorf("%w: empty entity document", store.ErrInvalid)
	}
	return nil
}

// Text checks a non-empty string of at most max bytes without NUL.
func Text(what, s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%w: %s must be 1 to %d bytes long, got %d", store.ErrInvalid, what, max, len(s))
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q holds a NUL byte", store.ErrInvalid, what, s)
	}
	return nil
}

// Prefix checks a listing prefix: empty, or a valid name start.
func Prefix(p string) error {
	if p == "" {
		return nil
	}
	return Text("prefix", p, MaxName)
}

// Page checks skip and limit.
func Page(skip, limit int) error {
	if skip < 0 || limit < 0 {
		return fmt.Errorf("%w: skip (%d) and limit (%d) must not be negative", store.ErrInvalid, skip, limit)
	}
	return nil
}

// Digest checks a code digest: 64 lowercase hex digits.
func Digest(d string) error {
	if !IsHexSHA256(d) {
		return fmt.Errorf("%w: code digest %q is not a lowercase hex SHA-256", store.ErrInvalid, d)
	}
	return nil
}

// IsHexSHA256 reports whether s is 64 lowercase hex digits.
func IsHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Activation checks a record before it is stored and returns the name
// ActivationFilter.Name matches it by.
func Activation(a *whisk.Activation) (name string, err error) {
	if a == nil {
		return "", fmt.Errorf("%w: nil activation", store.ErrInvalid)
	}
	if err := Namespace(a.Namespace); err != nil {
		return "", err
	}
	if err := Text("activation id", a.ActivationID, MaxID); err != nil {
		return "", err
	}
	if a.Start < 0 {
		return "", fmt.Errorf("%w: activation start %d is negative", store.ErrInvalid, a.Start)
	}
	name = store.ActivationName(a)
	if err := Text("activation name", name, MaxName); err != nil {
		return "", err
	}
	// Records are encoded with their raw values as they are
	// (whisk.Activation.AppendJSON): those must be JSON.
	if len(a.Response.Result) > 0 && !json.Valid(a.Response.Result) {
		return "", fmt.Errorf("%w: activation %s: the result is not JSON", store.ErrInvalid, a.ActivationID)
	}
	for _, kv := range a.Annotations {
		if len(kv.Value) > 0 && !json.Valid(kv.Value) {
			return "", fmt.Errorf("%w: activation %s: annotation %q is not JSON", store.ErrInvalid, a.ActivationID, kv.Key)
		}
	}
	return name, nil
}

// Filter checks an activation filter.
func Filter(f *store.ActivationFilter) error {
	if err := Page(f.Skip, f.Limit); err != nil {
		return err
	}
	if f.Since < 0 || f.Upto < 0 {
		return fmt.Errorf("%w: since (%d) and upto (%d) must not be negative", store.ErrInvalid, f.Since, f.Upto)
	}
	if f.Name != "" {
		return Text("activation name", f.Name, MaxName)
	}
	return nil
}

// Identity checks an identity before it is stored.
func Identity(id *store.Identity) error {
	if err := Namespace(id.Namespace); err != nil {
		return err
	}
	if err := Text("uuid", id.UUID, MaxID); err != nil {
		return err
	}
	if !IsHexSHA256(id.KeyHash) {
		return fmt.Errorf("%w: key hash must be store.HashKey's lowercase hex SHA-256", store.ErrInvalid)
	}
	if id.InvocationsPerMinute < 0 || id.ConcurrentInvocations < 0 || id.FiresPerMinute < 0 {
		return fmt.Errorf("%w: identity limits must not be negative", store.ErrInvalid)
	}
	return nil
}

// KVKey checks a KV key of a namespace.
func KVKey(ns, key string) error {
	if err := Namespace(ns); err != nil {
		return err
	}
	return Text("key", key, MaxKVKey)
}

// TTL checks a KV time to live (0 = none).
func TTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("%w: ttl %v is negative", store.ErrInvalid, ttl)
	}
	return nil
}
