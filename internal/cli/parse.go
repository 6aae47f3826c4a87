package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// The command line is parsed by hand over a table of flag specs: wsk's
// "-p KEY VALUE" takes two arguments, which no flag package supports.

type flagKind uint8

const (
	boolFlag   flagKind = iota
	stringFlag          // one argument; repeated, the last wins
	intFlag             // one integer argument
	int64Flag           // one 64-bit integer argument
	pairFlag            // two arguments, KEY VALUE; repeatable, kept in order
	listFlag            // one argument; repeatable, kept in order
)

// flagSpec describes one flag.
type flagSpec struct {
	long  string
	short string // one letter, or ""
	kind  flagKind
	arg   string // name of the value in help, e.g. "LIMIT" or "KEY VALUE"
	usage string
	def   string // default shown in help
}

func (f *flagSpec) takesValue() bool { return f.kind != boolFlag }

// display is the flag as pflag names it in errors: "-t, --timeout".
func (f *flagSpec) display() string {
	if f.short != "" {
		return "-" + f.short + ", --" + f.long
	}
	return "--" + f.long
}

// flagValue is one occurrence of a flag on the command line.
type flagValue struct {
	spec *flagSpec
	vals []string
}

// input is a parsed command line.
type input struct {
	cmd   *command
	args  []string
	flags []flagValue // in command-line order
	help  bool
}

func (in *input) lookup(name string) *flagValue {
	for i := len(in.flags) - 1; i >= 0; i-- {
		if in.flags[i].spec.long == name {
			return &in.flags[i]
		}
	}
	return nil
}

// changed reports whether the flag was given.
func (in *input) changed(name string) bool { return in.lookup(name) != nil }

// str returns the last value of a string flag, or "".
func (in *input) str(name string) string {
	if v := in.lookup(name); v != nil {
		return v.vals[0]
	}
	return ""
}

// boolean returns a bool flag's value.
func (in *input) boolean(name string) bool {
	v := in.lookup(name)
	return v != nil && v.vals[0] == "true"
}

// integer returns an int flag's value (checked by the parser), or def.
func (in *input) integer(name string, def int64) int64 {
	if v := in.lookup(name); v != nil {
		n, _ := strconv.ParseInt(v.vals[0], 10, 64)
		return n
	}
	return def
}

// parse resolves the command path and its flags and arguments. Global flags
// may appear anywhere; a command's own flags take precedence over globals of
// the same name (as `property get --auth` does in wsk).
func parse(root *command, argv []string) (*input, error) {
	in := &input{cmd: root}
	for i := 0; i < len(argv); i++ {
		tok := argv[i]
		switch {
		case tok == "--":
			in.args = append(in.args, argv[i+1:]...)
			return in, nil
		case len(tok) > 1 && tok[0] == '-':
			n, err := in.parseFlag(argv[i:])
			if err != nil {
				return in, err
			}
			i += n - 1
		case len(in.cmd.subs) > 0 && len(in.args) == 0:
			sub := in.cmd.sub(tok)
			if sub == nil {
				return in, usagef("unknown command %q for %q", tok, in.cmd.path())
			}
			in.cmd = sub
		default:
			in.args = append(in.args, tok)
		}
	}
	return in, nil
}

// parseFlag parses the flag at argv[0] and returns how many tokens it used.
func (in *input) parseFlag(argv []string) (int, error) {
	tok := argv[0]
	if strings.HasPrefix(tok, "--") {
		name, val, hasVal := strings.Cut(tok[2:], "=")
		spec := in.cmd.findFlag(name, false)
		if spec == nil {
			return 0, flagErrorf("unknown flag: --%s", name)
		}
		return in.takeValue(spec, "--"+name, argv, val, hasVal)
	}
	// One or more short flags: "-b", "-br", "-t500", "-t=500", "-t 500".
	shorts := tok[1:]
	for j := 0; j < len(shorts); j++ {
		name := shorts[j : j+1]
		spec := in.cmd.findFlag(name, true)
		if spec == nil {
			return 0, flagErrorf("unknown shorthand flag: %q in %s", name, tok)
		}
		if !spec.takesValue() && (j+1 == len(shorts) || shorts[j+1] != '=') {
			in.set(spec, "true")
			continue
		}
		rest := shorts[j+1:]
		val, hasVal := strings.CutPrefix(rest, "=")
		if !hasVal && rest != "" {
			val, hasVal = rest, true
		}
		if spec.kind == pairFlag && (hasVal || j > 0) {
			return 0, pairError(spec, "Arguments for '-%s' must be a key/value pair", name)
		}
		return in.takeValue(spec, "-"+name, argv, val, hasVal)
	}
	return 1, nil
}

// takeValue records spec with its value: the inline one, or the next
// argument(s).
func (in *input) takeValue(spec *flagSpec, as string, argv []string, val string, hasVal bool) (int, error) {
	switch spec.kind {
	case boolFlag:
		if !hasVal {
			in.set(spec, "true")
			return 1, nil
		}
		b, err := strconv.ParseBool(val)
		if err != nil {
			return 0, flagErrorf("invalid argument %q for %q flag: %v", val, spec.display(), err)
		}
		in.set(spec, strconv.FormatBool(b))
		return 1, nil
	case pairFlag:
		if hasVal || len(argv) < 3 {
			return 0, pairError(spec, "Arguments for '%s' must be a key/value pair", as)
		}
		in.set(spec, argv[1], argv[2])
		return 3, nil
	}
	used := 1
	if !hasVal {
		if len(argv) < 2 && spec.kind == listFlag {
			return 0, pairError(spec, "An argument must be provided for '%s'", as)
		}
		if len(argv) < 2 {
			return 0, flagErrorf("flag needs an argument: %s", as)
		}
		val, used = argv[1], 2
	}
	switch spec.kind {
	case intFlag, int64Flag:
		bits := 64
		if spec.kind == intFlag {
			bits = 32
		}
		if _, err := strconv.ParseInt(val, 10, bits); err != nil {
			return 0, flagErrorf("invalid argument %q for %q flag: %v", val, spec.display(), err)
		}
	}
	in.set(spec, val)
	return used, nil
}

// pairError words a bad parameter or annotation flag as wsk does.
func pairError(spec *flagSpec, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	switch {
	case strings.HasPrefix(spec.long, "param"):
		msg = "Failed to parse arguments: The parameter arguments are invalid: " + msg
	case strings.HasPrefix(spec.long, "annotation"):
		msg = "Failed to parse arguments: The annotation arguments are invalid: " + msg
	case spec.long == "feed-param" || spec.long == "trigger-param":
		msg = "Failed to parse arguments: " + msg
	}
	return &usageError{msg: msg}
}

func (in *input) set(spec *flagSpec, vals ...string) {
	if spec == helpFlag {
		in.help = true
		return
	}
	in.flags = append(in.flags, flagValue{spec: spec, vals: vals})
}
