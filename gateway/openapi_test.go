package gateway

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docs/openapi.json describes the routes registered in routes(). It is JSON,
// not YAML, because the module has no YAML parser among its requirements;
// encoding/json reads it here. The tests below keep it from drifting: every
// route must be described, everything described must be a route, and the
// document must hold together (references resolve, path parameters are
// declared, operation ids are unique).

const openAPIPath = "../docs/openapi.json"

// openAPIMethods are the operations a Path Item may hold (OpenAPI 3.0).
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatalf("read %s: %v", openAPIPath, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s is not valid JSON: %v", openAPIPath, err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("%s: openapi = %q, want 3.0.x", openAPIPath, v)
	}
	return doc
}

// routeSeg is one segment of a route or document path.
type routeSeg struct {
	kind byte   // 'l' literal, 'p' parameter (":x", "{x}", "{x}.{y}"), 'w' wildcard ("*", "+")
	lit  string // literal text
}

// parseFiberPath splits a Fiber route pattern. Syntax the matcher does not
// understand (optional or constrained parameters, wildcards mid-path) is an
// error, so a new kind of route cannot pass unchecked.
func parseFiberPath(p string) ([]routeSeg, error) {
	parts := strings.Split(p, "/")[1:]
	segs := make([]routeSeg, 0, len(parts))
	for i, s := range parts {
		switch {
		case s == "*" || s == "+":
			if i != len(parts)-1 {
				return nil, fmt.Errorf("route %s: wildcard before the last segment", p)
			}
			segs = append(segs, routeSeg{kind: 'w'})
		case strings.HasPrefix(s, ":"):
			if !fiberParamRE.MatchString(s) {
				return nil, fmt.Errorf("route %s: parameter syntax %q not supported by this test", p, s)
			}
			segs = append(segs, routeSeg{kind: 'p'})
		case strings.ContainsAny(s, ":*+?<>"):
			return nil, fmt.Errorf("route %s: segment %q not supported by this test", p, s)
		default:
			segs = append(segs, routeSeg{kind: 'l', lit: s})
		}
	}
	return segs, nil
}

var (
	fiberParamRE  = regexp.MustCompile(`^:\w+$`)
	templateSegRE = regexp.MustCompile(`^(\{\w+\}|[^{}/]+)+$`)
	paramRE       = regexp.MustCompile(`\{(\w+)\}`)
	statusKeyRE   = regexp.MustCompile(`^([1-5][0-9][0-9]|default)$`)
)

// parseDocPath splits an OpenAPI path template; a segment holding a
// {parameter} (possibly with literal text, "{action}.{ext}") is a parameter.
func parseDocPath(p string) ([]routeSeg, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q does not start with /", p)
	}
	parts := strings.Split(p, "/")[1:]
	segs := make([]routeSeg, 0, len(parts))
	for _, s := range parts {
		switch {
		case strings.ContainsAny(s, "{}"):
			if !templateSegRE.MatchString(s) {
				return nil, fmt.Errorf("path %s: malformed template segment %q", p, s)
			}
			segs = append(segs, routeSeg{kind: 'p'})
		default:
			segs = append(segs, routeSeg{kind: 'l', lit: s})
		}
	}
	return segs, nil
}

// routeMatches reports whether a document path is served by a route: the
// same literals, a parameter for each Fiber parameter, and one or more
// segments for a trailing wildcard.
func routeMatches(route, doc []routeSeg) bool {
	for i, r := range route {
		if r.kind == 'w' {
			return len(doc) > i
		}
		if i >= len(doc) || doc[i].kind != r.kind || doc[i].lit != r.lit {
			return false
		}
	}
	return len(route) == len(doc)
}

