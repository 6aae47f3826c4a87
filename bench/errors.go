package bench

import "errors"

// Sentinel errors.
var (
	// ErrUsage is a bad command line.
	ErrUsage = errors.New("usage")
	// ErrNotReady means the API host did not come up or answer in time.
	ErrNotReady = errors.New("api host not ready")
	// ErrSetup means preparing a scenario (creating its actions) failed.
	ErrSetup = errors.New("scenario setup failed")
	// ErrProtocol is an HTTP response the load generator cannot parse.
	ErrProtocol = errors.New("malformed http response")
	// ErrResultsFile is a RESULTS.md whose generated sections are damaged.
	ErrResultsFile = errors.New("malformed results file")
)
