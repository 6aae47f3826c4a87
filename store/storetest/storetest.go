package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// Retention is the activation retention the stores under test must have.
// The suite ages records by giving them old Start times, so it never waits
// a whole retention.
const Retention = time.Minute

// Run runs the suite. open is called once per subtest and must return an
// empty store with Retention that is closed when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"EntityCRUD", testEntityCRUD},
		{"EntityOverwrite", testEntityOverwrite},
		{"EntityList", testEntityList},
		{"EntityIsolation", testEntityIsolation},
		{"EntityCopies", testEntityCopies},
		{"EntityInvalid", testEntityInvalid},
		{"Code", testCode},
		{"ActivationGet", testActivationGet},
		{"ActivationIdempotent", testActivationIdempotent},
		{"ActivationListFilter", testActivationListFilter},
		{"ActivationIsolation", testActivationIsolation},
		{"ActivationRetention", testActivationRetention},
		{"ActivationInvalid", testActivationInvalid},
		{"Identity", testIdentity},
		{"IdentityInvalid", testIdentityInvalid},
		{"KV", testKV},
		{"KVTTL", testKVTTL},
		{"KVIncr", testKVIncr},
		{"KVKeys", testKVKeys},
		{"KVIsolation", testKVIsolation},
		{"KVInvalid", testKVInvalid},
		{"ConcurrentWriters", testConcurrentWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// wantErr fails t unless err matches want (nil = no error).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error = %v, want %v", what, err, want)
	}
}

// ---- entities ----

func key(ns, coll, name string) store.Key {
	return store.Key{Namespace: ns, Collection: coll, Name: name}
}

func doc(name string, n int) []byte {
	return fmt.Appendf(nil, `{"name":%q,"version":"0.0.%d"}`, name, n)
}

func testEntityCRUD(t *testing.T, s store.Store) {
	k := key("guest", store.Actions, "hello")
	_, err := s.GetEntity(ctx, k)
	wantErr(t, "get before put", err, store.ErrNotFound)
	wantErr(t, "delete before put", s.DeleteEntity(ctx, k), store.ErrNotFound)

	wantErr(t, "put", s.PutEntity(ctx, k, doc("hello", 1), false), nil)
	got, err := s.GetEntity(ctx, k)
	wantErr(t, "get", err, nil)
	if !bytes.Equal(got, doc("hello", 1)) {
		t.Fatalf("get = %s, want %s", got, doc("hello", 1))
	}

	wantErr(t, "delete", s.DeleteEntity(ctx, k), nil)
	_, err = s.GetEntity(ctx, k)
	wantErr(t, "get after delete", err, store.ErrNotFound)
	wantErr(t, "second delete", s.DeleteEntity(ctx, k), store.ErrNotFound)
	if docs, total, err := s.ListEntities(ctx, "guest", store.Actions, "", 0, 0); err != nil || total != 0 || len(docs) != 0 {
		t.Fatalf("list after delete = %d docs, total %d, %v; want none", len(docs), total, err)
	}
	wantErr(t, "put after delete", s.PutEntity(ctx, k, doc("hello", 2), false), nil)
}

func testEntityOverwrite(t *testing.T, s store.Store) {
	k := key("guest", store.Triggers, "tick")
	wantErr(t, "first put", s.PutEntity(ctx, k, doc("tick", 1), false), nil)
	wantErr(t, "put without overwrite", s.PutEntity(ctx, k, doc("tick", 2), false), store.ErrExists)
	if got, _ := s.GetEntity(ctx, k); !bytes.Equal(got, doc("tick", 1)) {
		t.Fatalf("after refused put: get = %s, want the first document", got)
	}
	wantErr(t, "put with overwrite", s.PutEntity(ctx, k, doc("tick", 3), true), nil)
	if got, _ := s.GetEntity(ctx, k); !bytes.Equal(got, doc("tick", 3)) {
		t.Fatalf("after overwrite: get = %s, want %s", got, doc("tick", 3))
	}
	// Overwrite also creates.
	k2 := key("guest", store.Triggers, "tock")
	wantErr(t, "overwrite of a missing entity", s.PutEntity(ctx, k2, doc("tock", 1), true), nil)
	if _, total, _ := s.ListEntities(ctx, "guest", store.Triggers, "", 0, 0); total != 2 {
		t.Fatalf("total = %d, want 2 (overwrites must not duplicate the index)", total)
	}
}

func testEntityList(t *testing.T, s store.Store) {
	names := []string{"zeta", "alpha", "pkg/b", "pkg/a", "pkga", "Beta", "pkg2/x", "m"}
	for i, n := range names {
		wantErr(t, "put "+n, s.PutEntity(ctx, key("guest", store.Actions, n), doc(n, i), false), nil)
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted) // byte order: "Beta" < "alpha" < ... < "pkg/a" < "pkg2/x" < "pkga"
	tests := []struct {
		prefix      string
		skip, limit int
		want        []string
		total       int
	}{
		{"", 0, 0, sorted, 8},
		{"", 0, 3, sorted[:3], 8},
		{"", 2, 3, sorted[2:5], 8},
		{"", 6, 5, sorted[6:], 8},
		{"", 8, 0, nil, 8},
		{"", 100, 1, nil, 8},
		{"pkg/", 0, 0, []string{"pkg/a", "pkg/b"}, 2},
		{"pkg/", 1, 0, []string{"pkg/b"}, 2},
		{"pkg/", 0, 1, []string{"pkg/a"}, 2},
		{"pkg", 0, 0, []string{"pkg/a", "pkg/b", "pkg2/x", "pkga"}, 4},
		{"a", 0, 0, []string{"alpha"}, 1},
		{"nope", 0, 0, nil, 0},
		{"zeta", 0, 0, []string{"zeta"}, 1},
		{"zeta2", 0, 0, nil, 0},
	}
	for _, tc := range tests {
		docs, total, err := s.ListEntities(ctx, "guest", store.Actions, tc.prefix, tc.skip, tc.limit)
		what := fmt.Sprintf("list(prefix %q, skip %d, limit %d)", tc.prefix, tc.skip, tc.limit)
		wantErr(t, what, err, nil)
		var got []string
		for _, d := range docs {
			var e struct{ Name string }
			if err := json.Unmarshal(d, &e); err != nil {
				t.Fatalf("%s: document %q: %v", what, d, err)
			}
			got = append(got, e.Name)
		}
		if !slices.Equal(got, tc.want) || total != tc.total {
			t.Errorf("%s = %q, total %d; want %q, total %d", what, got, total, tc.want, tc.total)
		}
	}
}

