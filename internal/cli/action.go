package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

func actionCreate(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 1, 2, "An action name and code artifact are required."); err != nil {
		return err
	}
	return a.putAction(ctx, in, false)
}

func actionUpdate(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 1, 2, "An action name is required. A code artifact is optional."); err != nil {
		return err
	}
	return a.putAction(ctx, in, true)
}

// parseFailure wraps an error of the command line's content as wsk does.
func parseFailure(err error) error {
	var f *failure
	if errors.As(err, &f) {
		return &failure{msg: "Invalid argument(s). " + f.msg, code: f.code, usage: true}
	}
	return &failure{msg: "Invalid argument(s). " + err.Error(), code: exitGeneral, usage: true}
}

func (a *app) putAction(ctx context.Context, in *input, update bool) error {
	q, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	put := &client.ActionPut{Limits: limitsOf(in)}
	if put.Parameters, err = keyValues(in, "param", "param-file", "parameter"); err != nil {
		return err
	}
	if put.Annotations, err = keyValues(in, "annotation", "annotation-file", "annotation"); err != nil {
		return err
	}
	if in.str("kind") != "" && in.str("docker") != "" {
		return parseFailure(usageFailure("Cannot specify both --kind and --docker at the same time."))
	}
	if in.changed("docker") {
		return parseFailure(usageFailure("Gust does not run Docker images (--docker); run an executable with --native, or use a nodejs, python or go kind"))
	}
	switch {
	case in.boolean("copy"):
		if len(in.args) < 2 {
			return parseFailure(usageFailure("An action name and code artifact are required."))
		}
		src, err := a.qualifyEntity(in.args[1])
		if err != nil {
			return err
		}
		orig, err := c.GetAction(ctx, src.full(), true)
		if err != nil {
			return apiFailure(err, true, "Unable to get action '%s'", src.entityName)
		}
		put.Exec = &orig.Exec
		put.Parameters = appendMissing(put.Parameters, orig.Parameters)
		put.Annotations = appendMissing(put.Annotations, orig.Annotations)
	case in.boolean("sequence"):
		if len(in.args) < 2 {
			return parseFailure(usageFailure("An action name and code artifact are required."))
		}
		put.Exec = &whisk.Exec{Kind: whisk.KindSequence}
		for _, comp := range strings.Split(in.args[1], ",") {
			put.Exec.Components = append(put.Exec.Components, a.qualifiedComponent(comp))
		}
	case len(in.args) > 1:
		if put.Exec, err = execOf(in, in.args[1]); err != nil {
			return parseFailure(err)
		}
	case !update:
		return parseFailure(usageFailure("An action name and code artifact are required."))
	}
	if update {
		put.DelAnnotations = listValues(in, "del-annotation")
	}
	if err := a.augmentWeb(ctx, c, in, q, put, update); err != nil {
		return err
	}
	if _, err := c.PutAction(ctx, q.full(), put, update); err != nil {
		return apiFailure(err, true, "Unable to create action '%s'", q.entityName)
	}
	verb := "created"
	if update {
		verb = "updated"
	}
	fmt.Fprintf(a.stdout, "ok: %s action %s\n", verb, q.entityName)
	return nil
}

// limitsOf returns the limits given on the command line, nil for none.
func limitsOf(in *input) *client.LimitsPut {
	var l client.LimitsPut
	set := false
	for name, dst := range map[string]**int{"timeout": &l.Timeout, "memory": &l.Memory, "logsize": &l.Logs, "concurrency": &l.Concurrency} {
		if in.changed(name) {
			v := int(in.integer(name, 0))
			*dst = &v
			set = true
		}
	}
	if !set {
		return nil
	}
	return &l
}

func listValues(in *input, name string) []string {
	var out []string
	for _, fv := range in.flags {
		if fv.spec.long == name {
			out = append(out, fv.vals[0])
		}
	}
	return out
}

// appendMissing appends the entries of more whose keys kvs lacks.
func appendMissing(kvs, more whisk.KeyValues) whisk.KeyValues {
	for _, kv := range more {
		if kvs.Get(kv.Key) == nil {
			kvs = append(kvs, kv)
		}
	}
	return kvs
}

