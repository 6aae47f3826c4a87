package invoker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/gopool"
	"github.com/gust-faas/gust/runtimes"
	"github.com/gust-faas/gust/whisk"
)

// Invoker runs activations on this machine's sandboxes. Build it with New
// and start it with Run.
type Invoker struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	subj bus.Subjects
	pool *pool
	code *codeCache
	rec  *recorder

	ready   chan struct{}
	running atomic.Bool

	// runCtx is the activations' context: it outlives Run's context by the
	// drain and is cancelled when DrainTimeout passes.
	runCtx    context.Context
	cancelRun context.CancelFunc
	acts      gate // activation goroutines
	draining  atomic.Bool
}

// gate counts the activation goroutines and, once closed, admits no more,
// so that waiting for them cannot race with a late start.
type gate struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// enter admits one goroutine; false once the gate is closed.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *gate) leave() { g.wg.Done() }

// closeAndWait admits no more goroutines and waits for those inside.
func (g *gate) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

// New builds an invoker; it starts nothing.
func New(cfg Config, deps Deps) (*Invoker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := deps.validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("invoker", cfg.ID)
	inv := &Invoker{
		cfg:   cfg,
		deps:  deps,
		log:   log,
		subj:  bus.Subjects{Prefix: cfg.Prefix},
		ready: make(chan struct{}),
	}
	inv.pool = newPool(poolConfig{
		memoryMB:      cfg.MemoryMB,
		idleGrace:     cfg.IdleGrace,
		idleTimeout:   cfg.IdleTimeout,
		prewarm:       cfg.Prewarm,
		prewarmWindow: cfg.PrewarmWindow,
		queueTimeout:  cfg.QueueTimeout,
		maxLogLine:    cfg.MaxLogLine,
		idPrefix:      idPrefix(cfg.ID),
	}, deps.Driver, log, newProxyClient)
	inv.code = newCodeCache(deps.Store, cfg.CodeCacheMB<<20, deps.GoCache, cfg.CompileTimeout, runtimes.CompileGo)
	inv.rec = newRecorder(deps.Store, log)
	inv.runCtx, inv.cancelRun = context.WithCancel(context.Background())
	return inv, nil
}

// Ready is closed once Run subscribed to its invoke subject, bound the
// async consumer and sent its first heartbeat.
func (inv *Invoker) Ready() <-chan struct{} { return inv.ready }

// Stats is a snapshot of the sandbox pool.
func (inv *Invoker) Stats() Stats { return inv.pool.stats() }

// Run consumes activations until ctx ends, then drains: it stops taking
// work, waits up to DrainTimeout for the activations in flight (the rest
// are aborted: blocking ones answered with a whisk internal error,
// asynchronous ones returned to JetStream), writes the pending records and
// destroys every sandbox. It returns an error only when it cannot start.
func (inv *Invoker) Run(ctx context.Context) error {
	if !inv.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	defer inv.cancelRun()
	nc := inv.deps.NATS

	cons, err := inv.ensureConsumer(ctx)
	if err != nil {
		return err
	}
	inv.rec.start()
	var bg sync.WaitGroup // janitor, heartbeats, async fetch loop
	stopBG := make(chan struct{})
	stopFetch := make(chan struct{})
	bg.Add(1)
	go func() {
		defer bg.Done()
		inv.pool.janitor(stopBG)
	}()

	sub, err := nc.QueueSubscribe(inv.subj.Invoke(inv.cfg.ID), "invoker", inv.onInvoke)
	if err == nil {
		sub.SetPendingLimits(-1, 256<<20)
		err = nc.FlushTimeout(10 * time.Second)
	}
	if err != nil {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
		inv.acts.closeAndWait()
		close(stopBG)
		bg.Wait()
		inv.pool.close()
		inv.rec.close()
		return fmt.Errorf("invoker: subscribe %s: %w", inv.subj.Invoke(inv.cfg.ID), err)
	}
	var fetchWG sync.WaitGroup
	fetchWG.Add(1)
	go func() {
		defer fetchWG.Done()
		inv.fetchLoop(cons, stopFetch)
	}()
	inv.beat()
	bg.Add(1)
	go func() {
		defer bg.Done()
		inv.heartbeats(stopBG)
	}()
	close(inv.ready)
	inv.log.Info("invoker ready", "subject", inv.subj.Invoke(inv.cfg.ID), "memoryMB", inv.cfg.MemoryMB,
		"driver", inv.deps.Driver.Name())

	<-ctx.Done()
	inv.drain(sub, stopFetch, &fetchWG)
	close(stopBG)
	bg.Wait()
	inv.pool.close()
	inv.rec.close()
	inv.log.Info("invoker stopped")
	return nil
}

