package cli

import "strings"

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
