package gateway

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

// benchController answers every invocation with one prepared record, so
// that the benchmark measures the gateway alone.
type benchController struct{ rec *whisk.Activation }

func (b *benchController) Invoke(_ context.Context, msg *bus.ActivationMessage, _ time.Duration) (*whisk.Activation, error) {
	if !msg.Blocking {
		return nil, nil
	}
	return b.rec, nil
}

// BenchmarkInvokeWarm measures the gateway's share of a warm invocation:
// a cached action and cached credentials, through Fiber's handler without
// a network (go test -bench InvokeWarm -benchmem ./gateway).
func BenchmarkInvokeWarm(b *testing.B) {
	st := firstStore(b)
	h := newHarness(b, st, Config{AuthCacheTTL: time.Hour, ActionCacheTTL: time.Hour})
	h.putAction("hello", map[string]any{
		"exec":       map[string]any{"kind": "nodejs", "code": "x"},
		"parameters": []map[string]any{{"key": "greeting", "value": "Hello"}},
	})
	rec := &whisk.Activation{
		Namespace: "guest", Name: "hello", Version: "0.0.1", Subject: "guest",
		ActivationID: "0123456789abcdef0123456789abcdef", Start: 1, End: 2, Duration: 1,
		Response:    whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(`{"greeting":"Hello Gust"}`)),
		Logs:        []string{},
		Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, "guest/hello").Set(whisk.AnnKind, whisk.KindNode),
	}
	gw, err := New(Config{AuthCacheTTL: time.Hour, ActionCacheTTL: time.Hour, InvocationsPerMinute: 1 << 40}, Deps{Store: st, Controller: &benchController{rec}})
	if err != nil {
		b.Fatal(err)
	}
	handler := gw.App().Handler()
	for _, bc := range []struct{ name, query string }{
		{"nonblocking", ""},
		{"blocking-result", "?blocking=true&result=true"},
		{"blocking-record", "?blocking=true"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var req fasthttp.Request
			req.Header.SetMethod("POST")
			req.SetRequestURI(actionsPath + "hello" + bc.query)
			req.Header.Set("Authorization", guestAuth)
			req.Header.SetContentType("application/json")
			req.SetBodyString(`{"name":"Gust"}`)
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, nil, nil)
			handler(&ctx) // warm the caches
			if s := ctx.Response.StatusCode(); s != 200 && s != 202 {
				b.Fatalf("status %d: %s", s, ctx.Response.Body())
			}
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				handler(&ctx)
			}
		})
	}
}
