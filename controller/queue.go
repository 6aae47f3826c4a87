package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/jsq"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// compose runs a sequence or conductor invocation (see doc.go,
// "Compositions"). Blocking: inline, in the caller's goroutine, up to
// wait; past it, or when no invoker is left after a step ran, the
// composition goes to the compose queue and the error wraps
// ErrStillRunning. Non-blocking: persisted in the compose queue.
func (c *Controller) compose(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error) {
	if c.store == nil {
		return nil, fmt.Errorf("controller: activation %s of %s: %w", msg.ActivationID, msg.Action.Name, ErrNoStore)
	}
	if !msg.Blocking {
		return nil, c.enqueueCompose(ctx, &bus.ComposeMessage{V: bus.Version, Activation: msg}, msg.ActivationID)
	}
	if wait <= 0 {
		return nil, fmt.Errorf("controller: activation %s: wait %v must be positive", msg.ActivationID, wait)
	}
	now := time.Now()
	r := &run{c: c, top: msg, deadline: now.Add(wait).UnixNano(), start: now.UnixMilli()}
	rec, err := r.execTop(ctx)
	if err == nil {
		c.recs.write(rec)
		return rec, nil
	}
	var s *suspended
	if !errors.As(err, &s) {
		return nil, err
	}
	if r.sent == 0 && s.running == "" && !errors.Is(s.err, ErrStillRunning) {
		// Nothing ran and nothing was accepted: the caller hears why
		// (no invokers: 503), as for any action.
		return nil, fmt.Errorf("controller: activation %s: %w", msg.ActivationID, s.err)
	}
	cm := &bus.ComposeMessage{V: bus.Version, Activation: msg, Resume: true, Start: r.start, Running: s.running, RunningUntil: s.until}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout)
	defer cancel()
	r.flush(pctx)
	if err := c.enqueueCompose(pctx, cm, msg.ActivationID); err != nil {
		c.log.Error("a blocking composition could not be handed to the compose queue", "activation", msg.ActivationID, "error", err, "why", s.err)
		return nil, err
	}
	c.log.Debug("blocking composition continues in the compose queue", "activation", msg.ActivationID, "why", s.err)
	return nil, fmt.Errorf("controller: activation %s: %w: continued from the compose queue (%v)", msg.ActivationID, ErrStillRunning, s.err)
}

// place runs an atomic activation through placement, blocking.
func (c *Controller) place(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error) {
	if !c.running.Load() {
		return nil, fmt.Errorf("%w: controller is not running", ErrNoInvokers)
	}
	return c.invoke(ctx, msg, wait)
}

// enqueueCompose persists cm in the compose stream, deduplicated by id.
func (c *Controller) enqueueCompose(ctx context.Context, cm *bus.ComposeMessage, id string) error {
	data, err := json.Marshal(cm)
	if err != nil {
		return fmt.Errorf("controller: encode composition %s: %w", cm.Activation.ActivationID, err)
	}
	ack, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: c.composeSubj, Data: data},
		jetstream.WithMsgID(id), jetstream.WithExpectStream(bus.ComposeStream))
	if err != nil {
		return fmt.Errorf("controller: persist composition %s: %w", cm.Activation.ActivationID, err)
	}
	if ack.Duplicate {
		c.log.Debug("duplicate composition ignored by the stream", "activation", id)
	}
	return nil
}

// composeStreamConfig is the compose stream as the controller creates it.
func (cfg Config) composeStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        bus.ComposeStream,
		Description: "Gust: accepted sequence and conductor invocations, a work queue for controllers",
		Subjects:    []string{bus.Subjects{Prefix: cfg.Prefix}.Compose()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.AsyncMaxAge,
		Duplicates:  cfg.AsyncDuplicates,
		Replicas:    cfg.AsyncReplicas,
	}
}

// ensureComposeStream creates the compose stream, or checks the existing one.
func (c *Controller) ensureComposeStream(ctx context.Context) error {
	_, err := c.ensureWorkQueue(ctx, c.cfg.composeStreamConfig(), c.composeSubj)
	return err
}

