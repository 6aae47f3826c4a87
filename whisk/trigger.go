package whisk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Rule states.
const (
	RuleActive   = "active"
	RuleInactive = "inactive"
)

// Trigger is a stored trigger: a named event channel with default
// parameters. Firing it runs the actions of its active rules. The JSON is
// OpenWhisk's WhiskTrigger; the API adds the trigger's rules (computed from
// the rules that name it, not stored here).
type Trigger struct {
	Namespace   string        `json:"namespace"`
	Name        string        `json:"name"`
	Version     string        `json:"version"`
	Publish     bool          `json:"publish"`
	Parameters  KeyValues     `json:"parameters"`
	Annotations KeyValues     `json:"annotations"`
	Limits      TriggerLimits `json:"limits"`
	Updated     int64         `json:"updated"`
	// Rev changes on every write (store bookkeeping, not shown).
	Rev string `json:"rev,omitempty"`
}

// TriggerLimits are a trigger's limits: none today, an empty object on the
// wire as OpenWhisk has it.
type TriggerLimits struct{}

// Rule connects a trigger to an action. Unlike OpenWhisk, which keeps a
// rule's status in its trigger's document, Gust keeps it in the rule's own
// document, so that every rule change is one write.
type Rule struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Publish     bool      `json:"publish"`
	Status      string    `json:"status"`
	Trigger     EntityRef `json:"trigger"`
	Action      EntityRef `json:"action"`
	Annotations KeyValues `json:"annotations"`
	Updated     int64     `json:"updated"`
	// Rev changes on every write (store bookkeeping, not shown).
	Rev string `json:"rev,omitempty"`
}

// EntityRef is a fully qualified entity name as OpenWhisk writes it in
// rules: {"path": "ns[/pkg]", "name": "entity"}. It decodes that form, the
// {"namespace", "name"} form and a name string "/ns/[pkg/]entity".
type EntityRef struct {
	Path string `json:"path"`
	Name string `json:"name"`
}

// Ref returns the EntityRef of f.
func Ref(f FQN) EntityRef {
	p := f.Namespace
	if f.Package != "" {
		p += "/" + f.Package
	}
	return EntityRef{Path: p, Name: f.Name}
}

// FQN parses the reference; it fails on a malformed path or name.
func (r EntityRef) FQN() (FQN, error) {
	return ParseFQN("/"+r.Path+"/"+r.Name, "")
}

// String is OpenWhisk's qualified form without the leading slash,
// "ns[/pkg]/name", as trigger activation logs show rules and actions.
func (r EntityRef) String() string { return r.Path + "/" + r.Name }

// UnmarshalJSON decodes an object or a name string.
func (r *EntityRef) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		s = strings.TrimPrefix(s, "/")
		i := strings.LastIndexByte(s, '/')
		if i < 0 {
			return fmt.Errorf("%w: %q is not a fully qualified name", ErrBadName, s)
		}
		*r = EntityRef{Path: s[:i], Name: s[i+1:]}
		return nil
	}
	var o struct {
		Path      string `json:"path"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	}
	if err := json.Unmarshal(data, &o); err != nil {
		return err
	}
	if o.Path == "" {
		o.Path = o.Namespace
	}
	*r = EntityRef{Path: o.Path, Name: o.Name}
	return nil
}
