package controller

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/store"
)

// The alarm scheduler's JetStream key-value buckets. Bucket names are
// global to the JetStream domain, like bus.AsyncStream.
const (
	// alarmsBucket holds one alarmSpec per trigger with an alarm, written
	// by the feed actions on any controller (alarms_feed.go).
	alarmsBucket = "GUST_ALARMS"
	// alarmFiresBucket holds the scheduler's alarmCursor per alarm, written
	// by the leader after each fire.
	alarmFiresBucket = "GUST_ALARM_FIRES"
	// leaderBucket holds leases, whose values expire after the bucket's
	// TTL unless renewed; key alarmsLeaderKey is the alarm scheduler's.
	leaderBucket    = "GUST_LEADER"
	alarmsLeaderKey = "alarms"
)

// DefaultAlarmLeaseTTL is Config.AlarmLeaseTTL's default.
const DefaultAlarmLeaseTTL = 5 * time.Second

// alarmFireTimeout bounds one fire of an alarm.
const alarmFireTimeout = 30 * time.Second

// reasonFired is the status reason of a once alarm that fired.
const reasonFired = "fired once"

// alarms is the controller's alarm scheduler and feed store. Every
// controller serves the feed actions; one at a time, the leader, fires the
// alarms. See the package comment, "Alarms".
type alarms struct {
	c   *Controller
	log *slog.Logger

	specs jetstream.KeyValue // alarmsBucket
	fires jetstream.KeyValue // alarmFiresBucket
	lease jetstream.KeyValue // leaderBucket
	ttl   time.Duration      // the lease bucket's TTL

	leader atomic.Bool  // this controller schedules (tests, logs)
	fired  atomic.Int64 // fires this controller made
}

func newAlarms(c *Controller) *alarms {
	return &alarms{c: c, log: c.log.With("component", "alarms")}
}

