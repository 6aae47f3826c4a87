package runtimes
import ("context";"testing";"time";"os";"sort";"github.com/gust-faas/gust/whisk")
func TestExpColdStart(t *testing.T) {
	for _, kind := range allKinds {
		v := InitValue{Code: echo[kind]}
		if kind == whisk.KindGo { v.Code, v.Binary = compileGo(t, []byte(echo[kind]), ""), true }
		var cold, warmInit []time.Duration
		for i := 0; i < 15; i++ {
			null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			start := time.Now()
			p := startProxyOut(t, kind, null)
			if err := p.client.Init(context.Background(), &InitRequest{Value: v}); err != nil { t.Fatal(err) }
			if _, err := p.client.Run(context.Background(), runReq(`{}`)); err != nil { t.Fatal(err) }
			cold = append(cold, time.Since(start))
			p2 := startProxyOut(t, kind, null)
			time.Sleep(300 * time.Millisecond)
			start = time.Now()
			if err := p2.client.Init(context.Background(), &InitRequest{Value: v}); err != nil { t.Fatal(err) }
			warmInit = append(warmInit, time.Since(start))
		}
		sort.Slice(cold, func(i, j int) bool { return cold[i] < cold[j] })
		sort.Slice(warmInit, func(i, j int) bool { return warmInit[i] < warmInit[j] })
		t.Logf("%s: start->init->first run p50 %v min %v; /init on a prestarted proxy p50 %v min %v", kind, cold[7], cold[0], warmInit[7], warmInit[0])
	}
}
