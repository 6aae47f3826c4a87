package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// printJSON writes v as wsk does: HTML characters unescaped, indented by
// four spaces, with a final newline.
func printJSON(w io.Writer, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(w, "%v\n", v)
		return
	}
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "    "); err != nil {
		w.Write(buf.Bytes())
		return
	}
	w.Write(out.Bytes())
}

// generic decodes raw JSON into plain values, numbers kept exact, so that
// objects print with sorted keys as wsk prints them. Invalid JSON stays a
// string; empty input is nil.
func generic(raw []byte) any {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	return v
}

// kvView is a parameter or annotation as wsk prints it.
type kvView struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	Init  bool   `json:"init,omitempty"`
}

func kvViews(kvs whisk.KeyValues) []kvView {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]kvView, len(kvs))
	for i, kv := range kvs {
		out[i] = kvView{Key: kv.Key, Value: generic(kv.Value), Init: kv.Init}
	}
	return out
}

type execView struct {
	Kind       string   `json:"kind,omitempty"`
	Code       string   `json:"code,omitempty"`
	Image      string   `json:"image,omitempty"`
	Main       string   `json:"main,omitempty"`
	Components []string `json:"components,omitempty"`
	Binary     bool     `json:"binary"`
}

// actionView is an action in wsk's field order.
type actionView struct {
	Namespace   string       `json:"namespace,omitempty"`
	Name        string       `json:"name,omitempty"`
	Version     string       `json:"version,omitempty"`
	Exec        execView     `json:"exec"`
	Annotations []kvView     `json:"annotations,omitempty"`
	Parameters  []kvView     `json:"parameters,omitempty"`
	Limits      whisk.Limits `json:"limits"`
	Publish     bool         `json:"publish"`
	Updated     int64        `json:"updated,omitempty"`
}

func viewAction(a *whisk.Action) *actionView {
	return &actionView{
		Namespace: a.Namespace, Name: a.Name, Version: a.Version,
		Exec: execView{Kind: a.Exec.Kind, Code: a.Exec.Code, Image: a.Exec.Image, Main: a.Exec.Main,
			Components: a.Exec.Components, Binary: a.Exec.Binary},
		Annotations: kvViews(a.Annotations), Parameters: kvViews(a.Parameters),
		Limits: a.Limits, Publish: a.Publish, Updated: a.Updated,
	}
}

type responseView struct {
	Status     string `json:"status"`
	StatusCode int    `json:"statusCode"`
	Success    bool   `json:"success"`
	Result     any    `json:"result,omitempty"`
}

// activationView is an activation record in wsk's field order.
type activationView struct {
	Namespace    string       `json:"namespace"`
	Name         string       `json:"name"`
	Version      string       `json:"version"`
	Subject      string       `json:"subject"`
	ActivationID string       `json:"activationId"`
	Cause        string       `json:"cause,omitempty"`
	Start        int64        `json:"start"`
	End          int64        `json:"end"`
	Duration     int64        `json:"duration"`
	StatusCode   int          `json:"statusCode"`
	Response     responseView `json:"response"`
	Logs         []string     `json:"logs"`
	Annotations  []kvView     `json:"annotations"`
	Publish      bool         `json:"publish"`
}

func viewActivation(a *whisk.Activation) *activationView {
	return &activationView{
		Namespace: a.Namespace, Name: a.Name, Version: a.Version, Subject: a.Subject,
		ActivationID: a.ActivationID, Cause: a.Cause, Start: a.Start, End: a.End, Duration: a.Duration,
		StatusCode: a.StatusCode,
		Response: responseView{Status: a.Response.Status, StatusCode: a.Response.StatusCode,
			Success: a.Response.Success, Result: generic(a.Response.Result)},
		Logs: a.Logs, Annotations: kvViews(a.Annotations), Publish: a.Publish,
	}
}