// setup ensures the buckets, retrying like the async stream's setup.
func (a *alarms) setup(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := a.ensureBuckets(ctx)
		if err == nil || errors.Is(err, nats.ErrConnectionClosed) {
			return err
		}
		a.log.Warn("alarm buckets not ready; retrying", "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (a *alarms) ensureBuckets(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	replicas := a.c.cfg.AsyncReplicas
	var err error
	if a.specs, err = a.bucket(ctx, jetstream.KeyValueConfig{
		Bucket: alarmsBucket, Description: "Gust: the alarms of triggers (/whisk.system/alarms feeds)",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
	}); err != nil {
		return err
	}
	if a.fires, err = a.bucket(ctx, jetstream.KeyValueConfig{
		Bucket: alarmFiresBucket, Description: "Gust: the alarm scheduler's progress per alarm",
		History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
	}); err != nil {
		return err
	}
	if a.lease, err = a.bucket(ctx, jetstream.KeyValueConfig{
		Bucket: leaderBucket, Description: "Gust: leader leases (the alarm scheduler)",
		History: 1, TTL: a.c.cfg.AlarmLeaseTTL, Storage: jetstream.MemoryStorage, Replicas: replicas,
	}); err != nil {
		return err
	}
	st, err := a.lease.Status(ctx)
	if err != nil {
		return fmt.Errorf("controller: bucket %s: %w", leaderBucket, err)
	}
	if a.ttl = st.TTL(); a.ttl <= 0 {
		return fmt.Errorf("controller: bucket %s exists without a TTL: leases could never expire; delete it", leaderBucket)
	}
	if a.ttl != a.c.cfg.AlarmLeaseTTL {
		a.log.Info("lease bucket exists with another TTL; keeping it", "bucket", leaderBucket, "ttl", a.ttl)
	}
	return nil
}

// bucket creates a bucket, or binds the existing one.
func (a *alarms) bucket(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := a.c.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = a.c.js.KeyValue(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("controller: bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// run competes for the leader lease and schedules while it holds it,
// until ctx ends.
func (a *alarms) run(ctx context.Context) {
	for {
		l, err := a.acquire(ctx)
		if err != nil {
			return
		}
		a.lead(ctx, l)
		if ctx.Err() != nil {
			return
		}
	}
}

// alarmLease is a held leader lease.
type alarmLease struct {
	value []byte
	rev   uint64 // owned by keep while leading, then by lead
	// validUntil, on the controller's clock: past it, another controller
	// may hold the lease, so this one must not fire.
	validUntil atomic.Int64
}

// leaseValidFor is how long after a successful write this controller
// trusts its lease: less than the TTL, which the server counts from its
// receipt of the write.
func (a *alarms) leaseValidFor() int64 { return int64(a.ttl) * 3 / 4 }

// acquire creates the lease key, which succeeds only while no other
// controller holds it; it waits and retries until it does or ctx ends.
func (a *alarms) acquire(ctx context.Context) (*alarmLease, error) {
	val, _ := json.Marshal(map[string]any{"controller": a.c.cfg.ID, "token": newGen(), "since": time.Now().UnixMilli()})
	l := &alarmLease{value: val}
	// A released lease is a delete: watch for one to take over at once.
	var changes <-chan jetstream.KeyValueEntry
	if w, err := a.lease.Watch(ctx, alarmsLeaderKey, jetstream.UpdatesOnly()); err == nil {
		defer w.Stop()
		changes = w.Updates()
	}
	poll := a.ttl / 4
	warned := false
	for {
		sent := a.c.now()
		cctx, cancel := context.WithTimeout(ctx, max(poll, time.Second))
		rev, err := a.lease.Create(cctx, alarmsLeaderKey, l.value)
		cancel()
		if err == nil {
			l.rev = rev
			l.validUntil.Store(sent + a.leaseValidFor())
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !warned {
			a.log.Warn("alarm scheduler: cannot reach the lease bucket; retrying", "error", err)
			warned = true
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		case _, ok := <-changes:
			t.Stop()
			if !ok {
				changes = nil
			}
		}
	}
}

// lead schedules alarms while l holds; when ctx ends it releases the lease
// so that another controller takes over at once.
func (a *alarms) lead(ctx context.Context, l *alarmLease) {
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.keep(lctx, l, cancel) }()
	a.leader.Store(true)
	a.log.Info("alarm scheduler: leading", "leaseTTL", a.ttl)
	a.schedule(lctx, l)
	a.leader.Store(false)
	cancel()
	wg.Wait()
	if ctx.Err() == nil {
		return // lost: keep logged why
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer rcancel()
	if err := a.lease.Delete(rctx, alarmsLeaderKey, jetstream.LastRevision(l.rev)); err != nil {
		a.log.Warn("alarm scheduler: releasing the lease; another controller takes over when it expires", "error", err)
		return
	}
	a.log.Info("alarm scheduler: released the lease")
}

// keep renews l every quarter TTL; it calls lost and returns when the lease
// is gone (someone else holds it, or it could not be renewed in time).
func (a *alarms) keep(ctx context.Context, l *alarmLease, lost func()) {
	tick := time.NewTicker(a.ttl / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sent := a.c.now()
		cctx, cancel := context.WithTimeout(ctx, max(a.ttl/4, 100*time.Millisecond))
		rev, err := a.lease.Update(cctx, alarmsLeaderKey, l.value, l.rev)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			// A renewal whose answer was lost may have landed: adopt it.
			if e, gerr := a.lease.Get(cctx, alarmsLeaderKey); gerr == nil && bytes.Equal(e.Value(), l.value) {
				rev, err = a.lease.Update(cctx, alarmsLeaderKey, l.value, e.Revision())
			}
		}
		cancel()
		switch {
		case err == nil:
			l.rev = rev
			l.validUntil.Store(sent + a.leaseValidFor())
		case ctx.Err() != nil:
			return
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			a.log.Warn("alarm scheduler: lost the lease", "error", err)
			lost()
			return
		case a.c.now() >= l.validUntil.Load():
			a.log.Warn("alarm scheduler: could not renew the lease in time; stepping down", "error", err)
			lost()
			return
		default:
			a.log.Debug("alarm scheduler: lease renewal failed; retrying", "error", err)
		}
	}
}

// alarmEntry is one alarm as the leader schedules it.
type alarmEntry struct {
	key    string
	spec   *alarmSpec
	rev    uint64 // of spec in the bucket
	sched  *alarmSchedule
	cursor int64 // epoch ms: the schedule is dealt with up to here
	next   int64 // epoch ms of the next fire; 0: none
	// verify: the alarm's first fire since this leader took over; the
	// previous leader may have fired it without recording its progress, so
	// the fire's record is looked up first.
	verify bool
	retry  int // fires failed in a row
	index  int // in the heap; -1 when not in it
}

// alarmHeap orders the scheduled alarms by next fire.
type alarmHeap []*alarmEntry

func (h alarmHeap) Len() int           { return len(h) }
func (h alarmHeap) Less(i, j int) bool { return h[i].next < h[j].next }
func (h alarmHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *alarmHeap) Push(x any) {
	e := x.(*alarmEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *alarmHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// scheduler is the leader's state; one goroutine (schedule) owns it.
type scheduler struct {
	a       *alarms
	lease   *alarmLease
	entries map[string]*alarmEntry
	heap    alarmHeap
	hold    int64 // epoch ms: do not fire before (lease in doubt)
}

// maxAlarmSleep bounds the scheduler's sleep, in case the wall clock jumps.
const maxAlarmSleep = time.Minute

// schedule fires alarms until ctx ends, watching the alarms bucket for
// changes; a broken watch is set up again.
func (a *alarms) schedule(ctx context.Context, l *alarmLease) {
	s := &scheduler{a: a, lease: l, entries: make(map[string]*alarmEntry)}
	backoff := 100 * time.Millisecond
	for {
		err := s.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("alarm scheduler: watching the alarms failed; retrying", "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// watch applies the bucket's alarms, then their changes, and fires what is
// due, until ctx ends (nil) or the watch fails.
func (s *scheduler) watch(ctx context.Context) error {
	w, err := s.a.specs.WatchAll(ctx)
	if err != nil {
		return err
	}
	defer w.Stop()
	timer := time.NewTimer(maxAlarmSleep)
	defer timer.Stop()
	seen := make(map[string]bool) // until the initial values are in
	for {
		s.arm(timer)
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return errors.New("alarms watcher closed")
			case e == nil: // the bucket's current alarms are in: drop the gone ones
				for key := range s.entries {
					if seen != nil && !seen[key] {
						s.remove(key)
					}
				}
				seen = nil
			default:
				if seen != nil {
					seen[e.Key()] = true
				}
				s.apply(ctx, e)
			}
		case <-timer.C:
			s.fireDue(ctx)
		}
	}
}

// arm sets timer to the earliest fire.
func (s *scheduler) arm(timer *time.Timer) {
	d := maxAlarmSleep
	if len(s.heap) > 0 {
		now := time.Now().UnixMilli()
		d = time.Duration(max(s.heap[0].next, s.hold)-now) * time.Millisecond
		d = min(max(d, 0), maxAlarmSleep)
	}
	timer.Reset(d)
}

// apply takes in a change of the alarms bucket.
func (s *scheduler) apply(ctx context.Context, e jetstream.KeyValueEntry) {
	key := e.Key()
	if op := e.Operation(); op == jetstream.KeyValueDelete || op == jetstream.KeyValuePurge {
		s.remove(key)
		return
	}
	spec := new(alarmSpec)
	if err := json.Unmarshal(e.Value(), spec); err != nil {
		s.a.log.Warn("alarm scheduler: skipping an unreadable alarm", "key", key, "error", err)
		s.remove(key)
		return
	}
	sc, err := spec.schedule()
	if err != nil {
		s.a.log.Warn("alarm scheduler: skipping an alarm", "trigger", spec.Namespace+"/"+spec.Trigger, "error", err)
		s.remove(key)
		return
	}
	ent := s.entries[key]
	if ent == nil || ent.spec.Gen != spec.Gen {
		s.remove(key)
		ent = &alarmEntry{key: key, verify: true, index: -1, cursor: s.loadCursor(ctx, key, spec.Gen)}
		s.entries[key] = ent
	}
	ent.spec, ent.rev, ent.sched, ent.retry = spec, e.Revision(), sc, 0
	ent.cursor = max(ent.cursor, spec.Changed)
	ent.next = 0
	if spec.Active {
		ent.next = sc.next(ent.cursor)
	}
	s.requeue(ent)
}

// loadCursor reads the alarm's progress, 0 for none.
func (s *scheduler) loadCursor(ctx context.Context, key, gen string) int64 {
	e, err := s.a.fires.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.a.log.Warn("alarm scheduler: reading an alarm's progress; scheduling from its last change", "key", key, "error", err)
		}
		return 0
	}
	var cur alarmCursor
	if json.Unmarshal(e.Value(), &cur) != nil || cur.Gen != gen {
		return 0
	}
	return cur.Cursor
}

// requeue puts ent in the heap at its next fire, or out of it.
func (s *scheduler) requeue(ent *alarmEntry) {
	switch {
	case ent.next == 0 && ent.index >= 0:
		heap.Remove(&s.heap, ent.index)
	case ent.next == 0:
	case ent.index >= 0:
		heap.Fix(&s.heap, ent.index)
	default:
		heap.Push(&s.heap, ent)
	}
}

func (s *scheduler) remove(key string) {
	if ent := s.entries[key]; ent != nil {
		if ent.index >= 0 {
			heap.Remove(&s.heap, ent.index)
		}
		delete(s.entries, key)
	}
}

// fireDue fires every alarm whose time has come, while the lease is
// certainly held.
func (s *scheduler) fireDue(ctx context.Context) {
	for len(s.heap) > 0 && ctx.Err() == nil {
		now := time.Now().UnixMilli()
		ent := s.heap[0]
		if ent.next > now {
			return
		}
		if s.a.c.now() >= s.lease.validUntil.Load() {
			// keep is about to renew or give up: wait for it.
			s.hold = now + 100
			return
		}
		s.hold = 0
		s.fire(ctx, ent, now)
		if s.entries[ent.key] == ent {
			s.requeue(ent)
		}
	}
}

// fire fires one due alarm for its latest due time.
func (s *scheduler) fire(ctx context.Context, ent *alarmEntry, now int64) {
	spec := ent.spec
	log := s.a.log.With("trigger", spec.Namespace+"/"+spec.Trigger)
	due := ent.sched.latestDue(ent.cursor, now)
	if due == 0 {
		ent.next = ent.sched.next(max(ent.cursor, now))
		return
	}
	id := alarmFireID(spec, due)
	if ent.verify {
		_, err := s.a.c.store.GetActivation(ctx, spec.Namespace, id)
		if err == nil {
			log.Info("alarm already fired by the previous leader", "activation", id, "scheduled", due)
			s.advance(ctx, ent, due, now)
			return
		}
		if !errors.Is(err, store.ErrNotFound) {
			log.Warn("alarm scheduler: checking a fire; firing (a repeat is deduplicated)", "activation", id, "error", err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, alarmFireTimeout)
	rec, err := s.a.c.Fire(fctx, &FireRequest{
		ActivationID: id, Namespace: spec.Namespace, Subject: spec.Namespace,
		Trigger: spec.Trigger, Payload: spec.Payload, TransID: id,
	})
	cancel()
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.Info("alarm's trigger is gone; deleting the alarm")
		s.forget(ctx, ent)
		return
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		ent.retry++
		delay := min(time.Second<<min(ent.retry-1, 5), 30*time.Second)
		log.Warn("alarm fire failed; retrying", "activation", id, "error", err, "retryIn", delay)
		ent.next = now + delay.Milliseconds()
		return
	}
	s.a.fired.Add(1)
	log.Debug("alarm fired", "activation", id, "scheduled", due, "recorded", rec != nil)
	s.advance(ctx, ent, due, now)
	if spec.Feed == feedOnce {
		s.afterOnce(ctx, ent, now)
	}
}

// advance records that ent's schedule is dealt with up to now, its last
// fire being scheduled at due.
func (s *scheduler) advance(ctx context.Context, ent *alarmEntry, due, now int64) {
	ent.cursor, ent.verify, ent.retry = now, false, 0
	ent.next = 0
	if ent.spec.Active {
		ent.next = ent.sched.next(now)
	}
	data, _ := json.Marshal(alarmCursor{Gen: ent.spec.Gen, Last: due, Cursor: now})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.a.fires.Put(pctx, ent.key, data); err != nil {
		s.a.log.Warn("alarm scheduler: recording an alarm's progress", "trigger", ent.spec.Namespace+"/"+ent.spec.Trigger, "error", err)
	}
}

// afterOnce disables a once alarm that fired, or deletes its trigger (and
// rules) as its deleteAfterFire asks.
func (s *scheduler) afterOnce(ctx context.Context, ent *alarmEntry, now int64) {
	spec := ent.spec
	log := s.a.log.With("trigger", spec.Namespace+"/"+spec.Trigger)
	st := s.a.c.store
	switch spec.DeleteAfterFire {
	case deleteRules, deleteTrigger:
		if spec.DeleteAfterFire == deleteRules {
			rules, err := s.a.c.triggerRules(ctx, spec.Namespace, spec.Trigger)
			if err != nil {
				log.Warn("deleting the rules of a once alarm's trigger", "error", err)
			}
			for _, r := range rules {
				err := st.DeleteEntity(ctx, store.Key{Namespace: spec.Namespace, Collection: store.Rules, Name: r.Name})
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					log.Warn("deleting a rule of a once alarm's trigger", "rule", r.Name, "error", err)
				}
			}
		}
		err := st.DeleteEntity(ctx, store.Key{Namespace: spec.Namespace, Collection: store.Triggers, Name: spec.Trigger})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Warn("deleting a once alarm's trigger", "error", err)
		}
		s.forget(ctx, ent)
	default:
		done := *spec
		done.Active, done.Reason, done.Changed = false, reasonFired, now
		data, _ := json.Marshal(&done)
		if _, err := s.a.specs.Update(ctx, ent.key, data, ent.rev); err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			log.Warn("disabling a once alarm that fired", "error", err)
		}
	}
}

// forget deletes ent's alarm (unless it changed meanwhile) and its
// progress, and stops scheduling it.
func (s *scheduler) forget(ctx context.Context, ent *alarmEntry) {
	err := s.a.specs.Delete(ctx, ent.key, jetstream.LastRevision(ent.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		s.a.log.Warn("alarm scheduler: deleting an alarm", "key", ent.key, "error", err)
	}
	if err := s.a.fires.Delete(ctx, ent.key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		s.a.log.Warn("alarm scheduler: deleting an alarm's progress", "key", ent.key, "error", err)
	}
	s.remove(ent.key)
}
