package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
)

// command is one node of the command tree.
type command struct {
	name   string
	use    string // usage line after the command path, e.g. "ACTION_NAME [FIELD]"
	short  string // one-line description
	flags  []*flagSpec
	subs   []*command
	run    func(ctx context.Context, a *app, in *input) error
	parent *command
}

func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (c *command) path() string {
	if c.parent == nil {
		return c.name
	}
	return c.parent.path() + " " + c.name
}

// findFlag looks a flag up among the command's own, then the globals.
func (c *command) findFlag(name string, short bool) *flagSpec {
	match := func(f *flagSpec) bool {
		if short {
			return f.short == name
		}
		return f.long == name
	}
	for _, f := range c.flags {
		if match(f) {
			return f
		}
	}
	for _, f := range globalFlags {
		if match(f) {
			return f
		}
	}
	if match(helpFlag) {
		return helpFlag
	}
	return nil
}

var helpFlag = &flagSpec{long: "help", short: "h", kind: boolFlag, usage: "help for this command"}

// Global flags, accepted by every command.
var globalFlags = []*flagSpec{
	{long: "apihost", kind: stringFlag, arg: "HOST", usage: "whisk API HOST"},
	{long: "apiversion", kind: stringFlag, arg: "VERSION", usage: "whisk API VERSION"},
	{long: "auth", short: "u", kind: stringFlag, arg: "KEY", usage: "authorization KEY"},
	{long: "cert", kind: stringFlag, arg: "string", usage: "client cert"},
	{long: "debug", short: "d", kind: boolFlag, usage: "debug level output"},
	{long: "insecure", short: "i", kind: boolFlag, usage: "bypass certificate checking"},
	{long: "key", kind: stringFlag, arg: "string", usage: "client key"},
	{long: "verbose", short: "v", kind: boolFlag, usage: "verbose output"},
}

// platformCommands are the gust subcommands that cmd/gust runs itself; the
// root help lists them with the CLI's own.
var platformCommands = [][2]string{
	{"up", "run every role in one process: the quick start on one machine"},
	{"gateway", "run the API gateway (with the embedded controller)"},
	{"controller", "run the controller on its own"},
	{"invoker", "run the invoker of this machine"},
	{"admin", "administer namespaces, keys and limits"},
	{"bench", "drive load at a Gust installation and report latency"},
}

// Shared flag specs.
func paramFlags() []*flagSpec {
	return []*flagSpec{
		{long: "param", short: "p", kind: pairFlag, arg: "KEY VALUE", usage: "parameter values in KEY VALUE format"},
		{long: "param-file", short: "P", kind: listFlag, arg: "FILE", usage: "FILE containing parameter values in JSON format"},
	}
}

func annotationFlags() []*flagSpec {
	return []*flagSpec{
		{long: "annotation", short: "a", kind: pairFlag, arg: "KEY VALUE", usage: "annotation values in KEY VALUE format"},
		{long: "annotation-file", short: "A", kind: listFlag, arg: "FILE", usage: "FILE containing annotation values in JSON format"},
	}
}

func actionPutFlags(update bool) []*flagSpec {
	fs := []*flagSpec{
		{long: "native", kind: boolFlag, usage: "treat ACTION as native action (an executable, or a zip file with an executable named exec)"},
		{long: "docker", kind: stringFlag, arg: "string", usage: "not supported by Gust: actions cannot run Docker images"},
		{long: "copy", kind: boolFlag, usage: "treat ACTION as the name of an existing action"},
		{long: "sequence", kind: boolFlag, usage: "treat ACTION as comma separated sequence of actions to invoke"},
		{long: "kind", kind: stringFlag, arg: "KIND", usage: "the KIND of the action runtime (example: nodejs:default, python:default, go:default)"},
		{long: "main", kind: stringFlag, arg: "string", usage: "the name of the action entry point (function or fully-qualified method name when applicable)"},
		{long: "timeout", short: "t", kind: intFlag, arg: "LIMIT", usage: "the timeout LIMIT in milliseconds after which the action is terminated", def: "60000"},
		{long: "memory", short: "m", kind: intFlag, arg: "LIMIT", usage: "the maximum memory LIMIT in MB for the action", def: "256"},
		{long: "logsize", short: "l", kind: intFlag, arg: "LIMIT", usage: "the maximum log size LIMIT in MB for the action", def: "10"},
		{long: "concurrency", short: "c", kind: intFlag, arg: "LIMIT", usage: "the maximum intra-container concurrent activation LIMIT for the action", def: "1"},
		{long: "web", kind: stringFlag, arg: "string", usage: "treat ACTION as a web action, a raw HTTP web action, or as a standard action; yes | true = web action, raw = raw HTTP web action, no | false = standard action"},
		{long: "web-secure", kind: stringFlag, arg: "SECRET", usage: "secure the web action. where SECRET is true, false, or any string. Only valid when the ACTION is a web action"},
	}
	fs = append(fs, annotationFlags()...)
	fs = append(fs, paramFlags()...)
	if update {
		fs = append(fs, &flagSpec{long: "del-annotation", kind: listFlag, arg: "stringArray", usage: "the list of annotations to be deleted from the action, e.g. --del-annotation key1 --del-annotation key2"})
	}
	return fs
}

