package whisk

import "errors"

// Sentinel errors of the model. Callers wrap them with detail; the gateway
// maps them to HTTP statuses in one place.
var (
	ErrBadName    = errors.New("invalid entity name")
	ErrBadLimits  = errors.New("invalid limits")
	ErrBadKind    = errors.New("unsupported action kind")
	ErrBadRequest = errors.New("invalid request")
)
