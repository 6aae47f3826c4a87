package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/gust-faas/gust/store"
)

// Defaults of Options.
const (
	DefaultPrefix    = "gust:"
	DefaultRetention = 7 * 24 * time.Hour
)

// indexSlack keeps an activation index alive a little longer than its newest
// record, for records whose Start is slightly ahead of this host's clock.
const indexSlack = time.Minute

// Options configure a Store. The zero value is usable.
type Options struct {
	// Prefix starts every key (default DefaultPrefix), so that several
	// installations can share one Redis database.
	Prefix string
	// Retention is how long activation records live after their Start
	// (default DefaultRetention).
	Retention time.Duration
	// PoolSize caps connections to Redis; 0 keeps go-redis's default of
	// 10 per GOMAXPROCS.
	PoolSize int
}

// Store is store.Store on Redis. It is safe for concurrent use.
type Store struct {
	rdb         *goredis.Client
	k           keys
	retentionMs int64
	indexTTL    time.Duration
	closed      atomic.Bool
}

var _ store.Store = (*Store)(nil)

// New connects to the Redis at rawURL and checks that it answers. The URL is
// go-redis's: redis://[user:password@]host:port[/db][?options],
// rediss://... for TLS, or unix:///path/redis.sock[?db=N]. With a
// master_name query parameter it connects through Sentinel: the host and
// any addr parameters are the sentinels (see go-redis ParseFailoverURL).
func New(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Retention < time.Millisecond {
		return nil, fmt.Errorf("redis: retention %v is below 1ms", opts.Retention)
	}
	if opts.PoolSize < 0 {
		return nil, fmt.Errorf("redis: pool size %d is negative", opts.PoolSize)
	}
	rdb, err := client(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis: connect to %s: %w", rdb.Options().Addr, err)
	}
	return &Store{
		rdb:         rdb,
		k:           keys{p: opts.Prefix},
		retentionMs: opts.Retention.Milliseconds(),
		indexTTL:    opts.Retention + indexSlack,
	}, nil
}

func client(rawURL string, opts Options) (*goredis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: invalid url: %w", unwrapURLError(err))
	}
	if u.Query().Has("master_name") {
		fo, err := goredis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: invalid sentinel url: %w", unwrapURLError(err))
		}
		fo.DisableIdentity = true
		if opts.PoolSize > 0 {
			fo.PoolSize = opts.PoolSize
		}
		return goredis.NewFailoverClient(fo), nil
	}
	ro, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: invalid url: %w", unwrapURLError(err))
	}
	ro.DisableIdentity = true // CLIENT SETINFO: one more round trip per connection, unknown before Redis 7.2
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	if opts.PoolSize > 0 {
		ro.PoolSize = opts.PoolSize
	}
	return goredis.NewClient(ro), nil
}

// unwrapURLError drops the URL that url.Error repeats: it may hold a password.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Close closes the connections. Calls after the first return nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.rdb.Close()
}

// notFound maps redis.Nil to store.ErrNotFound and wraps other errors.
func notFound(err error, what string) error {
	if err == goredis.Nil {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("redis: %s: %w", what, err)
}

// execErr returns the first error of a pipeline's commands other than
// redis.Nil (a conditional write that did not happen).
func execErr(cmds []goredis.Cmder, err error) error {
	if err == nil {
		return nil
	}
	for _, c := range cmds {
		if e := c.Err(); e != nil && e != goredis.Nil {
			return e
		}
	}
	if err == goredis.Nil {
		return nil
	}
	return err
}

// isNotInteger reports whether err is Redis refusing INCRBY: the value is
// not a decimal int64, or the sum overflows.
func isNotInteger(err error) bool {
	var re goredis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "not an integer") || strings.Contains(msg, "overflow")
}