func testEntityIsolation(t *testing.T, s store.Store) {
	// Namespaces that share a prefix, and collections that share a name.
	puts := []store.Key{
		key("a", store.Actions, "x"),
		key("ab", store.Actions, "y"),
		key("a b", store.Actions, "z"),
		key("a", store.Packages, "x"),
		key("a", store.Rules, "r"),
	}
	for i, k := range puts {
		wantErr(t, fmt.Sprintf("put %v", k), s.PutEntity(ctx, k, doc(k.Name, i), false), nil)
	}
	lists := []struct {
		ns, coll string
		want     int
	}{
		{"a", store.Actions, 1},
		{"ab", store.Actions, 1},
		{"a b", store.Actions, 1},
		{"a", store.Packages, 1},
		{"a", store.Rules, 1},
		{"a", store.Triggers, 0},
		{"b", store.Actions, 0},
	}
	for _, l := range lists {
		docs, total, err := s.ListEntities(ctx, l.ns, l.coll, "", 0, 0)
		if err != nil || total != l.want || len(docs) != l.want {
			t.Errorf("list %s/%s = %d docs, total %d, %v; want %d", l.ns, l.coll, len(docs), total, err, l.want)
		}
	}
	// Other namespaces and collections do not see the key.
	for _, k := range []store.Key{key("ab", store.Actions, "x"), key("b", store.Actions, "x"), key("a", store.Triggers, "x")} {
		_, err := s.GetEntity(ctx, k)
		wantErr(t, fmt.Sprintf("get %v", k), err, store.ErrNotFound)
	}
	wantErr(t, "delete in another namespace", s.DeleteEntity(ctx, key("ab", store.Actions, "x")), store.ErrNotFound)
	// Same name in another collection: a separate entity.
	wantErr(t, "delete package x", s.DeleteEntity(ctx, key("a", store.Packages, "x")), nil)
	if _, err := s.GetEntity(ctx, key("a", store.Actions, "x")); err != nil {
		t.Fatalf("deleting package x removed action x: %v", err)
	}
}

// testEntityCopies checks that the store neither keeps the caller's slice nor
// hands out its own memory.
func testEntityCopies(t *testing.T, s store.Store) {
	k := key("guest", store.Actions, "copy")
	in := doc("copy", 1)
	wantErr(t, "put", s.PutEntity(ctx, k, in, false), nil)
	in[2] = 'X'
	got, _ := s.GetEntity(ctx, k)
	if !bytes.Equal(got, doc("copy", 1)) {
		t.Fatalf("changing the caller's slice after Put changed the store: %s", got)
	}
	got[2] = 'Y'
	again, _ := s.GetEntity(ctx, k)
	if !bytes.Equal(again, doc("copy", 1)) {
		t.Fatalf("changing a returned slice changed the store: %s", again)
	}
	docs, _, _ := s.ListEntities(ctx, "guest", store.Actions, "", 0, 0)
	docs[0][2] = 'Z'
	again, _ = s.GetEntity(ctx, k)
	if !bytes.Equal(again, doc("copy", 1)) {
		t.Fatalf("changing a listed slice changed the store: %s", again)
	}
}

func testEntityInvalid(t *testing.T, s store.Store) {
	long := string(bytes.Repeat([]byte("n"), 257))
	keys := []store.Key{
		key("", store.Actions, "x"),
		key("guest", "", "x"),
		key("guest", "functions", "x"),
		key("guest", store.Actions, ""),
		key("gu:est", store.Actions, "x"),
		key("gu/est", store.Actions, "x"),
		key("gu\x00est", store.Actions, "x"),
		key(long, store.Actions, "x"),
		key("guest", store.Actions, "a\x00b"),
	}
	for _, k := range keys {
		wantErr(t, fmt.Sprintf("put %q", k), s.PutEntity(ctx, k, doc("x", 1), true), store.ErrInvalid)
		_, err := s.GetEntity(ctx, k)
		wantErr(t, fmt.Sprintf("get %q", k), err, store.ErrInvalid)
		wantErr(t, fmt.Sprintf("delete %q", k), s.DeleteEntity(ctx, k), store.ErrInvalid)
	}
	wantErr(t, "put empty document", s.PutEntity(ctx, key("guest", store.Actions, "x"), nil, true), store.ErrInvalid)
	lists := []struct {
		ns, coll    string
		skip, limit int
	}{
		{"", store.Actions, 0, 0},
		{"guest", "bogus", 0, 0},
		{"guest", store.Actions, -1, 0},
		{"guest", store.Actions, 0, -1},
	}
	for _, l := range lists {
		_, _, err := s.ListEntities(ctx, l.ns, l.coll, "", l.skip, l.limit)
		wantErr(t, fmt.Sprintf("list %+v", l), err, store.ErrInvalid)
	}
	// Errors wrap whisk.ErrBadRequest, so the gateway answers 400.
	_, err := s.GetEntity(ctx, key("", store.Actions, "x"))
	wantErr(t, "bad request", err, whisk.ErrBadRequest)
}

// ---- code ----

