package gateway

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/gust-faas/gust/whisk"
)

// List paging, as OpenWhisk: limit defaults to 30, 0 means the maximum 200.
const (
	defaultListLimit = 30
	maxListLimit     = 200
)

// pathParam returns a path segment, percent-decoded. The result may alias
// request memory: clone it before keeping it past the request.
func pathParam(c *fiber.Ctx, name string) (string, error) {
	v := c.Params(name)
	if strings.IndexByte(v, '%') < 0 {
		return v, nil
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return "", errBadEntityName
	}
	return s, nil
}

var errBadEntityName = errorf(whisk.ErrBadName, "The name of the entity contains illegal characters.")

// entityName returns the path's package ("" for none) and action name,
// validated. They may alias request memory.
func entityName(c *fiber.Ctx) (pkg, name string, err error) {
	if pkg, name, err = rawEntityName(c); err != nil {
		return "", "", err
	}
	return pkg, name, validEntityName(pkg, name)
}

// rawEntityName is entityName without the validation.
func rawEntityName(c *fiber.Ctx) (pkg, name string, err error) {
	if name, err = pathParam(c, "name"); err != nil {
		return "", "", err
	}
	if c.Params("pkg") == "" { // the route has no package segment
		return "", name, nil
	}
	pkg, err = pathParam(c, "pkg")
	return pkg, name, err
}

// validEntityName checks an action's package ("" for none) and name.
func validEntityName(pkg, name string) error {
	if !whisk.ValidName(name) || (pkg != "" && !whisk.ValidName(pkg)) {
		return errBadEntityName
	}
	return nil
}

// queryBool parses a boolean query parameter as akka-http does.
func queryBool(c *fiber.Ctx, key string) (bool, error) {
	switch v := c.Query(key); strings.ToLower(v) {
	case "", "false", "no", "off", "0":
		return false, nil
	case "true", "yes", "on", "1":
		return true, nil
	default:
		return false, errorf(whisk.ErrBadRequest, "The query parameter '%s' was malformed: '%s' is not a valid Boolean value.", key, v)
	}
}

// listPage parses skip and limit for listing collection.
func listPage(c *fiber.Ctx, collection string) (skip, limit int, err error) {
	if v := c.Query("skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, errorf(whisk.ErrBadRequest, "The value '%s' is not an integer for %s.", v, collection)
		}
		if n < 0 {
			return 0, 0, errorf(whisk.ErrBadRequest, "The value '%d' is not greater than or equal to 0 for %s.", n, collection)
		}
		skip = n
	}
	limit = defaultListLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, 0, errorf(whisk.ErrBadRequest, "The value '%s' is not an integer for %s.", v, collection)
		}
		if n < 0 || n > maxListLimit {
			return 0, 0, errorf(whisk.ErrBadRequest, "The value '%d' is not in the range of 0 to %d for %s.", n, maxListLimit, collection)
		}
		limit = n
		if n == 0 {
			limit = maxListLimit
		}
	}
	return skip, limit, nil
}

// queryEpoch parses since or upto (epoch milliseconds); 0 when absent.
func queryEpoch(c *fiber.Ctx, key string) (int64, error) {
	v := c.Query(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errorf(whisk.ErrBadRequest, "Parameter is not a valid value for epoch seconds: %s", v)
	}
	return n, nil
}