func nameSortFlag() *flagSpec {
	return &flagSpec{long: "name-sort", short: "n", kind: boolFlag, usage: "sorts a list alphabetically by entity name; only applicable within the limit/skip returned entity block"}
}

// listFlags are the flags of `package|trigger|rule list`.
func listFlags(what string) []*flagSpec {
	return []*flagSpec{
		{long: "skip", short: "s", kind: intFlag, arg: "SKIP", usage: "exclude the first SKIP number of " + what + " from the result"},
		{long: "limit", short: "l", kind: intFlag, arg: "LIMIT", usage: "only return LIMIT number of " + what + " from the collection", def: "30"},
		nameSortFlag(),
	}
}

func withFlags(groups ...[]*flagSpec) []*flagSpec {
	var fs []*flagSpec
	for _, g := range groups {
		fs = append(fs, g...)
	}
	return fs
}

func packageCommand() *command {
	put := func() []*flagSpec {
		return withFlags(annotationFlags(), paramFlags(), []*flagSpec{
			{long: "shared", kind: stringFlag, arg: "SCOPE", usage: "package visibility SCOPE; yes = shared, no = private"},
		})
	}
	return &command{name: "package", short: "work with packages", subs: []*command{
		{name: "bind", use: "PACKAGE_NAME BOUND_PACKAGE_NAME", short: "bind parameters to a package", run: packageBind,
			flags: withFlags(annotationFlags(), paramFlags(), []*flagSpec{{long: "overwrite", short: "o", kind: boolFlag, usage: "overwrite bind"}})},
		{name: "create", use: "PACKAGE_NAME", short: "create a new package", run: packageCreate, flags: put()},
		{name: "update", use: "PACKAGE_NAME", short: "update an existing package, or create a package if it does not exist", run: packageUpdate, flags: put()},
		{name: "get", use: "PACKAGE_NAME [FIELD_FILTER]", short: "get package", run: packageGet, flags: []*flagSpec{
			{long: "summary", short: "s", kind: boolFlag, usage: "summarize package details; parameters with prefix \"*\" are bound"},
		}},
		{name: "delete", use: "PACKAGE_NAME", short: "delete package", run: packageDelete},
		{name: "list", use: "[NAMESPACE]", short: "list all packages", run: packageList, flags: listFlags("packages")},
		{name: "refresh", use: "[NAMESPACE]", short: "refresh package bindings", run: packageRefresh},
	}}
}