func testCode(t *testing.T, s store.Store) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	tests := []struct {
		name string
		code []byte
		want string
	}{
		{"text", []byte("function main() { return {} }"), ""},
		{"empty", []byte{}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", []byte("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"binary", []byte{0, 1, 2, 255, 254, 0}, ""},
		{"large", big, ""},
	}
	for _, tc := range tests {
		d, err := s.PutCode(ctx, tc.code)
		wantErr(t, "put "+tc.name, err, nil)
		if tc.want != "" && d != tc.want {
			t.Fatalf("%s: digest = %s, want %s", tc.name, d, tc.want)
		}
		if d != store.Digest(tc.code) {
			t.Fatalf("%s: digest = %s, want store.Digest = %s", tc.name, d, store.Digest(tc.code))
		}
		again, err := s.PutCode(ctx, bytes.Clone(tc.code))
		if err != nil || again != d {
			t.Fatalf("%s: second put = %s, %v; want the same digest %s", tc.name, again, err, d)
		}
		got, err := s.GetCode(ctx, d)
		wantErr(t, "get "+tc.name, err, nil)
		if !bytes.Equal(got, tc.code) {
			t.Fatalf("%s: get returned %d bytes, want %d equal bytes", tc.name, len(got), len(tc.code))
		}
	}
	_, err := s.GetCode(ctx, store.Digest([]byte("never stored")))
	wantErr(t, "get unknown digest", err, store.ErrNotFound)
	for _, bad := range []string{"", "abc", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "../../etc/passwd", string(bytes.Repeat([]byte("g"), 64))} {
		_, err := s.GetCode(ctx, bad)
		wantErr(t, fmt.Sprintf("get digest %q", bad), err, store.ErrInvalid)
	}
}

// ---- activations ----

var seq struct {
	sync.Mutex
	n int
}

// record builds an activation of ns for the action at path ("ns/[pkg/]name").
func record(ns, path string, start int64) *whisk.Activation {
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	name := path
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			name = path[i+1:]
			break
		}
	}
	return &whisk.Activation{
		Namespace:    ns,
		Name:         name,
		Version:      "0.0.1",
		Subject:      ns,
		ActivationID: fmt.Sprintf("%032x", n),
		Start:        start,
		End:          start + 2,
		Duration:     2,
		Response:     whisk.NewResponse(whisk.StatusSuccess, json.RawMessage(`{"n":`+strconv.Itoa(n)+`}`)),
		Logs:         []string{"2024-05-01T10:00:00.123Z stdout: hi"},
		Annotations: whisk.KeyValues{}.
			Set(whisk.AnnPath, path).
			Set(whisk.AnnKind, whisk.KindNode).
			Set(whisk.AnnWaitTime, 3),
	}
}

func now() int64 { return time.Now().UnixMilli() }

func sameRecord(t *testing.T, what string, got, want *whisk.Activation) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func ids(as []*whisk.Activation) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ActivationID
	}
	return out
}

func testActivationGet(t *testing.T, s store.Store) {
	a := record("guest", "guest/pkg/hello", now())
	_, err := s.GetActivation(ctx, "guest", a.ActivationID)
	wantErr(t, "get before put", err, store.ErrNotFound)
	wantErr(t, "put", s.PutActivation(ctx, a), nil)
	got, err := s.GetActivation(ctx, "guest", a.ActivationID)
	wantErr(t, "get", err, nil)
	sameRecord(t, "get", got, a)
	// The stored record is a copy.
	a.Logs[0] = "changed"
	got2, _ := s.GetActivation(ctx, "guest", a.ActivationID)
	if got2.Logs[0] == "changed" {
		t.Fatal("changing the record after Put changed the stored record")
	}
	_, err = s.GetActivation(ctx, "guest", "0000")
	wantErr(t, "get unknown id", err, store.ErrNotFound)
}

func testActivationIdempotent(t *testing.T, s store.Store) {
	start := now()
	first := record("guest", "guest/hello", start)
	dup := record("guest", "guest/hello", start+5000)
	dup.ActivationID = first.ActivationID
	dup.Response = whisk.NewResponse(whisk.StatusApplicationError, whisk.ErrorResult("second"))
	wantErr(t, "first put", s.PutActivation(ctx, first), nil)
	wantErr(t, "second put", s.PutActivation(ctx, first), nil)
	wantErr(t, "put of another record with the same id", s.PutActivation(ctx, dup), nil)
	got, err := s.GetActivation(ctx, "guest", first.ActivationID)
	wantErr(t, "get", err, nil)
	sameRecord(t, "after a duplicate put", got, first)
	list, err := s.ListActivations(ctx, "guest", store.ActivationFilter{})
	wantErr(t, "list", err, nil)
	if len(list) != 1 || list[0].Start != start {
		t.Fatalf("list = %d records (first start %v), want the first record once", len(list), ids(list))
	}
	// The duplicate's later start must not move the record in the index.
	if n, _ := s.CountActivations(ctx, "guest", store.ActivationFilter{Since: start + 1}); n != 0 {
		t.Fatalf("count since start+1 = %d, want 0: the duplicate re-indexed the record", n)
	}
	if n, _ := s.CountActivations(ctx, "guest", store.ActivationFilter{Name: "hello"}); n != 1 {
		t.Fatalf("count by name = %d, want 1", n)
	}
}

