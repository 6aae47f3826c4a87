package invoker

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

// TestInvokeLocal: the in-process path gives what a NATS request gives (the
// record, its storage, the same errors) and leaves the message unchanged.
func TestInvokeLocal(t *testing.T) {
	e := newEnv(t)
	cfg := Config{APIHost: "http://gust.test", MemoryMB: 1024}
	notYet, err := New(cfg, Deps{NATS: e.nc, Store: e.st, Driver: e.drv, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	a := e.action("hello", "nodejs", helloJS, whisk.Limits{Timeout: 10000, Memory: 256, Logs: 1})
	if rec, err := notYet.InvokeLocal(context.Background(), e.message(a, `{}`)); rec != nil || !errors.Is(err, ErrShuttingDown) {
		t.Errorf("before Run: %v, %v; want no record, ErrShuttingDown", rec, err)
	}

	inv, stop := e.start(cfg)
	if inv.ID() != "inv0" {
		t.Errorf("ID = %q", inv.ID())
	}
	msg := e.message(a, `{"name":"World"}`)
	msg.InitEnv = map[string]string{"SECRET": "s3"}
	before, _ := json.Marshal(msg)
	// The caller's context ending does not stop the activation.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec, err := inv.InvokeLocal(ctx, msg)
	if err != nil || rec == nil {
		t.Fatalf("InvokeLocal: %v, %v", rec, err)
	}
	if after, _ := json.Marshal(msg); string(after) != string(before) {
		t.Errorf("InvokeLocal changed the message:\n%s\n%s", before, after)
	}
	got := result(rec)
	if rec.StatusCode != whisk.StatusSuccess || got["payload"] != "Hello World" || got["secret"] != "s3" || got["activation"] != msg.ActivationID {
		t.Errorf("record %d %s", rec.StatusCode, rec.Response.Result)
	}
	if ann(rec, whisk.AnnStart) != `"cold"` || len(rec.Logs) != 2 {
		t.Errorf("start %s logs %q", ann(rec, whisk.AnnStart), rec.Logs)
	}
	if s := e.stored(msg.ActivationID); s.Response.StatusCode != whisk.StatusSuccess || len(s.Logs) != 2 || string(s.Response.Result) != string(rec.Response.Result) {
		t.Errorf("stored record = %+v", s)
	}

	// The NATS path on the same warm sandbox gives the same record shape.
	viaNATS := e.invoke(inv, e.message(a, `{"name":"World"}`)).Activation
	local := e.message(a, `{"name":"World"}`)
	rec, err = inv.InvokeLocal(context.Background(), local)
	if err != nil {
		t.Fatal(err)
	}
	if ann(rec, whisk.AnnStart) != `"warm"` || ann(viaNATS, whisk.AnnStart) != `"warm"` || result(rec)["payload"] != result(viaNATS)["payload"] {
		t.Errorf("warm: local %s %s, NATS %s %s", ann(rec, whisk.AnnStart), rec.Response.Result, ann(viaNATS, whisk.AnnStart), viaNATS.Response.Result)
	}
	e.stored(local.ActivationID)

	// The invoker's failures: the error the NATS reply carries, and a
	// stored whisk internal error.
	big := e.action("big", "nodejs", helloJS, whisk.Limits{Timeout: 1000, Memory: 2048, Logs: 1})
	bigMsg := e.message(big, `{}`)
	rec, err = inv.InvokeLocal(context.Background(), bigMsg)
	if !errors.Is(err, ErrTooBig) || rec == nil || rec.StatusCode != whisk.StatusInternalError {
		t.Errorf("too big: %v, %v; want a whisk error record and ErrTooBig", rec, err)
	}
	res := e.invoke(inv, e.message(big, `{}`))
	if err != nil && res.Error != err.Error() {
		t.Errorf("NATS error %q, local %q", res.Error, err)
	}
	if s := e.stored(bigMsg.ActivationID); s.StatusCode != whisk.StatusInternalError {
		t.Errorf("stored too-big record: %d", s.StatusCode)
	}
	bad := e.message(a, `{}`)
	bad.Namespace = ""
	if rec, err := inv.InvokeLocal(context.Background(), bad); !errors.Is(err, ErrBadMessage) || rec == nil {
		t.Errorf("bad message: %v, %v", rec, err)
	}
	if rec, err := inv.InvokeLocal(context.Background(), nil); !errors.Is(err, ErrBadMessage) || rec != nil {
		t.Errorf("nil message: %v, %v", rec, err)
	}

	stop()
	if rec, err := inv.InvokeLocal(context.Background(), e.message(a, `{}`)); rec != nil || !errors.Is(err, ErrShuttingDown) {
		t.Errorf("after Run: %v, %v; want no record, ErrShuttingDown", rec, err)
	}
}