// qualifiedComponent qualifies a sequence component: "/ns/[pkg/]name".
func (a *app) qualifiedComponent(name string) string {
	if parts := strings.Split(name, "/"); len(parts) == 3 && parts[0] != "" {
		name = "/" + name
	}
	if strings.HasPrefix(name, "/") {
		return name
	}
	return "/" + a.set.namespace + "/" + name
}

// Kinds inferred from a source file's extension.
var kindByExt = map[string]string{
	".js": "nodejs:default", ".mjs": "nodejs:default", ".cjs": "nodejs:default",
	".py": "python:default",
	".go": "go:default",
}

// execOf builds the exec of a code artifact: its kind from --kind, --native
// or the file's extension; zip files and binaries base64 encoded.
func execOf(in *input, file string) (*whisk.Exec, error) {
	data, err := readArtifact(file)
	if err != nil {
		return nil, err
	}
	ext := strings.ToLower(filepath.Ext(file))
	binary := ext == ".zip" || ext == ".jar" || !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0
	exec := &whisk.Exec{Main: in.str("main"), Binary: binary}
	if binary {
		exec.Code = base64.StdEncoding.EncodeToString(data)
	} else {
		exec.Code = string(data)
	}
	switch kind := in.str("kind"); {
	case kind != "":
		exec.Kind = kind
	case in.boolean("native"):
		exec.Kind = whisk.KindBlackbox
		exec.Image = "openwhisk/dockerskeleton"
	case kindByExt[ext] != "":
		exec.Kind = kindByExt[ext]
	case ext == ".zip":
		return nil, usageFailure("creating an action from a .zip artifact requires specifying the action kind explicitly")
	case binary:
		return nil, usageFailure("'%s' is not a supported action runtime; for an executable, use --native", ext)
	default:
		return nil, usageFailure("'%s' is not a supported action runtime", ext)
	}
	return exec, nil
}

// Web action annotations.
const (
	annWebExport = "web-export"
	annRawHTTP   = "raw-http"
	annFinal     = "final"
	annWebSecure = "require-whisk-auth"
	maxJSInteger = 1<<53 - 1
)

// augmentWeb applies --web and --web-secure as wsk does: on an update they
// carry the existing action's web annotations forward.
func (a *app) augmentWeb(ctx context.Context, c *client.Client, in *input, q qname, put *client.ActionPut, update bool) error {
	if !in.changed("web") && !in.changed("web-secure") {
		return nil
	}
	var existing *whisk.Action
	if update {
		act, err := c.GetAction(ctx, q.full(), false)
		if err != nil && !errors.Is(err, client.ErrNotFound) {
			return apiFailure(err, true, "Unable to get action '%s'", q.entityName)
		}
		existing = act
	}
	mode := strings.ToLower(in.str("web"))
	if in.changed("web") {
		if existing != nil && len(put.Annotations) == 0 {
			put.Annotations = appendMissing(put.Annotations, existing.Annotations)
		}
		var export, raw, final bool
		switch mode {
		case "yes", "true":
			export, final = true, true
		case "raw":
			export, raw, final = true, true, true
		case "no", "false":
		default:
			return parseFailure(usageFailure("Invalid argument '%s' for --web flag. Valid input consist of 'yes', 'true', 'raw', 'false', or 'no'.", in.str("web")))
		}
		put.Annotations = put.Annotations.Delete(annWebExport).Delete(annRawHTTP).Delete(annFinal)
		put.Annotations = put.Annotations.Set(annWebExport, export).Set(annRawHTTP, raw).Set(annFinal, final)
		if existing != nil {
			if v := existing.Annotations.Get(annWebSecure); v != nil && put.Annotations.Get(annWebSecure) == nil {
				put.Annotations = append(put.Annotations, whisk.KeyValue{Key: annWebSecure, Value: v})
			}
		}
	}
	if !in.changed("web-secure") {
		return nil
	}
	disabling := mode == "false" || mode == "no"
	if !annotationBool(put.Annotations, annWebExport) && (existing == nil || !annotationBool(existing.Annotations, annWebExport) || disabling) {
		return parseFailure(usageFailure("The --web-secure option is only valid when the --web option is enabled."))
	}
	switch {
	case existing != nil && len(put.Annotations) == 0:
		// Nothing else changes the annotations: keep them all.
		put.Annotations = appendMissing(put.Annotations, existing.Annotations)
	case existing != nil:
		for _, key := range []string{annWebExport, annRawHTTP, annFinal, annWebSecure} {
			if v := existing.Annotations.Get(key); v != nil && put.Annotations.Get(key) == nil {
				put.Annotations = append(put.Annotations, whisk.KeyValue{Key: key, Value: v})
			}
		}
	}
	switch secret := in.str("web-secure"); strings.ToLower(secret) {
	case "false":
		if put.Annotations.Get(annWebSecure) != nil {
			put.Annotations = put.Annotations.Delete(annWebSecure)
			put.DelAnnotations = append(put.DelAnnotations, annWebSecure)
		}
	case "true":
		if cur := put.Annotations.Get(annWebSecure); cur != nil && isJSONNumber(cur) {
			break // keep the existing generated secret
		}
		put.Annotations = put.Annotations.Set(annWebSecure, rand.Int64()&maxJSInteger)
	default:
		put.Annotations = put.Annotations.Set(annWebSecure, secret)
	}
	return nil
}

