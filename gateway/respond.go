package gateway

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Header names, as OpenWhisk spells them (HTTP header names are
// case-insensitive; Fiber sends them as X-Request-Id and
// X-Openwhisk-Activation-Id).
const (
	headerRequestID    = "X-Request-ID"
	headerActivationID = "x-openwhisk-activation-id"
)

// OpenWhisk's CORS headers for the REST API (CorsSettings.RestAPIs).
const (
	corsAllowOrigin  = "*"
	corsAllowHeaders = "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
	corsAllowMethods = "GET, DELETE, POST, PUT, HEAD"
)

// OpenWhisk's messages (org.apache.openwhisk.http.Messages and akka-http's
// rejection handler), for the statuses whose text never varies.
const (
	msgNoCredentials  = "The resource requires authentication, which was not supplied with the request"
	msgBadCredentials = "The supplied authentication is invalid"
	msgNotFound       = "The requested resource does not exist."
	msgExists         = "resource already exists"
	msgConflict       = "Concurrent modification to resource detected."
	msgForbidden      = "The supplied authentication is not authorized to access this resource."
	msgNoInvokers     = "No invokers available."
	msgOverloaded     = "System is overloaded, try again later."
	msgInternal       = "There was an internal server error."
	msgTooLarge       = "The request content was too large."
	msgMethod         = "HTTP method not allowed."
	msgNotReady       = "Response not yet ready."
)

// common runs first on every request: the transaction id and CORS
// headers. It answers CORS preflight (OPTIONS) requests anywhere, without
// authentication; being no route, OPTIONS does not turn unknown paths' 404
// into 405.
func (g *Gateway) common(c *fiber.Ctx) error {
	if isWebPath(c.Path()) {
		// web actions answer OPTIONS and send CORS headers themselves (web.go)
		setRequestID(c)
		return c.Next()
	}
	setCommonHeaders(c)
	if c.Method() == fiber.MethodOptions {
		return c.SendStatus(fiber.StatusOK)
	}
	return c.Next()
}

// Header keys and values in fasthttp's canonical form, set without
// normalizing them on every response.
var (
	keyRequestID    = []byte("X-Request-Id")
	keyActivationID = []byte("X-Openwhisk-Activation-Id")
	keyAllowOrigin  = []byte(fiber.HeaderAccessControlAllowOrigin)
	keyAllowHeaders = []byte(fiber.HeaderAccessControlAllowHeaders)
	keyAllowMethods = []byte(fiber.HeaderAccessControlAllowMethods)
	valAllowOrigin  = []byte(corsAllowOrigin)
	valAllowHeaders = []byte(corsAllowHeaders)
	valAllowMethods = []byte(corsAllowMethods)
)

func setCommonHeaders(c *fiber.Ctx) {
	setRequestID(c)
	h := &c.Response().Header
	h.SetCanonical(keyAllowOrigin, valAllowOrigin)
	h.SetCanonical(keyAllowHeaders, valAllowHeaders)
	h.SetCanonical(keyAllowMethods, valAllowMethods)
}

// setRequestID gives the response a fresh transaction id.
func setRequestID(c *fiber.Ctx) {
	var id [32]byte
	newID(&id)
	c.Response().Header.SetCanonical(keyRequestID, id[:])
}

// requestID is the transaction id of c's response.
func requestID(c *fiber.Ctx) string {
	return string(c.Response().Header.PeekBytes(keyRequestID))
}

// newID fills id with 32 lowercase hex digits of a time-ordered (version 7)
// UUID: the Unix time in milliseconds, then 74 random bits. OpenWhisk's
// activation ids are 32 opaque hex digits; ordering them by time makes the
// stores' inserts of records sequential rather than scattered over the
// whole index (a bbolt commit of scattered keys rewrites a page per record).
// The random bits come from math/rand/v2's ChaCha8 generator, seeded by the
// OS: unique and unpredictable enough for ids that are not secrets (records
// are readable only by their namespace), at a fraction of a getrandom call.
func newID(id *[32]byte) {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16|rand.Uint64()&0xffff)
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	hex.Encode(id[:], b[:])
}

// errorBody is OpenWhisk's error response.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// errorHandler is the one place where errors become HTTP responses: the
// status and message come from status(err). Fiber calls it for errors that
// handlers return, for its own (unknown route, 405, body too large) and for
// panics caught by the recover middleware.
func (g *Gateway) errorHandler(c *fiber.Ctx, err error) error {
	if len(c.Response().Header.PeekBytes(keyRequestID)) == 0 {
		setCommonHeaders(c) // fasthttp-level errors skip the middleware
	}
	code, msg := status(err)
	tid := requestID(c)
	if code >= http.StatusInternalServerError {
		g.log.Error("request failed", "status", code, "method", c.Method(), "path", c.Path(), "transid", tid, "err", err)
	}
	if code == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="whisk rest service"`)
	}
	body, _ := json.Marshal(errorBody{Error: msg, Code: tid}) // cannot fail: two strings
	c.Response().ResetBody()
	c.Status(code)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(body)
}

// status maps an error to its HTTP status and the message clients see.
// Messages of 5xx errors never include internal details.
func status(err error) (int, string) {
	var ce *clientError
	custom := errors.As(err, &ce)
	pick := func(code int, def string) (int, string) {
		if custom && code < http.StatusInternalServerError {
			return code, ce.msg
		}
		return code, def
	}
	var fe *fiber.Error
	switch {
	case errors.Is(err, ErrNoCredentials):
		return http.StatusUnauthorized, msgNoCredentials
	case errors.Is(err, ErrBadCredentials):
		return http.StatusUnauthorized, msgBadCredentials
	case errors.Is(err, ErrForbidden):
		return pick(http.StatusForbidden, msgForbidden)
	case errors.Is(err, ErrTooLarge):
		return pick(http.StatusRequestEntityTooLarge, msgTooLarge)
	case errors.Is(err, ErrThrottled):
		return pick(http.StatusTooManyRequests, err.Error())
	case errors.Is(err, controller.ErrOverloaded):
		return http.StatusTooManyRequests, msgOverloaded
	case errors.Is(err, controller.ErrNoInvokers):
		return http.StatusServiceUnavailable, msgNoInvokers
	case errors.Is(err, whisk.ErrBadName), errors.Is(err, whisk.ErrBadLimits),
		errors.Is(err, whisk.ErrBadKind), errors.Is(err, whisk.ErrBadRequest):
		// These are built with user-facing detail ("invalid limits: memory
		// 64 MB exceeds allowed range [128 MB, 2048 MB]").
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, ErrNotReady):
		return http.StatusAccepted, msgNotReady
	case errors.Is(err, store.ErrNotFound):
		return pick(http.StatusNotFound, msgNotFound)
	case errors.Is(err, store.ErrExists):
		return pick(http.StatusConflict, msgExists)
	case errors.Is(err, store.ErrConflict):
		return pick(http.StatusConflict, msgConflict)
	case errors.As(err, &fe):
		return fiberStatus(fe)
	}
	return http.StatusInternalServerError, msgInternal
}

// fiberStatus maps Fiber's own errors.
func fiberStatus(fe *fiber.Error) (int, string) {
	switch fe.Code {
	case fiber.StatusNotFound:
		return fe.Code, msgNotFound
	case fiber.StatusMethodNotAllowed:
		return fe.Code, msgMethod
	case fiber.StatusRequestEntityTooLarge:
		return fe.Code, msgTooLarge
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return fe.Code, fe.Message
	}
	return http.StatusInternalServerError, msgInternal
}
