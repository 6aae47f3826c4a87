package gateway

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/internal/jsonstr"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Web actions (OpenWhisk's WebActions.scala and docs/webactions.md):
//
//	ANY /api/v1/web/{namespace}/{package|default}/{action}[.{ext}][/{path}]
//
// An action annotated web-export: true answers plain HTTP without a key.
// The request becomes its arguments (query and body fields over the
// parameters, plus the __ow_* context), and its result becomes the
// response, shaped by the extension:
//
//	.http (default)  the result is {statusCode, headers, body}
//	.json            the result (or the projection …/a.json/field/sub) as JSON
//	.html .svg .text the body (else html, svg, text) field, or the projection
//
// The invocation runs in the action's namespace, which pays for it: its
// throttles apply and its activation records hold it. It is blocking, for at
// most Config.MaxBlockingWait; past that the answer is 202 "Response not
// yet ready." with the activation id.
//
// Annotations read: web-export, raw-http (the body and query are passed
// unparsed as __ow_body and __ow_query), web-custom-options (OPTIONS goes to
// the action; otherwise the gateway answers it and adds CORS headers),
// require-whisk-auth (true: valid Basic credentials; a string or number:
// the X-Require-Whisk-Auth header must equal it), final (the request may
// not override defined parameters).

// webPrefix starts every web action path.
const webPrefix = "/api/v1/web/"

func isWebPath(path string) bool { return strings.HasPrefix(path, webPrefix) }

// Annotations and headers of web actions.
const (
	annWebExport      = "web-export"
	annRawHTTP        = "raw-http"
	annCustomOptions  = "web-custom-options"
	annRequireAuth    = "require-whisk-auth"
	headerRequireAuth = "X-Require-Whisk-Auth"
)

// The arguments a web invocation adds (OpenWhisk's WebApiDirectives). A
// request may set no argument with this prefix.
const (
	owPrefix  = "__ow_"
	owMethod  = "__ow_method"
	owHeaders = "__ow_headers"
	owPath    = "__ow_path"
	owUser    = "__ow_user"
	owBody    = "__ow_body"
	owQuery   = "__ow_query"
)

// OpenWhisk's web action messages (Messages.scala).
const (
	msgPropertyNotFound = "Response does not include requested property."
	msgUnknownType      = "Response did not specify a known content-type."
	msgTypeMismatch     = "Response type in header did not match generated content type."
	msgProcessing       = "There was an error processing your request."
)

func errInvalidMedia(mediaType string) error {
	return errorf(whisk.ErrBadRequest, "Response is not valid '%s'.", mediaType)
}

var errPropertyNotFound = errorf(store.ErrNotFound, msgPropertyNotFound)

// webAuth is what require-whisk-auth demands.
type webAuth uint8

const (
	webAuthNone   webAuth = iota // absent or false
	webAuthKey                   // true: valid Basic credentials
	webAuthSecret                // a string or number: X-Require-Whisk-Auth equals it
	webAuthDeny                  // any other value: nobody (as OpenWhisk)
)

// webAnnotations are an action's web annotations, read once per cache load.
// Flags must be JSON true, as OpenWhisk reads them.
type webAnnotations struct {
	export        bool
	raw           bool
	customOptions bool
	auth          webAuth
	secret        string
}

func parseWebAnnotations(anns whisk.KeyValues) webAnnotations {
	isTrue := func(key string) bool { return string(bytes.TrimSpace(anns.Get(key))) == "true" }
	w := webAnnotations{export: isTrue(annWebExport), raw: isTrue(annRawHTTP), customOptions: isTrue(annCustomOptions)}
	v := bytes.TrimSpace(anns.Get(annRequireAuth))
	switch {
	case len(v) == 0 || string(v) == "false":
	case string(v) == "true":
		w.auth = webAuthKey
	case v[0] == '"':
		w.auth = webAuthDeny
		if json.Unmarshal(v, &w.secret) == nil {
			w.auth = webAuthSecret
		}
	case v[0] == '-' || '0' <= v[0] && v[0] <= '9':
		w.auth, w.secret = webAuthSecret, string(v)
	default:
		w.auth = webAuthDeny
	}
	return w
}

