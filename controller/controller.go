package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Config of a controller. The zero value of every field but ID means its
// default; New fills them in.
type Config struct {
	// ID names this controller in logs; a random one when empty.
	ID string
	// Prefix starts every NATS subject (bus.DefaultPrefix when empty).
	Prefix string

	// DeadAfter: an invoker silent this long gets no new work
	// (bus.DeadAfter).
	DeadAfter time.Duration
	// ForgetAfter: an invoker silent this long leaves the registry (10 min).
	ForgetAfter time.Duration
	// AffinityTTL: how long the controller remembers where it last placed an
	// action revision that is not invoked again (5 min).
	AffinityTTL time.Duration
	// OverloadFactor bounds force-placement when every invoker is full: the
	// least loaded one takes the activation while its queue stays within
	// OverloadFactor times its memory, else Invoke fails with ErrOverloaded.
	// 0 never refuses (OpenWhisk's behaviour).
	OverloadFactor float64
	// LateReplyGrace: a blocking activation whose wait elapsed keeps its
	// memory booked on the invoker until its late reply, or until its wait,
	// its action's time limit and this grace have passed (1 min).
	LateReplyGrace time.Duration

	// AsyncMaxAge: accepted non-blocking activations not taken by an
	// invoker within this age are dropped by the stream (24 h).
	AsyncMaxAge time.Duration
	// AsyncDuplicates: the stream's window for deduplication by activation
	// id (2 min).
	AsyncDuplicates time.Duration
	// AsyncReplicas of the stream in a NATS cluster (1).
	AsyncReplicas int

	// Compositions (sequences, conductor actions, sequence.go); their
	// stream shares AsyncMaxAge, AsyncDuplicates and AsyncReplicas.
	//
	// ComponentCacheTTL: how long a component action read from the store is
	// reused (2 s, as the gateway's action cache).
	ComponentCacheTTL time.Duration
	// ComposeAckWait: a queued composition whose controller stops
	// confirming progress for this long goes to another controller (30 s).
	ComposeAckWait time.Duration
	// ComposeConcurrency: queued compositions one controller runs at once
	// (256).
	ComposeConcurrency int

	// AlarmLeaseTTL is the alarm scheduler's leader lease: a leader that
	// stops hands over at once, one that dies within this long (5 s).
	AlarmLeaseTTL time.Duration
}

// Defaults of Config.
const (
	DefaultForgetAfter     = 10 * time.Minute
	DefaultAffinityTTL     = 5 * time.Minute
	DefaultLateReplyGrace  = time.Minute
	DefaultAsyncMaxAge     = 24 * time.Hour
	DefaultAsyncDuplicates = 2 * time.Minute

	DefaultComponentCacheTTL  = 2 * time.Second
	DefaultComposeAckWait     = 30 * time.Second
	DefaultComposeConcurrency = 256
)

func (cfg *Config) setDefaults() error {
	if cfg.ID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		cfg.ID = "ctl-" + hex.EncodeToString(b[:])
	}
	if !validID(cfg.ID) {
		return fmt.Errorf("controller: ID %q is not a literal NATS subject", cfg.ID)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = bus.DefaultPrefix
	}
	if strings.ContainsAny(cfg.Prefix, " \t\r\n*>") || strings.Contains(cfg.Prefix, "..") || cfg.Prefix[0] == '.' || !strings.HasSuffix(cfg.Prefix, ".") {
		return fmt.Errorf("controller: prefix %q must be NATS subject tokens ending in '.'", cfg.Prefix)
	}
	durations := []struct {
		name string
		d    *time.Duration
		def  time.Duration
	}{
		{"DeadAfter", &cfg.DeadAfter, bus.DeadAfter},
		{"ForgetAfter", &cfg.ForgetAfter, DefaultForgetAfter},
		{"AffinityTTL", &cfg.AffinityTTL, DefaultAffinityTTL},
		{"LateReplyGrace", &cfg.LateReplyGrace, DefaultLateReplyGrace},
		{"AsyncMaxAge", &cfg.AsyncMaxAge, DefaultAsyncMaxAge},
		{"AsyncDuplicates", &cfg.AsyncDuplicates, DefaultAsyncDuplicates},
		{"ComponentCacheTTL", &cfg.ComponentCacheTTL, DefaultComponentCacheTTL},
		{"ComposeAckWait", &cfg.ComposeAckWait, DefaultComposeAckWait},
		{"AlarmLeaseTTL", &cfg.AlarmLeaseTTL, DefaultAlarmLeaseTTL},
	}
	for _, d := range durations {
		switch {
		case *d.d < 0:
			return fmt.Errorf("controller: %s %v is negative", d.name, *d.d)
		case *d.d == 0:
			*d.d = d.def
		}
	}
	if cfg.ForgetAfter < cfg.DeadAfter {
		return fmt.Errorf("controller: ForgetAfter %v is shorter than DeadAfter %v", cfg.ForgetAfter, cfg.DeadAfter)
	}
	if cfg.AsyncDuplicates > cfg.AsyncMaxAge {
		return fmt.Errorf("controller: AsyncDuplicates %v is longer than AsyncMaxAge %v", cfg.AsyncDuplicates, cfg.AsyncMaxAge)
	}
	if cfg.OverloadFactor < 0 {
		return fmt.Errorf("controller: OverloadFactor %v is negative", cfg.OverloadFactor)
	}
	if cfg.AlarmLeaseTTL < 100*time.Millisecond {
		return fmt.Errorf("controller: AlarmLeaseTTL %v is shorter than 100ms", cfg.AlarmLeaseTTL)
	}
	switch {
	case cfg.ComposeConcurrency < 0:
		return fmt.Errorf("controller: ComposeConcurrency %d is negative", cfg.ComposeConcurrency)
	case cfg.ComposeConcurrency == 0:
		cfg.ComposeConcurrency = DefaultComposeConcurrency
	}
	switch {
	case cfg.AsyncReplicas < 0:
		return fmt.Errorf("controller: AsyncReplicas %d is negative", cfg.AsyncReplicas)
	case cfg.AsyncReplicas == 0:
		cfg.AsyncReplicas = 1
	}
	return nil
}

