package whisk

import (
	"fmt"
	"regexp"
	"strings"
)

// nameRE is OpenWhisk's entity name rule: word characters, then word
// characters, '@', ' ', '.', '-', ending in anything but a space.
var nameRE = regexp.MustCompile(`\A([\w]|[\w][\w@ .-]*[\w@.-]+)\z`)

// MaxNameLength is OpenWhisk's limit on one path segment.
const MaxNameLength = 256

// DefaultNamespace is the placeholder for "the caller's namespace".
const DefaultNamespace = "_"

// SystemNamespace holds the built-in, read-only packages.
const SystemNamespace = "whisk.system"

// ValidName reports whether s is a legal entity or namespace name.
func ValidName(s string) bool {
	return len(s) <= MaxNameLength && nameRE.MatchString(s)
}

// FQN is a fully qualified entity name: /namespace[/package]/name.
type FQN struct {
	Namespace string
	Package   string
	Name      string
}

// ParseFQN parses "name", "pkg/name", "/ns/name" or "/ns/pkg/name". A name
// without a leading slash lives in ns (the caller's namespace). "_" as the
// namespace is replaced by ns.
func ParseFQN(s, ns string) (FQN, error) {
	var parts []string
	var f FQN
	if strings.HasPrefix(s, "/") {
		parts = strings.Split(s[1:], "/")
		if len(parts) < 2 || len(parts) > 3 {
			return f, fmt.Errorf("%w: %q is not /namespace[/package]/name", ErrBadName, s)
		}
		f.Namespace, parts = parts[0], parts[1:]
	} else {
		parts = strings.Split(s, "/")
		if len(parts) > 2 {
			return f, fmt.Errorf("%w: %q has too many path segments", ErrBadName, s)
		}
		f.Namespace = ns
	}
	if f.Namespace == DefaultNamespace {
		f.Namespace = ns
	}
	if len(parts) == 2 {
		f.Package, f.Name = parts[0], parts[1]
	} else {
		f.Name = parts[0]
	}
	for _, p := range []string{f.Namespace, f.Name} {
		if !ValidName(p) {
			return f, fmt.Errorf("%w: %q", ErrBadName, p)
		}
	}
	if f.Package != "" && !ValidName(f.Package) {
		return f, fmt.Errorf("%w: %q", ErrBadName, f.Package)
	}
	return f, nil
}

// EntityName is the name inside the namespace: "name" or "pkg/name".
func (f FQN) EntityName() string {
	if f.Package == "" {
		return f.Name
	}
	return f.Package + "/" + f.Name
}

// Path is the form OpenWhisk uses in the "path" annotation: "ns/pkg/name".
func (f FQN) Path() string { return f.Namespace + "/" + f.EntityName() }

// String is the fully qualified form "/ns/pkg/name".
func (f FQN) String() string { return "/" + f.Path() }
