package process

import "errors"

// Sentinel errors, besides the sandbox package's.
var (
	// ErrBadSpec reports a sandbox.Spec the driver cannot use.
	ErrBadSpec = errors.New("invalid sandbox spec")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("sandbox already started")
)