// statusCodeOf maps a response status string to its code, as wsk does.
func statusCodeOf(status string) int {
	switch status {
	case "application error":
		return whisk.StatusApplicationError
	case "action developer error":
		return whisk.StatusDeveloperError
	case "whisk internal error":
		return whisk.StatusInternalError
	}
	return whisk.StatusSuccess
}

// fieldOf returns the field of a view struct whose JSON name is field (case
// insensitive), as `get NAME FIELD` selects it.
func fieldOf(view any, field string) (any, bool) {
	v := reflect.Indirect(reflect.ValueOf(view))
	if v.Kind() != reflect.Struct {
		return nil, false
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if strings.EqualFold(name, field) {
			return v.Field(i).Interface(), true
		}
	}
	return nil, false
}

// Field names `get NAME FIELD` accepts: the entity's fields, whether or not
// the server sent them.
var (
	actionFields     = []string{"namespace", "name", "version", "exec", "annotations", "parameters", "limits", "publish", "updated"}
	activationFields = []string{"namespace", "name", "version", "subject", "activationId", "cause", "start", "end", "duration", "statusCode", "response", "logs", "annotations", "publish"}
)

func validField(fields []string, f string) (string, bool) {
	for _, name := range fields {
		if strings.EqualFold(name, f) {
			return name, true
		}
	}
	return "", false
}

// printField prints one field of a view; a field the server left out prints
// as its zero value.
func printField(w io.Writer, view any, field string) {
	v, ok := fieldOf(view, field)
	if !ok {
		v = nil
	}
	printJSON(w, v)
}

