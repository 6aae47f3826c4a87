// Package runtimes runs user code: Gust's runtime proxy, which serves
// OpenWhisk's /init and /run on a unix socket inside a sandbox and drives a
// language launcher over the actionloop line protocol, and the client the
// invoker uses to talk to it.
package runtimes

import "encoding/json"

// InitRequest is the body of POST /init.
type InitRequest struct {
	Value InitValue `json:"value"`
}

// InitValue carries the action's code. Code is base64 when Binary. Env holds
// the __OW_* context and the action's init parameters, as strings.
type InitValue struct {
	Name   string            `json:"name"`
	Main   string            `json:"main"`
	Code   string            `json:"code"`
	Binary bool              `json:"binary"`
	Env    map[string]string `json:"env,omitempty"`
}

// RunRequest is the body of POST /run. Every field but Value is exported to
// the action as __OW_<UPPER_NAME>.
type RunRequest struct {
	Value         json.RawMessage `json:"value"`
	Namespace     string          `json:"namespace"`
	ActionName    string          `json:"action_name"`
	ActionVersion string          `json:"action_version"`
	ActivationID  string          `json:"activation_id"`
	TransactionID string          `json:"transaction_id"`
	Deadline      string          `json:"deadline"`
	APIKey        string          `json:"api_key,omitempty"`
}