// drain stops taking work and lets the activations in flight finish, up to
// DrainTimeout; then it aborts the rest.
func (inv *Invoker) drain(sub *nats.Subscription, stopFetch chan struct{}, fetchWG *sync.WaitGroup) {
	inv.draining.Store(true)
	inv.log.Info("invoker draining", "timeout", inv.cfg.DrainTimeout)
	deadline := time.NewTimer(inv.cfg.DrainTimeout)
	defer deadline.Stop()
	// Stop the subscription; the messages already delivered still run.
	closed := sub.StatusChanged(nats.SubscriptionClosed)
	if err := sub.Drain(); err == nil {
		select {
		case <-closed:
		case <-deadline.C:
			_ = sub.Unsubscribe()
		}
	}
	close(stopFetch)
	fetchWG.Wait()
	// No new activation starts from here: wait for those in flight.
	done := make(chan struct{})
	go func() {
		inv.acts.closeAndWait()
		close(done)
	}()
	select {
	case <-done:
		return
	case <-deadline.C:
	}
	inv.log.Warn("drain timeout: aborting the activations in flight")
	inv.cancelRun()
	inv.pool.close() // kills the sandboxes: the runs end at once
	<-done
}

// onInvoke is the NATS handler of the invoke subject; it hands each
// request to a goroutine of its own while it lasts (see workers), which the
// invoker waits for.
func (inv *Invoker) onInvoke(m *nats.Msg) {
	if !inv.acts.enter() {
		inv.respond(m, &bus.Result{V: bus.Version, Error: ErrShuttingDown.Error()})
		return
	}
	workers.Go(func() { inv.invoke(m) })
}

// workers run the activations: on goroutines that keep the stack the run
// path grew, instead of growing a new one for each (see package gopool).
var workers = gopool.New(10 * time.Second)

// ID is the invoker's id, as in its heartbeats and invoke subject.
func (inv *Invoker) ID() string { return inv.cfg.ID }

// InvokeLocal runs one blocking activation handed over in this process
// (`gust up`: the controller calls it instead of a NATS request when
// placement picks this invoker). It runs what a request on the invoke
// subject runs, without encoding: it returns the record as soon as it is
// known and the recorder stores it, as for a NATS reply. msg is only read.
//
// The activation runs on the invoker's own context: ctx ending (the caller
// no longer waiting) does not stop it, and its record is still stored.
//
// A nil record means the invoker did not take the activation: ErrShuttingDown
// when it is not running (before Ready, draining, stopped), ErrBadMessage
// for a nil msg. Otherwise the error, when not nil, is the one a NATS reply carries in
// bus.Result.Error (ErrNoCapacity, ErrTooBig, ErrSandbox, ErrCode, ...) and
// the record holds the whisk internal error.
func (inv *Invoker) InvokeLocal(ctx context.Context, msg *bus.ActivationMessage) (*whisk.Activation, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: nil message", ErrBadMessage)
	}
	select {
	case <-inv.ready:
	default:
		return nil, fmt.Errorf("%w: not running yet", ErrShuttingDown)
	}
	// While draining, NATS requests find no subscriber and go elsewhere:
	// refuse local ones the same way.
	if inv.draining.Load() || !inv.acts.enter() {
		return nil, ErrShuttingDown
	}
	defer inv.acts.leave()
	rec, err := inv.runBlocking(msg)
	if msg.ActivationID != "" {
		inv.rec.write(rec, nil)
	}
	// The caller gets its own copy of the top level (the gateway fills in
	// nil arrays) while the recorder reads the record.
	out := *rec
	return &out, err
}

// runBlocking runs one blocking activation, on the NATS path (invoke) and
// the in-process one (InvokeLocal); the caller writes the record.
func (inv *Invoker) runBlocking(msg *bus.ActivationMessage) (*whisk.Activation, error) {
	rec, err := inv.execute(inv.runCtx, msg)
	if err != nil {
		inv.log.Warn("activation failed", "activation", msg.ActivationID, "err", err)
	}
	return rec, err
}

