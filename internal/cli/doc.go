// Package cli is the gust command line for users of a Gust installation:
// the same command tree, flags, ~/.wskprops and output as Apache OpenWhisk's
// wsk for actions (with sequences and web actions), packages and bindings,
// triggers (with wsk's feed lifecycle), rules, activations, namespaces and
// properties. cmd/gust hands it every command line it does not run itself
// (up, gateway, ...).
//
// Configuration comes from defaults (Gust's local gateway and the guest key,
// so that `gust up` then `gust action create` needs no setup), then the
// properties file (~/.wskprops, or WSK_CONFIG_FILE), then the environment
// (WHISK_AUTH, WHISK_APIHOST, WHISK_APIVERSION), then global flags.
package cli