func isJSONNumber(raw []byte) bool {
	return len(raw) > 0 && (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'))
}

func actionInvoke(ctx context.Context, a *app, in *input) error {
	q, params, c, err := a.invokeArgs(in, "An action name is required.")
	if err != nil {
		return err
	}
	result := in.boolean("result")
	blocking := in.boolean("blocking") || result
	inv, err := c.Invoke(ctx, q.full(), argsObject(params), blocking, result, 0)
	if err != nil {
		return apiFailure(err, true, "Unable to invoke action '%s'", q.entityName)
	}
	return a.printInvocation(q, inv, blocking, !result)
}

// printInvocation prints an invocation of q as wsk does: on stdout for a
// success, "ok: invoked" with header and the answer when blocking; a failed
// activation on stderr, with an exit status from its HTTP status; and a
// blocking invocation that did not finish in time as "not yet finished".
func (a *app) printInvocation(q qname, inv *client.Invocation, blocking, header bool) error {
	switch {
	case inv.Status == http.StatusAccepted && blocking:
		fmt.Fprintf(a.stderr, "ok: invoked /%s/%s, but the request has not yet finished, with id %s\n", q.namespace, q.entityName, inv.ActivationID)
		return &failure{code: exitTimedOut, silent: true}
	case inv.Status >= 200 && inv.Status <= 299:
		if header {
			fmt.Fprintf(a.stdout, "ok: invoked /%s/%s with id %s\n", q.namespace, q.entityName, inv.ActivationID)
		}
		if blocking {
			printJSON(a.stdout, generic(inv.Body))
		}
		return nil
	default: // a failed activation: shown on stderr, exit status from the HTTP status
		if header {
			fmt.Fprintf(a.stderr, "ok: invoked /%s/%s with id %s\n", q.namespace, q.entityName, inv.ActivationID)
		}
		printJSON(a.stderr, generic(inv.Body))
		return &failure{code: inv.Status - 256, silent: true}
	}
}

func actionGet(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 1, 2, "An action name is required."); err != nil {
		return err
	}
	field := ""
	if !in.boolean("url") && !in.boolean("summary") && len(in.args) > 1 {
		f, ok := validField(actionFields, in.args[1])
		if !ok {
			return usageFailure("Invalid field filter '%s'.", in.args[1])
		}
		field = f
	}
	q, c, err := a.entityClient(in)
	if err != nil {
		return err
	}
	save := in.changed("save") || in.changed("save-as")
	act, err := c.GetAction(ctx, q.full(), save)
	if err != nil {
		return apiFailure(err, true, "Unable to get action '%s'", q.entityName)
	}
	switch {
	case in.boolean("url"):
		u, err := a.actionURL(act, q.pkg)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "ok: got action %s\n%s\n", q.entity, u)
	case in.boolean("summary"):
		printActionSummary(a.stdout, act)
	case save:
		return a.saveCode(act, in.str("save-as"))
	default:
		printGot(a.stdout, in, "action", q, field, viewAction(act))
	}
	return nil
}