// ensureWorkQueue creates stream want, or checks that the existing one is a
// work queue on subject (errIncompatibleStream otherwise) and returns its
// configuration; nil when it created it.
func (c *Controller) ensureWorkQueue(ctx context.Context, want jetstream.StreamConfig, subject string) (*jetstream.StreamConfig, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	_, err := c.js.CreateStream(ctx, want)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return nil, fmt.Errorf("controller: create stream %s: %w", want.Name, err)
	}
	s, err := c.js.Stream(ctx, want.Name)
	if err != nil {
		return nil, fmt.Errorf("controller: stream %s: %w", want.Name, err)
	}
	got := s.CachedInfo().Config
	if got.Retention != jetstream.WorkQueuePolicy || !slices.Contains(got.Subjects, subject) {
		return nil, fmt.Errorf("controller: %w: %s exists with retention %v and subjects %v; want a work queue on %s",
			errIncompatibleStream, want.Name, got.Retention, got.Subjects, subject)
	}
	return &got, nil
}

// composeConsumer binds the controllers' durable consumer of the compose
// stream, creating it when missing.
func (c *Controller) composeConsumer(ctx context.Context) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cons, err := c.js.CreateOrUpdateConsumer(ctx, bus.ComposeStream, jetstream.ConsumerConfig{
		Durable:       bus.ComposeConsumer,
		Description:   "Gust controllers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.ComposeAckWait,
		MaxDeliver:    -1,
		MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("controller: consumer %s: %w", bus.ComposeConsumer, err)
	}
	return cons, nil
}

// fetchWait bounds one pull request, and so how long a stop waits for it.
const fetchWait = 500 * time.Millisecond

// composeLoop pulls compositions while it has free slots
// (Config.ComposeConcurrency) and runs each in a goroutine it owns; it
// returns after stop is closed and every one of them has ended.
func (c *Controller) composeLoop(ctx context.Context, cons jetstream.Consumer, stop <-chan struct{}) {
	select { // steps need a running controller
	case <-c.ready:
	case <-stop:
		return
	}
	slots := make(chan struct{}, c.cfg.ComposeConcurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := cap(slots) - len(slots)
		if n == 0 {
			select {
			case <-stop:
				return
			case slots <- struct{}{}: // wait for one to free up
				<-slots
			}
			continue
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			if !c.pause(stop, err) {
				return
			}
			continue
		}
		err = jsq.Dispatch(batch, stop, func(m jetstream.Msg) {
			slots <- struct{}{}
			wg.Add(1)
			workers.Go(func() {
				defer func() { <-slots; wg.Done() }()
				c.process(ctx, m)
			})
		})
		if err != nil && !c.pause(stop, err) {
			return
		}
	}
}

