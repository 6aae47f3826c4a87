package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// SystemPackage is a built-in package of the whisk.system namespace, which
// every namespace may read, bind and invoke, and none may write through the
// API.
type SystemPackage struct {
	Name        string
	Parameters  whisk.KeyValues
	Annotations whisk.KeyValues
	Actions     []SystemAction
}

// SystemAction is an action of a SystemPackage. Exec needs Kind and Code
// (or Image for blackbox); Binary and Digest are computed. Zero Limits are
// the defaults.
type SystemAction struct {
	Name        string
	Exec        whisk.Exec
	Parameters  whisk.KeyValues
	Annotations whisk.KeyValues
	Limits      whisk.Limits
}

// SystemStore is what InstallSystemPackage writes to.
type SystemStore interface {
	store.Entities
	store.Codes
}

// InstallSystemPackage writes p and its actions into whisk.system,
// replacing a package of that name and deleting the actions it no longer
// has. Everything is validated before anything is written. Running
// gateways see the change within Config.ActionCacheTTL.
func InstallSystemPackage(ctx context.Context, st SystemStore, p SystemPackage) error {
	const ns = whisk.SystemNamespace
	if !whisk.ValidName(p.Name) || p.Name == reservedPackage {
		return fmt.Errorf("%w: system package %q", whisk.ErrBadName, p.Name)
	}
	now := time.Now().UnixMilli()
	pd := &packageDoc{Namespace: ns, Name: p.Name, Version: "0.0.1", Publish: true,
		Parameters: p.Parameters, Annotations: p.Annotations, Updated: now, Rev: newRev()}
	if pd.Parameters == nil {
		pd.Parameters = whisk.KeyValues{}
	}
	if old, err := st.GetEntity(ctx, store.Key{Namespace: ns, Collection: store.Packages, Name: p.Name}); err == nil {
		if o, err := packageDocs.decode(old); err == nil {
			pd.Version = whisk.NextVersion(o.Version)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}

	actions := make([]*whisk.Action, 0, len(p.Actions))
	codes := make([][]byte, 0, len(p.Actions))
	keep := make(map[string]bool, len(p.Actions))
	for _, sa := range p.Actions {
		a, code, err := systemAction(p.Name, sa, now)
		if err != nil {
			return err
		}
		if keep[a.Name] {
			return fmt.Errorf("%w: system action %s/%s twice", whisk.ErrBadRequest, p.Name, a.Name)
		}
		keep[a.Name] = true
		actions = append(actions, a)
		codes = append(codes, code)
	}

	for i, a := range actions {
		if codes[i] == nil {
			continue
		}
		digest, err := st.PutCode(ctx, codes[i])
		if err != nil {
			return err
		}
		a.Exec.Digest = digest
	}
	doc, err := json.Marshal(pd)
	if err != nil {
		return err
	}
	if err := st.PutEntity(ctx, store.Key{Namespace: ns, Collection: store.Packages, Name: p.Name}, doc, true); err != nil {
		return err
	}
	for _, a := range actions {
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if err := st.PutEntity(ctx, store.Key{Namespace: ns, Collection: store.Actions, Name: p.Name + "/" + a.Name}, doc, true); err != nil {
			return err
		}
	}
	old, _, err := st.ListEntities(ctx, ns, store.Actions, p.Name+"/", 0, 0)
	if err != nil {
		return err
	}
	for _, doc := range old {
		a, err := decodeAction(doc)
		if err != nil || keep[a.Name] {
			continue
		}
		if err := st.DeleteEntity(ctx, store.Key{Namespace: ns, Collection: store.Actions, Name: p.Name + "/" + a.Name}); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// systemAction validates a SystemAction and builds its document; code is
// what to store (nil for none).
func systemAction(pkg string, sa SystemAction, now int64) (*whisk.Action, []byte, error) {
	if !whisk.ValidName(sa.Name) {
		return nil, nil, fmt.Errorf("%w: system action %q", whisk.ErrBadName, sa.Name)
	}
	kind, err := whisk.CanonicalKind(sa.Exec.Kind)
	if sa.Exec.Kind == whisk.KindBuiltin {
		kind, err = whisk.KindBuiltin, nil // run by the controller (controller.Builtin*)
	}
	if err != nil {
		return nil, nil, err
	}
	if kind == whisk.KindSequence {
		return nil, nil, fmt.Errorf("%w: system action %s/%s: sequences are not supported here", whisk.ErrBadRequest, pkg, sa.Name)
	}
	exec := whisk.Exec{Kind: kind, Main: sa.Exec.Main, Image: sa.Exec.Image}
	var code []byte
	switch {
	case sa.Exec.Code != "":
		if len(sa.Exec.Code) > whisk.MaxCodeSize {
			return nil, nil, fmt.Errorf("%w: system action %s/%s: code larger than %d bytes", ErrTooLarge, pkg, sa.Name, whisk.MaxCodeSize)
		}
		exec.Binary = isBase64(sa.Exec.Code)
		code = []byte(sa.Exec.Code)
	case kind != whisk.KindBlackbox || exec.Image == "":
		return nil, nil, fmt.Errorf("%w: system action %s/%s has no code", whisk.ErrBadRequest, pkg, sa.Name)
	}
	limits := sa.Limits
	if limits == (whisk.Limits{}) {
		limits = whisk.DefaultLimits()
	}
	if err := limits.Validate(); err != nil {
		return nil, nil, err
	}
	anns := append(whisk.KeyValues{}, sa.Annotations...).Set(annExec, kind)
	if anns.Get(annProvideAPIKey) == nil {
		anns = anns.Set(annProvideAPIKey, false)
	}
	params := sa.Parameters
	if params == nil {
		params = whisk.KeyValues{}
	}
	return &whisk.Action{
		Namespace: whisk.SystemNamespace + "/" + pkg, Name: strings.Clone(sa.Name), Version: "0.0.1", Publish: true,
		Exec: exec, Parameters: params, Limits: limits, Annotations: anns, Updated: now, Rev: newRev(),
	}, code, nil
}