// validID reports whether s can end a literal NATS subject: one or more
// tokens (host names with dots are fine), no wildcards, no white space.
func validID(s string) bool {
	return s != "" && len(s) <= 256 && !strings.ContainsAny(s, " \t\r\n*>") &&
		s[0] != '.' && s[len(s)-1] != '.' && !strings.Contains(s, "..")
}

// Deps are the controller's connections.
type Deps struct {
	// NATS is required. The controller subscribes on it and never closes it.
	NATS *nats.Conn
	// JetStream defaults to jetstream.New(NATS).
	JetStream jetstream.JetStream
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Store holds entities and activation records. Without it the
	// controller cannot fire triggers nor run the alarms feeds (fire.go,
	// alarms.go), and sequences and conductor actions fail with ErrNoStore.
	Store store.Store
	// Local, optional, is an invoker in this process: when placement picks
	// it (by its ID) a blocking activation is a call instead of a NATS
	// request ("In-process invoker" in the package comment).
	Local LocalInvoker
}

// Controller places activations on invokers. See the package comment.
type Controller struct {
	cfg   Config
	subj  bus.Subjects
	async string // subj.Async()
	nc    *nats.Conn
	js    jetstream.JetStream
	log   *slog.Logger

	epoch     time.Time // the controller's monotonic clock starts here
	deadAfter int64
	reg       *registry
	mux       *mux
	store     store.Store
	alarms    *alarms // nil without a store
	local     LocalInvoker
	localID   string // local.ID(); "" without a local invoker

	composeSubj string // subj.Compose()
	comps       *componentCache
	recs        *recordWriter // records of blocking compositions

	started  atomic.Bool
	running  atomic.Bool // between Ready and the end of Run
	stopOnce atomic.Bool
	ready    chan struct{} // closed when Run has set up
	stopped  chan struct{} // closed when Run ends
}

