package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/internal/syncbuf"
)

func TestProgress(t *testing.T) {
	var cnt countingCounter
	for i := 0; i < 50; i++ {
		cnt.add(i%10 == 0)
	}
	tests := []struct {
		name     string
		tty      bool
		quiet    bool
		want     []string
		wantNone string
	}{
		{"terminal", true, false, []string{"\r\033[K", "warm", "measure", "█", "45 ok", "5 err", "bench: a message\n"}, ""},
		{"plain", false, false, []string{"bench: warm: measure for 1s\n", "bench: a message\n"}, "\r"},
		{"quiet", false, true, nil, "bench"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncbuf.Buffer
			p := newProgress(&out, tt.tty, tt.quiet)
			p.Scenario("warm")
			p.Phase("measure", time.Second, &cnt)
			time.Sleep(350 * time.Millisecond)
			p.Logf("a %s", "message")
			p.Close()
			p.Close() // twice is harmless
			s := out.String()
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("output lacks %q:\n%q", w, s)
				}
			}
			if tt.wantNone != "" && strings.Contains(s, tt.wantNone) {
				t.Errorf("output has %q:\n%q", tt.wantNone, s)
			}
			if tt.tty && !strings.HasSuffix(s, "\r\033[K") {
				t.Errorf("the bar is not cleared at the end: %q", s[max(0, len(s)-40):])
			}
		})
	}
}
