package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// maxSequenceLength is OpenWhisk's limit on the atomic actions of a
// sequence, nested sequences inlined.
const maxSequenceLength = 50

// actionPut is the body of an action PUT (OpenWhisk's WhiskActionPut).
// Absent fields keep their old value on update.
type actionPut struct {
	Exec           *execPut         `json:"exec"`
	Parameters     *whisk.KeyValues `json:"parameters"`
	Limits         *limitsPut       `json:"limits"`
	Version        *string          `json:"version"`
	Publish        *bool            `json:"publish"`
	Annotations    *whisk.KeyValues `json:"annotations"`
	DelAnnotations []string         `json:"delAnnotations"`
}

type execPut struct {
	Kind       string   `json:"kind"`
	Code       *string  `json:"code"`
	Main       string   `json:"main"`
	Binary     *bool    `json:"binary"`
	Image      string   `json:"image"`
	Components []string `json:"components"`
}

type limitsPut struct {
	Timeout     *int `json:"timeout"`
	Memory      *int `json:"memory"`
	Logs        *int `json:"logs"`
	Concurrency *int `json:"concurrency"`
}

var semverRE = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// putAction creates an action, or with ?overwrite=true replaces it.
func (g *Gateway) putAction(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, pkg, name, err := actionPath(c, p)
	if err != nil {
		return err
	}
	var req actionPut
	overwrite, err := readPut(c, &req)
	if err != nil {
		return err
	}
	pkg, name = strings.Clone(pkg), strings.Clone(name)
	key := actionDocs.key(ns, joinName(pkg, name))
	ctx := g.reqCtx
	old, err := actionDocs.replaced(ctx, g.st, key, overwrite)
	if err != nil {
		return err
	}

	a, code, err := g.buildAction(ctx, ns, pkg, name, &req, old)
	if err != nil {
		return err
	}
	if code != nil {
		if a.Exec.Digest, err = g.st.PutCode(ctx, code); err != nil {
			return err
		}
	} else if a.Exec.Digest != "" {
		// exec unchanged: answer with the stored code, as OpenWhisk does
		if code, err = g.code(ctx, a); err != nil {
			return err
		}
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := g.st.PutEntity(ctx, key, doc, overwrite); err != nil {
		return err
	}
	g.actions.invalidate(ns, pkg, name)
	return c.JSON(apiAction(a, code))
}

// actionPath resolves the path of an action of the caller's namespace:
// the namespace and the [package and] name, validated.
func actionPath(c *fiber.Ctx, p *principal) (ns, pkg, name string, err error) {
	if ns, err = checkNamespace(c, p); err != nil {
		return "", "", "", err
	}
	pkg, name, err = entityName(c)
	return ns, pkg, name, err
}

// buildAction makes the action a PUT describes, from scratch or over old.
// code is the code to store, nil when the exec carries none or is unchanged.
func (g *Gateway) buildAction(ctx context.Context, ns, pkg, name string, req *actionPut, old *whisk.Action) (*whisk.Action, []byte, error) {
	a := &whisk.Action{Namespace: ns, Name: name, Version: "0.0.1", Limits: whisk.DefaultLimits()}
	if pkg != "" {
		a.Namespace = ns + "/" + pkg
	}
	if old != nil {
		a.Version = whisk.NextVersion(old.Version)
		a.Publish = old.Publish
		a.Exec = old.Exec
		a.Limits = old.Limits
		a.Annotations = old.Annotations
		if old.Exec.Kind != whisk.KindSequence || req.Exec == nil {
			a.Parameters = old.Parameters
		}
	}

	var code []byte
	switch {
	case req.Exec != nil:
		exec, c, err := g.buildExec(ctx, whisk.FQN{Namespace: ns, Package: pkg, Name: name}, req.Exec)
		if err != nil {
			return nil, nil, err
		}
		a.Exec, code = exec, c
	case old == nil:
		return nil, nil, errorf(whisk.ErrBadRequest, "exec undefined")
	}

	if l := req.Limits; l != nil {
		set := func(dst *int, v *int) {
			if v != nil {
				*dst = *v
			}
		}
		set(&a.Limits.Timeout, l.Timeout)
		set(&a.Limits.Memory, l.Memory)
		set(&a.Limits.Logs, l.Logs)
		set(&a.Limits.Concurrency, l.Concurrency)
	}
	if err := a.Limits.Validate(); err != nil {
		return nil, nil, err
	}

	switch {
	case a.Exec.Kind == whisk.KindSequence && req.Exec != nil:
		// OpenWhisk keeps the components as the parameter _actions too.
		a.Parameters = whisk.KeyValues{}.Set("_actions", a.Exec.Components)
	case a.Exec.Kind == whisk.KindSequence:
		// a sequence's parameters are its components: ignore new ones
	case req.Parameters != nil:
		params, err := checkKeyValues("Parameters", *req.Parameters)
		if err != nil {
			return nil, nil, err
		}
		a.Parameters = params
	}
	if a.Parameters == nil {
		a.Parameters = whisk.KeyValues{}
	}

	if req.Annotations != nil {
		anns, err := checkKeyValues("Annotations", *req.Annotations)
		if err != nil {
			return nil, nil, err
		}
		a.Annotations = anns
	}
	a.Annotations = append(whisk.KeyValues{}, a.Annotations...) // never write into old's array
	for _, k := range req.DelAnnotations {
		a.Annotations = a.Annotations.Delete(k)
	}
	a.Annotations = a.Annotations.Set(annExec, a.Exec.Kind)
	if old == nil && a.Annotations.Get(annProvideAPIKey) == nil {
		a.Annotations = a.Annotations.Set(annProvideAPIKey, false)
	}

	if req.Version != nil {
		if !semverRE.MatchString(*req.Version) {
			return nil, nil, errorf(whisk.ErrBadRequest, "The version '%s' is not a semantic version major.minor.patch.", *req.Version)
		}
		a.Version = *req.Version
	}
	if req.Publish != nil {
		a.Publish = *req.Publish
	}
	a.Updated = time.Now().UnixMilli()
	a.Rev = newRev()
	return a, code, nil
}

// buildExec validates an exec and resolves its kind. code is what the
// store should hold, exactly as received (base64 text when binary).
func (g *Gateway) buildExec(ctx context.Context, self whisk.FQN, e *execPut) (whisk.Exec, []byte, error) {
	kind, err := whisk.CanonicalKind(e.Kind)
	if err != nil {
		return whisk.Exec{}, nil, err
	}
	exec := whisk.Exec{Kind: kind, Main: e.Main}
	switch kind {
	case whisk.KindSequence:
		comps, err := g.checkSequence(ctx, self, e.Components)
		if err != nil {
			return whisk.Exec{}, nil, err
		}
		return whisk.Exec{Kind: kind, Components: comps}, nil, nil
	case whisk.KindBlackbox:
		if e.Image == "" {
			return whisk.Exec{}, nil, errorf(whisk.ErrBadRequest, "exec.image is required for kind '%s'.", kind)
		}
		exec.Image = e.Image
		if e.Code == nil || *e.Code == "" {
			return exec, nil, nil
		}
	default:
		if e.Code == nil || *e.Code == "" {
			return whisk.Exec{}, nil, errorf(whisk.ErrBadRequest, "exec.code is required for kind '%s'.", kind)
		}
	}
	code := *e.Code
	if len(code) > whisk.MaxCodeSize {
		return whisk.Exec{}, nil, errorf(ErrTooLarge, "Exec code larger than allowed: %d > %d bytes.", len(code), whisk.MaxCodeSize)
	}
	exec.Binary = isBase64(code)
	if e.Binary != nil && *e.Binary && !exec.Binary {
		return whisk.Exec{}, nil, errorf(whisk.ErrBadRequest, "exec.code must be base64 when exec.binary is true.")
	}
	return exec, []byte(code), nil
}

// isBase64 is OpenWhisk's test for binary code (a zip, jar or executable
// sent as base64): after trimming, a non-empty multiple of 4 characters of
// the standard alphabet, '=' only as padding. It allocates nothing.
func isBase64(code string) bool {
	t := strings.TrimSpace(code)
	if len(t) == 0 || len(t)%4 != 0 {
		return false
	}
	pad := 0
	if t[len(t)-1] == '=' {
		pad++
		if t[len(t)-2] == '=' {
			pad++
		}
	}
	for i := 0; i < len(t)-pad; i++ {
		c := t[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// checkSequence resolves and validates a sequence's components: they must
// exist in the caller's namespace, and the sequence, nested ones inlined,
// must hold 1..maxSequenceLength atomic actions and not contain itself.
func (g *Gateway) checkSequence(ctx context.Context, self whisk.FQN, components []string) ([]string, error) {
	if len(components) == 0 {
		return nil, errorf(whisk.ErrBadRequest, "No component specified for the sequence.")
	}
	if len(components) > maxSequenceLength {
		return nil, errorf(whisk.ErrBadRequest, "Too many actions in the sequence.")
	}
	out := make([]string, 0, len(components))
	count := 0
	for _, s := range components {
		f, err := whisk.ParseFQN(s, self.Namespace)
		if err != nil {
			return nil, err
		}
		if f.Namespace != self.Namespace {
			return nil, forbidden(f.String())
		}
		if err := g.countAtomic(ctx, self, f, &count, 0); err != nil {
			return nil, err
		}
		out = append(out, f.String())
	}
	return out, nil
}

// countAtomic adds the atomic actions of component f to count, inlining
// nested sequences, and fails on a reference to self, a missing component
// or a count past the limit.
func (g *Gateway) countAtomic(ctx context.Context, self, f whisk.FQN, count *int, depth int) error {
	if f == self {
		return errorf(whisk.ErrBadRequest, "Sequence may not refer to itself.")
	}
	if depth > maxSequenceLength {
		return errorf(whisk.ErrBadRequest, "Sequence may not refer to itself.") // a cycle not through self
	}
	a, err := actionDocs.get(ctx, g.st, f.Namespace, f.EntityName())
	if errors.Is(err, store.ErrNotFound) {
		return errorf(whisk.ErrBadRequest, "Sequence component does not exist.")
	}
	if err != nil {
		return err
	}
	if a.Exec.Kind != whisk.KindSequence {
		if *count++; *count > maxSequenceLength {
			return errorf(whisk.ErrBadRequest, "Too many actions in the sequence.")
		}
		return nil
	}
	for _, s := range a.Exec.Components {
		cf, err := whisk.ParseFQN(s, f.Namespace)
		if err != nil {
			return fmt.Errorf("stored sequence %s: %v", f, err)
		}
		if err := g.countAtomic(ctx, self, cf, count, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkKeyValues validates parameters or annotations: non-empty keys, at
// most whisk.MaxPayload bytes in all; a missing value becomes null and a
// repeated key keeps its last value.
func checkKeyValues(what string, kvs whisk.KeyValues) (whisk.KeyValues, error) {
	out := make(whisk.KeyValues, 0, len(kvs))
	size := 0
	for _, kv := range kvs {
		if kv.Key == "" {
			return nil, errorf(whisk.ErrBadRequest, "%s must have a non-empty key.", what)
		}
		if len(kv.Value) == 0 {
			kv.Value = json.RawMessage("null")
		}
		size += len(kv.Key) + len(kv.Value)
		out = out.Merge(whisk.KeyValues{kv})
	}
	if size > whisk.MaxPayload {
		return nil, errorf(ErrTooLarge, "%s larger than allowed: %d > %d bytes.", what, size, whisk.MaxPayload)
	}
	return out, nil
}

// newRev returns a fresh revision id.
func newRev() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// code reads an action's code from the store.
func (g *Gateway) code(ctx context.Context, a *whisk.Action) ([]byte, error) {
	code, err := g.st.GetCode(ctx, a.Exec.Digest)
	if err != nil {
		// a dangling digest is the store's fault, not a missing resource
		return nil, fmt.Errorf("code %s of action %s/%s: %v", a.Exec.Digest, a.Namespace, a.Name, err)
	}
	return code, nil
}

// apiAction is an action as the API shows it: with its code (when given)
// and without the store's bookkeeping.
func apiAction(a *whisk.Action, code []byte) whisk.Action {
	out := *a
	out.Exec.Code = string(code)
	out.Exec.Digest = ""
	out.Rev = ""
	if out.Annotations == nil {
		out.Annotations = whisk.KeyValues{}
	}
	if out.Parameters == nil {
		out.Parameters = whisk.KeyValues{}
	}
	return out
}

// getAction returns an action, with its code unless ?code=false.
func (g *Gateway) getAction(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, pkg, name, err := actionPath(c, p)
	if err != nil {
		return err
	}
	withCode, err := queryCode(c)
	if err != nil {
		return err
	}
	a, err := actionDocs.get(g.reqCtx, g.st, ns, joinName(pkg, name))
	if err != nil {
		return err
	}
	return g.sendAction(c, a, withCode)
}

// queryCode reads ?code: whether a GET of an action shows its code
// (default true).
func queryCode(c *fiber.Ctx) (bool, error) {
	if c.Query("code") == "" {
		return true, nil
	}
	return queryBool(c, "code")
}

// sendAction answers with action a as the API shows it, with its code
// when withCode.
func (g *Gateway) sendAction(c *fiber.Ctx, a *whisk.Action, withCode bool) error {
	var code []byte
	if withCode && a.Exec.Digest != "" {
		var err error
		if code, err = g.code(g.reqCtx, a); err != nil {
			return err
		}
	}
	return c.JSON(apiAction(a, code))
}

// deleteAction deletes an action and returns it.
func (g *Gateway) deleteAction(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, pkg, name, err := actionPath(c, p)
	if err != nil {
		return err
	}
	ctx := g.reqCtx
	key := actionDocs.key(ns, joinName(pkg, name))
	a, err := actionDocs.get(ctx, g.st, ns, key.Name)
	if err != nil {
		return err
	}
	var code []byte
	if a.Exec.Digest != "" {
		if code, err = g.code(ctx, a); err != nil {
			g.log.Warn("deleting action without its code", "action", key.Name, "namespace", ns, "err", err)
		}
	}
	if err := g.st.DeleteEntity(ctx, key); err != nil {
		return err
	}
	g.actions.invalidate(ns, pkg, name)
	return c.JSON(apiAction(a, code))
}

// actionSummary is an action as lists show it (OpenWhisk's list view): no
// code, no parameters.
type actionSummary struct {
	Namespace   string          `json:"namespace"`
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Publish     bool            `json:"publish"`
	Exec        execSummary     `json:"exec"`
	Annotations whisk.KeyValues `json:"annotations"`
	Limits      whisk.Limits    `json:"limits"`
	Updated     int64           `json:"updated"`
}

type execSummary struct {
	Binary bool `json:"binary"`
}

// listActions lists the namespace's actions, or a package's or binding's
// with …/actions/{pkg}/: ?skip, ?limit, ?count=true → {"actions": N}.
func (g *Gateway) listActions(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, prefix, err := g.actionListScope(c, p) // packages.go: resolves a binding
	if err != nil {
		return err
	}
	return listEntities(g, c, actionDocs, ns, prefix, func(a *whisk.Action) actionSummary {
		anns := a.Annotations
		if anns == nil {
			anns = whisk.KeyValues{}
		}
		return actionSummary{
			Namespace: a.Namespace, Name: a.Name, Version: a.Version, Publish: a.Publish,
			Exec: execSummary{Binary: a.Exec.Binary}, Annotations: anns, Limits: a.Limits, Updated: a.Updated,
		}
	})
}