// webExt is the response type a web request asks for.
type webExt uint8

const (
	extHTTP webExt = iota
	extJSON
	extHTML
	extSVG
	extText
)

var webExts = [...]struct {
	suffix string
	ext    webExt
}{{".http", extHTTP}, {".json", extJSON}, {".html", extHTML}, {".svg", extSVG}, {".text", extText}}

// splitExtension splits "name.ext" into the name and its extension; a
// name without a known extension is .http.
func splitExtension(seg string) (string, webExt) {
	for _, e := range webExts {
		if len(seg) > len(e.suffix) && strings.HasSuffix(seg, e.suffix) {
			return seg[:len(seg)-len(e.suffix)], e.ext
		}
	}
	return seg, extHTTP
}

// OpenWhisk's CORS headers for web actions (CorsSettings.WebActions); the
// allowed headers echo the preflight's Access-Control-Request-Headers.
var valWebAllowMethods = []byte("OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH")

func setWebCORS(c *fiber.Ctx) {
	h := &c.Response().Header
	h.SetCanonical(keyAllowOrigin, valAllowOrigin)
	h.SetCanonical(keyAllowMethods, valWebAllowMethods)
	if req := c.Request().Header.Peek(fiber.HeaderAccessControlRequestHeaders); len(req) > 0 {
		h.SetCanonical(keyAllowHeaders, req)
	} else {
		h.SetCanonical(keyAllowHeaders, valAllowHeaders)
	}
}

// webTarget is what a web path names.
type webTarget struct {
	ns, pkg, name string // pkg "" for default; all may alias the request
	ext           webExt
	path          string // __ow_path: what follows the action segment, raw
}

// parseWebPath reads the route's parameters. Names that are not valid are
// simply not found, as OpenWhisk's route does not match them.
func parseWebPath(c *fiber.Ctx) (webTarget, error) {
	var t webTarget
	var err error
	if t.ns, err = pathParam(c, "ns"); err != nil {
		return t, store.ErrNotFound
	}
	if t.pkg, err = pathParam(c, "pkg"); err != nil {
		return t, store.ErrNotFound
	}
	if t.pkg == reservedPackage {
		t.pkg = ""
	}
	rest := c.Params("*")
	seg := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		seg, t.path = rest[:i], rest[i:]
	}
	if strings.IndexByte(seg, '%') >= 0 {
		if seg, err = url.PathUnescape(seg); err != nil {
			return t, store.ErrNotFound
		}
	}
	t.name, t.ext = splitExtension(seg)
	if !whisk.ValidName(t.ns) || validEntityName(t.pkg, t.name) != nil {
		return t, store.ErrNotFound
	}
	return t, nil
}