func testActivationListFilter(t *testing.T, s store.Store) {
	base := now() - 10_000
	recs := []*whisk.Activation{
		record("guest", "guest/hello", base+0),               // 0
		record("guest", "guest/pkg/hello", base+100),         // 1
		record("guest", "guest/hello", base+200),             // 2
		record("guest", "whisk.system/utils/echo", base+300), // 3: another namespace's action
		record("guest", "guest/hello", base+400),             // 4
		record("guest", "guest/hello2", base+500),            // 5
		record("guest", "guest/pkg/hello", base+600),         // 6
	}
	// A record without a path annotation matches by its Name.
	noPath := record("guest", "guest/bare", base+700) // 7
	noPath.Annotations = noPath.Annotations.Delete(whisk.AnnPath)
	recs = append(recs, noPath)
	// Two records with the same start: the greater id comes first.
	tie := record("guest", "guest/tie", base+800) // 8
	tie2 := record("guest", "guest/tie", base+800)
	tie.ActivationID, tie2.ActivationID = "aaaa", "bbbb" // 9 = tie2
	recs = append(recs, tie, tie2)
	for i := range recs {
		// Put out of order (3 is prime to 10): the store sorts.
		j := (i * 3) % len(recs)
		wantErr(t, fmt.Sprintf("put %d", j), s.PutActivation(ctx, recs[j]), nil)
	}
	id := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, recs[i].ActivationID)
		}
		return out
	}
	tests := []struct {
		name string
		f    store.ActivationFilter
		want []string
	}{
		{"all", store.ActivationFilter{}, id(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"limit", store.ActivationFilter{Limit: 3}, id(9, 8, 7)},
		{"skip", store.ActivationFilter{Skip: 8}, id(1, 0)},
		{"skip+limit", store.ActivationFilter{Skip: 2, Limit: 3}, id(7, 6, 5)},
		{"skip past end", store.ActivationFilter{Skip: 10}, id()},
		{"since", store.ActivationFilter{Since: base + 600}, id(9, 8, 7, 6)},
		{"upto", store.ActivationFilter{Upto: base + 200}, id(2, 1, 0)},
		{"since+upto", store.ActivationFilter{Since: base + 100, Upto: base + 400}, id(4, 3, 2, 1)},
		{"since=upto", store.ActivationFilter{Since: base + 300, Upto: base + 300}, id(3)},
		{"since>upto", store.ActivationFilter{Since: base + 400, Upto: base + 300}, id()},
		{"name", store.ActivationFilter{Name: "hello"}, id(4, 2, 0)},
		{"name in package", store.ActivationFilter{Name: "pkg/hello"}, id(6, 1)},
		{"name of another namespace's action", store.ActivationFilter{Name: "utils/echo"}, id(3)},
		{"name without path", store.ActivationFilter{Name: "bare"}, id(7)},
		{"name is not a prefix", store.ActivationFilter{Name: "hell"}, id()},
		{"name+since+upto+skip+limit", store.ActivationFilter{Name: "hello", Since: base, Upto: base + 300, Skip: 1, Limit: 5}, id(0)},
		{"name+limit", store.ActivationFilter{Name: "hello", Limit: 1}, id(4)},
		{"unknown name", store.ActivationFilter{Name: "nope"}, id()},
		{"ties", store.ActivationFilter{Name: "tie"}, []string{"bbbb", "aaaa"}},
	}
	for _, tc := range tests {
		got, err := s.ListActivations(ctx, "guest", tc.f)
		wantErr(t, tc.name, err, nil)
		if g := ids(got); !slices.Equal(g, tc.want) {
			t.Errorf("%s: list = %v, want %v", tc.name, g, tc.want)
		}
		for _, a := range got {
			if a.Response.Result == nil || len(a.Logs) != 1 {
				t.Errorf("%s: listed record %s lacks its result or logs", tc.name, a.ActivationID)
			}
		}
		// Count is what List returns with Limit 0.
		cf := tc.f
		cf.Limit = 0
		all, _ := s.ListActivations(ctx, "guest", cf)
		n, err := s.CountActivations(ctx, "guest", tc.f)
		wantErr(t, tc.name+": count", err, nil)
		if n != len(all) {
			t.Errorf("%s: count = %d, want %d", tc.name, n, len(all))
		}
	}
}

func testActivationIsolation(t *testing.T, s store.Store) {
	a := record("a", "a/hello", now())
	b := record("ab", "ab/hello", now())
	wantErr(t, "put a", s.PutActivation(ctx, a), nil)
	wantErr(t, "put ab", s.PutActivation(ctx, b), nil)
	_, err := s.GetActivation(ctx, "ab", a.ActivationID)
	wantErr(t, "get a's record from ab", err, store.ErrNotFound)
	_, err = s.GetActivation(ctx, "b", a.ActivationID)
	wantErr(t, "get a's record from b", err, store.ErrNotFound)
	for _, tc := range []struct {
		ns   string
		f    store.ActivationFilter
		want []string
	}{
		{"a", store.ActivationFilter{}, []string{a.ActivationID}},
		{"ab", store.ActivationFilter{}, []string{b.ActivationID}},
		{"a", store.ActivationFilter{Name: "hello"}, []string{a.ActivationID}},
		{"b", store.ActivationFilter{}, []string{}},
		{"b", store.ActivationFilter{Name: "hello"}, []string{}},
	} {
		got, err := s.ListActivations(ctx, tc.ns, tc.f)
		wantErr(t, "list "+tc.ns, err, nil)
		n, _ := s.CountActivations(ctx, tc.ns, tc.f)
		if g := ids(got); !slices.Equal(g, tc.want) || n != len(tc.want) {
			t.Errorf("list %s %+v = %v, count %d; want %v", tc.ns, tc.f, g, n, tc.want)
		}
	}
	// The same id in two namespaces: two records.
	c := record("ab", "ab/other", now())
	c.ActivationID = a.ActivationID
	wantErr(t, "put the same id in ab", s.PutActivation(ctx, c), nil)
	got, err := s.GetActivation(ctx, "ab", a.ActivationID)
	wantErr(t, "get", err, nil)
	sameRecord(t, "ab's record", got, c)
	got, _ = s.GetActivation(ctx, "a", a.ActivationID)
	sameRecord(t, "a's record", got, a)
}

