package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

func packageCreate(ctx context.Context, a *app, in *input) error {
	return a.putPackage(ctx, in, false)
}

func packageUpdate(ctx context.Context, a *app, in *input) error {
	return a.putPackage(ctx, in, true)
}

func (a *app) putPackage(ctx context.Context, in *input, update bool) error {
	if err := checkArgs(in, 1, 1, "A package name is required."); err != nil {
		return err
	}
	q, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return err
	}
	put := &client.PackagePut{}
	if put.Publish, err = parseShared(in); err != nil {
		return err
	}
	if put.Parameters, put.Annotations, err = paramsAndAnnotations(in); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	if _, err := c.PutPackage(ctx, q.full(), put, update); err != nil {
		if update {
			return apiFailure(err, false, "Package update failed")
		}
		return apiFailure(err, false, "Unable to create package '%s'", q.entityName)
	}
	verb := "created"
	if update {
		verb = "updated"
	}
	fmt.Fprintf(a.stdout, "ok: %s package %s\n", verb, q.entityName)
	return nil
}

// parseShared reads --shared yes|no: nil when absent.
func parseShared(in *input) (*bool, error) {
	if !in.changed("shared") || in.str("shared") == "" {
		return nil, nil
	}
	var shared bool
	switch v := in.str("shared"); strings.ToLower(v) {
	case "yes":
		shared = true
	case "no":
	default:
		return nil, &failure{msg: fmt.Sprintf("Cannot use value '%s' for shared.", v), code: exitGeneral, usage: true}
	}
	return &shared, nil
}

// paramsAndAnnotations collects -p/-P and -a/-A.
func paramsAndAnnotations(in *input) (params, annotations whisk.KeyValues, err error) {
	if params, err = keyValues(in, "param", "param-file", "parameter"); err != nil {
		return nil, nil, err
	}
	if annotations, err = keyValues(in, "annotation", "annotation-file", "annotation"); err != nil {
		return nil, nil, err
	}
	return params, annotations, nil
}

func packageBind(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 2, 2, "A package name and binding name are required."); err != nil {
		return err
	}
	pkg, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return err
	}
	binding, err := a.qualifyEntity(in.args[1])
	if err != nil {
		return err
	}
	put := &client.PackagePut{Binding: &client.Binding{Namespace: pkg.namespace, Name: pkg.entityName}}
	if put.Parameters, put.Annotations, err = paramsAndAnnotations(in); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	if _, err := c.PutPackage(ctx, binding.full(), put, in.boolean("overwrite")); err != nil {
		return apiFailure(err, false, "Binding creation failed")
	}
	fmt.Fprintf(a.stdout, "ok: created binding %s\n", in.args[1])
	return nil
}

// fieldFilter validates the optional FIELD_FILTER argument of a get.
func fieldFilter(in *input, fields []string) (string, error) {
	if len(in.args) < 2 {
		return "", nil
	}
	f, ok := validField(fields, in.args[1])
	if !ok {
		return "", &failure{msg: fmt.Sprintf("Invalid field filter '%s'.", in.args[1]), code: exitGeneral}
	}
	return f, nil
}

func packageGet(ctx context.Context, a *app, in *input) error {
	q, field, c, err := a.getArgs(in, packageFields, "A package name is required.")
	if err != nil {
		return err
	}
	p, err := c.GetPackage(ctx, q.full())
	if err != nil {
		return apiFailure(err, false, "Unable to get package '%s'", q.entityName)
	}
	if in.boolean("summary") {
		printPackageSummary(a.stdout, p)
		return nil
	}
	printGot(a.stdout, in, "package", q, field, viewPackage(p))
	return nil
}

func packageDelete(ctx context.Context, a *app, in *input) error {
	q, c, err := a.entityArgs(in, 1, 1, "A package name is required.")
	if err != nil {
		return err
	}
	if err := c.DeletePackage(ctx, q.full(), false); err != nil {
		return apiFailure(err, false, "Unable to delete package '%s'", q.entityName)
	}
	fmt.Fprintf(a.stdout, "ok: deleted package %s\n", q.entityName)
	return nil
}

// namespaceArg resolves the optional NAMESPACE argument of the list
// commands: "/ns" names one; without it, the default namespace.
func (a *app) namespaceArg(in *input) (string, error) {
	if err := checkArgs(in, 0, 1, "An optional namespace is the only valid argument."); err != nil {
		return "", err
	}
	if len(in.args) == 0 {
		return a.set.namespace, nil
	}
	q, err := a.qualify(in.args[0])
	if err != nil {
		return "", err
	}
	if q.entityName != "" {
		return "", &failure{msg: fmt.Sprintf("An entity name, '%s', was provided instead of a namespace. Valid namespaces are of the following format: /NAMESPACE.", q.entityName),
			code: exitGeneral, usage: true}
	}
	return q.namespace, nil
}

// listOptions reads --skip and --limit.
func listOptions(in *input) client.ListOptions {
	return client.ListOptions{Skip: int(in.integer("skip", 0)), Limit: int(in.integer("limit", 30))}
}

func packageList(ctx context.Context, a *app, in *input) error {
	return a.listEntities(ctx, in, client.Packages)
}

// listEntities is `package|trigger|rule list [NAMESPACE]`.
func (a *app) listEntities(ctx context.Context, in *input, collection string) error {
	ns, err := a.namespaceArg(in)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	es, err := c.ListEntities(ctx, collection, "/"+ns, listOptions(in))
	if err != nil {
		return apiFailure(err, false, "Unable to obtain the list of %s for namespace '%s'", collection, displayNamespace(ns))
	}
	if collection == client.Rules {
		if err := a.ruleStatuses(ctx, c, ns, es); err != nil {
			return err
		}
	}
	printEntities(a.stdout, collection, es, in.boolean("name-sort"))
	return nil
}

func packageRefresh(ctx context.Context, a *app, in *input) error {
	ns, err := a.namespaceArg(in)
	if err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	up, err := c.RefreshPackages(ctx, "/"+ns)
	if err != nil {
		return apiFailure(err, false, "Package refresh for namespace '%s' failed", ns)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "'%s' refreshed successfully\n", ns)
	for _, group := range []struct {
		title string
		names []string
	}{{"created bindings:", up.Added}, {"updated bindings:", up.Updated}, {"deleted bindings:", up.Deleted}} {
		b.WriteString(group.title + "\n")
		for _, n := range group.names {
			b.WriteString(n + "\n")
		}
	}
	fmt.Fprint(a.stdout, b.String())
	return nil
}