// web serves a web action request. It shares the invoke path's cache,
// throttles and controller; only the request and response shapes differ.
func (g *Gateway) web(c *fiber.Ctx) error {
	now := time.Now()
	t, err := parseWebPath(c)
	if err != nil {
		return err
	}
	owner, err := g.webOwner(t.ns, now.UnixNano())
	if err != nil {
		return err
	}
	ca, err := g.actions.get(g.reqCtx, now.UnixNano(), t.ns, t.pkg, t.name, g.loadAction)
	if err != nil {
		return err
	}
	if !ca.web.export {
		return store.ErrNotFound
	}
	body := c.Body()
	if len(body) > whisk.MaxPayload {
		return errorf(ErrTooLarge, "Request larger than allowed: %d > %d bytes.", len(body), whisk.MaxPayload)
	}
	options := c.Method() == fiber.MethodOptions
	if !ca.web.customOptions {
		setWebCORS(c)
		if options {
			c.Status(fiber.StatusOK)
			return nil
		}
	}

	// __ow_user names whoever sent valid credentials, required or not
	var user *principal
	if len(c.Request().Header.Peek(fiber.HeaderAuthorization)) > 0 {
		p, err := g.authenticate(c, now.UnixNano())
		switch {
		case err == nil:
			user = p
		case ca.web.auth == webAuthKey && !options:
			if errors.Is(err, ErrNoCredentials) || errors.Is(err, ErrBadCredentials) {
				return ErrBadCredentials
			}
			return err
		}
	}
	if !options || !ca.web.customOptions { // OPTIONS to an action that answers it needs no auth
		switch ca.web.auth {
		case webAuthKey:
			if user == nil {
				return ErrBadCredentials
			}
		case webAuthSecret:
			if subtle.ConstantTimeCompare(c.Request().Header.Peek(headerRequireAuth), []byte(ca.web.secret)) != 1 {
				return ErrBadCredentials
			}
		case webAuthDeny:
			return ErrBadCredentials
		}
	}

	args, err := webArgs(c, ca, &t, user)
	if err != nil {
		return err
	}
	if err := owner.throttle.acquire(now.Unix()/60, owner.invocationsPerMinute, owner.concurrentInvocations); err != nil {
		return err
	}
	defer owner.throttle.release()

	var idBuf [32]byte
	newID(&idBuf)
	c.Response().Header.SetCanonical(keyActivationID, idBuf[:])
	msg := &bus.ActivationMessage{
		V:            bus.Version,
		ActivationID: string(idBuf[:]),
		TransID:      requestID(c),
		Namespace:    owner.namespace, // the owner pays
		Subject:      owner.namespace,
		Action:       ca.action,
		Args:         args,
		InitEnv:      ca.initEnv,
		Blocking:     true,
		Annotations:  ca.annotations,
		Received:     now.UnixMilli(),
	}
	if ca.provideAPIKey && user != nil && user.namespace == owner.namespace {
		msg.APIKey = user.apiKey // the owner's key is never stored; only its own request can lend it
	}
	rec, err := g.ctrl.Invoke(g.reqCtx, msg, g.cfg.MaxBlockingWait)
	switch {
	case errors.Is(err, controller.ErrStillRunning):
		return ErrNotReady
	case err != nil:
		return err
	case rec == nil:
		return ErrNotReady
	}
	return renderWeb(c, rec, &t)
}

// webOwner is the principal a web invocation runs as: the namespace in the
// path, whose identity must exist (whisk.system needs none), with its
// throttles. It is cached like credentials.
func (g *Gateway) webOwner(ns string, now int64) (*principal, error) {
	if p := g.owners.get(ns, now); p != nil {
		return p, nil
	}
	id, err := g.st.IdentityByNamespace(g.reqCtx, ns)
	switch {
	case err == nil:
	case (errors.Is(err, store.ErrNotFound) || errors.Is(err, whisk.ErrBadRequest)) && ns == whisk.SystemNamespace:
		id = store.Identity{Namespace: ns}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, whisk.ErrBadRequest):
		return nil, store.ErrNotFound
	default:
		return nil, err
	}
	p := &principal{
		namespace:             id.Namespace,
		invocationsPerMinute:  orDefault(id.InvocationsPerMinute, g.cfg.InvocationsPerMinute),
		concurrentInvocations: orDefault(id.ConcurrentInvocations, g.cfg.ConcurrentInvocations),
		firesPerMinute:        orDefault(id.FiresPerMinute, g.cfg.FiresPerMinute),
		throttle:              g.throttles.get(id.Namespace),
		expires:               now + int64(g.cfg.AuthCacheTTL),
	}
	g.owners.put(strings.Clone(ns), p)
	return p, nil
}

// argsBuilder writes a JSON object with unique keys: the first value added
// for a key wins, so layers are added from the highest precedence down.
// keys may alias request memory: a builder lives for one request.
type argsBuilder struct {
	buf  []byte
	keys []string
}

func (b *argsBuilder) has(key string) bool {
	for _, k := range b.keys {
		if k == key {
			return true
		}
	}
	return false
}