func testActivationRetention(t *testing.T, s store.Store) {
	const life = 400 * time.Millisecond
	n := now()
	expired := record("guest", "guest/old", n-2*Retention.Milliseconds())
	dying := record("guest", "guest/dying", n-Retention.Milliseconds()+life.Milliseconds())
	alive := record("guest", "guest/alive", n)
	for _, a := range []*whisk.Activation{expired, dying, alive} {
		wantErr(t, "put "+a.Name, s.PutActivation(ctx, a), nil)
	}
	_, err := s.GetActivation(ctx, "guest", expired.ActivationID)
	wantErr(t, "get a record older than the retention", err, store.ErrNotFound)
	list, _ := s.ListActivations(ctx, "guest", store.ActivationFilter{})
	if g, w := ids(list), []string{alive.ActivationID, dying.ActivationID}; !slices.Equal(g, w) {
		t.Fatalf("list = %v, want %v (the expired record hidden)", g, w)
	}
	if _, err := s.GetActivation(ctx, "guest", dying.ActivationID); err != nil {
		t.Fatalf("get a record inside the retention: %v", err)
	}

	time.Sleep(life + 200*time.Millisecond)
	_, err = s.GetActivation(ctx, "guest", dying.ActivationID)
	wantErr(t, "get a record that expired", err, store.ErrNotFound)
	for _, f := range []store.ActivationFilter{{}, {Name: "dying"}, {Since: 1}} {
		list, err := s.ListActivations(ctx, "guest", f)
		wantErr(t, "list", err, nil)
		n, _ := s.CountActivations(ctx, "guest", f)
		want := []string{alive.ActivationID}
		if f.Name != "" {
			want = []string{}
		}
		if g := ids(list); !slices.Equal(g, want) || n != len(want) {
			t.Fatalf("list %+v after expiry = %v, count %d; want %v", f, g, n, want)
		}
	}
	// An expired id can be written again, and then it lives.
	again := record("guest", "guest/dying", now())
	again.ActivationID = dying.ActivationID
	wantErr(t, "put again", s.PutActivation(ctx, again), nil)
	got, err := s.GetActivation(ctx, "guest", dying.ActivationID)
	wantErr(t, "get the rewritten record", err, nil)
	sameRecord(t, "rewritten", got, again)
}

func testActivationInvalid(t *testing.T, s store.Store) {
	mut := func(f func(a *whisk.Activation)) *whisk.Activation {
		a := record("guest", "guest/x", now())
		f(a)
		return a
	}
	puts := map[string]*whisk.Activation{
		"nil":              nil,
		"no namespace":     mut(func(a *whisk.Activation) { a.Namespace = "" }),
		"bad namespace":    mut(func(a *whisk.Activation) { a.Namespace = "a:b" }),
		"no id":            mut(func(a *whisk.Activation) { a.ActivationID = "" }),
		"long id":          mut(func(a *whisk.Activation) { a.ActivationID = string(bytes.Repeat([]byte("0"), 300)) }),
		"negative start":   mut(func(a *whisk.Activation) { a.Start = -1 }),
		"NUL in path name": mut(func(a *whisk.Activation) { a.Annotations = a.Annotations.Set(whisk.AnnPath, "guest/a\x00b") }),
		"NUL in id":        mut(func(a *whisk.Activation) { a.ActivationID = "a\x00b" }),
		"result not JSON":  mut(func(a *whisk.Activation) { a.Response.Result = json.RawMessage(`{"a":`) }),
		"annotation not JSON": mut(func(a *whisk.Activation) {
			a.Annotations = append(a.Annotations, whisk.KeyValue{Key: "k", Value: json.RawMessage(`nope`)})
		}),
	}
	for name, a := range puts {
		wantErr(t, "put "+name, s.PutActivation(ctx, a), store.ErrInvalid)
	}
	_, err := s.GetActivation(ctx, "", "x")
	wantErr(t, "get without namespace", err, store.ErrInvalid)
	_, err = s.GetActivation(ctx, "guest", "")
	wantErr(t, "get without id", err, store.ErrInvalid)
	for _, f := range []store.ActivationFilter{{Skip: -1}, {Limit: -1}, {Since: -1}, {Upto: -5}, {Name: "a\x00"}} {
		_, err := s.ListActivations(ctx, "guest", f)
		wantErr(t, fmt.Sprintf("list %+v", f), err, store.ErrInvalid)
		_, err = s.CountActivations(ctx, "guest", f)
		wantErr(t, fmt.Sprintf("count %+v", f), err, store.ErrInvalid)
	}
	_, err = s.ListActivations(ctx, "", store.ActivationFilter{})
	wantErr(t, "list without namespace", err, store.ErrInvalid)
}

// ---- identities ----

func identity(ns, uuid, key string) store.Identity {
	return store.Identity{Namespace: ns, UUID: uuid, KeyHash: store.HashKey(key)}
}

