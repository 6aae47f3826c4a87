package redis

import "strings"

// keys builds the keys of the layout in doc.go. Each method is one string
// concatenation, one allocation.
type keys struct{ p string }

func (k keys) entity(ns, coll, name string) string { return k.p + "e:" + ns + ":" + coll + ":" + name }
func (k keys) entityIndex(ns, coll string) string  { return k.p + "ei:" + ns + ":" + coll }
func (k keys) code(digest string) string           { return k.p + "c:" + digest }
func (k keys) activation(ns, id string) string     { return k.p + "a:" + ns + ":" + id }
func (k keys) activationIndex(ns string) string    { return k.p + "at:" + ns }
func (k keys) nameIndex(ns, name string) string    { return k.p + "an:" + ns + ":" + name }
func (k keys) identity(ns string) string           { return k.p + "i:ns:" + ns }
func (k keys) identityUUID(uuid string) string     { return k.p + "i:uuid:" + uuid }
func (k keys) identities() string                  { return k.p + "i" }
func (k keys) kv(ns, key string) string            { return k.p + "kv:" + ns + ":" + key }

// kvPattern is the SCAN MATCH pattern of a namespace's keys starting with
// prefix, every glob character escaped.
func (k keys) kvPattern(ns, prefix string) string {
	return globEscape(k.kv(ns, prefix)) + "*"
}

func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// lexRange returns ZRANGE BYLEX bounds selecting the members that start
// with prefix.
func lexRange(prefix string) (min, max string) {
	if prefix == "" {
		return "-", "+"
	}
	// The smallest string greater than every string with the prefix: the
	// prefix with its last byte below 0xff incremented, the rest cut.
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] < 0xff {
			return "[" + prefix, "(" + prefix[:i] + string([]byte{prefix[i] + 1})
		}
	}
	return "[" + prefix, "+"
}