// kindOf returns the string value of an annotation, or "".
func annotationString(kvs whisk.KeyValues, key string) string {
	var s string
	if raw := kvs.Get(key); raw != nil && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

func annotationBool(kvs whisk.KeyValues, key string) bool {
	var b bool
	raw := kvs.Get(key)
	return raw != nil && json.Unmarshal(raw, &b) == nil && b
}

// printActions writes the "actions" table of wsk.
func printActions(w io.Writer, actions []whisk.Action, sortByName bool) {
	if sortByName {
		sort.SliceStable(actions, func(i, j int) bool { return actionLess(&actions[i], &actions[j]) })
	}
	var b strings.Builder
	b.WriteString("actions\n")
	for i := range actions {
		a := &actions[i]
		fmt.Fprintf(&b, "%-70s %s %s\n", "/"+a.Namespace+"/"+a.Name, "private", annotationString(a.Annotations, "exec"))
	}
	io.WriteString(w, b.String())
}

// actionLess orders actions outside packages first, then by name.
func actionLess(a, b *whisk.Action) bool {
	ap, bp := strings.Contains(a.Namespace, "/"), strings.Contains(b.Namespace, "/")
	switch {
	case ap != bp:
		return !ap
	case ap:
		return strings.ToLower(a.Namespace+a.Name) < strings.ToLower(b.Namespace+b.Name)
	}
	return a.Name < b.Name
}

// printEntities writes the table of packages, triggers or rules.
func printEntities(w io.Writer, collection string, es []client.Entity, sortByName bool) {
	if sortByName {
		sort.SliceStable(es, func(i, j int) bool { return strings.ToLower(es[i].Name) < strings.ToLower(es[j].Name) })
	}
	var b strings.Builder
	b.WriteString(collection + "\n")
	for _, e := range es {
		name := "/" + e.Namespace + "/" + e.Name
		switch collection {
		case client.Packages:
			state := "private"
			if e.Publish {
				state = "shared"
			}
			fmt.Fprintf(&b, "%-70s %s\n", name, state)
		case client.Rules:
			fmt.Fprintf(&b, "%-70s %-20s %s\n", name, "private", e.Status)
		default:
			fmt.Fprintf(&b, "%-70s %s\n", name, "private")
		}
	}
	io.WriteString(w, b.String())
}

// Activation statuses as the activation table shows them.
var listStatuses = [...]string{"success", "application error", "developer error", "internal error"}

// printActivationTable writes wsk's activation table: Datetime, Activation
// ID, Kind, Start (cold when initTime is annotated), Duration, Status, Entity.
func printActivationTable(w io.Writer, acts []whisk.Activation) {
	if len(acts) == 0 {
		io.WriteString(w, "\n")
		return
	}
	kindW, statusW := len("Kind"), len("Status")
	kinds := make([]string, len(acts))
	for i := range acts {
		k := annotationString(acts[i].Annotations, "kind")
		if k == "" {
			k = "unknown"
		}
		kinds[i] = k
		kindW = max(kindW, len(k))
		statusW = max(statusW, len(listStatus(acts[i].StatusCode)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-19s %-32s %-*s %-6s%-10s %-*s %-6s\n", "Datetime", "Activation ID", kindW, "Kind", "Start", "Duration", statusW, "Status", "Entity")
	for i := range acts {
		a := &acts[i]
		s := time.UnixMilli(a.Start)
		d := time.UnixMilli(a.End).Sub(s)
		if a.Duration == 0 {
			d = 0
		}
		start := "warm"
		if a.Annotations.Get("initTime") != nil {
			start = "cold"
		}
		fqn := truncate(a.Namespace, 20) + "/" + truncate(a.Name, 30) + ":" + truncate(a.Version, 20)
		fmt.Fprintf(&b, "%d-%02d-%02d %02d:%02d:%02d %-32s %-*s %-5s %-10v %-*s %s\n",
			s.Year(), int(s.Month()), s.Day(), s.Hour(), s.Minute(), s.Second(),
			a.ActivationID, kindW, kinds[i], start, d, statusW, listStatus(a.StatusCode), fqn)
	}
	io.WriteString(w, b.String())
}

func listStatus(code int) string {
	if code > 0 && code < len(listStatuses) {
		return listStatuses[code]
	}
	return listStatuses[0]
}

// truncate shortens s to max bytes with "..." in the middle, as wsk does.
func truncate(s string, maxLen int) string {
	if len(s) <= maxLen {
		return s
	}
	mid := maxLen / 2
	upp := len(s) - mid + 3
	if maxLen%2 != 0 {
		mid++
	}
	return s[:mid] + "..." + s[upp:]
}

var logPrefix = regexp.MustCompile(`\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-6]\d:[0-6]\d.\d+Z( *(stdout|stderr):)?\s(.*)`)

// stripLog removes a log line's timestamp and stream, as `logs --strip`.
func stripLog(line string) string {
	if m := logPrefix.FindStringSubmatch(line); len(m) > 3 && m[3] != "" {
		return m[3]
	}
	return line
}

// printActionSummary writes `action get --summary`.
func printActionSummary(w io.Writer, a *whisk.Action) {
	printEntitySummary(w, "action", "/"+a.Namespace+"/"+a.Name, a.Annotations, a.Parameters)
}

// paramUnion lists the bound parameters (prefixed "*", or "**" when the
// action is final) and those its "parameters" annotation describes, sorted.
func paramUnion(annotations, parameters whisk.KeyValues) []string {
	tag := "*"
	if annotationBool(annotations, "final") {
		tag = "**"
	}
	bound := map[string]bool{}
	seen := map[string]bool{}
	var names []string
	for _, p := range parameters {
		bound[p.Key] = true
		if !seen[p.Key] {
			seen[p.Key] = true
			names = append(names, p.Key)
		}
	}
	var described []map[string]any
	if raw := annotations.Get("parameters"); raw != nil {
		_ = json.Unmarshal(raw, &described)
	}
	for _, d := range described {
		if n, ok := d["name"].(string); ok && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for i, n := range names {
		if bound[n] {
			names[i] = tag + n
		}
	}
	return names
}

// paramDescription is wsk's description built from parameter names.
func paramDescription(params string) string {
	const preamble = "Returns a result based on parameter"
	params = strings.ReplaceAll(params, "*", "")
	parts := strings.Split(params, ",")
	if len(parts) > 1 {
		last := parts[len(parts)-1]
		params = strings.Replace(params, ","+last, " and"+last, 1)
		return preamble + "s " + params
	}
	return preamble + " " + params
}