func triggerCommand() *command {
	feedParam := &flagSpec{long: "feed-param", short: "F", kind: pairFlag, arg: "KEY VALUE", usage: "feed parameter values in KEY VALUE format"}
	triggerParam := &flagSpec{long: "trigger-param", short: "T", kind: pairFlag, arg: "KEY VALUE", usage: "trigger parameter values in KEY VALUE format"}
	return &command{name: "trigger", short: "work with triggers", subs: []*command{
		{name: "create", use: "TRIGGER_NAME", short: "create new trigger", run: triggerCreate, flags: withFlags(annotationFlags(), paramFlags(), []*flagSpec{
			{long: "feed", short: "f", kind: stringFlag, arg: "ACTION_NAME", usage: "trigger feed ACTION_NAME"}, feedParam, triggerParam,
		})},
		{name: "update", use: "TRIGGER_NAME", short: "update an existing an trigger, or create a trigger if it does not exist", run: triggerUpdate,
			flags: withFlags(annotationFlags(), paramFlags(), []*flagSpec{feedParam, triggerParam})},
		{name: "get", use: "TRIGGER_NAME [FIELD_FILTER]", short: "get trigger", run: triggerGet, flags: []*flagSpec{
			{long: "summary", short: "s", kind: boolFlag, usage: "summarize trigger details; parameters with prefix \"*\" are bound"},
		}},
		{name: "delete", use: "TRIGGER_NAME", short: "delete trigger", run: triggerDelete},
		{name: "list", use: "[NAMESPACE]", short: "list all triggers", run: triggerList, flags: listFlags("triggers")},
		{name: "fire", use: "TRIGGER_NAME [PAYLOAD]", short: "fire trigger event", run: triggerFire, flags: paramFlags()},
	}}
}

func ruleCommand() *command {
	return &command{name: "rule", short: "work with rules", subs: []*command{
		{name: "create", use: "RULE_NAME TRIGGER_NAME ACTION_NAME", short: "create new rule", run: ruleCreate},
		{name: "update", use: "RULE_NAME TRIGGER_NAME ACTION_NAME", short: "update an existing rule, or create a rule if it does not exist", run: ruleUpdate},
		{name: "enable", use: "RULE_NAME", short: "enable rule", run: ruleEnable},
		{name: "disable", use: "RULE_NAME", short: "disable rule", run: ruleDisable},
		{name: "status", use: "RULE_NAME", short: "get rule status", run: ruleStatus},
		{name: "get", use: "RULE_NAME", short: "get rule", run: ruleGet, flags: []*flagSpec{
			{long: "summary", short: "s", kind: boolFlag, usage: "summarize rule details"},
		}},
		{name: "delete", use: "RULE_NAME", short: "delete rule", run: ruleDelete, flags: []*flagSpec{
			{long: "disable", kind: boolFlag, usage: "automatically disable rule before deleting it"},
		}},
		{name: "list", use: "[NAMESPACE]", short: "list all rules", run: ruleList, flags: listFlags("rules")},
	}}
}

func lastFlag() *flagSpec {
	return &flagSpec{long: "last", short: "l", kind: boolFlag, usage: "retrieves the last activation"}
}