// New builds a controller; Run starts it.
func New(cfg Config, deps Deps) (*Controller, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if deps.NATS == nil {
		return nil, errors.New("controller: a NATS connection is required")
	}
	if deps.JetStream == nil {
		js, err := jetstream.New(deps.NATS)
		if err != nil {
			return nil, fmt.Errorf("controller: jetstream: %w", err)
		}
		deps.JetStream = js
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	subj := bus.Subjects{Prefix: cfg.Prefix}
	c := &Controller{
		cfg:       cfg,
		subj:      subj,
		async:     subj.Async(),
		nc:        deps.NATS,
		js:        deps.JetStream,
		log:       deps.Logger.With("controller", cfg.ID),
		epoch:     time.Now(),
		deadAfter: int64(cfg.DeadAfter),
		reg:       newRegistry(subj),
		store:     deps.Store,
		ready:     make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	if deps.Local != nil {
		c.local, c.localID = deps.Local, deps.Local.ID()
		if !validID(c.localID) {
			return nil, fmt.Errorf("controller: local invoker id %q is not a literal NATS subject", c.localID)
		}
	}
	if deps.Store != nil {
		c.alarms = newAlarms(c)
	}
	c.composeSubj = subj.Compose()
	c.comps = newComponentCache(cfg.ComponentCacheTTL)
	c.recs = newRecordWriter(c)
	c.mux = newMux(deps.NATS.NewInbox(), c.stopped)
	return c, nil
}

// now is the controller's monotonic clock in ns, always > 0.
func (c *Controller) now() int64 { return int64(time.Since(c.epoch)) + 1 }

func nanos(n int64) time.Duration { return time.Duration(n) }

// Ready is closed once Run has created the stream and subscribed: from then
// on Invoke works (blocking invocations once invokers have beaten).
func (c *Controller) Ready() <-chan struct{} { return c.ready }

// Run sets up the async stream and the subscriptions, then keeps the
// registry until ctx ends. It returns nil after a clean stop; Invoke calls
// still waiting then fail. Run may be called once.
func (c *Controller) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("controller: Run called twice")
	}
	defer c.stop()
	if err := c.setupStream(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if c.alarms != nil {
		if err := c.alarms.setup(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	inbox, err := c.nc.Subscribe(c.mux.subject(), c.mux.handle)
	if err != nil {
		return fmt.Errorf("controller: subscribe to replies: %w", err)
	}
	defer inbox.Unsubscribe()
	// Replies can be large (1 MB results); drop none for want of a limit.
	if err := inbox.SetPendingLimits(-1, 1<<30); err != nil {
		return fmt.Errorf("controller: reply subscription: %w", err)
	}
	beats, err := c.nc.Subscribe(c.subj.Heartbeat(), c.onHeartbeat)
	if err != nil {
		return fmt.Errorf("controller: subscribe to heartbeats: %w", err)
	}
	defer beats.Unsubscribe()
	// Subscriptions count once the server has them.
	fctx, cancel := context.WithTimeout(ctx, setupTimeout)
	err = c.nc.FlushWithContext(fctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("controller: flush subscriptions: %w", err)
	}
	stopCompose, err := c.startCompose(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer stopCompose()
	c.running.Store(true)
	close(c.ready)
	c.log.Info("controller ready", "prefix", c.cfg.Prefix, "stream", bus.AsyncStream)
	if c.alarms != nil {
		// The scheduler stops with ctx; Run returns only after it has.
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); c.alarms.run(ctx) }()
		defer wg.Wait()
	}

	tick := time.NewTicker(min(time.Second, max(c.cfg.DeadAfter/3, 10*time.Millisecond)))
	defer tick.Stop()
	lastAffSweep := c.now()
	for {
		select {
		case <-ctx.Done():
			c.stop()
			c.log.Info("controller stopped")
			return nil
		case <-tick.C:
			now := c.now()
			c.sweep(now)
			if now-lastAffSweep > int64(c.cfg.AffinityTTL/4) {
				c.reg.aff.sweep(now - int64(c.cfg.AffinityTTL))
				lastAffSweep = now
			}
		}
	}
}

// stop refuses new invocations, wakes the waiting ones and releases the
// bookings of abandoned ones, whose late replies can no longer arrive.
// It runs once; later calls do nothing.
func (c *Controller) stop() {
	c.running.Store(false)
	if c.stopOnce.Swap(true) {
		return
	}
	close(c.stopped)
	c.mux.sweep(0, true)
}

// sweep logs invokers that went silent, forgets long-silent ones and
// expires abandoned calls.
func (c *Controller) sweep(now int64) {
	for _, inv := range c.reg.snap.Load().invs {
		if !inv.alive(now, c.deadAfter) && inv.up.Swap(false) {
			c.log.Warn("invoker down: no heartbeat", "invoker", inv.id, "silentFor", nanos(now-inv.lastSeen.Load()).Round(time.Millisecond))
		}
	}
	for _, id := range c.reg.forget(now - int64(c.cfg.ForgetAfter)) {
		c.log.Info("invoker forgotten", "invoker", id, "silentFor", c.cfg.ForgetAfter)
	}
	if n := c.mux.sweep(now, false); n > 0 {
		c.log.Debug("abandoned activations expired without a reply", "count", n)
	}
}

// onHeartbeat is the heartbeat subscription's callback.
func (c *Controller) onHeartbeat(m *nats.Msg) {
	var hb bus.Heartbeat
	if err := json.Unmarshal(m.Data, &hb); err != nil {
		c.log.Warn("bad heartbeat", "error", err)
		return
	}
	if !validID(hb.ID) {
		c.log.Warn("bad heartbeat: invoker id is not a literal NATS subject", "invoker", hb.ID)
		return
	}
	inv, added := c.reg.heartbeat(&hb, c.now(), time.Now())
	if !inv.up.Swap(true) {
		c.log.Info("invoker up", "invoker", inv.id, "new", added, "memoryMB", hb.MemoryMB, "freeMB", hb.FreeMB)
	}
}

// Invokers reports every invoker in the registry, sorted by id.
func (c *Controller) Invokers() []InvokerStatus {
	return c.reg.statuses(c.now(), c.deadAfter)
}

// Invoke runs one activation.
//
// Blocking (msg.Blocking): it places msg on an invoker and waits up to wait
// for the record. Errors: ErrNoInvokers when no invoker is alive (or the
// controller is not running), ErrOverloaded when placement refuses, an
// error wrapping ErrStillRunning when wait elapses (the invoker still runs
// it and will store the record), ctx's error when ctx ends first.
//
// Non-blocking: it persists msg in the async stream, deduplicated by
// activation id, and returns (nil, nil) once the stream acknowledged it,
// whether or not an invoker is alive.
//
// Sequences and conductor actions run in the controller, with the same
// contract (see "Compositions" in the package comment); they need
// Deps.Store (else ErrNoStore). Built-in actions (whisk.KindBuiltin: the
// alarms feeds) run in the controller at once, blocking or not, and their
// record is stored before Invoke returns (see "Alarms").
//
// Invoke sets msg.V and msg.Received when they are zero; msg must not change
// during the call.
func (c *Controller) Invoke(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error) {
	if err := checkMessage(msg); err != nil {
		return nil, err
	}
	if !c.running.Load() {
		return nil, fmt.Errorf("%w: controller is not running", ErrNoInvokers)
	}
	if msg.V == 0 {
		msg.V = bus.Version
	}
	if msg.Received == 0 {
		msg.Received = time.Now().UnixMilli()
	}
	if msg.Action.Exec.Kind == whisk.KindBuiltin {
		return c.invokeBuiltin(ctx, msg)
	}
	if kindOf(msg.Action) != kindAtomic {
		return c.compose(ctx, msg, wait) // sequence.go
	}
	if !msg.Blocking {
		return nil, c.enqueue(ctx, msg)
	}
	if wait <= 0 {
		return nil, fmt.Errorf("controller: activation %s: wait %v must be positive", msg.ActivationID, wait)
	}
	return c.invoke(ctx, msg, wait)
}

func checkMessage(msg *bus.ActivationMessage) error {
	switch {
	case msg == nil:
		return errors.New("controller: nil activation message")
	case msg.Action == nil:
		return fmt.Errorf("controller: activation %s has no action", msg.ActivationID)
	case msg.ActivationID == "":
		return fmt.Errorf("controller: activation of %s/%s has no id", msg.Action.Namespace, msg.Action.Name)
	}
	return nil
}

func (c *Controller) invoke(ctx context.Context, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error) {
	var data []byte // encoded once a remote invoker is picked
	req := newPlaceReq(msg.Action)
	start := c.now()
	deadline := start + int64(wait)
	timeLimit := time.Duration(max(msg.Action.Limits.Timeout, whisk.MinTimeout)) * time.Millisecond
	expires := deadline + int64(timeLimit+c.cfg.LateReplyGrace)
	// Each retry follows a "no responders", which marks an invoker down;
	// the bound only guards against heartbeats reviving it in between.
	for tries := len(c.reg.snap.Load().invs) + 1; ; tries-- {
		now := c.now()
		inv, _, err := c.reg.pick(&req, now, c.deadAfter, c.cfg.OverloadFactor)
		if err != nil {
			return nil, fmt.Errorf("controller: activation %s: %w", msg.ActivationID, err)
		}
		if tries <= 0 || now >= deadline {
			inv.release(req.cost)
			return nil, fmt.Errorf("controller: activation %s: %w: every invoker tried had no responders", msg.ActivationID, ErrNoInvokers)
		}
		var rec *whisk.Activation
		var reply *nats.Msg
		if inv.id == c.localID {
			rec, err = c.roundTripLocal(ctx, inv, req.cost, msg, time.Duration(deadline-now))
		} else {
			if data == nil {
				if data, err = json.Marshal(msg); err != nil {
					inv.release(req.cost)
					return nil, fmt.Errorf("controller: encode activation %s: %w", msg.ActivationID, err)
				}
			}
			reply, err = c.mux.roundTrip(ctx, c.nc, inv, req.cost, data, time.Duration(deadline-now), expires)
		}
		switch {
		case err == nil && reply == nil:
			return rec, nil
		case err == nil:
			return c.result(msg, inv, reply)
		case errors.Is(err, errLocalRefused):
			c.log.Debug("local invoker refused an activation", "activation", msg.ActivationID, "error", err)
			c.markGone(inv, now)
			continue
		case errors.Is(err, errNoResponders):
			c.markGone(inv, now)
			continue
		case errors.Is(err, errWaitElapsed):
			return nil, fmt.Errorf("controller: activation %s on invoker %s: %w after %v", msg.ActivationID, inv.id, ErrStillRunning, wait)
		case errors.Is(err, errStopped):
			return nil, fmt.Errorf("controller: activation %s on invoker %s: %w: controller stopped while waiting", msg.ActivationID, inv.id, ErrStillRunning)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("controller: activation %s on invoker %s: %w", msg.ActivationID, inv.id, err)
		default:
			return nil, fmt.Errorf("controller: send activation %s to invoker %s: %w", msg.ActivationID, inv.id, err)
		}
	}
}

// markGone takes an invoker that had no responders out of placement until
// its next heartbeat.
func (c *Controller) markGone(inv *invoker, now int64) {
	inv.lastSeen.Store(now - c.deadAfter) // backdated: dead now, forgotten on schedule
	if inv.up.Swap(false) {
		c.log.Warn("invoker down: no responders on its subject", "invoker", inv.id)
	}
}

// result decodes an invoker's reply.
func (c *Controller) result(msg *bus.ActivationMessage, inv *invoker, reply *nats.Msg) (*whisk.Activation, error) {
	var res bus.Result
	if err := json.Unmarshal(reply.Data, &res); err != nil {
		return nil, fmt.Errorf("controller: activation %s: bad reply from invoker %s: %w", msg.ActivationID, inv.id, err)
	}
	if res.Activation == nil {
		if res.Error == "" {
			res.Error = "reply without a record"
		}
		return nil, fmt.Errorf("controller: activation %s: invoker %s: %s", msg.ActivationID, inv.id, res.Error)
	}
	if res.Error != "" {
		c.log.Warn("invoker could not run activation", "activation", msg.ActivationID, "invoker", inv.id, "error", res.Error)
	}
	return res.Activation, nil
}

// enqueue persists a non-blocking activation in the async stream.
func (c *Controller) enqueue(ctx context.Context, msg *bus.ActivationMessage) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("controller: encode activation %s: %w", msg.ActivationID, err)
	}
	ack, err := c.js.PublishMsg(ctx, &nats.Msg{Subject: c.async, Data: data},
		jetstream.WithMsgID(msg.ActivationID), jetstream.WithExpectStream(bus.AsyncStream))
	if err != nil {
		return fmt.Errorf("controller: persist activation %s: %w", msg.ActivationID, err)
	}
	if ack.Duplicate {
		c.log.Debug("duplicate activation ignored by the stream", "activation", msg.ActivationID)
	}
	return nil
}

