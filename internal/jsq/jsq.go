package jsq

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dispatch hands each message of batch to handle, in the caller's
// goroutine; once stop is closed it hands the rest back to the stream
// (Nak) instead. It returns the batch's error, nil when the fetch merely
// timed out or found nothing.
func Dispatch(batch jetstream.MessageBatch, stop <-chan struct{}, handle func(jetstream.Msg)) error {
	for m := range batch.Messages() {
		select {
		case <-stop:
			_ = m.Nak()
			continue
		default:
		}
		handle(m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		return err
	}
	return nil
}

// KeepInProgress tells JetStream every third of ackWait that m is still
// being worked on, so that it is not redelivered, until the returned stop
// is called. stop is idempotent and returns once the goroutine it owns has
// ended.
func KeepInProgress(m jetstream.Msg, ackWait time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(ackWait/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = m.InProgress()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
