package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gust-faas/gust/store"
)

// Defaults of Options.
const (
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultSweepInterval = time.Minute
)

const (
	lockTimeout     = time.Second            // to take the file's lock from another process
	initialMmapSize = 256 << 20              // reads wait for writers only when the map grows past this
	maxBatch        = 512                    // writes per group commit
	writeQueue      = 1024                   // writes waiting for the committer
	nameMoveEvery   = 250 * time.Millisecond // see "The name index, deferred"
)

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("embedded: store closed")

// Options configure a Store. The zero value is usable.
type Options struct {
	// Retention is how long activation records live after their Start
	// (default DefaultRetention).
	Retention time.Duration
	// SweepInterval is how often expired records and keys are deleted
	// from the file (default DefaultSweepInterval). Reads hide them as soon
	// as they expire.
	SweepInterval time.Duration
	// NoSync skips fsync on commit; see the package doc for what it risks.
	NoSync bool
	// Logger receives the sweeper's errors (default slog.Default()).
	Logger *slog.Logger
}

// Store is store.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	db          *bolt.DB
	retentionMs int64
	log         *slog.Logger

	// mu guards closed and makes Close wait for writers that are handing a
	// write to the committer; it is never held across a commit.
	mu     sync.RWMutex
	closed bool
	writes chan *write

	namesMoved time.Time // the last commit that moved the name keys; committer only

	stopSweep chan struct{}
	done      sync.WaitGroup // the committer and the sweeper
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens or creates the store file at path (its directory is created
// too) and starts the committer and the sweeper. Only one process may have
// the file open.
func Open(path string, opts Options) (*Store, error) {
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Retention < time.Millisecond || opts.SweepInterval < 0 {
		return nil, fmt.Errorf("embedded: retention %v must be at least 1ms and sweep interval %v not negative", opts.Retention, opts.SweepInterval)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:         lockTimeout,
		NoSync:          opts.NoSync,
		NoFreelistSync:  true, // the freelist is rebuilt on open: faster commits
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("embedded: %s is in use by another process", path)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if err := db.Update(initLayout); err != nil {
		db.Close()
		return nil, fmt.Errorf("embedded: %s: %w", path, err)
	}
	s := &Store{
		db:          db,
		retentionMs: opts.Retention.Milliseconds(),
		log:         opts.Logger.With("store", path),
		writes:      make(chan *write, writeQueue),
		namesMoved:  time.Now(),
		stopSweep:   make(chan struct{}),
	}
	s.done.Add(2)
	go s.commitLoop()
	go s.sweepLoop(opts.SweepInterval)
	return s, nil
}

func initLayout(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bMeta)
	switch v := meta.Get(keyVersion); {
	case v == nil:
		return meta.Put(keyVersion, []byte(layoutVersion))
	case string(v) != layoutVersion:
		return fmt.Errorf("store layout version %q, this gust reads %q", v, layoutVersion)
	}
	return nil
}

// Close stops the sweeper, commits the writes already accepted, and closes
// the file. Calls after the first return the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stopSweep)
		s.mu.Lock()
		s.closed = true
		close(s.writes) // no sender is mid-send: they hold mu.RLock
		s.mu.Unlock()
		s.done.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// A write is one caller's transaction function. fn must make no change
// before it returns an error of its own (ErrNotFound, ErrExists,
// ErrInvalid): such errors end that write only, and the others in its group
// commit. fn may run more than once (see commit); only the last run counts.
type write struct {
	fn   func(*bolt.Tx) error
	err  error
	done chan struct{}
}

// update runs fn in a write transaction, possibly shared with other
// writers, and returns when it is committed; so the slices fn writes need
// no copy.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{fn: fn, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.writes <- w
	s.mu.RUnlock()
	<-w.done // not abandoned on ctx: the write may commit anyway
	return w.err
}

// updateAll runs each of fns as update does, queued together so that they
// share a group commit (as far as maxBatch allows), and returns when all
// are committed: the first error, or nil.
func (s *Store) updateAll(ctx context.Context, fns []func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ws := make([]write, len(fns))
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	for i, fn := range fns {
		ws[i] = write{fn: fn, done: make(chan struct{})}
		s.writes <- &ws[i]
	}
	s.mu.RUnlock()
	var first error
	for i := range ws {
		<-ws[i].done // not abandoned on ctx: the writes may commit anyway
		if first == nil {
			first = ws[i].err
		}
	}
	return first
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// commitLoop owns all write transactions until Close closes s.writes.
func (s *Store) commitLoop() {
	defer s.done.Done()
	batch := make([]*write, 0, maxBatch)
	for w := range s.writes {
		batch = append(batch[:0], w)
	fill:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-s.writes:
				if !ok {
					break fill
				}
				batch = append(batch, w)
			default:
				break fill
			}
		}
		s.commit(batch)
		clear(batch)
	}
}

// commit runs the batch in one transaction. Errors of a write's own
// (store sentinels) are that write's result; any other error aborts the
// transaction, and then each write runs alone, so that one failing write
// cannot fail the others.
func (s *Store) commit(batch []*write) {
	moved := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		// These buckets grow at their right end (time-ordered keys):
		// split their pages full, not at bbolt's default half, which left
		// every page half empty (see TestAppendedBucketsFillPages).
		for _, name := range appendedBuckets {
			tx.Bucket(name).FillPercent = 1.0
		}
		for _, w := range batch {
			w.err = safeCall(w.fn, tx)
			if w.err != nil && !isOwnError(w.err) {
				return w.err
			}
		}
		if time.Since(s.namesMoved) < nameMoveEvery {
			return nil
		}
		moved = true
		return moveNames(tx)
	})
	if err == nil && moved {
		s.namesMoved = time.Now()
	}
	if err != nil && len(batch) > 1 {
		for _, w := range batch {
			s.commit([]*write{w})
		}
		return
	}
	for _, w := range batch {
		if err != nil {
			w.err = fmt.Errorf("embedded: commit: %w", err)
		}
		close(w.done)
	}
}

func isOwnError(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrInvalid)
}

// safeCall turns a panic in fn into an error, so that one bad write cannot
// take the committer down.
func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("embedded: write panicked: %v", p)
		}
	}()
	return fn(tx)
}

func nowMs() int64 { return time.Now().UnixMilli() }