func TestRouteMatches(t *testing.T) {
	tests := []struct {
		route, doc string
		want       bool
	}{
		{"/api/v1", "/api/v1", true},
		{"/api/v1/", "/api/v1", false},
		{"/api/v1/namespaces/:ns/actions/", "/api/v1/namespaces/{namespace}/actions/", true},
		{"/api/v1/namespaces/:ns/actions/:pkg/", "/api/v1/namespaces/{namespace}/actions/{packageName}", false},
		{"/api/v1/namespaces/:ns/actions/:name", "/api/v1/namespaces/{namespace}/actions/{actionName}", true},
		{"/api/v1/namespaces/:ns/actions/:name", "/api/v1/namespaces/guest/actions/{actionName}", false},
		{"/api/v1/namespaces/:ns/limits", "/api/v1/namespaces/{namespace}/limit", false},
		{"/api/v1/web/:ns/:pkg/*", "/api/v1/web/{ns}/{pkg}/{action}.{ext}", true},
		{"/api/v1/web/:ns/:pkg/*", "/api/v1/web/{ns}/{pkg}/{action}.{ext}/{path}", true},
		{"/api/v1/web/:ns/:pkg/*", "/api/v1/web/{ns}/{pkg}", false},
	}
	for _, tt := range tests {
		r, err := parseFiberPath(tt.route)
		if err != nil {
			t.Fatal(err)
		}
		d, err := parseDocPath(tt.doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := routeMatches(r, d); got != tt.want {
			t.Errorf("routeMatches(%s, %s) = %v, want %v", tt.route, tt.doc, got, tt.want)
		}
	}
	for _, bad := range []string{"/a/:x?", "/a/:x<int>", "/a/*/b", "/a/b*"} {
		if _, err := parseFiberPath(bad); err == nil {
			t.Errorf("parseFiberPath(%s) accepted unsupported syntax", bad)
		}
	}
	for _, bad := range []string{"a", "/a/{x", "/a/{x}}", "/a/{}"} {
		if _, err := parseDocPath(bad); err == nil {
			t.Errorf("parseDocPath(%s) accepted a malformed template", bad)
		}
	}
}

// TestOpenAPIMatchesRoutes checks docs/openapi.json against the routes the
// gateway registers, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("the document has no paths")
	}
	type docPath struct {
		path    string
		segs    []routeSeg
		methods map[string]bool // upper case
	}
	var docPaths []docPath
	for p, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Errorf("path %s: not an object", p)
			continue
		}
		segs, err := parseDocPath(p)
		if err != nil {
			t.Error(err)
			continue
		}
		dp := docPath{path: p, segs: segs, methods: map[string]bool{}}
		for _, m := range openAPIMethods {
			if _, ok := item[m]; ok {
				dp.methods[strings.ToUpper(m)] = true
			}
		}
		docPaths = append(docPaths, dp)
	}

	gw, err := New(Config{}, Deps{Store: firstStore(t), Controller: &fakeController{}})
	if err != nil {
		t.Fatal(err)
	}
	type route struct {
		method, path string
		segs         []routeSeg
	}
	var routes []route
	for _, r := range gw.App().GetRoutes(true) { // true: without middleware
		segs, err := parseFiberPath(r.Path)
		if err != nil {
			t.Error(err)
			continue
		}
		routes = append(routes, route{r.Method, r.Path, segs})
	}
	if len(routes) < 40 {
		t.Fatalf("only %d routes registered: is GetRoutes still listing them?", len(routes))
	}

	// Every route is described.
	var missing []string
	for _, r := range routes {
		want := []string{r.method}
		switch r.method {
		case "CONNECT":
			continue // app.All registers it; OpenAPI 3.0 cannot describe it
		case "HEAD":
			want = append(want, "GET") // Fiber serves HEAD wherever GET is
		}
		found := false
		for _, dp := range docPaths {
			if routeMatches(r.segs, dp.segs) && slices.ContainsFunc(want, func(m string) bool { return dp.methods[m] }) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, r.method+" "+r.path)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("route %s is not in %s", m, openAPIPath)
	}

	// Everything described is a route.
	for _, dp := range docPaths {
		for m := range dp.methods {
			if !slices.ContainsFunc(routes, func(r route) bool { return r.method == m && routeMatches(r.segs, dp.segs) }) {
				t.Errorf("%s: %s %s matches no route", openAPIPath, m, dp.path)
			}
		}
	}
}

