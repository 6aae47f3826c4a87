package gateway

import (
	"errors"
	"fmt"
)

// Sentinel errors of the gateway. Handlers return them (wrapped or bare) and
// errorHandler turns them into an HTTP status and OpenWhisk's error body;
// see status for the whole mapping.
var (
	// ErrNoCredentials: the request has no usable Basic Authorization
	// header (401).
	ErrNoCredentials = errors.New("authentication required")
	// ErrBadCredentials: the uuid is unknown or the key does not match (401).
	ErrBadCredentials = errors.New("authentication is invalid")
	// ErrForbidden: the credentials are valid but not for the resource
	// (403), e.g. another namespace.
	ErrForbidden = errors.New("not authorized")
	// ErrTooLarge: a body, code or parameters exceed their size limit (413).
	ErrTooLarge = errors.New("content too large")
	// ErrThrottled: a namespace's invocation rate or concurrency limit is
	// reached (429).
	ErrThrottled = errors.New("too many requests")
	// ErrNotReady: a web action's blocking wait elapsed before its result
	// (202 "Response not yet ready.", with the activation id header).
	ErrNotReady = errors.New("response not yet ready")
)

// clientError carries the exact message a client sees, in OpenWhisk's
// wording, next to the sentinel that selects the status.
type clientError struct {
	msg string
	err error
}

func (e *clientError) Error() string { return e.msg }
func (e *clientError) Unwrap() error { return e.err }

// errorf builds a client-facing error: sentinel picks the status, the
// formatted text is the body's "error".
func errorf(sentinel error, format string, args ...any) error {
	return &clientError{msg: fmt.Sprintf(format, args...), err: sentinel}
}
