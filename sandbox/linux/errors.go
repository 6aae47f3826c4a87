package linux

import "errors"

// Sentinel errors, besides the sandbox package's.
var (
	// ErrUnavailable reports that this host cannot run the driver; the
	// wrapped message says why (Available returns it).
	ErrUnavailable = errors.New("linux sandboxes are not available on this host")
	// ErrNoCgroups reports that the needed cgroup controllers were not found.
	ErrNoCgroups = errors.New("cgroup controllers not found")
	// ErrBadSpec reports a sandbox.Spec the driver cannot use.
	ErrBadSpec = errors.New("invalid sandbox spec")
	// ErrClosed is returned by Create after Driver.Close.
	ErrClosed = errors.New("sandbox driver closed")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("sandbox already started")
)
