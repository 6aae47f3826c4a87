package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/gopool"
	"github.com/gust-faas/gust/whisk"
)

// LocalInvoker is an invoker in the controller's own process (`gust up`),
// reached by a call instead of a NATS request; see "In-process invoker" in
// the package comment. *invoker.Invoker implements it.
type LocalInvoker interface {
	// ID is the id the invoker beats with.
	ID() string
	// InvokeLocal runs one blocking activation and returns its record, which
	// the invoker stores. It must only read msg, and must not stop the
	// activation when ctx ends. A nil record means it did not take the
	// activation (it is not running, or draining): the controller then tries
	// another invoker, as after "no responders". A non-nil error with a
	// record is the invoker's failure, recorded as a whisk internal error.
	InvokeLocal(ctx context.Context, msg *bus.ActivationMessage) (*whisk.Activation, error)
}

// localResult is what an in-process activation ends with.
type localResult struct {
	rec *whisk.Activation
	err error
}

// localCall is one in-process activation being waited for; pooled with its
// channel and timer while both are idle.
type localCall struct {
	ch    chan localResult // cap 1: the activation never blocks on it
	timer *time.Timer
}

var localCalls = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &localCall{ch: make(chan localResult, 1), timer: t}
}}

// workers run the in-process activations and the queued ones: on
// goroutines that keep the stack a call grew for the next call (see
// package gopool).
var workers = gopool.New(10 * time.Second)

// errLocalRefused: the local invoker did not take the activation.
var errLocalRefused = fmt.Errorf("local invoker refused the activation")

// roundTripLocal runs msg on the local invoker inv, on which the caller
// booked cost, and waits up to wait for the record. The activation runs on
// a goroutine of its own while it lasts (one of workers), bounded by the
// invoker (its drain aborts what is left), and releases the booking when it
// really ends, whether or not anybody still waits: the in-process
// counterpart of the mux's late-reply accounting. The errors are the mux's:
// errWaitElapsed, errStopped, ctx's.
func (c *Controller) roundTripLocal(ctx context.Context, inv *invoker, cost int64, msg *bus.ActivationMessage, wait time.Duration) (*whisk.Activation, error) {
	lc := localCalls.Get().(*localCall)
	ch, local := lc.ch, c.local
	workers.Go(func() {
		rec, err := local.InvokeLocal(ctx, msg)
		inv.release(cost)
		ch <- localResult{rec, err}
	})
	lc.timer.Reset(wait)
	var why error
	select {
	case r := <-ch:
		lc.timer.Stop()
		localCalls.Put(lc)
		if r.rec == nil {
			if r.err == nil {
				r.err = errLocalRefused
			}
			return nil, fmt.Errorf("%w: %w", errLocalRefused, r.err)
		}
		if r.err != nil {
			c.log.Warn("invoker could not run activation", "activation", msg.ActivationID, "invoker", inv.id, "error", r.err)
		}
		return r.rec, nil
	case <-lc.timer.C:
		why = errWaitElapsed
	case <-ctx.Done():
		lc.timer.Stop()
		why = ctx.Err()
	case <-c.stopped:
		lc.timer.Stop()
		why = errStopped
	}
	// The activation goes on and will send on ch: lc cannot be reused.
	return nil, why
}