// streamConfig is the async stream as the controller creates it; cfg has
// its defaults set.
func (cfg Config) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        bus.AsyncStream,
		Description: "Gust: accepted non-blocking activations, a work queue for invokers",
		Subjects:    []string{bus.Subjects{Prefix: cfg.Prefix}.Async()},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		MaxAge:      cfg.AsyncMaxAge,
		Duplicates:  cfg.AsyncDuplicates,
		Replicas:    cfg.AsyncReplicas,
	}
}

// setupTimeout bounds each server round trip of Run's setup.
const setupTimeout = 10 * time.Second

// errIncompatibleStream: the async stream exists in a shape the controller
// cannot use; retrying will not help.
var errIncompatibleStream = errors.New("incompatible stream")

// setupStream ensures the async stream, retrying until ctx ends while NATS
// or JetStream is not (yet) reachable: roles of a cluster start in any order.
func (c *Controller) setupStream(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := c.ensureStream(ctx)
		if err == nil || errors.Is(err, errIncompatibleStream) || errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		attrs := []any{"error", err, "retryIn", backoff}
		if errors.Is(err, nats.ErrNoResponders) {
			attrs = append(attrs, "hint", "is JetStream enabled on the NATS server?")
		}
		c.log.Warn("async stream not ready; retrying", attrs...)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// ensureStream creates the async stream, or checks the existing one.
func (c *Controller) ensureStream(ctx context.Context) error {
	want := c.cfg.streamConfig()
	got, err := c.ensureWorkQueue(ctx, want, c.async)
	if err != nil || got == nil {
		return err
	}
	if got.Storage != want.Storage || got.MaxAge != want.MaxAge || got.Duplicates != want.Duplicates {
		c.log.Info("async stream exists with other settings; keeping them", "stream", want.Name,
			"storage", got.Storage, "maxAge", got.MaxAge, "duplicates", got.Duplicates)
	}
	return nil
}