// key starts member key unless it is taken; then the caller appends the value.
func (b *argsBuilder) key(key string) bool {
	if b.has(key) {
		return false
	}
	b.keys = append(b.keys, key)
	if len(b.buf) > 1 {
		b.buf = append(b.buf, ',')
	}
	b.buf = appendJSONString(b.buf, key)
	b.buf = append(b.buf, ':')
	return true
}

func (b *argsBuilder) addString(key string, v []byte) {
	if b.key(key) {
		b.buf = appendJSONString(b.buf, v)
	}
}

func (b *argsBuilder) addRaw(key string, v []byte) {
	if b.key(key) {
		b.buf = append(b.buf, v...)
	}
}

// addMember adds an encoded `"key":value` member.
func (b *argsBuilder) addMember(key string, member []byte) {
	if b.has(key) {
		return
	}
	b.keys = append(b.keys, key)
	if len(b.buf) > 1 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, member...)
}

// webArgs builds a web invocation's arguments, from the highest precedence
// down: the body's fields, the query's, the __ow_* context, then the
// action's (merged) parameters. A raw-http action gets the body and query
// unparsed instead. The request may not set __ow_* arguments, nor, for a
// final action, its defined parameters.
func webArgs(c *fiber.Ctx, ca *cachedAction, t *webTarget, user *principal) (json.RawMessage, error) {
	body := c.Body()
	mt := requestMediaType(c.Request().Header.ContentType())
	var kbuf [32]string
	b := argsBuilder{buf: make([]byte, 0, 256+len(body)*4/3+len(ca.args)), keys: kbuf[:0]}
	b.buf = append(b.buf, '{')

	if ca.web.raw {
		b.addString(owQuery, c.Context().URI().QueryString())
		if len(body) == 0 {
			b.addString(owBody, nil)
		} else if mt == "application/json" || !textMediaType(mt) {
			b.addBase64(owBody, body)
		} else {
			b.addString(owBody, body)
		}
	} else {
		check := func(key string) error {
			if strings.HasPrefix(key, owPrefix) {
				return errFinal
			}
			if ca.final {
				for i := range ca.members {
					if m := &ca.members[i]; m.Defined && m.Key == key {
						return errFinal
					}
				}
			}
			return nil
		}
		// body first: it wins over the query
		switch {
		case len(body) == 0:
		case isJSONMediaType(mt):
			raw := trimSpace(body)
			if len(raw) == 0 {
				break
			}
			if !json.Valid(raw) {
				return nil, errMalformed
			}
			if raw[0] != '{' {
				b.addRaw(owBody, raw)
				break
			}
			if err := eachMember(raw, func(key string, member []byte) error {
				if err := check(key); err != nil {
					return err
				}
				b.addMember(key, member)
				return nil
			}); err != nil {
				return nil, err
			}
		case mt == "application/x-www-form-urlencoded":
			if err := addArgs(&b, c.Context().PostArgs(), check); err != nil {
				return nil, err
			}
		case textMediaType(mt):
			b.addString(owBody, body)
		default:
			b.addBase64(owBody, body)
		}
		if err := addArgs(&b, c.Context().QueryArgs(), check); err != nil {
			return nil, err
		}
	}

	var mbuf [16]byte
	method := append(mbuf[:0], c.Method()...)
	for i, ch := range method {
		if 'A' <= ch && ch <= 'Z' {
			method[i] = ch + 'a' - 'A'
		}
	}
	b.addString(owMethod, method)
	if b.key(owHeaders) {
		b.buf = appendHeaders(b.buf, c)
	}
	b.addString(owPath, []byte(t.path))
	if user != nil {
		b.addString(owUser, []byte(user.namespace))
	}
	for i := range ca.members {
		b.addMember(ca.members[i].Key, ca.members[i].Enc)
	}
	b.buf = append(b.buf, '}')
	return b.buf, nil
}

