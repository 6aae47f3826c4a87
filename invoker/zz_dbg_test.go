package invoker

import (
	"encoding/json"
	"testing"

	"github.com/gust-faas/gust/whisk"
)

func TestZZShow(t *testing.T) {
	e := newEnv(t)
	inv, _ := e.start(Config{})
	crash := e.action("crash", "nodejs", `function main(p) { console.log("x"); if (p.exit) process.exit(3); return {alive: true}; }`, whisk.Limits{})
	for _, args := range []string{`{}`, `{"exit":true}`} {
		r := e.invoke(inv, e.message(crash, args))
		b, _ := json.MarshalIndent(r, "", " ")
		t.Logf("%s", b)
	}
	bad := e.action("bad", "nodejs", `function main( {`, whisk.Limits{})
	r := e.invoke(inv, e.message(bad, `{}`))
	b, _ := json.Marshal(r.Activation.Response)
	t.Logf("%s %q", b, r.Activation.Logs)
}
