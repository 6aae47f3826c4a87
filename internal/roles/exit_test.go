package roles

import (
	"context"
	"testing"
	"time"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/whisk"
)

// TestActionExitsAfterResult: on the linux driver, an action whose process
// exits after it answered takes its sandbox with it, and the next activation
// gets a new one. (The proxy left the launcher to the sandbox's init after
// the first run; had it stayed, the sandbox would have lived on without a
// launcher and failed the next activation with a developer error.)
func TestActionExitsAfterResult(t *testing.T) {
	c := startLinuxUp(t, testConfig(t))
	code := `function main(p) { setTimeout(() => process.exit(3), 20); return {n: p.n}; }`
	ap := &client.ActionPut{Exec: &whisk.Exec{Kind: "nodejs:20", Code: code}}
	if _, err := c.PutAction(context.Background(), "exits", ap, true); err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		act := invokeBlocking(t, c, "exits", map[string]any{"n": n})
		wantStatus(t, act, whisk.StatusSuccess)
		time.Sleep(300 * time.Millisecond) // the process has exited
	}
}
