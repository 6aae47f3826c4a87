package invoker

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gust-faas/gust/sandbox/process"
	"github.com/gust-faas/gust/whisk"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != DefaultID || c.Prefix != "gust." || c.MemoryMB != DefaultMemoryMB || c.IdleGrace != DefaultIdleGrace ||
		c.IdleTimeout != DefaultIdleTimeout || c.MaxAsync != DefaultMemoryMB/whisk.MinMemory || c.LogWait != DefaultLogWait {
		t.Errorf("defaults = %+v", c)
	}
	in := []PrewarmConfig{{Kind: "nodejs", Count: 2}}
	c, err = Config{MemoryMB: 1024, Prewarm: in}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Prewarm[0]; got != (PrewarmConfig{Kind: whisk.KindNode, MemoryMB: 256, Count: 2, Max: 2}) {
		t.Errorf("prewarm = %+v", got)
	}
	if in[0].Kind != "nodejs" {
		t.Errorf("withDefaults changed the caller's slice")
	}
	if c.MaxAsync != 8 {
		t.Errorf("MaxAsync = %d, want 1024/128", c.MaxAsync)
	}
}

func TestConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"wildcard id", Config{ID: "inv*"}},
		{"space in id", Config{ID: "my invoker"}},
		{"empty token", Config{ID: "a..b"}},
		{"negative memory", Config{MemoryMB: -1}},
		{"memory below one action", Config{MemoryMB: 64}},
		{"negative grace", Config{IdleGrace: -time.Second}},
		{"timeout before grace", Config{IdleGrace: time.Minute, IdleTimeout: time.Second}},
		{"unknown kind", Config{Prewarm: []PrewarmConfig{{Kind: "cobol", Count: 1}}}},
		{"sequence", Config{Prewarm: []PrewarmConfig{{Kind: "sequence", Count: 1}}}},
		{"min above count", Config{Prewarm: []PrewarmConfig{{Kind: "python", Count: 1, Min: 2, Max: 3}}}},
		{"count above max", Config{Prewarm: []PrewarmConfig{{Kind: "python", Count: 3, Max: 2}}}},
		{"bad memory", Config{Prewarm: []PrewarmConfig{{Kind: "python", MemoryMB: 64, Count: 1}}}},
		{"twice", Config{Prewarm: []PrewarmConfig{{Kind: "python", Count: 1}, {Kind: "python:3", Count: 1}}}},
		{"over budget", Config{MemoryMB: 512, Prewarm: []PrewarmConfig{{Kind: "nodejs", Count: 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.cfg.withDefaults(); !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
}

func TestNewChecksDeps(t *testing.T) {
	if _, err := New(Config{}, Deps{}); !errors.Is(err, ErrConfig) {
		t.Errorf("New without deps: %v, want ErrConfig", err)
	}
}

func TestIDPrefix(t *testing.T) {
	for _, id := range []string{"host.example.com:1", "inv0", strings.Repeat("x", 100)} {
		p := idPrefix(id)
		if err := process.ValidID(p + "123456"); err != nil {
			t.Errorf("idPrefix(%q) = %q: %v", id, p, err)
		}
	}
}