func testIdentity(t *testing.T, s store.Store) {
	_, err := s.IdentityByUUID(ctx, "u1")
	wantErr(t, "by uuid before put", err, store.ErrNotFound)
	_, err = s.IdentityByNamespace(ctx, "guest")
	wantErr(t, "by namespace before put", err, store.ErrNotFound)
	if l, err := s.ListIdentities(ctx); err != nil || len(l) != 0 {
		t.Fatalf("list of an empty store = %v, %v", l, err)
	}

	guest := identity("guest", "u1", "k1")
	guest.InvocationsPerMinute, guest.ConcurrentInvocations, guest.FiresPerMinute = 600, 50, 70
	wantErr(t, "put guest", s.PutIdentity(ctx, guest), nil)
	wantErr(t, "put alice", s.PutIdentity(ctx, identity("alice", "u2", "k2")), nil)
	if got, err := s.IdentityByUUID(ctx, "u1"); err != nil || got != guest {
		t.Fatalf("by uuid = %+v, %v; want %+v", got, err, guest)
	}
	if got, err := s.IdentityByNamespace(ctx, "guest"); err != nil || got != guest {
		t.Fatalf("by namespace = %+v, %v; want %+v", got, err, guest)
	}
	if got, _ := s.IdentityByNamespace(ctx, "guest"); !got.Matches("k1") || got.Matches("k2") {
		t.Fatal("the stored key hash does not match its key")
	}
	list, err := s.ListIdentities(ctx)
	wantErr(t, "list", err, nil)
	if len(list) != 2 || list[0].Namespace != "alice" || list[1] != guest {
		t.Fatalf("list = %+v, want alice then guest", list)
	}

	// A UUID belongs to one namespace.
	wantErr(t, "put a uuid another namespace holds", s.PutIdentity(ctx, identity("mallory", "u1", "k3")), store.ErrExists)
	if _, err := s.IdentityByNamespace(ctx, "mallory"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused put stored mallory: %v", err)
	}

	// A new key and uuid replace the old ones.
	rotated := identity("guest", "u3", "k4")
	wantErr(t, "rotate guest", s.PutIdentity(ctx, rotated), nil)
	_, err = s.IdentityByUUID(ctx, "u1")
	wantErr(t, "old uuid after rotation", err, store.ErrNotFound)
	if got, err := s.IdentityByUUID(ctx, "u3"); err != nil || got != rotated {
		t.Fatalf("new uuid = %+v, %v; want %+v", got, err, rotated)
	}
	// The freed uuid can go to someone else; re-putting the same identity is fine.
	wantErr(t, "reuse the freed uuid", s.PutIdentity(ctx, identity("bob", "u1", "k5")), nil)
	wantErr(t, "put the same identity again", s.PutIdentity(ctx, rotated), nil)

	wantErr(t, "delete guest", s.DeleteIdentity(ctx, "guest"), nil)
	_, err = s.IdentityByNamespace(ctx, "guest")
	wantErr(t, "by namespace after delete", err, store.ErrNotFound)
	_, err = s.IdentityByUUID(ctx, "u3")
	wantErr(t, "by uuid after delete", err, store.ErrNotFound)
	wantErr(t, "second delete", s.DeleteIdentity(ctx, "guest"), store.ErrNotFound)
	list, _ = s.ListIdentities(ctx)
	if len(list) != 2 || list[0].Namespace != "alice" || list[1].Namespace != "bob" {
		t.Fatalf("list after delete = %+v, want alice and bob", list)
	}
}

func testIdentityInvalid(t *testing.T, s store.Store) {
	puts := map[string]store.Identity{
		"no namespace":   identity("", "u", "k"),
		"bad namespace":  identity("a/b", "u", "k"),
		"no uuid":        identity("guest", "", "k"),
		"raw key":        {Namespace: "guest", UUID: "u", KeyHash: "secret"},
		"uppercase hash": {Namespace: "guest", UUID: "u", KeyHash: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},
		"negative limit": {Namespace: "guest", UUID: "u", KeyHash: store.HashKey("k"), InvocationsPerMinute: -1},
	}
	for name, id := range puts {
		wantErr(t, "put "+name, s.PutIdentity(ctx, id), store.ErrInvalid)
	}
	_, err := s.IdentityByUUID(ctx, "")
	wantErr(t, "by empty uuid", err, store.ErrInvalid)
	_, err = s.IdentityByNamespace(ctx, "")
	wantErr(t, "by empty namespace", err, store.ErrInvalid)
	wantErr(t, "delete empty namespace", s.DeleteIdentity(ctx, ""), store.ErrInvalid)
}

// ---- KV ----

func testKV(t *testing.T, s store.Store) {
	_, err := s.KVGet(ctx, "guest", "k")
	wantErr(t, "get before set", err, store.ErrNotFound)
	wantErr(t, "delete before set", s.KVDelete(ctx, "guest", "k"), store.ErrNotFound)
	values := [][]byte{[]byte("v1"), {}, {0, 255, 0}, bytes.Repeat([]byte("x"), 100_000), []byte(`{"json":true}`)}
	for i, v := range values {
		in := bytes.Clone(v)
		wantErr(t, "set", s.KVSet(ctx, "guest", "k", in, 0), nil)
		if len(in) > 0 {
			in[0] ^= 1
		}
		got, err := s.KVGet(ctx, "guest", "k")
		wantErr(t, "get", err, nil)
		if !bytes.Equal(got, v) {
			t.Fatalf("value %d: get = %d bytes %.20q, want %d bytes %.20q", i, len(got), got, len(v), v)
		}
	}
	wantErr(t, "delete", s.KVDelete(ctx, "guest", "k"), nil)
	_, err = s.KVGet(ctx, "guest", "k")
	wantErr(t, "get after delete", err, store.ErrNotFound)
	// Keys are bytes: separators and glob characters are plain characters.
	for _, k := range []string{"a:b", "a/b", "*", "[x]", "with space", "ünï", `back\slash`} {
		wantErr(t, "set "+k, s.KVSet(ctx, "guest", k, []byte(k), 0), nil)
		got, err := s.KVGet(ctx, "guest", k)
		if err != nil || string(got) != k {
			t.Fatalf("get %q = %q, %v", k, got, err)
		}
	}
}

