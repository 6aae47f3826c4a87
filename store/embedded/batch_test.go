package embedded_test

import (
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/store/embedded"
	"github.com/gust-faas/gust/whisk"
)

// TestPutActivations checks the batch write: every record readable and
// listed, the first write of an id kept, and a bad record refused.
func TestPutActivations(t *testing.T) {
	s, err := embedded.Open(filepath.Join(t.TempDir(), "gust.db"), embedded.Options{})
	must(t, err)
	defer s.Close()

	first := activation("a0")
	first.Response = whisk.NewResponse(whisk.StatusSuccess, []byte(`{"first":true}`))
	must(t, s.PutActivation(ctx, first))
	var as []*whisk.Activation
	for i := range 10 {
		as = append(as, activation("a"+strconv.Itoa(i)))
	}
	must(t, s.PutActivations(ctx, as))
	for _, a := range as {
		got, err := s.GetActivation(ctx, "guest", a.ActivationID)
		if err != nil {
			t.Fatalf("get %s: %v", a.ActivationID, err)
		}
		if a.ActivationID == "a0" && string(got.Response.Result) != `{"first":true}` {
			t.Errorf("a0 was overwritten by the batch: %s", got.Response.Result)
		}
	}
	list, err := s.ListActivations(ctx, "guest", store.ActivationFilter{Limit: 100})
	must(t, err)
	if len(list) != 10 {
		t.Errorf("listed %d records, want 10", len(list))
	}

	bad := []*whisk.Activation{activation("b1"), {Namespace: "guest"}}
	if err := s.PutActivations(ctx, bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("batch with an invalid record: err = %v, want ErrInvalid", err)
	}
}
