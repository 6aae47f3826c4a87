package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// qname is a possibly qualified entity name, resolved as wsk resolves it:
// "foo" and "pkg/foo" live in the default namespace (the NAMESPACE property,
// else "_"); "/ns/foo", "/ns/pkg/foo" and "ns/pkg/foo" name theirs.
type qname struct {
	namespace  string // without slashes; "_" for the key's own
	pkg        string // "" outside a package
	entity     string // the last segment
	entityName string // "pkg/entity" or "entity"
}

// full is the form the client takes: "/ns/pkg/entity".
func (q qname) full() string { return "/" + q.namespace + "/" + q.entityName }

func (a *app) qualify(name string) (qname, error) {
	var q qname
	parts := strings.Split(name, "/")
	if len(parts) == 3 && parts[0] != "" {
		name = "/" + name
		parts = strings.Split(name, "/")
	}
	if strings.HasPrefix(name, "/") {
		if len(parts) < 2 || len(parts) > 4 {
			return q, qualifiedNameError(name)
		}
		for _, p := range parts[1:] {
			if p == "" || p == "." {
				return q, qualifiedNameError(name)
			}
		}
		q.namespace = parts[1]
		q.entityName = strings.Join(parts[2:], "/")
		if len(parts) == 4 {
			q.pkg = parts[2]
		}
		q.entity = parts[len(parts)-1]
		if len(parts) == 2 {
			q.entity = ""
		}
		return q, nil
	}
	if name == "" || name == "." || len(parts) > 2 {
		return q, qualifiedNameError(name)
	}
	for _, p := range parts {
		if p == "" {
			return q, qualifiedNameError(name)
		}
	}
	q.namespace = a.set.namespace
	q.entity = parts[len(parts)-1]
	if len(parts) == 2 {
		q.pkg = parts[0]
	}
	q.entityName = name
	return q, nil
}

// qualifyEntity is qualify for commands that need an entity, not a namespace.
func (a *app) qualifyEntity(name string) (qname, error) {
	q, err := a.qualify(name)
	if err == nil && q.entityName == "" {
		return q, qualifiedNameError(name)
	}
	return q, err
}

// entityClient qualifies the command's first argument, an entity name, and
// makes the client.
func (a *app) entityClient(in *input) (qname, *client.Client, error) {
	q, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return qname{}, nil, err
	}
	c, err := a.client()
	return q, c, err
}

// entityArgs checks that the command has minArgs to maxArgs arguments
// (required: what the failure asks for), then is entityClient.
func (a *app) entityArgs(in *input, minArgs, maxArgs int, required string) (qname, *client.Client, error) {
	if err := checkArgs(in, minArgs, maxArgs, required); err != nil {
		return qname{}, nil, err
	}
	return a.entityClient(in)
}

// getArgs reads the arguments of `package|trigger|rule get NAME
// [FIELD_FILTER]`: the field filter, checked against fields before the
// name, and the entity name with the client.
func (a *app) getArgs(in *input, fields []string, required string) (q qname, field string, c *client.Client, err error) {
	if err = checkArgs(in, 1, 2, required); err != nil {
		return qname{}, "", nil, err
	}
	if field, err = fieldFilter(in, fields); err != nil {
		return qname{}, "", nil, err
	}
	q, c, err = a.entityClient(in)
	return q, field, c, err
}

// invokeArgs reads the arguments of `action invoke` and `trigger fire`:
// the entity name, its -p/-P parameters, and the client.
func (a *app) invokeArgs(in *input, required string) (qname, whisk.KeyValues, *client.Client, error) {
	if err := checkArgs(in, 1, 1, required); err != nil {
		return qname{}, nil, nil, err
	}
	q, err := a.qualifyEntity(in.args[0])
	if err != nil {
		return qname{}, nil, nil, err
	}
	params, err := keyValues(in, "param", "param-file", "parameter")
	if err != nil {
		return qname{}, nil, nil, err
	}
	c, err := a.client()
	return q, params, c, err
}

// printGot prints the entity a get read, as view shows it: whole, or the
// one field the command's FIELD_FILTER names.
func printGot(w io.Writer, in *input, kind string, q qname, field string, view any) {
	if field != "" {
		fmt.Fprintf(w, "ok: got %s %s, displaying field %s\n", kind, q.entityName, in.args[1])
		printField(w, view, field)
		return
	}
	fmt.Fprintf(w, "ok: got %s %s\n", kind, q.entityName)
	printJSON(w, view)
}

func qualifiedNameError(name string) error {
	return &failure{msg: "'" + name + "' is not a valid qualified name: A valid qualified name must be specified.", code: exitGeneral, usage: true}
}

// displayNamespace is how wsk names the default namespace in messages.
func displayNamespace(ns string) string {
	if ns == "_" {
		return "default"
	}
	return ns
}