func (b *argsBuilder) addBase64(key string, v []byte) {
	if !b.key(key) {
		return
	}
	b.buf = append(b.buf, '"')
	b.buf = base64.StdEncoding.AppendEncode(b.buf, v)
	b.buf = append(b.buf, '"')
}

// addArgs adds query or form arguments as strings; of a repeated key, the
// last value wins.
func addArgs(b *argsBuilder, args *fasthttp.Args, check func(string) error) error {
	var buf [16][2][]byte
	kvs := buf[:0]
	args.VisitAll(func(k, v []byte) { kvs = append(kvs, [2][]byte{k, v}) })
	for i := len(kvs) - 1; i >= 0; i-- {
		key := utils.UnsafeString(kvs[i][0]) // lives as long as the request
		if err := check(key); err != nil {
			return err
		}
		b.addString(key, kvs[i][1])
	}
	return nil
}

// appendHeaders appends the request's headers as a JSON object, names in
// lower case; of a repeated header, the last value wins.
func appendHeaders(buf []byte, c *fiber.Ctx) []byte {
	var arena [512]byte
	names := arena[:0]
	type hdr struct {
		start, end int // of the lowercased name in names
		v          []byte
	}
	var hbuf [24]hdr
	hs := hbuf[:0]
	c.Request().Header.VisitAll(func(k, v []byte) {
		start := len(names)
		for _, ch := range k {
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			names = append(names, ch)
		}
		hs = append(hs, hdr{start, len(names), v})
	})
	buf = append(buf, '{')
	first := true
	for i, h := range hs {
		name := names[h.start:h.end]
		later := false
		for _, o := range hs[i+1:] {
			if bytes.Equal(names[o.start:o.end], name) {
				later = true
				break
			}
		}
		if later {
			continue
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = appendJSONString(buf, name)
		buf = append(buf, ':')
		buf = appendJSONString(buf, h.v)
	}
	return append(buf, '}')
}

// eachMember calls f with each top-level member of obj, a valid JSON
// object: its key, unescaped (aliasing obj), and its raw `"key": value`
// text.
func eachMember(obj []byte, f func(key string, member []byte) error) error {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		start := i
		end, escaped := scanString(obj, i)
		var key string
		if escaped {
			if err := json.Unmarshal(obj[i:end], &key); err != nil {
				return errMalformed
			}
		} else {
			key = utils.UnsafeString(obj[i+1 : end-1]) // lives as long as obj
		}
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // ':'
		vend := skipValue(obj, i)
		if err := f(key, obj[start:vend]); err != nil {
			return err
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return nil
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString[T string | []byte](buf []byte, s T) []byte { return jsonstr.Append(buf, s) }

// requestMediaType is a request's media type, lower case, without
// parameters; a request without one is application/octet-stream (as
// OpenWhisk's HTTP server sees it).
func requestMediaType(ct []byte) string {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	if len(ct) == 0 {
		return "application/octet-stream"
	}
	return lowerString(ct)
}

// lowerString is b in lower case; it aliases b (request memory) when b
// has no upper case letters.
func lowerString(b []byte) string {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(string(b))
		}
	}
	return utils.UnsafeString(b)
}

func isJSONMediaType(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// textMediaType reports whether a media type is text, whose bodies pass
// as strings; bodies of other (binary) types pass as base64.
func textMediaType(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"), isJSONMediaType(mt):
		return true
	case strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/xml", "application/javascript", "application/ecmascript",
		"application/x-www-form-urlencoded", "application/graphql", "application/yaml", "application/x-yaml":
		return true
	}
	return false
}

// renderWeb answers a web request from its finished activation. A success
// is shaped by the extension; an application error's "error" field is
// shaped the same way; a failed run is 400 (developer error, as OpenWhisk)
// or 500 (internal error).
func renderWeb(c *fiber.Ctx, rec *whisk.Activation, t *webTarget) error {
	result := resultOf(rec)
	switch rec.Response.StatusCode {
	case whisk.StatusSuccess:
		if t.ext != extHTTP && strings.Trim(t.path, "/") != "" {
			var err error
			if result, err = project(result, t.path); err != nil {
				return err
			}
			return renderProjected(c, t.ext, result)
		}
	case whisk.StatusApplicationError:
		var fields map[string]json.RawMessage
		if json.Unmarshal(result, &fields) != nil || fields["error"] == nil {
			return errPropertyNotFound
		}
		result = fields["error"]
	case whisk.StatusDeveloperError:
		return errorf(whisk.ErrBadRequest, msgProcessing)
	default:
		return errors.New("web action: whisk internal error") // 500
	}
	switch t.ext {
	case extJSON:
		return renderJSON(c, result)
	case extHTML:
		return renderField(c, result, "html", "text/html", "text/html; charset=UTF-8")
	case extSVG:
		return renderField(c, result, "svg", "image/svg+xml", "image/svg+xml")
	case extText:
		return renderText(c, result, true)
	}
	return renderHTTP(c, result)
}

// project follows path ("/a/b") through the result's objects (OpenWhisk's
// former projections, kept for .json, .html, .svg and .text).
func project(v json.RawMessage, path string) (json.RawMessage, error) {
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		if s, err := url.PathUnescape(seg); err == nil {
			seg = s
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(v, &fields) != nil || fields[seg] == nil {
			return nil, errPropertyNotFound
		}
		v = fields[seg]
	}
	return v, nil
}

// renderProjected renders a projected value: .json needs an object or
// array, .html and .svg a string, .text anything.
func renderProjected(c *fiber.Ctx, ext webExt, v json.RawMessage) error {
	switch ext {
	case extJSON:
		return renderJSON(c, v)
	case extHTML:
		return renderString(c, v, "text/html", "text/html; charset=UTF-8")
	case extSVG:
		return renderString(c, v, "image/svg+xml", "image/svg+xml")
	}
	return renderText(c, v, false)
}

func renderJSON(c *fiber.Ctx, v json.RawMessage) error {
	v = trimSpace(v)
	if len(v) == 0 || (v[0] != '{' && v[0] != '[') {
		return errInvalidMedia(fiber.MIMEApplicationJSON)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(v)
}

// renderField renders an object's body field, else its named field, or a
// non-object result itself, as a string of the given type.
func renderField(c *fiber.Ctx, v json.RawMessage, field, mediaType, contentType string) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(v, &fields) == nil {
		if v = fields["body"]; v == nil {
			v = fields[field]
		}
	}
	return renderString(c, v, mediaType, contentType)
}

func renderString(c *fiber.Ctx, v json.RawMessage, mediaType, contentType string) error {
	var s string
	if len(v) == 0 || json.Unmarshal(v, &s) != nil {
		return errInvalidMedia(mediaType)
	}
	c.Set(fiber.HeaderContentType, contentType)
	return c.SendString(s)
}

// renderText renders a value as text/plain: a string as is, other JSON
// values in their (indented) JSON form. field: an object's body or text
// field is the value (not after a projection).
func renderText(c *fiber.Ctx, v json.RawMessage, field bool) error {
	v = trimSpace(v)
	if field && len(v) > 0 && v[0] == '{' {
		var fields map[string]json.RawMessage
		if json.Unmarshal(v, &fields) == nil {
			if v = fields["body"]; v == nil {
				v = fields["text"]
			}
		}
		if v == nil {
			return errPropertyNotFound
		}
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=UTF-8")
	var s string
	switch {
	case len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil:
		return c.SendString(s)
	case len(v) > 0 && (v[0] == '{' || v[0] == '['):
		var out bytes.Buffer
		if json.Indent(&out, v, "", "  ") == nil {
			return c.Send(out.Bytes())
		}
	}
	return c.Send(v)
}

// httpHeader is one header of a .http result, slices of the result.
type httpHeader struct{ name, value []byte }

// httpResult is a .http result: {statusCode, headers, body}, parsed
// without decoding it into maps: it is on every web request's path.
type httpResult struct {
	status  int // -1: none given
	headers []httpHeader
	ctype   []byte // the Content-Type header's value, if any
	body    []byte
	hasBody bool
}

var errInvalidHTTP = errInvalidMedia("message/http")

// renderHTTP renders a .http result as the response. Everything is checked
// before anything is written, so a bad result is a clean 400.
func renderHTTP(c *fiber.Ctx, v json.RawMessage) error {
	v = trimSpace(v)
	if len(v) == 0 || v[0] != '{' || !json.Valid(v) {
		return errInvalidHTTP
	}
	var hbuf [16]httpHeader
	r := httpResult{status: -1, headers: hbuf[:0]}
	var body []byte
	err := eachRawMember(v, func(key []byte, val []byte) error {
		switch string(key) {
		case "headers":
			return r.parseHeaders(val)
		case "statusCode":
			code, ok := statusCodeOf(val)
			if !ok {
				return errInvalidHTTP
			}
			r.status = code
		case "body":
			body = val
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.setBody(body); err != nil {
		return err
	}
	if r.status < 0 {
		r.status = fiber.StatusOK
		if !r.hasBody {
			r.status = fiber.StatusNoContent
		}
	}

	c.Status(r.status)
	h := &c.Response().Header
	for i, hd := range r.headers {
		if framingHeader(hd.name) {
			continue // the response's own framing
		}
		first := true
		for _, o := range r.headers[:i] {
			if bytes.EqualFold(o.name, hd.name) {
				first = false
				break
			}
		}
		if first {
			h.SetBytesKV(hd.name, hd.value) // an action's header replaces a default one (CORS)
		} else {
			h.AddBytesKV(hd.name, hd.value)
		}
	}
	if !r.hasBody {
		h.Del(fiber.HeaderContentType)
		c.Response().ResetBody()
		return nil
	}
	h.SetContentTypeBytes(r.ctype)
	return c.Send(r.body)
}

// framingHeader reports whether an action may not set header name: the
// gateway frames the response (Content-Type is set from the result).
func framingHeader(name []byte) bool {
	for _, f := range [...]string{"Content-Type", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer"} {
		if len(name) == len(f) && bytes.EqualFold(name, []byte(f)) {
			return true
		}
	}
	return false
}

// parseHeaders reads the headers object: each value a string, number or
// boolean, or an array of them (several headers of that name).
func (r *httpResult) parseHeaders(v []byte) error {
	if v[0] != '{' {
		return errInvalidHTTP
	}
	return eachRawMember(v, func(name, val []byte) error {
		if !validHeaderName(name) {
			return errInvalidHTTP
		}
		return r.addHeaderValues(name, val, 0)
	})
}

func (r *httpResult) addHeaderValues(name, v []byte, depth int) error {
	switch v[0] {
	case '"':
		s, ok := unquote(v)
		if !ok || bytes.ContainsAny(s, "\r\n") {
			return errInvalidHTTP
		}
		r.addHeader(name, s)
	case '[':
		if depth > 2 {
			return errInvalidHTTP
		}
		return eachRawElement(v, func(e []byte) error { return r.addHeaderValues(name, e, depth+1) })
	case '{', 'n': // object, null
		return errInvalidHTTP
	default: // number, true, false
		r.addHeader(name, v)
	}
	return nil
}

func (r *httpResult) addHeader(name, value []byte) {
	if r.ctype == nil && bytes.EqualFold(name, []byte(fiber.HeaderContentType)) {
		r.ctype = value
	}
	r.headers = append(r.headers, httpHeader{name, value})
}

// setBody decides the response body and its content type: a string is
// text (text/html by default), or base64 for a binary type; any other JSON
// value is JSON (application/json by default).
func (r *httpResult) setBody(raw []byte) error {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return nil
	}
	r.hasBody = true
	var mt string
	if r.ctype != nil {
		var ok bool
		if mt, ok = mediaTypeOf(r.ctype); !ok {
			return errorf(whisk.ErrBadRequest, msgUnknownType)
		}
	}
	if raw[0] != '"' {
		switch {
		case mt == "":
			r.ctype = []byte(fiber.MIMEApplicationJSON)
		case !isJSONMediaType(mt):
			return errorf(whisk.ErrBadRequest, msgTypeMismatch)
		}
		r.body = raw
		return nil
	}
	s, ok := unquote(raw)
	if !ok {
		return errInvalidHTTP
	}
	switch {
	case mt == "":
		r.ctype = []byte("text/html; charset=UTF-8")
		r.body = s
	case isJSONMediaType(mt) && isBase64(string(s)):
		if r.body = decodeBase64(s); r.body == nil {
			r.body = s
		}
	case textMediaType(mt):
		if strings.HasPrefix(mt, "text/") && !bytes.Contains(bytes.ToLower(r.ctype), []byte("charset")) {
			r.ctype = append(append([]byte(nil), r.ctype...), "; charset=UTF-8"...)
		}
		r.body = s
	default: // binary: base64 text
		if r.body = decodeBase64(s); r.body == nil {
			if mt != "image/svg+xml" { // SVG is XML text; accept it plain too
				return errorf(whisk.ErrBadRequest, msgTypeMismatch)
			}
			r.body = s
		}
	}
	return nil
}

// mediaTypeOf returns the lower-case "type/subtype" of a Content-Type
// value, and whether it is one.
func mediaTypeOf(ct []byte) (string, bool) {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	slash := bytes.IndexByte(ct, '/')
	if slash <= 0 || slash == len(ct)-1 || !validHeaderName(ct[:slash]) || !validHeaderName(ct[slash+1:]) {
		return "", false
	}
	return lowerString(ct), true
}

// decodeBase64 decodes standard base64 (padded or not); nil if s is not.
func decodeBase64(s []byte) []byte {
	s = bytes.TrimSpace(s)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	if n, err := base64.StdEncoding.Decode(out, s); err == nil {
		return out[:n]
	}
	if n, err := base64.RawStdEncoding.Decode(out, s); err == nil {
		return out[:n]
	}
	return nil
}

// unquote returns the text of a JSON string: a slice of v when it has no
// escapes.
func unquote(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// statusCodeOf reads statusCode: a whole number (200, 200.0) or a string
// holding one, a valid HTTP status.
func statusCodeOf(v []byte) (int, bool) {
	if len(v) > 0 && v[0] == '"' {
		s, ok := unquote(v)
		if !ok {
			return 0, false
		}
		v = s
	}
	if i := bytes.IndexByte(v, '.'); i >= 0 && len(bytes.Trim(v[i+1:], "0")) == 0 {
		v = v[:i]
	}
	if len(v) == 0 || len(v) > 3 {
		return 0, false
	}
	code := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	return code, code >= 100 && code <= 599
}

// validHeaderName reports whether k is an HTTP token (RFC 9110): a header
// name, or a part of a media type.
func validHeaderName(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// eachRawMember calls f with the key (unescaped; a slice of obj when it has
// no escapes) and the raw value of each top-level member of obj, a valid
// JSON object.
func eachRawMember(obj []byte, f func(key, val []byte) error) error {
	i := skipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		end, escaped := scanString(obj, i)
		key := obj[i+1 : end-1]
		if escaped {
			var ok bool
			if key, ok = unquote(obj[i:end]); !ok {
				return errInvalidHTTP
			}
		}
		i = skipSpace(obj, end)
		i = skipSpace(obj, i+1) // ':'
		vend := skipValue(obj, i)
		if err := f(key, obj[i:vend]); err != nil {
			return err
		}
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return nil
}

// eachRawElement calls f with each element of arr, a valid JSON array.
func eachRawElement(arr []byte, f func(val []byte) error) error {
	i := skipSpace(arr, 1)
	for i < len(arr) && arr[i] != ']' {
		end := skipValue(arr, i)
		if err := f(arr[i:end]); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
	return nil
}