// TestOpenAPIWellFormed checks what a JSON parse does not: references
// resolve, path template parameters and declared path parameters agree,
// operation ids are unique, every operation answers something, and the
// authenticated API does not opt out of the global Basic auth.
func TestOpenAPIWellFormed(t *testing.T) {
	doc := loadOpenAPI(t)

	// resolve follows a local "$ref" ("#/components/...").
	resolve := func(v any) (map[string]any, bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		ref, isRef := m["$ref"].(string)
		if !isRef {
			return m, true
		}
		if !strings.HasPrefix(ref, "#/") {
			return nil, false
		}
		var cur any = doc
		for _, part := range strings.Split(ref[2:], "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = obj[part]; !ok {
				return nil, false
			}
		}
		out, ok := cur.(map[string]any)
		return out, ok
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if _, ok := resolve(x); !ok {
					t.Errorf("%s: $ref %q does not resolve", where, ref)
				}
			}
			for k, e := range x {
				walk(where+"/"+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s/%d", where, i), e)
			}
		}
	}
	walk("#", doc)

	if sec, _ := doc["security"].([]any); len(sec) != 1 || !hasMember(sec[0], "basicAuth") {
		t.Errorf("global security = %v, want [{basicAuth: []}]", doc["security"])
	}
	components, _ := doc["components"].(map[string]any)
	if !hasMember(components["securitySchemes"], "basicAuth") {
		t.Error("components.securitySchemes.basicAuth is missing")
	}

	ids := map[string]string{}
	paths, _ := doc["paths"].(map[string]any)
	for p, v := range paths {
		item, _ := v.(map[string]any)
		var inTemplate []string
		for _, m := range paramRE.FindAllStringSubmatch(p, -1) {
			inTemplate = append(inTemplate, m[1])
		}
		sort.Strings(inTemplate)
		pathParams := func(list any) map[string]bool {
			out := map[string]bool{}
			l, _ := list.([]any)
			for _, e := range l {
				prm, ok := resolve(e)
				if !ok {
					continue // reported by walk
				}
				if prm["in"] == "path" {
					name, _ := prm["name"].(string)
					out[name] = true
					if prm["required"] != true {
						t.Errorf("%s: path parameter %s is not required", p, name)
					}
				}
			}
			return out
		}
		common := pathParams(item["parameters"])
		ops := 0
		for _, m := range openAPIMethods {
			o, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			ops++
			where := strings.ToUpper(m) + " " + p
			declared := pathParams(o["parameters"])
			for k := range common {
				declared[k] = true
			}
			var names []string
			for k := range declared {
				names = append(names, k)
			}
			sort.Strings(names)
			if !slices.Equal(names, inTemplate) {
				t.Errorf("%s: path parameters declared %v, template has %v", where, names, inTemplate)
			}
			id, _ := o["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("%s: operationId %s already used by %s", where, id, prev)
			}
			ids[id] = where
			resp, _ := o["responses"].(map[string]any)
			if len(resp) == 0 {
				t.Errorf("%s: no responses", where)
			}
			for code := range resp {
				if !statusKeyRE.MatchString(code) {
					t.Errorf("%s: response key %q is not a status code", where, code)
				}
			}
			if _, overrides := o["security"]; overrides && strings.HasPrefix(p, "/api/v1/namespaces") {
				t.Errorf("%s: overrides the global Basic auth, which everything under /api/v1/namespaces requires", where)
			}
		}
		if ops == 0 {
			t.Errorf("%s: no operations", p)
		}
	}
}

// hasMember reports whether v is an object with key k.
func hasMember(v any, k string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[k]
	return ok
}
