package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/gust-faas/gust/client"
)

func (a *app) saveProps(what string) error {
	if a.set.propsPath == "" {
		return &failure{msg: what + ": no properties file: set HOME or WSK_CONFIG_FILE", code: exitGeneral}
	}
	if err := SaveProps(a.set.propsPath, a.props); err != nil {
		return &failure{msg: what + ": " + err.Error(), code: exitGeneral}
	}
	return nil
}

func propertySet(ctx context.Context, a *app, in *input) error {
	var ok strings.Builder
	var hostErr error
	if v := in.str("cert"); v != "" {
		a.props.Set(propCert, v)
		ok.WriteString("ok: client cert set. Run 'gust property get --cert' to see the new value.\n")
	}
	if v := in.str("key"); v != "" {
		a.props.Set(propKey, v)
		ok.WriteString("ok: client key set. Run 'gust property get --key' to see the new value.\n")
	}
	if v := in.str("auth"); v != "" {
		a.props.Set(propAuth, v)
		ok.WriteString("ok: whisk auth set. Run 'gust property get --auth' to see the new value.\n")
	}
	if v := in.str("apihost"); v != "" {
		if _, err := client.BaseURL(v); err != nil {
			hostErr = &failure{msg: fmt.Sprintf("Unable to set API host value; the API host value '%s' is invalid: %v", v, err), code: exitGeneral, usage: true}
		} else {
			a.props.Set(propAPIHost, v)
			fmt.Fprintf(&ok, "ok: whisk API host set to %s\n", v)
		}
	}
	if v := in.str("apiversion"); v != "" {
		a.props.Set(propAPIVersion, v)
		fmt.Fprintf(&ok, "ok: whisk API version set to %s\n", v)
	}
	if v := in.str("namespace"); v != "" {
		if strings.Contains(v, "/") {
			return usageFailure("Namespace '%s' is not a valid namespace", v)
		}
		a.props.Set(propNamespace, v)
		fmt.Fprintf(&ok, "ok: whisk namespace set to %s\n", v)
	}
	if err := a.saveProps("Unable to set the property value(s)"); err != nil {
		return err
	}
	fmt.Fprint(a.stdout, ok.String())
	return hostErr
}

func propertyUnset(ctx context.Context, a *app, in *input) error {
	var ok strings.Builder
	for _, p := range []struct{ flag, key, msg string }{
		{"cert", propCert, "ok: client cert unset.\n"},
		{"key", propKey, "ok: client key unset.\n"},
		{"auth", propAuth, "ok: whisk auth unset.\n"},
		{"apihost", propAPIHost, "ok: whisk API host unset.\n"},
		{"apiversion", propAPIVersion, "ok: whisk API version unset; the default value of " + client.DefaultAPIVersion + " will be used.\n"},
		{"namespace", propNamespace, "ok: whisk namespace unset; the default value of " + client.DefaultNamespace + " will be used.\n"},
	} {
		if in.boolean(p.flag) {
			a.props.Unset(p.key)
			ok.WriteString(p.msg)
		}
	}
	if err := a.saveProps("Unable to unset the property value"); err != nil {
		return err
	}
	fmt.Fprint(a.stdout, ok.String())
	return nil
}

func propertyGet(ctx context.Context, a *app, in *input) error {
	raw := false
	switch out := in.str("output"); out {
	case "", "std":
	case "raw":
		raw = true
	default:
		return &failure{msg: "Supported output format are std|raw", code: exitGeneral}
	}
	names := []string{"apihost", "auth", "namespace", "cert", "key", "cliversion", "apiversion", "apibuild", "apibuildno"}
	all := in.boolean("all")
	if !all {
		all = true
		for _, n := range names {
			if in.boolean(n) {
				all = false
			}
		}
	}
	if all && raw {
		return &failure{msg: "--output|-o raw only supported with specific property type", code: exitGeneral}
	}
	show := func(flag string) bool { return all || in.boolean(flag) }
	print := func(label, value string, oneTab bool) {
		switch {
		case raw:
			fmt.Fprintf(a.stdout, "%s\n", value)
		case oneTab:
			fmt.Fprintf(a.stdout, "%s\t%s\n", label, value)
		default:
			fmt.Fprintf(a.stdout, "%s\t\t%s\n", label, value)
		}
	}
	if show("apihost") {
		print("whisk API host", a.set.apiHost, false)
	}
	if show("auth") {
		print("whisk auth", a.set.auth, false)
	}
	if show("namespace") {
		print("whisk namespace", a.namespaceName(ctx), false)
	}
	if show("cert") {
		print("client cert", a.set.cert, false)
	}
	if show("key") {
		print("Client key", a.set.key, false)
	}
	if all {
		print("whisk API version", a.set.apiVersion, true)
		print("whisk CLI version", Version, true)
	} else {
		if show("cliversion") {
			print("whisk CLI version", Version, true)
		}
		if show("apiversion") {
			print("whisk API version", a.set.apiVersion, true)
		}
	}
	if !show("apibuild") && !show("apibuildno") {
		return nil
	}
	build, buildNo := "Unknown", "Unknown"
	c, err := a.client()
	var info *client.Info
	if err == nil {
		info, err = c.Info(ctx)
	}
	if err == nil {
		build, buildNo = info.Build, info.BuildNo
	}
	if show("apibuild") {
		print("whisk API build", build, false)
	}
	if show("apibuildno") {
		print("whisk API build number", buildNo, true)
	}
	if err != nil {
		if f, ok := err.(*failure); ok {
			return f
		}
		return apiFailure(err, false, "Unable to obtain API build information")
	}
	return nil
}

// namespaceName is the namespace the properties name, else the first one
// the key may use, else "_".
func (a *app) namespaceName(ctx context.Context) string {
	if a.set.namespace != client.DefaultNamespace {
		return a.set.namespace
	}
	c, err := a.client()
	if err != nil {
		return client.DefaultNamespace
	}
	names, err := c.ListNamespaces(ctx)
	if err != nil || len(names) == 0 {
		a.log.Debug("listing namespaces failed", "err", err)
		return client.DefaultNamespace
	}
	return names[0]
}
