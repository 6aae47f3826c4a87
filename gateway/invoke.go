package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/whisk"
)

// invoke is POST …/actions/{[pkg/]name}?blocking=&result=&timeout=, the hot
// path. On a warm, cached action it reads nothing from the store and
// encodes the response once.
func (g *Gateway) invoke(c *fiber.Ctx, p *principal, now time.Time) error {
	pkg, name, err := rawEntityName(c) // validated by loadAction on a cache miss
	if err != nil {
		return err
	}
	ns, shared, err := actionNamespace(c, p, pkg)
	if err != nil {
		return err
	}
	blocking, err := queryBool(c, "blocking")
	if err != nil {
		return err
	}
	resultOnly, err := queryBool(c, "result")
	if err != nil {
		return err
	}
	wait, err := g.blockingWait(c)
	if err != nil {
		return err
	}
	body := c.Body()
	if len(body) > whisk.MaxPayload {
		return errorf(ErrTooLarge, "Request larger than allowed: %d > %d bytes.", len(body), whisk.MaxPayload)
	}

	ca, err := g.actions.get(g.reqCtx, now.UnixNano(), ns, pkg, name, g.loadAction)
	if shared {
		err = checkShared(ca, err, ns, pkg)
	}
	if err != nil {
		return err
	}
	args, err := ca.mergeArgs(body)
	if err != nil {
		return err
	}
	if err := p.throttle.acquire(now.Unix()/60, p.invocationsPerMinute, p.concurrentInvocations); err != nil {
		return err
	}
	defer p.throttle.release()

	var idBuf [32]byte
	newID(&idBuf)
	id := string(idBuf[:])
	c.Response().Header.SetCanonical(keyActivationID, idBuf[:])
	msg := &bus.ActivationMessage{
		V:            bus.Version,
		ActivationID: id,
		TransID:      requestID(c),
		Namespace:    p.namespace, // the caller, also for another namespace's shared package
		Subject:      p.namespace,
		Action:       ca.action,
		Args:         args,
		InitEnv:      ca.initEnv,
		Blocking:     blocking,
		Annotations:  ca.annotations,
		Received:     now.UnixMilli(),
	}
	if ca.provideAPIKey {
		msg.APIKey = p.apiKey
	}
	if !blocking {
		wait = 0
	}
	rec, err := g.ctrl.Invoke(g.reqCtx, msg, wait)
	switch {
	case errors.Is(err, controller.ErrStillRunning):
		return sendAccepted(c, id)
	case err != nil:
		return err
	case rec == nil || !blocking:
		return sendAccepted(c, id)
	}
	return sendRecord(c, rec, resultOnly)
}

// blockingWait parses the timeout query parameter: 1..MaxBlockingWait in
// milliseconds, default MaxBlockingWait.
func (g *Gateway) blockingWait(c *fiber.Ctx) (time.Duration, error) {
	v := c.Query("timeout")
	if v == "" {
		return g.cfg.MaxBlockingWait, nil
	}
	maxMS := g.cfg.MaxBlockingWait.Milliseconds()
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > maxMS {
		return 0, errorf(whisk.ErrBadRequest, "Timeout must be number of milliseconds up to %d.", maxMS)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// loadAction validates an action's name, reads its document through its
// package or binding (resolveAction) and prepares it, for the cache.
func (g *Gateway) loadAction(ctx context.Context, ns, pkg, name string) (*cachedAction, error) {
	r, err := g.resolveAction(ctx, ns, pkg, name)
	if err != nil {
		return nil, err
	}
	ca := newCachedAction(r.Action)
	ca.public = r.Public
	ca.annotations = r.Binding
	return ca, nil
}

// decodeAction decodes a stored action document.
func decodeAction(doc []byte) (*whisk.Action, error) { return actionDocs.decode(doc) }

// joinName is the entity name inside a namespace: "name" or "pkg/name".
func joinName(pkg, name string) string {
	if pkg == "" {
		return name
	}
	return pkg + "/" + name
}

// sendAccepted answers 202 {"activationId": id}.
func sendAccepted(c *fiber.Ctx, id string) error {
	c.Status(fiber.StatusAccepted)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	r := c.Response()
	r.AppendBodyString(`{"activationId":"`)
	r.AppendBodyString(id)
	r.AppendBodyString(`"}`)
	return nil
}

// sendRecord answers a finished blocking invocation: 200 on success, 502
// for an application or developer error, 500 for an internal error; the
// whole record, or with resultOnly just its result.
func sendRecord(c *fiber.Ctx, rec *whisk.Activation, resultOnly bool) error {
	c.Status(recordStatus(rec))
	if resultOnly {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(resultOf(rec))
	}
	normalize(rec)
	return sendJSONRecord(c, rec)
}

// sendJSONRecord answers with rec's JSON, encoded without reflection
// (whisk.Activation.AppendJSON), the same wherever a record is answered.
func sendJSONRecord(c *fiber.Ctx, rec *whisk.Activation) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(rec.AppendJSON(make([]byte, 0, 1024)))
}

func recordStatus(rec *whisk.Activation) int {
	switch rec.Response.StatusCode {
	case whisk.StatusSuccess:
		return http.StatusOK
	case whisk.StatusApplicationError, whisk.StatusDeveloperError:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

var emptyObject = json.RawMessage("{}")

// resultOf is the record's result, {} when it has none (as OpenWhisk).
func resultOf(rec *whisk.Activation) json.RawMessage {
	if len(rec.Response.Result) == 0 {
		return emptyObject
	}
	return rec.Response.Result
}

// normalize gives a record OpenWhisk's always-present arrays.
func normalize(rec *whisk.Activation) {
	if rec.Logs == nil {
		rec.Logs = []string{}
	}
	if rec.Annotations == nil {
		rec.Annotations = whisk.KeyValues{}
	}
}
