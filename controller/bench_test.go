package controller

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

// BenchmarkInvokeRoundTrip measures one blocking round trip to a trivial
// responder (an invoker at the NATS seam that answers a fixed record at
// once) over a real embedded nats-server on TCP loopback:
//
//	nc.Request         the floor: nats.go's request mux, no codec, no placement
//	mux                the controller's reply mux alone, same bytes
//	Invoke             the whole blocking path: encode, place, round trip, decode
//
// and the same with parallel callers. Run:
//
//	go test -run '^$' -bench InvokeRoundTrip -benchmem ./controller
func BenchmarkInvokeRoundTrip(b *testing.B) {
	srv := startNATS(b)
	const prefix = "b."
	subj := bus.Subjects{Prefix: prefix}

	a := action("bench", 256)
	msg := message(a, true)
	msg.V, msg.Received = bus.Version, time.Now().UnixMilli()
	payload, err := json.Marshal(msg)
	if err != nil {
		b.Fatal(err)
	}
	rec := &whisk.Activation{
		Namespace: "guest", Name: "bench", Version: "0.0.1", Subject: "guest", ActivationID: msg.ActivationID,
		Start: 1, End: 2, Duration: 1, Response: whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(`{"greeting":"hello gust"}`)),
		Logs: []string{}, Annotations: whisk.KeyValues{{Key: whisk.AnnPath, Value: json.RawMessage(`"guest/bench"`)}},
	}
	reply, err := json.Marshal(bus.Result{V: bus.Version, Activation: rec})
	if err != nil {
		b.Fatal(err)
	}

	responder := connect(b, srv)
	if _, err := responder.Subscribe(subj.Invoke("inv0"), func(m *nats.Msg) { _ = m.Respond(reply) }); err != nil {
		b.Fatal(err)
	}
	if err := responder.Flush(); err != nil {
		b.Fatal(err)
	}

	c := startController(b, srv, Config{ID: "bench", Prefix: prefix, DeadAfter: time.Hour, ForgetAfter: 2 * time.Hour})
	hb, _ := json.Marshal(bus.Heartbeat{V: bus.Version, ID: "inv0", MemoryMB: 1 << 30, FreeMB: 1 << 30})
	if err := responder.Publish(subj.Heartbeat(), hb); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "the heartbeat", func() bool { s, ok := status(c, "inv0"); return ok && s.State == StateUp })
	inv := c.reg.find("inv0")
	raw := connect(b, srv)
	ctx := context.Background()

	b.Run("nc.Request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := raw.Request(inv.subject, payload, 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mux", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			inv.inflight.Add(256)
			if _, err := c.mux.roundTrip(ctx, c.nc, inv, 256, payload, 5*time.Second, c.now()+int64(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Invoke", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Invoke(ctx, msg, 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nc.Request/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := raw.Request(inv.subject, payload, 5*time.Second); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("mux/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				inv.inflight.Add(256)
				if _, err := c.mux.roundTrip(ctx, c.nc, inv, 256, payload, 5*time.Second, c.now()+int64(time.Minute)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Invoke/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Invoke(ctx, msg, 5*time.Second); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkPick measures placement alone on a registry of 16 invokers.
func BenchmarkPick(b *testing.B) {
	r := newRegistry(bus.Subjects{Prefix: "b."})
	for i := range 16 {
		r.heartbeat(&bus.Heartbeat{ID: string(rune('a' + i)), MemoryMB: 1 << 30, FreeMB: 1 << 30}, testNow, time.Now())
	}
	req := newPlaceReq(action("bench", 256))
	b.ReportAllocs()
	for b.Loop() {
		inv, _, err := r.pick(&req, testNow, testDeadAfter, 0)
		if err != nil {
			b.Fatal(err)
		}
		inv.release(req.cost)
	}
}