// pause waits a second after a failed fetch; false when stopped.
func (c *Controller) pause(stop <-chan struct{}, err error) bool {
	select {
	case <-stop:
		return false
	default:
	}
	c.log.Warn("fetching compositions", "error", err)
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// process runs one composition from the queue. The message is acked once
// the composition's record is durable; a redelivered one resumes, finding
// the steps recorded before (their ids are derived, see stepID).
func (c *Controller) process(ctx context.Context, m jetstream.Msg) {
	var cm bus.ComposeMessage
	err := json.Unmarshal(m.Data(), &cm)
	if err == nil {
		err = checkMessage(cm.Activation)
	}
	if err == nil && kindOf(cm.Activation.Action) == kindAtomic {
		err = errors.New("not a sequence or conductor action")
	}
	if err != nil {
		c.log.Error("dropping an invalid composition message", "error", err)
		_ = m.TermWithReason("invalid composition message")
		return
	}
	msg := cm.Activation
	stop := jsq.KeepInProgress(m, c.cfg.ComposeAckWait)
	defer stop()
	delivered := uint64(1)
	var seq uint64
	if md, err := m.Metadata(); err == nil {
		delivered, seq = md.NumDelivered, md.Sequence.Stream
	}
	resume := cm.Resume || delivered > 1
	if resume {
		_, err := c.store.GetActivation(ctx, msg.Namespace, msg.ActivationID)
		if err == nil {
			_ = m.Ack() // finished before; the ack was lost
			return
		}
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			c.log.Warn("checking a redelivered composition; resuming it", "activation", msg.ActivationID, "error", err)
		}
	}
	r := &run{c: c, top: msg, worker: true, resume: resume, running: cm.Running, runningUntil: cm.RunningUntil, start: cm.Start}
	if r.start == 0 {
		r.start = time.Now().UnixMilli()
	}
	rec, err := r.execTop(ctx)
	if err != nil {
		c.suspend(m, &cm, r, err, delivered, seq)
		return
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), setupTimeout)
	err = c.putRecord(wctx, rec)
	cancel()
	if err != nil {
		c.log.Warn("storing a composition record failed; it will run again", "activation", msg.ActivationID, "error", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	_ = m.Ack()
}

// suspend hands a composition the worker could not finish back to the
// queue: with the step it left running named, so that the next attempt
// awaits that step's record; else for a later retry.
func (c *Controller) suspend(m jetstream.Msg, cm *bus.ComposeMessage, r *run, err error, delivered, seq uint64) {
	id := cm.Activation.ActivationID
	var s *suspended
	if !errors.As(err, &s) {
		s = &suspended{err: err}
	}
	if s.running != "" {
		next := *cm
		next.Resume, next.Start, next.Running, next.RunningUntil = true, r.start, s.running, s.until
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		r.flush(ctx)
		perr := c.enqueueCompose(ctx, &next, id+"."+strconv.FormatUint(seq, 10))
		cancel()
		if perr == nil {
			_ = m.Ack()
			c.log.Info("composition handed back to the queue", "activation", id, "running", s.running, "why", s.err)
			return
		}
		c.log.Warn("handing a composition back failed; it will be redelivered", "activation", id, "error", perr)
		_ = m.NakWithDelay(time.Until(time.UnixMilli(s.until)))
		return
	}
	if !c.running.Load() { // stopping: another controller takes it now
		_ = m.Nak()
		return
	}
	delay := min(250*time.Millisecond<<min(delivered, 7), 30*time.Second)
	c.log.Info("composition returned to the queue", "activation", id, "retryIn", delay, "why", s.err)
	_ = m.NakWithDelay(delay)
}

// putRecord writes a composition's record, retrying a failing store a few
// times.
func (c *Controller) putRecord(ctx context.Context, rec *whisk.Activation) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt*attempt) * 100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
		if err = c.store.PutActivation(ctx, rec); err == nil {
			return nil
		}
	}
	return err
}

// recordWriter writes the records of blocking compositions off the
// critical path, in a goroutine Run owns. Once closed, or while its queue
// is full, write stores the record itself.
type recordWriter struct {
	c      *Controller
	mu     sync.RWMutex
	closed bool
	q      chan *whisk.Activation
	done   chan struct{}
}

const recordQueue = 1024

func newRecordWriter(c *Controller) *recordWriter {
	return &recordWriter{c: c, q: make(chan *whisk.Activation, recordQueue), done: make(chan struct{})}
}

func (w *recordWriter) write(rec *whisk.Activation) {
	w.mu.RLock()
	if !w.closed {
		select {
		case w.q <- rec:
			w.mu.RUnlock()
			return
		default:
		}
	}
	w.mu.RUnlock()
	w.put(rec)
}

func (w *recordWriter) put(rec *whisk.Activation) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := w.c.putRecord(ctx, rec); err != nil {
		w.c.log.Error("writing a composition record failed", "activation", rec.ActivationID, "namespace", rec.Namespace, "error", err)
	}
}

// run writes queued records until close.
func (w *recordWriter) run() {
	defer close(w.done)
	for rec := range w.q {
		w.put(rec)
	}
}

// close stops taking records and waits until the queued ones are written.
// run must have been started.
func (w *recordWriter) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.q)
	}
	w.mu.Unlock()
	<-w.done
}

// startCompose creates the compose stream (Run calls it once JetStream has
// answered and the heartbeat subscription is on), starts the writer of
// blocking compositions' records and, with a store, the loop running
// queued compositions. The returned stop stops the controller
// (compositions waiting on invokers wake and hand themselves back to the
// queue), ends them and waits.
func (c *Controller) startCompose(ctx context.Context) (stop func(), err error) {
	if err := c.ensureComposeStream(ctx); err != nil {
		return nil, err
	}
	var cons jetstream.Consumer
	if c.store != nil {
		if cons, err = c.composeConsumer(ctx); err != nil {
			return nil, err
		}
	}
	go c.recs.run()
	if cons == nil {
		return c.recs.close, nil
	}
	wctx, cancel := context.WithCancel(context.Background())
	stopLoop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.composeLoop(wctx, cons, stopLoop)
	}()
	return func() {
		c.stop()
		close(stopLoop)
		cancel()
		<-done
		c.recs.close()
	}, nil
}