// newRoot builds the command tree.
func newRoot() *command {
	action := &command{name: "action", short: "work with actions", subs: []*command{
		{name: "create", use: "ACTION_NAME ACTION", short: "create a new action", flags: actionPutFlags(false), run: actionCreate},
		{name: "update", use: "ACTION_NAME [ACTION]", short: "update an existing action, or create an action if it does not exist", flags: actionPutFlags(true), run: actionUpdate},
		{name: "invoke", use: "ACTION_NAME", short: "invoke action", run: actionInvoke, flags: append(paramFlags(),
			&flagSpec{long: "blocking", short: "b", kind: boolFlag, usage: "blocking invoke"},
			&flagSpec{long: "result", short: "r", kind: boolFlag, usage: "blocking invoke; show only activation result (unless there is a failure)"},
		)},
		{name: "get", use: "ACTION_NAME [FIELD_FILTER | --summary | --url]", short: "get action", run: actionGet, flags: []*flagSpec{
			{long: "summary", short: "s", kind: boolFlag, usage: "summarize action details; parameters with prefix \"*\" are bound, \"**\" are bound and finalized"},
			{long: "url", short: "r", kind: boolFlag, usage: "get action url"},
			{long: "save", kind: boolFlag, usage: "save action code to file corresponding with action name"},
			{long: "save-as", kind: stringFlag, arg: "string", usage: "file to save action code to"},
		}},
		{name: "delete", use: "ACTION_NAME", short: "delete action", run: actionDelete},
		{name: "list", use: "[ NAMESPACE | PACKAGE_NAME ]", short: "list all actions in a namespace or actions contained in a package", run: actionList, flags: []*flagSpec{
			{long: "skip", short: "s", kind: intFlag, arg: "SKIP", usage: "exclude the first SKIP number of actions from the result"},
			{long: "limit", short: "l", kind: intFlag, arg: "LIMIT", usage: "only return LIMIT number of actions from the collection", def: "30"},
			nameSortFlag(),
		}},
	}}
	activation := &command{name: "activation", short: "work with activations", subs: []*command{
		{name: "list", use: "[NAMESPACE or NAME]", short: "list activations", run: activationList, flags: []*flagSpec{
			{long: "skip", short: "s", kind: intFlag, arg: "SKIP", usage: "exclude the first SKIP number of activations from the result"},
			{long: "limit", short: "l", kind: intFlag, arg: "LIMIT", usage: "only return LIMIT number of activations from the collection with a maximum LIMIT of 200 activations", def: "30"},
			{long: "full", short: "f", kind: boolFlag, usage: "include full activation description"},
			{long: "upto", kind: int64Flag, arg: "UPTO", usage: "return activations with timestamps earlier than UPTO; measured in milliseconds since Th, 01, Jan 1970"},
			{long: "since", kind: int64Flag, arg: "SINCE", usage: "return activations with timestamps later than SINCE; measured in milliseconds since Th, 01, Jan 1970"},
		}},
		{name: "get", use: "(ACTIVATION_ID | --last) [FIELD_FILTER]", short: "get activation", run: activationGet, flags: []*flagSpec{
			{long: "summary", short: "s", kind: boolFlag, usage: "summarize activation details"},
			lastFlag(),
			{long: "logs", short: "g", kind: boolFlag, usage: "emit only the logs, stripped of time stamps and stream identifier"},
		}},
		{name: "logs", use: "(ACTIVATION_ID | --last)", short: "get the logs of an activation", run: activationLogs, flags: []*flagSpec{
			lastFlag(),
			{long: "strip", short: "r", kind: boolFlag, usage: "strip timestamp and stream information"},
		}},
		{name: "result", use: "(ACTIVATION_ID | --last)", short: "get the result of an activation", run: activationResult, flags: []*flagSpec{lastFlag()}},
		{name: "poll", use: "[ NAMESPACE | ACTION_NAME ]", short: "poll continuously for log messages from currently running actions", run: activationPoll, flags: []*flagSpec{
			{long: "exit", short: "e", kind: intFlag, arg: "SECONDS", usage: "stop polling after SECONDS seconds"},
			{long: "since-seconds", kind: intFlag, arg: "SECONDS", usage: "start polling for activations SECONDS seconds ago"},
			{long: "since-minutes", kind: intFlag, arg: "MINUTES", usage: "start polling for activations MINUTES minutes ago"},
			{long: "since-hours", kind: intFlag, arg: "HOURS", usage: "start polling for activations HOURS hours ago"},
			{long: "since-days", kind: intFlag, arg: "DAYS", usage: "start polling for activations DAYS days ago"},
		}},
	}}
	namespace := &command{name: "namespace", short: "work with namespaces", subs: []*command{
		{name: "list", short: "list available namespaces", run: namespaceList},
		{name: "get", short: "get triggers, actions, and rules in the registry for namespace", run: namespaceGet, flags: []*flagSpec{nameSortFlag()}},
	}}
	propBools := func(names ...[2]string) []*flagSpec {
		var fs []*flagSpec
		for _, n := range names {
			fs = append(fs, &flagSpec{long: n[0], kind: boolFlag, usage: n[1]})
		}
		return fs
	}
	property := &command{name: "property", short: "work with whisk properties", subs: []*command{
		{name: "set", short: "set property", run: propertySet, flags: []*flagSpec{
			{long: "apihost", kind: stringFlag, arg: "HOST", usage: "whisk API HOST"},
			{long: "apiversion", kind: stringFlag, arg: "VERSION", usage: "whisk API VERSION"},
			{long: "auth", short: "u", kind: stringFlag, arg: "KEY", usage: "authorization KEY"},
			{long: "cert", kind: stringFlag, arg: "string", usage: "client cert"},
			{long: "key", kind: stringFlag, arg: "string", usage: "client key"},
			{long: "namespace", kind: stringFlag, arg: "NAMESPACE", usage: "whisk NAMESPACE"},
		}},
		{name: "unset", short: "unset property", run: propertyUnset, flags: propBools(
			[2]string{"apihost", "whisk API host"}, [2]string{"apiversion", "whisk API version"},
			[2]string{"auth", "authorization key"}, [2]string{"cert", "client cert"},
			[2]string{"key", "Client key"}, [2]string{"namespace", "whisk namespace"})},
		{name: "get", short: "get property", run: propertyGet, flags: append(propBools(
			[2]string{"all", "all properties"}, [2]string{"apibuild", "whisk API build version"},
			[2]string{"apibuildno", "whisk API build number"}, [2]string{"apihost", "whisk API host"},
			[2]string{"apiversion", "whisk API version"}, [2]string{"auth", "authorization key"},
			[2]string{"cert", "client cert"}, [2]string{"cliversion", "whisk CLI version"},
			[2]string{"key", "Client key"}, [2]string{"namespace", "whisk namespace"}),
			&flagSpec{long: "output", short: "o", kind: stringFlag, arg: "string", usage: "Output format in std|raw", def: "std"})},
	}}
	list := &command{name: "list", short: "list entities in the current namespace", run: namespaceGet, flags: []*flagSpec{nameSortFlag()}}

	root := &command{name: "gust", short: "Gust: a Function-as-a-Service platform, compatible with Apache OpenWhisk's wsk.",
		subs: []*command{action, activation, packageCommand(), ruleCommand(), triggerCommand(), namespace, property, list}}
	link(root)
	return root
}

