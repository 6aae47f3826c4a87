package cli

import (
	"context"
	"fmt"

	"github.com/gust-faas/gust/client"
)

func namespaceList(ctx context.Context, a *app, in *input) error {
	if err := checkArgs(in, 0, 0, "No arguments are required."); err != nil {
		return err
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	names, err := c.ListNamespaces(ctx)
	if err != nil {
		return apiFailure(err, false, "Unable to obtain the list of available namespaces")
	}
	fmt.Fprintln(a.stdout, "namespaces")
	for _, n := range names {
		fmt.Fprintln(a.stdout, n)
	}
	return nil
}

// entityPage is the page size of `namespace get`: the API's maximum.
const entityPage = 200

// namespaceGet lists the packages, actions, triggers and rules of the
// namespace (`namespace get` and `list`).
func namespaceGet(ctx context.Context, a *app, in *input) error {
	if !(len(in.args) == 1 && in.args[0] == "/_") {
		if err := checkArgs(in, 0, 0, "No arguments are required."); err != nil {
			return err
		}
	}
	c, err := a.client()
	if err != nil {
		return err
	}
	ns := displayNamespace(a.set.namespace)
	listFailure := func(err error) error {
		return apiFailure(err, false, "Unable to obtain the list of entities for namespace '%s'", ns)
	}
	page := client.ListOptions{Limit: entityPage}
	actions, err := c.ListActions(ctx, "", page)
	if err != nil {
		return listFailure(err)
	}
	lists := map[string][]client.Entity{}
	for _, coll := range []string{client.Packages, client.Triggers, client.Rules} {
		if lists[coll], err = c.ListEntities(ctx, coll, "", page); err != nil {
			return listFailure(err)
		}
	}
	rules := lists[client.Rules]
	if err := a.ruleStatuses(ctx, c, a.set.namespace, rules); err != nil {
		return err
	}
	sortByName := in.boolean("name-sort")
	fmt.Fprintf(a.stdout, "Entities in namespace: %s\n", ns)
	printEntities(a.stdout, client.Packages, lists[client.Packages], sortByName)
	printActions(a.stdout, actions, sortByName)
	printEntities(a.stdout, client.Triggers, lists[client.Triggers], sortByName)
	printEntities(a.stdout, client.Rules, rules, sortByName)
	return nil
}
