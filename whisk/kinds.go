package whisk

import "fmt"

// Kind families and their canonical kinds. Aliases resolve to the canonical
// kind before anything is stored, so a sandbox pool never sees an alias.
const (
	KindNode     = "nodejs:20"
	KindPython   = "python:3.11"
	KindGo       = "go:1.26"
	KindBlackbox = "blackbox"
	KindSequence = "sequence"
	// KindBuiltin marks a whisk.system action that the controller runs
	// natively (the alarms feeds); Exec.Main names the handler. It is no
	// alias: CanonicalKind rejects it, so users cannot create one.
	KindBuiltin = "gust:builtin"
)

var kindAliases = map[string]string{
	"nodejs:20": KindNode, "nodejs:default": KindNode, "nodejs": KindNode,
	"python:3.11": KindPython, "python:3": KindPython, "python:default": KindPython, "python": KindPython,
	"go:1.26": KindGo, "go:default": KindGo, "go": KindGo,
	"blackbox": KindBlackbox, "native": KindBlackbox,
	"sequence": KindSequence,
}

// CanonicalKind resolves an alias such as "python:3" or "nodejs:default".
func CanonicalKind(kind string) (string, error) {
	if k, ok := kindAliases[kind]; ok {
		return k, nil
	}
	return "", fmt.Errorf("%w: kind '%s' is not supported", ErrBadKind, kind)
}

// Runtime is one entry of the runtimes manifest served at GET /api/v1.
type Runtime struct {
	Kind       string `json:"kind"`
	Default    bool   `json:"default"`
	Deprecated bool   `json:"deprecated"`
}

// Runtimes is the manifest by family, in OpenWhisk's shape.
func Runtimes() map[string][]Runtime {
	return map[string][]Runtime{
		"nodejs":     {{Kind: KindNode, Default: true}},
		"python":     {{Kind: KindPython, Default: true}},
		"go":         {{Kind: KindGo, Default: true}},
		"blackboxes": {{Kind: KindBlackbox, Default: true}},
	}
}