func link(c *command) {
	for _, s := range c.subs {
		s.parent = c
		link(s)
	}
}

// printHelp writes a command's help in the shape cobra gives wsk's.
func printHelp(w io.Writer, c *command) {
	var b strings.Builder
	b.WriteString(c.short)
	b.WriteString("\n\nUsage:\n")
	if c.run != nil {
		b.WriteString("  " + c.path())
		if c.use != "" {
			b.WriteString(" " + c.use)
		}
		b.WriteString(" [flags]\n")
	}
	if len(c.subs) > 0 {
		b.WriteString("  " + c.path() + " [command]\n")
		b.WriteString("\nAvailable Commands:\n")
		rows := make([][2]string, 0, len(c.subs)+len(platformCommands))
		for _, s := range c.subs {
			rows = append(rows, [2]string{s.name, s.short})
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
		if c.parent == nil {
			b.WriteString(rowsText(rows))
			b.WriteString("\nPlatform Commands:\n")
			rows = platformCommands
		}
		b.WriteString(rowsText(rows))
	}
	local := append(append([]*flagSpec(nil), c.flags...), &flagSpec{long: "help", short: "h", kind: boolFlag, usage: "help for " + c.name})
	sort.Slice(local, func(i, j int) bool { return local[i].long < local[j].long })
	b.WriteString("\nFlags:\n")
	writeFlags(&b, local)
	b.WriteString("\nGlobal Flags:\n")
	writeFlags(&b, globalFlags)
	if len(c.subs) > 0 {
		fmt.Fprintf(&b, "\nUse \"%s [command] --help\" for more information about a command.\n", c.path())
	}
	io.WriteString(w, b.String())
}

func rowsText(rows [][2]string) string {
	var b strings.Builder
	width := 11
	for _, r := range rows {
		width = max(width, len(r[0])+1)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s %s\n", width, r[0], r[1])
	}
	return b.String()
}

func writeFlags(b *strings.Builder, fs []*flagSpec) {
	type row struct{ left, usage string }
	rows := make([]row, 0, len(fs))
	width := 0
	for _, f := range fs {
		left := "      --" + f.long
		if f.short != "" {
			left = "  -" + f.short + ", --" + f.long
		}
		if f.arg != "" {
			left += " " + f.arg
		}
		usage := f.usage
		if f.def != "" {
			usage += " (default " + f.def + ")"
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	}
	for _, r := range rows {
		fmt.Fprintf(b, "%-*s   %s\n", width, r.left, r.usage)
	}
}
