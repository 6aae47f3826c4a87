package jsq_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/embednats"
	"github.com/gust-faas/gust/internal/jsq"
)

// workQueue starts a real embedded nats-server with a work-queue stream on
// "q" holding n messages, and returns a pull consumer of it.
func workQueue(t *testing.T, n int, ackWait time.Duration) jetstream.Consumer {
	t.Helper()
	srv, err := embednats.Start(embednats.Config{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := embednats.Connect(srv, "jsq-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "Q", Subjects: []string{"q"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := js.Publish(ctx, "q", fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait})
	if err != nil {
		t.Fatal(err)
	}
	return cons
}

// fetch pulls up to n messages, waiting at most wait.
func fetch(t *testing.T, cons jetstream.Consumer, n int, wait time.Duration, stop <-chan struct{}) []jetstream.Msg {
	t.Helper()
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(wait))
	if err != nil {
		t.Fatal(err)
	}
	var got []jetstream.Msg
	if err := jsq.Dispatch(batch, stop, func(m jetstream.Msg) { got = append(got, m) }); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	return got
}

func TestDispatch(t *testing.T) {
	cons := workQueue(t, 3, 30*time.Second)

	// stopping: every message goes back at once, handled by no one
	stopped := make(chan struct{})
	close(stopped)
	if got := fetch(t, cons, 3, time.Second, stopped); len(got) != 0 {
		t.Fatalf("stopped: %d messages handled, want 0", len(got))
	}

	// running: the same messages, redelivered in order
	got := fetch(t, cons, 3, time.Second, make(chan struct{}))
	if len(got) != 3 {
		t.Fatalf("got %d messages, want the 3 handed back", len(got))
	}
	for i, m := range got {
		if want := fmt.Sprintf("m%d", i); string(m.Data()) != want {
			t.Errorf("message %d = %q, want %q", i, m.Data(), want)
		}
		if md, err := m.Metadata(); err != nil || md.NumDelivered != 2 {
			t.Errorf("message %d delivered %v times (%v), want 2", i, md.NumDelivered, err)
		}
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}

	// an empty queue is no error
	if got := fetch(t, cons, 3, 50*time.Millisecond, make(chan struct{})); len(got) != 0 {
		t.Errorf("empty queue: %d messages", len(got))
	}
}

func TestKeepInProgress(t *testing.T) {
	const ackWait = 150 * time.Millisecond
	cons := workQueue(t, 1, ackWait)
	got := fetch(t, cons, 1, time.Second, make(chan struct{}))
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	stop := jsq.KeepInProgress(got[0], ackWait)
	// kept in progress through several ack waits: not redelivered
	if again := fetch(t, cons, 1, 4*ackWait, make(chan struct{})); len(again) != 0 {
		t.Fatalf("redelivered while in progress")
	}
	stop()
	stop() // idempotent
	// no longer kept: redelivered once the ack wait passes
	again := fetch(t, cons, 1, 10*ackWait, make(chan struct{}))
	if len(again) != 1 {
		t.Fatalf("not redelivered after stop")
	}
	_ = again[0].Ack()
}
