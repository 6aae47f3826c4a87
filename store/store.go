package store

import (
	"context"
	"errors"
	"time"

	"github.com/gust-faas/gust/whisk"
)

// Sentinel errors every implementation returns (wrapped or bare).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("revision conflict")
)

// Collections of entities, as they appear in the REST API's paths.
const (
	Actions  = "actions"
	Packages = "packages"
	Triggers = "triggers"
	Rules    = "rules"
)

// Key names one entity. Name is "name" or "pkg/name" for actions in a package.
type Key struct {
	Namespace  string
	Collection string
	Name       string
}

// Entities stores entity documents.
//
// Put with overwrite=false fails with ErrExists when the key is taken; with
// overwrite=true it replaces. List returns documents ordered by name, the
// page [skip, skip+limit) (limit 0 = all) and the total count; prefix, when
// not empty, keeps only names starting with it (a package's "pkg/").
type Entities interface {
	PutEntity(ctx context.Context, k Key, doc []byte, overwrite bool) error
	GetEntity(ctx context.Context, k Key) ([]byte, error)
	DeleteEntity(ctx context.Context, k Key) error
	ListEntities(ctx context.Context, namespace, collection, prefix string, skip, limit int) (docs [][]byte, total int, err error)
}

// Codes stores action code by content: the digest is the hex SHA-256 of the
// bytes, so writing the same code twice stores it once.
type Codes interface {
	PutCode(ctx context.Context, code []byte) (digest string, err error)
	GetCode(ctx context.Context, digest string) ([]byte, error)
}

// ActivationFilter selects activation records of one namespace.
// Name matches the record's "path" annotation without its namespace
// ("action" or "pkg/action"); Since and Upto bound Start (epoch ms,
// inclusive, 0 = unbounded). Records come newest first (equal starts: greater
// id first); Skip and Limit page them (Limit 0 = all).
type ActivationFilter struct {
	Name        string
	Since, Upto int64
	Skip, Limit int
}

// Activations stores activation records, keyed by (namespace, id). Put is
// idempotent: writing a record whose id exists keeps the first one and
// returns nil, so at-least-once delivery never doubles a record. Records
// expire the store's retention after their Start. Count counts what List
// would return with Limit 0: Skip applies (as OpenWhisk's count=true does).
type Activations interface {
	PutActivation(ctx context.Context, a *whisk.Activation) error
	GetActivation(ctx context.Context, namespace, id string) (*whisk.Activation, error)
	ListActivations(ctx context.Context, namespace string, f ActivationFilter) ([]*whisk.Activation, error)
	CountActivations(ctx context.Context, namespace string, f ActivationFilter) (int, error)
}

// Identity is a namespace and its credentials. KeyHash is the hex SHA-256 of
// the key: keys are long random strings, so a fast hash is enough and the
// store never holds a usable key.
type Identity struct {
	Namespace string `json:"namespace"`
	UUID      string `json:"uuid"`
	KeyHash   string `json:"keyHash"`
	// Limits overrides the namespace's invocation limits; zero = default.
	InvocationsPerMinute  int `json:"invocationsPerMinute,omitempty"`
	ConcurrentInvocations int `json:"concurrentInvocations,omitempty"`
	FiresPerMinute        int `json:"firesPerMinute,omitempty"`
}

// Identities maps credentials to namespaces. PutIdentity replaces the
// namespace's identity (a new key revokes the old one; a UUID held by
// another namespace fails with ErrExists). ListIdentities orders by namespace.
type Identities interface {
	PutIdentity(ctx context.Context, id Identity) error
	IdentityByUUID(ctx context.Context, uuid string) (Identity, error)
	IdentityByNamespace(ctx context.Context, namespace string) (Identity, error)
	ListIdentities(ctx context.Context) ([]Identity, error)
	DeleteIdentity(ctx context.Context, namespace string) error
}

// KV is key-value state for functions, isolated per namespace. A ttl of 0
// keeps the value until deleted. KVIncr treats a missing key as 0, keeps the
// key's ttl, and fails with ErrInvalid on a value that is not a decimal
// int64 or on overflow. KVKeys returns names in byte order, at most limit
// (0 = all). Get and Delete of a missing or expired key fail with ErrNotFound.
type KV interface {
	KVGet(ctx context.Context, namespace, key string) ([]byte, error)
	KVSet(ctx context.Context, namespace, key string, value []byte, ttl time.Duration) error
	KVDelete(ctx context.Context, namespace, key string) error
	KVIncr(ctx context.Context, namespace, key string, by int64) (int64, error)
	KVKeys(ctx context.Context, namespace, prefix string, limit int) ([]string, error)
}

// Store is everything a role may need; both implementations provide it.
type Store interface {
	Entities
	Codes
	Activations
	Identities
	KV
	Close() error
}
