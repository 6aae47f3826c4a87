package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

const activationsPath = "/api/v1/namespaces/_/activations"

// seedActivations stores n records of guest's action "hello" (start
// base+1000, base+2000, ...; every third an application error), one of
// "pkg/inner", and one of namespace other. base is an hour ago, well within
// the stores' retention. It returns guest's ids, oldest first.
func seedActivations(t *testing.T, st store.Store, n int) (ids []string, otherID string, base int64) {
	t.Helper()
	base = time.Now().UnixMilli() - time.Hour.Milliseconds()
	put := func(ns, path string, i int, code int) string {
		id := fmt.Sprintf("%032x", i+1)
		if ns == "other" {
			id = fmt.Sprintf("f%031x", i+1)
		}
		_, name, _ := strings.Cut(path, "/")
		if strings.Contains(name, "/") {
			_, name, _ = strings.Cut(name, "/")
		}
		a := &whisk.Activation{
			Namespace: ns, Name: name, Version: "0.0.1", Subject: ns, ActivationID: id,
			Start: base + int64(1000*(i+1)), End: base + int64(1000*(i+1)+5), Duration: 5, StatusCode: code,
			Response:    whisk.NewResponse(code, json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))),
			Logs:        []string{fmt.Sprintf("2024-05-01T10:00:00.000Z stdout: run %d", i)},
			Annotations: whisk.KeyValues{}.Set(whisk.AnnPath, path).Set(whisk.AnnKind, whisk.KindNode),
		}
		if err := st.PutActivation(t.Context(), a); err != nil {
			t.Fatalf("PutActivation: %v", err)
		}
		return id
	}
	for i := range n {
		code := whisk.StatusSuccess
		if i%3 == 2 {
			code = whisk.StatusApplicationError
		}
		ids = append(ids, put("guest", "guest/hello", i, code))
	}
	put("guest", "guest/pkg/inner", n, whisk.StatusSuccess)
	otherID = put("other", "other/hello", 0, whisk.StatusSuccess)
	return ids, otherID, base
}

func TestActivationList(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		ids, _, base := seedActivations(t, st, 5)
		innerID := fmt.Sprintf("%032x", 6)
		listIDs := func(r response) string {
			var list []map[string]any
			r.json(t, &list)
			var out []string
			for _, a := range list {
				out = append(out, fmt.Sprint(a["activationId"]))
			}
			return strings.Join(out, ",")
		}
		join := func(s ...string) string { return strings.Join(s, ",") }
		tests := []struct {
			query  string
			status int
			want   string
		}{
			{"", 200, join(innerID, ids[4], ids[3], ids[2], ids[1], ids[0])},
			{"?limit=2", 200, join(innerID, ids[4])},
			{"?skip=2&limit=2", 200, join(ids[3], ids[2])},
			{"?name=hello", 200, join(ids[4], ids[3], ids[2], ids[1], ids[0])},
			{"?name=pkg/inner", 200, innerID},
			{"?name=nothing", 200, ""},
			{fmt.Sprintf("?since=%d&upto=%d", base+2000, base+4000), 200, join(ids[3], ids[2], ids[1])},
			{fmt.Sprintf("?since=%d", base+5500), 200, innerID},
			{"?count=true", 200, `{"activations":6}`},
			{"?count=true&name=hello&skip=1", 200, `{"activations":4}`},
			{"?count=true&docs=true", 400, "The parameter 'docs' is not permitted with 'count'."},
			{"?name=a/b/c", 400, "Parameter may be a 'simple' name or 'package-name/simple' name: a/b/c"},
			{"?name=%24x", 400, "Parameter may be a 'simple' name or 'package-name/simple' name: $x"},
			{"?since=yesterday", 400, "Parameter is not a valid value for epoch seconds: yesterday"},
			{"?limit=500", 400, "The value '500' is not in the range of 0 to 200 for activations."},
			{"?skip=x", 400, "The value 'x' is not an integer for activations."},
		}
		for _, tt := range tests {
			r := h.do("GET", activationsPath+tt.query, guestAuth, nil)
			mustStatus(t, tt.query, r, tt.status)
			var got string
			switch {
			case tt.status != 200:
				got = r.errorBody(t)
			case strings.Contains(tt.query, "count"):
				got = strings.TrimSpace(string(r.body))
			default:
				got = listIDs(r)
			}
			if got != tt.want {
				t.Errorf("GET %s: %s, want %s", tt.query, got, tt.want)
			}
		}

		// summaries have no response or logs; docs=true has both
		r := h.do("GET", activationsPath+"/?limit=1&name=hello", guestAuth, nil)
		var summaries []map[string]any
		r.json(t, &summaries)
		if len(summaries) != 1 || summaries[0]["response"] != nil || summaries[0]["logs"] != nil ||
			summaries[0]["statusCode"] != float64(0) || summaries[0]["annotations"] == nil || summaries[0]["start"] != float64(base+5000) {
			t.Errorf("summary %v", summaries)
		}
		r = h.do("GET", activationsPath+"?limit=1&name=hello&docs=true", guestAuth, nil)
		var full []whisk.Activation
		r.json(t, &full)
		if len(full) != 1 || full[0].ActivationID != ids[4] || len(full[0].Logs) != 1 || string(full[0].Response.Result) != `{"i":4}` {
			t.Errorf("docs=true %s", r.body)
		}

		// another namespace lists only its own
		r = h.do("GET", activationsPath, otherAuth, nil)
		mustStatus(t, "other's list", r, 200)
		if got := listIDs(r); got != fmt.Sprintf("f%031x", 1) {
			t.Errorf("other lists %s", got)
		}
	})
}

func TestActivationGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHarness(t, st, Config{})
		ids, otherID, _ := seedActivations(t, st, 3)
		tests := []struct {
			name, path string
			status     int
			want       string // JSON, compared decoded
		}{
			{"result success", ids[0] + "/result", 200, `{"result":{"i":0},"success":true,"status":"success"}`},
			{"result app error", ids[2] + "/result", 200, `{"result":{"i":2},"success":false,"status":"application error"}`},
			{"logs", ids[1] + "/logs", 200, `{"logs":["2024-05-01T10:00:00.000Z stdout: run 1"]}`},
			{"other's record", otherID, 404, ""},
			{"other's result", otherID + "/result", 404, ""},
			{"other's logs", otherID + "/logs", 404, ""},
			{"unknown", strings.Repeat("a", 32), 404, ""},
			{"bad id", "not-an-id", 400, ""},
			{"short id", "abc", 400, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := h.do("GET", activationsPath+"/"+tt.path, guestAuth, nil)
				mustStatus(t, tt.name, r, tt.status)
				switch tt.status {
				case 404:
					if got := r.errorBody(t); got != msgNotFound {
						t.Errorf("error %q", got)
					}
				case 400:
					if got := r.errorBody(t); got != "The activation id is not valid." {
						t.Errorf("error %q", got)
					}
				default:
					if got, want := decodeJSON(t, r.body), decodeJSON(t, []byte(tt.want)); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("body %s, want %s", r.body, tt.want)
					}
				}
			})
		}
		r := h.do("GET", activationsPath+"/"+ids[1], guestAuth, nil)
		mustStatus(t, "get", r, 200)
		var rec whisk.Activation
		r.json(t, &rec)
		if rec.ActivationID != ids[1] || rec.Namespace != "guest" || rec.Response.Status != "success" || !rec.Response.Success || len(rec.Logs) != 1 {
			t.Errorf("record %s", r.body)
		}
		// other reads its own record
		r = h.do("GET", activationsPath+"/"+otherID, otherAuth, nil)
		mustStatus(t, "other's own", r, 200)
	})
}
