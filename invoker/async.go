package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/jsq"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// The async stream's settings when the invoker creates it because it came
// up before any controller; they match the controller's defaults.
const (
	asyncMaxAge     = 24 * time.Hour
	asyncDuplicates = 2 * time.Minute
)

// fetchWait bounds one pull request; it is also how long shutdown may wait
// for the fetch in progress.
const fetchWait = 500 * time.Millisecond

// ensureConsumer binds the durable pull consumer of the async stream,
// creating the stream (a file-backed work queue) and the consumer when they
// do not exist yet. Both creations are idempotent and race-safe.
func (inv *Invoker) ensureConsumer(ctx context.Context) (jetstream.Consumer, error) {
	js, err := jetstream.New(inv.deps.NATS)
	if err != nil {
		return nil, fmt.Errorf("invoker: jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, bus.AsyncStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        bus.AsyncStream,
			Description: "Gust: accepted non-blocking activations, a work queue for invokers",
			Subjects:    []string{inv.subj.Async()},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			MaxAge:      asyncMaxAge,
			Duplicates:  asyncDuplicates,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			stream, err = js.Stream(ctx, bus.AsyncStream)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invoker: stream %s: %w", bus.AsyncStream, err)
	}
	cons, err := stream.Consumer(ctx, bus.AsyncConsumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       bus.AsyncConsumer,
			Description:   "Gust invokers",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       inv.cfg.AckWait,
			MaxDeliver:    -1,
			MaxAckPending: 10000,
		})
		if errors.Is(err, jetstream.ErrConsumerExists) {
			cons, err = stream.Consumer(ctx, bus.AsyncConsumer)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invoker: consumer %s: %w", bus.AsyncConsumer, err)
	}
	return cons, nil
}

// fetchLoop pulls asynchronous activations while there is room: free async
// slots (MaxAsync) and free memory. It runs until stop; messages that
// arrive while stopping go back at once (Nak).
func (inv *Invoker) fetchLoop(cons jetstream.Consumer, stop <-chan struct{}) {
	ackWait := inv.cfg.AckWait
	if info := cons.CachedInfo(); info != nil && info.Config.AckWait > 0 {
		ackWait = info.Config.AckWait
	}
	slots := make(chan struct{}, inv.cfg.MaxAsync)
	freed := make(chan struct{}, 1)
	backoff := time.Duration(0)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := cap(slots) - len(slots)
		if n == 0 || inv.pool.freeMB() < whisk.MinMemory || backoff > 0 {
			wait := 250 * time.Millisecond
			if backoff > 0 {
				wait, backoff = backoff, 0
			}
			t := time.NewTimer(wait)
			select {
			case <-stop:
				t.Stop()
				return
			case <-freed:
			case <-inv.pool.avail:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(fetchWait))
		if err != nil {
			inv.log.Warn("fetching async activations", "err", err)
			backoff = time.Second
			continue
		}
		err = jsq.Dispatch(batch, stop, func(m jetstream.Msg) {
			if !inv.acts.enter() {
				_ = m.Nak()
				return
			}
			slots <- struct{}{}
			workers.Go(func() {
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
				inv.async(m, ackWait)
			})
		})
		if err != nil {
			inv.log.Warn("fetching async activations", "err", err)
			backoff = time.Second
		}
	}
}

// async runs one asynchronous activation. The message is acked only once
// the record is durably written, so a crash before that redelivers it; a
// redelivered activation that was already recorded is acked without
// running again.
func (inv *Invoker) async(m jetstream.Msg, ackWait time.Duration) {
	defer inv.acts.leave()
	var msg bus.ActivationMessage
	if err := json.Unmarshal(m.Data(), &msg); err != nil || msg.ActivationID == "" || msg.Namespace == "" {
		if err == nil {
			err = errors.New("no activation id or namespace")
		}
		inv.log.Error("dropping an invalid async activation message", "err", err)
		_ = m.TermWithReason("invalid activation message")
		return
	}
	// InProgress runs until the message is settled: acked once its record
	// is durable, or handed back.
	stop := jsq.KeepInProgress(m, ackWait)
	settled := false
	defer func() {
		if !settled {
			stop()
		}
	}()
	if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
		ctx, cancel := context.WithTimeout(inv.runCtx, 5*time.Second)
		_, err := inv.deps.Store.GetActivation(ctx, msg.Namespace, msg.ActivationID)
		cancel()
		if err == nil {
			inv.log.Debug("redelivered activation already recorded", "activation", msg.ActivationID)
			_ = m.Ack()
			return
		}
		if !errors.Is(err, store.ErrNotFound) {
			inv.log.Warn("checking a redelivered activation; running it", "activation", msg.ActivationID, "err", err)
		}
	}
	rec, err := inv.execute(inv.runCtx, &msg)
	if err != nil && retryable(err) {
		inv.log.Info("async activation returned to the queue", "activation", msg.ActivationID, "err", err)
		if errors.Is(err, ErrNoCapacity) {
			_ = m.NakWithDelay(time.Second)
		} else {
			_ = m.Nak()
		}
		return
	}
	if err != nil {
		inv.log.Warn("activation failed", "activation", msg.ActivationID, "err", err)
	}
	settled = true
	inv.rec.write(rec, func(err error) {
		stop()
		if err != nil {
			_ = m.Nak() // the record is not durable: run it again
			return
		}
		_ = m.Ack()
	})
}
