package invoker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// BatchPutter is an optional ability of a store: write several activation
// records in one round trip (a Redis pipeline, one embedded transaction).
// The recorder uses it when the store has it. Like PutActivation it is
// idempotent per record.
type BatchPutter interface {
	PutActivations(ctx context.Context, as []*whisk.Activation) error
}

// Recorder parameters.
const (
	recordQueue   = 4096 // records waiting for a writer
	recordBatch   = 256  // records per batch
	recordWriters = 2    // writer goroutines without a BatchPutter: one write in flight while the next waits
	// recordLinger is how long a writer holding fewer than recordBatch
	// records waits for more before writing them. Records are written
	// after the reply, off the activation's critical path; batching them
	// matters because each write of the embedded store is a bbolt commit
	// with two fdatasyncs. Measured with gust bench (warm, one client):
	// one commit per record took 37% of gust up's CPU.
	recordLinger = 2 * time.Millisecond
	// recordInterval is the least time between the starts of two writes
	// of a writer: under load a commit's cost is mostly fixed (tree
	// rebalancing, page writes, the fdatasyncs), so spacing the commits
	// makes them larger and fewer. With 100 actions round-robin, commits
	// every 2 ms took 39% of gust up's CPU. A record is readable at most
	// this long plus one commit after its activation ends.
	recordInterval = 10 * time.Millisecond
	recordTimeout  = 5 * time.Second
	recordRetries  = 3
)

// recorder writes activation records off the critical path: activations
// hand records to a queue and go on; writer goroutines drain it in batches.
// done, when set, is called once the record is durable (nil error) or given
// up; the asynchronous path acks its JetStream message there.
type recorder struct {
	st  store.Activations
	bp  BatchPutter
	log *slog.Logger
	q   chan recordReq
	wg  sync.WaitGroup
}

type recordReq struct {
	a    *whisk.Activation
	done func(error)
}

func newRecorder(st store.Activations, log *slog.Logger) *recorder {
	r := &recorder{st: st, log: log, q: make(chan recordReq, recordQueue)}
	r.bp, _ = st.(BatchPutter)
	return r
}

// start launches the writers; close stops them after the queue is empty.
func (r *recorder) start() {
	// With a BatchPutter one writer: while it writes a batch the next one
	// fills, so batches (and the embedded store's commits, two fdatasyncs
	// each) are as large as the load makes them. Measured with gust bench
	// (warm, one client, strace -c): 1,113 fdatasyncs a second with two
	// writers writing one record at a time, 550 with two batching writers,
	// 339 with one; bbolt's share of gust up's CPU 37%, 29%, 23%.
	n := recordWriters
	if r.bp != nil {
		n = 1
	}
	for range n {
		r.wg.Add(1)
		go r.writer()
	}
}

// write queues a record; it blocks only when the queue is full (the store
// is slower than the invocations), which pushes back on the activations.
func (r *recorder) write(a *whisk.Activation, done func(error)) {
	r.q <- recordReq{a: a, done: done}
}

// close stops taking records and waits until the writers have written every
// queued one. No write may follow.
func (r *recorder) close() {
	close(r.q)
	r.wg.Wait()
}

func (r *recorder) writer() {
	defer r.wg.Done()
	batch := make([]recordReq, 0, recordBatch)
	recs := make([]*whisk.Activation, 0, recordBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	var last time.Time // when the previous write started
	for first := range r.q {
		batch = append(batch[:0], first)
		lingering := false
		wait := max(recordLinger, recordInterval-time.Since(last))
	fill:
		for len(batch) < recordBatch {
			select {
			case req, ok := <-r.q:
				if !ok {
					break fill
				}
				batch = append(batch, req)
				continue
			default:
			}
			if !lingering {
				lingering = true
				linger.Reset(wait)
			}
			select {
			case req, ok := <-r.q:
				if !ok {
					break fill
				}
				batch = append(batch, req)
			case <-linger.C:
				lingering = false
				break fill
			}
		}
		if lingering {
			linger.Stop() // Go 1.23 timers: no stale tick after Stop
		}
		recs = recs[:0]
		for _, req := range batch {
			recs = append(recs, req.a)
		}
		last = time.Now()
		errs := r.flush(recs)
		for i, req := range batch {
			if req.done != nil {
				req.done(errs[i])
			}
			batch[i] = recordReq{}
		}
		clear(recs)
	}
}

// flush writes recs, retrying failures with backoff, and returns each
// record's final error.
func (r *recorder) flush(recs []*whisk.Activation) []error {
	errs := make([]error, len(recs))
	if r.bp != nil && len(recs) > 1 {
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		err := r.bp.PutActivations(ctx, recs)
		cancel()
		if err == nil {
			return errs
		}
		r.log.Warn("batch write of activation records failed; writing one by one", "count", len(recs), "err", err)
	}
	for i, a := range recs {
		errs[i] = r.put(a)
	}
	return errs
}

func (r *recorder) put(a *whisk.Activation) error {
	var err error
	for attempt := range recordRetries {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 100 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		err = r.st.PutActivation(ctx, a)
		cancel()
		if err == nil {
			return nil
		}
	}
	r.log.Error("writing an activation record failed", "activation", a.ActivationID, "namespace", a.Namespace, "err", err)
	return err
}