func testKVTTL(t *testing.T, s store.Store) {
	const ttl = 150 * time.Millisecond
	wantErr(t, "set short", s.KVSet(ctx, "guest", "short", []byte("1"), ttl), nil)
	wantErr(t, "set forever", s.KVSet(ctx, "guest", "forever", []byte("2"), 0), nil)
	wantErr(t, "set cleared", s.KVSet(ctx, "guest", "cleared", []byte("3"), ttl), nil)
	wantErr(t, "set cleared without ttl", s.KVSet(ctx, "guest", "cleared", []byte("4"), 0), nil)
	wantErr(t, "set extended", s.KVSet(ctx, "guest", "extended", []byte("5"), ttl), nil)
	wantErr(t, "set extended longer", s.KVSet(ctx, "guest", "extended", []byte("6"), time.Hour), nil)
	wantErr(t, "set sub-millisecond", s.KVSet(ctx, "guest", "tiny", []byte("7"), time.Microsecond), nil)
	if got, err := s.KVGet(ctx, "guest", "short"); err != nil || string(got) != "1" {
		t.Fatalf("get before expiry = %q, %v", got, err)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	_, err := s.KVGet(ctx, "guest", "short")
	wantErr(t, "get after expiry", err, store.ErrNotFound)
	_, err = s.KVGet(ctx, "guest", "tiny")
	wantErr(t, "get after a sub-millisecond ttl", err, store.ErrNotFound)
	wantErr(t, "delete after expiry", s.KVDelete(ctx, "guest", "short"), store.ErrNotFound)
	for k, want := range map[string]string{"forever": "2", "cleared": "4", "extended": "6"} {
		if got, err := s.KVGet(ctx, "guest", k); err != nil || string(got) != want {
			t.Fatalf("get %s = %q, %v; want %q", k, got, err, want)
		}
	}
	keys, err := s.KVKeys(ctx, "guest", "", 0)
	wantErr(t, "keys", err, nil)
	if want := []string{"cleared", "extended", "forever"}; !slices.Equal(keys, want) {
		t.Fatalf("keys = %q, want %q (expired keys hidden)", keys, want)
	}
	// An expired key can be set again.
	wantErr(t, "set again", s.KVSet(ctx, "guest", "short", []byte("8"), 0), nil)
	if got, err := s.KVGet(ctx, "guest", "short"); err != nil || string(got) != "8" {
		t.Fatalf("get after set again = %q, %v", got, err)
	}
}

func testKVIncr(t *testing.T, s store.Store) {
	steps := []struct {
		key  string
		by   int64
		want int64
	}{
		{"n", 1, 1},
		{"n", 1, 2},
		{"n", 40, 42},
		{"n", -50, -8},
		{"n", 0, -8},
		{"m", -3, -3},
	}
	for _, st := range steps {
		got, err := s.KVIncr(ctx, "guest", st.key, st.by)
		if err != nil || got != st.want {
			t.Fatalf("incr %s by %d = %d, %v; want %d", st.key, st.by, got, err, st.want)
		}
	}
	if v, _ := s.KVGet(ctx, "guest", "n"); string(v) != "-8" {
		t.Fatalf("get a counter = %q, want the decimal \"-8\"", v)
	}
	// A value set as a decimal string counts on from there.
	wantErr(t, "set decimal", s.KVSet(ctx, "guest", "d", []byte("100"), 0), nil)
	if got, err := s.KVIncr(ctx, "guest", "d", 5); err != nil || got != 105 {
		t.Fatalf("incr a set decimal = %d, %v; want 105", got, err)
	}
	for _, bad := range []string{"abc", "1.5", "", " 1", "9223372036854775808"} {
		wantErr(t, "set "+bad, s.KVSet(ctx, "guest", "bad", []byte(bad), 0), nil)
		_, err := s.KVIncr(ctx, "guest", "bad", 1)
		wantErr(t, fmt.Sprintf("incr %q", bad), err, store.ErrInvalid)
		if v, _ := s.KVGet(ctx, "guest", "bad"); string(v) != bad {
			t.Fatalf("a failed incr changed %q to %q", bad, v)
		}
	}
	wantErr(t, "set max", s.KVSet(ctx, "guest", "max", []byte("9223372036854775807"), 0), nil)
	_, err := s.KVIncr(ctx, "guest", "max", 1)
	wantErr(t, "incr past max int64", err, store.ErrInvalid)
	wantErr(t, "set min", s.KVSet(ctx, "guest", "min", []byte("-9223372036854775808"), 0), nil)
	_, err = s.KVIncr(ctx, "guest", "min", -1)
	wantErr(t, "incr past min int64", err, store.ErrInvalid)

	// Incr keeps the ttl, and an expired counter starts again from 0.
	const ttl = 200 * time.Millisecond
	wantErr(t, "set with ttl", s.KVSet(ctx, "guest", "t", []byte("5"), ttl), nil)
	if got, err := s.KVIncr(ctx, "guest", "t", 1); err != nil || got != 6 {
		t.Fatalf("incr a key with ttl = %d, %v; want 6", got, err)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	_, err = s.KVGet(ctx, "guest", "t")
	wantErr(t, "get an incremented key after its ttl", err, store.ErrNotFound)
	if got, err := s.KVIncr(ctx, "guest", "t", 1); err != nil || got != 1 {
		t.Fatalf("incr an expired key = %d, %v; want 1", got, err)
	}
}

func testKVKeys(t *testing.T, s store.Store) {
	keys := []string{"user:2", "user:10", "user:1", "users", "session/a", "a*b", "a[b]", "a?", `a\b`, "b"}
	for _, k := range keys {
		wantErr(t, "set "+k, s.KVSet(ctx, "guest", k, []byte("v"), 0), nil)
	}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	tests := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"", 0, sorted},
		{"", 3, sorted[:3]},
		{"user:", 0, []string{"user:1", "user:10", "user:2"}},
		{"user", 0, []string{"user:1", "user:10", "user:2", "users"}},
		{"user:", 2, []string{"user:1", "user:10"}},
		{"a*", 0, []string{"a*b"}},
		{"a[", 0, []string{"a[b]"}},
		{"a?", 0, []string{"a?"}},
		{`a\`, 0, []string{`a\b`}},
		{"a", 0, []string{"a*b", "a?", "a[b]", `a\b`}},
		{"session/", 0, []string{"session/a"}},
		{"zzz", 0, []string{}},
	}
	for _, tc := range tests {
		got, err := s.KVKeys(ctx, "guest", tc.prefix, tc.limit)
		wantErr(t, "keys "+tc.prefix, err, nil)
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("keys(prefix %q, limit %d) = %q, want %q", tc.prefix, tc.limit, got, tc.want)
		}
	}
}

func testKVIsolation(t *testing.T, s store.Store) {
	wantErr(t, "set a", s.KVSet(ctx, "a", "k", []byte("A"), 0), nil)
	wantErr(t, "set ab", s.KVSet(ctx, "ab", "k", []byte("AB"), 0), nil)
	wantErr(t, "set a b", s.KVSet(ctx, "a b", "k2", []byte("A B"), 0), nil)
	for ns, want := range map[string]string{"a": "A", "ab": "AB"} {
		if got, err := s.KVGet(ctx, ns, "k"); err != nil || string(got) != want {
			t.Fatalf("get %s/k = %q, %v; want %q", ns, got, err, want)
		}
	}
	_, err := s.KVGet(ctx, "b", "k")
	wantErr(t, "get from an empty namespace", err, store.ErrNotFound)
	_, err = s.KVGet(ctx, "a", "b:k")
	wantErr(t, "get across the separator", err, store.ErrNotFound)
	for ns, want := range map[string][]string{"a": {"k"}, "ab": {"k"}, "a b": {"k2"}, "b": {}} {
		got, err := s.KVKeys(ctx, ns, "", 0)
		wantErr(t, "keys "+ns, err, nil)
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("keys of %q = %q, want %q", ns, got, want)
		}
	}
	if n, err := s.KVIncr(ctx, "b", "k", 1); err != nil || n != 1 {
		t.Fatalf("incr b/k = %d, %v; want 1 (a's key untouched)", n, err)
	}
	wantErr(t, "delete ab/k", s.KVDelete(ctx, "ab", "k"), nil)
	if got, err := s.KVGet(ctx, "a", "k"); err != nil || string(got) != "A" {
		t.Fatalf("deleting ab/k changed a/k: %q, %v", got, err)
	}
}

func testKVInvalid(t *testing.T, s store.Store) {
	long := string(bytes.Repeat([]byte("k"), 1025))
	for _, tc := range []struct{ ns, key string }{{"", "k"}, {"a:b", "k"}, {"guest", ""}, {"guest", long}, {"guest", "a\x00"}} {
		what := fmt.Sprintf("%q/%q", tc.ns, tc.key)
		_, err := s.KVGet(ctx, tc.ns, tc.key)
		wantErr(t, "get "+what, err, store.ErrInvalid)
		wantErr(t, "set "+what, s.KVSet(ctx, tc.ns, tc.key, []byte("v"), 0), store.ErrInvalid)
		wantErr(t, "delete "+what, s.KVDelete(ctx, tc.ns, tc.key), store.ErrInvalid)
		_, err = s.KVIncr(ctx, tc.ns, tc.key, 1)
		wantErr(t, "incr "+what, err, store.ErrInvalid)
	}
	wantErr(t, "negative ttl", s.KVSet(ctx, "guest", "k", []byte("v"), -time.Second), store.ErrInvalid)
	_, err := s.KVKeys(ctx, "", "", 0)
	wantErr(t, "keys without namespace", err, store.ErrInvalid)
	_, err = s.KVKeys(ctx, "guest", "", -1)
	wantErr(t, "keys with negative limit", err, store.ErrInvalid)
}

// ---- concurrency ----

func testConcurrentWriters(t *testing.T, s store.Store) {
	const workers, each = 8, 25
	start := now()
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	created := make(chan int, workers)
	for w := range workers {
		wg.Go(func() {
			won := 0
			for i := range each {
				a := record("guest", fmt.Sprintf("guest/w%d", w), start+int64(i))
				if err := s.PutActivation(ctx, a); err != nil {
					errs <- fmt.Errorf("put activation: %w", err)
				}
				// Everyone also re-puts one shared record: it must stay single.
				shared := record("guest", "guest/shared", start)
				shared.ActivationID = "shared"
				if err := s.PutActivation(ctx, shared); err != nil {
					errs <- fmt.Errorf("put shared activation: %w", err)
				}
				if _, err := s.KVIncr(ctx, "guest", "counter", 1); err != nil {
					errs <- fmt.Errorf("incr: %w", err)
				}
				k := key("guest", store.Actions, fmt.Sprintf("race%d", i))
				switch err := s.PutEntity(ctx, k, doc(k.Name, w), false); {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrExists):
					errs <- fmt.Errorf("put entity: %w", err)
				}
				if _, err := s.GetActivation(ctx, "guest", a.ActivationID); err != nil {
					errs <- fmt.Errorf("read own write: %w", err)
				}
			}
			created <- won
		})
	}
	wg.Wait()
	close(errs)
	close(created)
	for err := range errs {
		t.Fatal(err)
	}
	won := 0
	for n := range created {
		won += n
	}
	if won != each {
		t.Fatalf("%d racing creates succeeded, want exactly %d (one per key)", won, each)
	}
	if n, _ := s.CountActivations(ctx, "guest", store.ActivationFilter{}); n != workers*each+1 {
		t.Fatalf("count = %d, want %d", n, workers*each+1)
	}
	if n, _ := s.CountActivations(ctx, "guest", store.ActivationFilter{Name: "shared"}); n != 1 {
		t.Fatalf("shared record counted %d times, want 1", n)
	}
	if v, _ := s.KVGet(ctx, "guest", "counter"); string(v) != strconv.Itoa(workers*each) {
		t.Fatalf("counter = %s, want %d", v, workers*each)
	}
	if _, total, _ := s.ListEntities(ctx, "guest", store.Actions, "race", 0, 0); total != each {
		t.Fatalf("entities = %d, want %d", total, each)
	}
}
