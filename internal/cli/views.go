package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// Packages, triggers and rules as wsk prints them: the field order and
// omitted fields of openwhisk-client-go's structs, which wsk encodes.

// packageView is a package in wsk's field order.
type packageView struct {
	Namespace   string          `json:"namespace,omitempty"`
	Name        string          `json:"name,omitempty"`
	Version     string          `json:"version,omitempty"`
	Publish     *bool           `json:"publish,omitempty"`
	Annotations []kvView        `json:"annotations,omitempty"`
	Parameters  []kvView        `json:"parameters,omitempty"`
	Binding     *client.Binding `json:"binding,omitempty"`
	Actions     []entityView    `json:"actions,omitempty"`
	Feeds       []entityView    `json:"feeds,omitempty"`
	Updated     int64           `json:"updated,omitempty"`
}

// entityView is an action of a package: a summary in an action's shape.
type entityView struct {
	Namespace   string   `json:"namespace,omitempty"`
	Name        string   `json:"name,omitempty"`
	Version     string   `json:"version,omitempty"`
	Annotations []kvView `json:"annotations,omitempty"`
	Publish     *bool    `json:"publish,omitempty"`
	Updated     int64    `json:"updated,omitempty"`
}

func viewPackage(p *client.Package) *packageView {
	publish := p.Publish
	v := &packageView{Namespace: p.Namespace, Name: p.Name, Version: p.Version, Publish: &publish,
		Annotations: kvViews(p.Annotations), Parameters: kvViews(p.Parameters), Binding: p.Binding,
		Actions: entityViews(p.Actions), Feeds: entityViews(p.Feeds), Updated: p.Updated}
	return v
}

func entityViews(es []client.Entity) []entityView {
	if len(es) == 0 {
		return nil
	}
	out := make([]entityView, len(es))
	for i, e := range es {
		out[i] = entityView{Namespace: e.Namespace, Name: e.Name, Version: e.Version, Annotations: kvViews(e.Annotations), Updated: e.Updated}
		if e.Publish {
			t := true
			out[i].Publish = &t
		}
	}
	return out
}

// triggerView is a trigger in wsk's field order.
type triggerView struct {
	Namespace    string   `json:"namespace,omitempty"`
	Name         string   `json:"name"`
	Version      string   `json:"version,omitempty"`
	ActivationID string   `json:"activationId,omitempty"`
	Annotations  []kvView `json:"annotations,omitempty"`
	Parameters   []kvView `json:"parameters,omitempty"`
	Limits       any      `json:"limits,omitempty"`
	Publish      *bool    `json:"publish,omitempty"`
	Rules        any      `json:"rules,omitempty"`
	Updated      int64    `json:"updated,omitempty"`
}

func viewTrigger(t *client.Trigger) *triggerView {
	publish := t.Publish
	v := &triggerView{Namespace: t.Namespace, Name: t.Name, Version: t.Version,
		Annotations: kvViews(t.Annotations), Parameters: kvViews(t.Parameters), Limits: generic(t.Limits),
		Publish: &publish, Updated: t.Updated}
	if len(t.Rules) > 0 {
		v.Rules = genericOf(t.Rules)
	}
	return v
}

// ruleView is a rule in wsk's field order.
type ruleView struct {
	Namespace   string   `json:"namespace,omitempty"`
	Name        string   `json:"name,omitempty"`
	Version     string   `json:"version,omitempty"`
	Annotations []kvView `json:"annotations,omitempty"`
	Status      string   `json:"status"`
	Trigger     any      `json:"trigger"`
	Action      any      `json:"action"`
	Publish     *bool    `json:"publish,omitempty"`
	Updated     int64    `json:"updated,omitempty"`
}

func viewRule(r *client.Rule) *ruleView {
	publish := r.Publish
	return &ruleView{Namespace: r.Namespace, Name: r.Name, Version: r.Version, Annotations: kvViews(r.Annotations),
		Status: r.Status, Trigger: refView(r.Trigger), Action: refView(r.Action), Publish: &publish, Updated: r.Updated}
}

// refView prints an entity reference as wsk does, with sorted keys; a
// reference the server did not send prints as null.
func refView(r client.EntityRef) any {
	if r.Name == "" && r.Path == "" {
		return nil
	}
	return genericOf(r)
}

// genericOf re-encodes v into plain values, so that it prints as wsk prints
// the JSON it decodes into interfaces: objects with sorted keys.
func genericOf(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return generic(b)
}

// Field names `get NAME FIELD` accepts.
var (
	packageFields = []string{"namespace", "name", "version", "publish", "annotations", "parameters", "binding", "actions", "feeds", "updated"}
	triggerFields = []string{"namespace", "name", "version", "activationId", "annotations", "parameters", "limits", "publish", "rules", "updated"}
	ruleFields    = []string{"namespace", "name", "version", "annotations", "status", "trigger", "action", "publish", "updated"}
)

// printEntitySummary writes one entity of `get --summary`: its kind (padded
// as wsk pads it), its name and description, and its parameters.
func printEntitySummary(w io.Writer, kind, fullName string, annotations, parameters whisk.KeyValues) {
	params := paramUnion(annotations, parameters)
	desc := annotationString(annotations, "description")
	list := strings.Join(params, ", ")
	switch {
	case desc != "":
		fmt.Fprintf(w, "%s %s: %s\n", kind, fullName, desc)
	case list != "":
		fmt.Fprintf(w, "%s %s: %s\n", kind, fullName, paramDescription(list))
	default:
		fmt.Fprintf(w, "%s %s\n", kind, fullName)
	}
	if list == "" {
		list = "none defined"
	}
	fmt.Fprintf(w, "   (parameters: %s)\n", list)
}

// printPackageSummary writes `package get --summary`: the package, then
// its actions and feeds.
func printPackageSummary(w io.Writer, p *client.Package) {
	full := "/" + p.Namespace + "/" + p.Name
	printEntitySummary(w, "package", full, p.Annotations, p.Parameters)
	for _, a := range p.Actions {
		printEntitySummary(w, " action", full+"/"+a.Name, a.Annotations, nil)
	}
	for _, f := range p.Feeds {
		printEntitySummary(w, " feed  ", full+"/"+f.Name, f.Annotations, nil)
	}
}

// printTriggerSummary writes `trigger get --summary`.
func printTriggerSummary(w io.Writer, t *client.Trigger) {
	printEntitySummary(w, "trigger", "/"+t.Namespace+"/"+t.Name, t.Annotations, t.Parameters)
}

// printRuleSummary writes `rule get --summary`.
func printRuleSummary(w io.Writer, r *client.Rule) {
	fmt.Fprintf(w, "rule /%s/%s\n   (status: %s)\n", r.Namespace, r.Name, r.Status)
}