// invoke runs one blocking activation and answers with its record as soon
// as it is known; the record is written to the store afterwards.
func (inv *Invoker) invoke(m *nats.Msg) {
	defer inv.acts.leave()
	var msg bus.ActivationMessage
	if err := json.Unmarshal(m.Data, &msg); err != nil {
		inv.log.Warn("invalid activation message", "subject", m.Subject, "err", err)
		inv.respond(m, &bus.Result{V: bus.Version, Error: fmt.Sprintf("%v: %v", ErrBadMessage, err)})
		return
	}
	rec, err := inv.runBlocking(&msg)
	res := bus.Result{V: bus.Version, Activation: rec}
	if err != nil {
		res.Error = err.Error()
	}
	if msg.ActivationID == "" {
		inv.respond(m, &res)
		return
	}
	if m.Reply == "" {
		inv.rec.write(rec, nil)
		return
	}
	data, err := json.Marshal(&res)
	if err != nil {
		inv.log.Error("encoding a result", "activation", msg.ActivationID, "err", err)
		inv.rec.write(rec, nil)
		return
	}
	written := false
	if max := inv.deps.NATS.MaxPayload(); max > 0 && int64(len(data)) > max {
		data, written = inv.slimReply(&res, rec, max)
	}
	if err := m.Respond(data); err != nil {
		inv.log.Warn("answering a blocking activation", "activation", msg.ActivationID, "err", err)
	}
	if !written {
		inv.rec.write(rec, nil)
	}
}

// slimReply makes a reply that fits NATS's max payload for a record that
// does not (its logs can reach 10 MB): the reply leaves the logs out; if
// even that is too big, the record is written to the store first (written
// is then true) and the reply carries it without its result, with
// Result.Error saying so. The store always gets the whole record.
func (inv *Invoker) slimReply(res *bus.Result, rec *whisk.Activation, max int64) (data []byte, written bool) {
	slim := *rec
	slim.Logs = []string{}
	out := bus.Result{V: bus.Version, Activation: &slim, Error: res.Error}
	data, err := json.Marshal(&out)
	if err == nil && int64(len(data)) <= max {
		inv.log.Warn("record larger than the NATS max payload: replied without its logs (raise max_payload)",
			"activation", rec.ActivationID, "maxPayload", max)
		return data, false
	}
	done := make(chan error, 1)
	inv.rec.write(rec, func(err error) { done <- err })
	werr := <-done
	slim.Response = whisk.NewResponse(rec.Response.StatusCode, nil)
	out.Error = fmt.Sprintf("the activation record is larger than the NATS max payload (%d bytes)", max)
	if werr == nil {
		out.Error += "; read it from the store"
	}
	inv.log.Warn("record larger than the NATS max payload: replied without its result (raise max_payload)",
		"activation", rec.ActivationID, "maxPayload", max)
	data, _ = json.Marshal(&out)
	return data, true
}

func (inv *Invoker) respond(m *nats.Msg, res *bus.Result) {
	if m.Reply == "" {
		return
	}
	data, err := json.Marshal(res)
	if err != nil {
		inv.log.Error("encoding a result", "err", err)
		return
	}
	if err := m.Respond(data); err != nil {
		inv.log.Warn("answering a blocking activation", "err", err)
	}
}

// heartbeats publishes a Heartbeat every bus.HeartbeatInterval until stop.
func (inv *Invoker) heartbeats(stop <-chan struct{}) {
	t := time.NewTicker(bus.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !inv.draining.Load() {
				inv.beat()
			}
		}
	}
}

// beat publishes one heartbeat.
func (inv *Invoker) beat() {
	s := inv.pool.stats()
	data, err := json.Marshal(bus.Heartbeat{
		V: bus.Version, ID: inv.cfg.ID, MemoryMB: s.MemoryMB, FreeMB: s.FreeMB, Warm: s.WarmKeys,
		Sent: time.Now().UnixMilli(),
	})
	if err != nil {
		inv.log.Error("encoding a heartbeat", "err", err)
		return
	}
	if err := inv.deps.NATS.Publish(inv.subj.Heartbeat(), data); err != nil {
		inv.log.Debug("publishing a heartbeat", "err", err)
	}
}
