package gateway

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

const collActivations = "activations"

// activationSummary is a record as activation lists show it without
// docs=true: OpenWhisk's list view, without response and logs.
type activationSummary struct {
	Namespace    string          `json:"namespace"`
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Subject      string          `json:"subject"`
	ActivationID string          `json:"activationId"`
	Start        int64           `json:"start"`
	End          int64           `json:"end"`
	Duration     int64           `json:"duration"`
	StatusCode   int             `json:"statusCode"`
	Publish      bool            `json:"publish"`
	Cause        string          `json:"cause,omitempty"`
	Annotations  whisk.KeyValues `json:"annotations"`
}

func summarize(a *whisk.Activation) activationSummary {
	anns := a.Annotations
	if anns == nil {
		anns = whisk.KeyValues{}
	}
	return activationSummary{
		Namespace: a.Namespace, Name: a.Name, Version: a.Version, Subject: a.Subject,
		ActivationID: a.ActivationID, Start: a.Start, End: a.End, Duration: a.Duration,
		StatusCode: a.StatusCode, Publish: a.Publish, Cause: a.Cause, Annotations: anns,
	}
}

// listActivations lists the namespace's records, newest first: ?skip,
// ?limit, ?name=[pkg/]action, ?since, ?upto (epoch ms), ?docs=true for full
// records, ?count=true → {"activations": N}.
func (g *Gateway) listActivations(c *fiber.Ctx, p *principal, _ time.Time) error {
	ns, err := checkNamespace(c, p)
	if err != nil {
		return err
	}
	skip, limit, err := listPage(c, collActivations)
	if err != nil {
		return err
	}
	count, err := queryBool(c, "count")
	if err != nil {
		return err
	}
	docs, err := queryBool(c, "docs")
	if err != nil {
		return err
	}
	if count && docs {
		return errorf(whisk.ErrBadRequest, "The parameter 'docs' is not permitted with 'count'.")
	}
	f := store.ActivationFilter{Skip: skip, Limit: limit}
	if f.Name, err = nameFilter(c.Query("name")); err != nil {
		return err
	}
	if f.Since, err = queryEpoch(c, "since"); err != nil {
		return err
	}
	if f.Upto, err = queryEpoch(c, "upto"); err != nil {
		return err
	}
	ctx := g.reqCtx
	if count {
		f.Limit = 0 // Count honours Skip, as OpenWhisk's count=true
		n, err := g.st.CountActivations(ctx, ns, f)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{collActivations: n})
	}
	recs, err := g.st.ListActivations(ctx, ns, f)
	if err != nil {
		return err
	}
	if docs {
		for _, r := range recs {
			normalize(r)
		}
		if recs == nil {
			recs = []*whisk.Activation{}
		}
		return c.JSON(recs)
	}
	out := make([]activationSummary, len(recs))
	for i, r := range recs {
		out[i] = summarize(r)
	}
	return c.JSON(out)
}

// nameFilter validates the name query parameter: "action" or "pkg/action".
func nameFilter(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	pkg, name, found := strings.Cut(v, "/")
	if !found {
		pkg, name = "", v
	}
	if !whisk.ValidName(name) || (found && !whisk.ValidName(pkg)) {
		return "", errorf(whisk.ErrBadRequest, "Parameter may be a 'simple' name or 'package-name/simple' name: %s", v)
	}
	return strings.Clone(v), nil
}

// activation loads the record named by the path's id in the caller's
// namespace. A record of another namespace is simply not found there.
func (g *Gateway) activation(c *fiber.Ctx, p *principal) (*whisk.Activation, error) {
	ns, err := checkNamespace(c, p)
	if err != nil {
		return nil, err
	}
	id := c.Params("id")
	if !validActivationID(id) {
		return nil, errorf(whisk.ErrBadRequest, "The activation id is not valid.")
	}
	rec, err := g.st.GetActivation(g.reqCtx, ns, id)
	if err != nil {
		return nil, err
	}
	normalize(rec)
	return rec, nil
}

// validActivationID reports whether id is 32 hex digits.
func validActivationID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (g *Gateway) getActivation(c *fiber.Ctx, p *principal, _ time.Time) error {
	rec, err := g.activation(c, p)
	if err != nil {
		return err
	}
	return sendJSONRecord(c, rec)
}

// activationResult is GET …/activations/{id}/result.
type activationResult struct {
	Result  json.RawMessage `json:"result"`
	Success bool            `json:"success"`
	Status  string          `json:"status"`
}

func (g *Gateway) getActivationResult(c *fiber.Ctx, p *principal, _ time.Time) error {
	rec, err := g.activation(c, p)
	if err != nil {
		return err
	}
	return c.JSON(activationResult{
		Result:  resultOf(rec),
		Success: rec.Response.StatusCode == whisk.StatusSuccess,
		Status:  whisk.StatusName(rec.Response.StatusCode),
	})
}

func (g *Gateway) getActivationLogs(c *fiber.Ctx, p *principal, _ time.Time) error {
	rec, err := g.activation(c, p)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"logs": rec.Logs})
}