// actionURL is the URL that invokes the action: its web URL when it is a
// web action.
func (a *app) actionURL(act *whisk.Action, pkg string) (string, error) {
	base, err := client.BaseURL(a.set.apiHost)
	if err != nil {
		return "", &failure{msg: fmt.Sprintf("Invalid host address '%s': %v", a.set.apiHost, err), code: exitGeneral}
	}
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	ns, _, _ := strings.Cut(act.Namespace, "/")
	prefix := base + "/api/" + a.set.apiVersion
	if annotationBool(act.Annotations, annWebExport) {
		if pkg == "" {
			pkg = "default"
		}
		return prefix + "/web/" + esc(ns) + "/" + esc(pkg) + "/" + esc(act.Name), nil
	}
	u := prefix + "/namespaces/" + esc(ns) + "/actions/"
	if pkg != "" {
		u += esc(pkg) + "/"
	}
	return u + esc(act.Name), nil
}

// Source file extensions by runtime family, for `action get --save`.
var extByRuntime = map[string]string{"nodejs": ".js", "python": ".py", "go": ".go", "swift": ".swift", "php": ".php", "ruby": ".rb", "rust": ".rs"}

func (a *app) saveCode(act *whisk.Action, file string) error {
	runtime, _, _ := strings.Cut(act.Exec.Kind, ":")
	switch {
	case runtime == whisk.KindSequence:
		return usageFailure("Cannot save action sequences")
	case runtime == whisk.KindBlackbox && act.Exec.Code == "" && !act.Exec.Binary:
		return usageFailure("Cannot save Docker images")
	}
	code := []byte(act.Exec.Code)
	if act.Exec.Binary {
		dec, err := base64.StdEncoding.DecodeString(act.Exec.Code)
		if err != nil {
			return &failure{msg: "Unable to decode the action's code: " + err.Error(), code: exitGeneral}
		}
		code = dec
		if file == "" {
			file = act.Name + ".zip"
			if runtime == "java" {
				file = act.Name + ".jar"
			}
		}
	} else if file == "" {
		file = act.Name + extByRuntime[runtime]
	}
	if _, err := os.Stat(file); err == nil {
		return usageFailure("The file '%s' already exists", file)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return usageFailure("Cannot create file '%s': %v", file, err)
	}
	_, werr := f.Write(code)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return usageFailure("Cannot create file '%s': %v", file, werr)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		abs = file
	}
	fmt.Fprintf(a.stdout, "ok: saved action code to %s\n", abs)
	return nil
}

func actionDelete(ctx context.Context, a *app, in *input) error {
	q, c, err := a.entityArgs(in, 1, 1, "An action name is required.")
	if err != nil {
		return err
	}
	if err := c.DeleteAction(ctx, q.full()); err != nil {
		return apiFailure(err, true, "Unable to delete action '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: deleted action %s\n", q.entityName)
	return nil
}

func actionList(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 0, 1, "An optional namespace is the only valid argument."); err != nil {
		return err
	}
	ns, scope := a.set.namespace, ""
	if len(in.args) == 1 {
		q, err := a.qualify(in.args[0])
		if err != nil {
			return err
		}
		ns, scope = q.namespace, "/"+q.namespace
		if q.entityName != "" {
			scope += "/" + q.entityName
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	acts, err := c.ListActions(ctx, scope, listOptions(in))
	if err != nil {
		return apiFailure(err, true, "Unable to obtain the list of actions for namespace '%s'", displayNamespace(ns))
	}
	printActions(a.stdout, acts, in.boolean("name-sort"))
	return nil
}
