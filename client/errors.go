package client

import (
	"errors"
	"net/http"
	"strconv"
)

// Sentinel errors. An *APIError matches the one for its HTTP status with
// errors.Is; the configuration and name errors are returned wrapped.
var (
	ErrBadConfig       = errors.New("invalid client configuration")
	ErrBadName         = errors.New("invalid entity name")
	ErrBadArgument     = errors.New("invalid argument")
	ErrBadResponse     = errors.New("unexpected response from the server")
	ErrBadRequest      = errors.New("bad request")         // 400
	ErrUnauthorized    = errors.New("unauthorized")        // 401
	ErrForbidden       = errors.New("forbidden")           // 403
	ErrNotFound        = errors.New("not found")           // 404
	ErrConflict        = errors.New("conflict")            // 409
	ErrTooLarge        = errors.New("request too large")   // 413
	ErrTooManyRequests = errors.New("too many requests")   // 429
	ErrUnavailable     = errors.New("service unavailable") // 503
)

var statusErrors = map[int]error{
	http.StatusBadRequest:            ErrBadRequest,
	http.StatusUnauthorized:          ErrUnauthorized,
	http.StatusForbidden:             ErrForbidden,
	http.StatusNotFound:              ErrNotFound,
	http.StatusConflict:              ErrConflict,
	http.StatusRequestEntityTooLarge: ErrTooLarge,
	http.StatusTooManyRequests:       ErrTooManyRequests,
	http.StatusServiceUnavailable:    ErrUnavailable,
}

// APIError is an error answer of the API: the HTTP status and OpenWhisk's
// error body {"error": Message, "code": Code} (Code is the transaction id).
// A body of another shape leaves Message empty and keeps the raw Body.
type APIError struct {
	Status  int
	Message string
	Code    string
	Body    []byte
}

// Error formats the error as OpenWhisk's clients do: "message (code id)".
func (e *APIError) Error() string {
	switch {
	case e.Message != "" && e.Code != "":
		return e.Message + " (code " + e.Code + ")"
	case e.Message != "":
		return e.Message
	default:
		return "The connection failed, or timed out. (HTTP status code " + strconv.Itoa(e.Status) + ")"
	}
}

// Is reports whether target is the sentinel error of e's status.
func (e *APIError) Is(target error) bool {
	s, ok := statusErrors[e.Status]
	return ok && s == target
}
