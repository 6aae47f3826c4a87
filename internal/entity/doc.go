// Package entity resolves an action through its package and the bindings
// in front of it, the one rule the gateway (invocations, GET of packages)
// and the controller (sequence, composition and rule components) must
// apply alike:
//
//   - A binding points at another package and adds or overrides
//     parameters; its actions are the bound package's. Resolution follows
//     at most MaxBindingDepth bindings and refuses a chain that leads back
//     on itself (ErrCircular).
//   - A binding may point at a package of another namespace only while
//     that package is public: a package, not a binding, published or of
//     whisk.system (ErrNotShared otherwise).
//   - An action's parameters are package < bindings < action, each
//     overriding the ones before; an action reached through a binding
//     carries the "binding" annotation for its activation records.
//
// The callers read the documents (Loader) and turn the errors into their
// own: HTTP statuses in the gateway, activation records in the controller.
// EncodeParams prepares the resolved parameters once per load, for both to
// merge with the arguments of each activation without decoding them.
package entity
