package bench

import (
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/gust-faas/gust/whisk"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, func(t *testing.T, c Config) {
			if !slices.Equal(c.Scenarios, defaultScenarios) || !slices.Equal(c.Clients, []int{8, 32}) ||
				c.Duration != 5*time.Second || c.ManyDuration != 20*time.Second || c.Actions != 100 || c.BurstClients != 64 || c.Kind != whisk.KindNode ||
				!slices.Equal(c.ColdKinds, []string{whisk.KindNode, whisk.KindPython}) || !c.Floor || c.MemoryMB != 128 || c.Repeat != 1 {
				t.Errorf("defaults %+v", c)
			}
		}},
		{"scenarios in canonical order, once", []string{"--scenario", "burst,warm", "--scenario=warm"}, func(t *testing.T, c Config) {
			if !slices.Equal(c.Scenarios, []string{"warm", "burst"}) {
				t.Errorf("scenarios %v", c.Scenarios)
			}
		}},
		{"all", []string{"--scenario=all"}, func(t *testing.T, c Config) {
			if !slices.Equal(c.Scenarios, allScenarios) {
				t.Errorf("scenarios %v", c.Scenarios)
			}
		}},
		{"none: the floor only", []string{"--scenario=none"}, func(t *testing.T, c Config) {
			if len(c.Scenarios) != 0 {
				t.Errorf("scenarios %v", c.Scenarios)
			}
		}},
		{"clients and kinds", []string{"--clients", "4,16", "--kind", "python:3", "--cold-kinds", "nodejs:default"}, func(t *testing.T, c Config) {
			if !slices.Equal(c.Clients, []int{4, 16}) || c.Kind != whisk.KindPython || !slices.Equal(c.ColdKinds, []string{whisk.KindNode}) {
				t.Errorf("%v %v %v", c.Clients, c.Kind, c.ColdKinds)
			}
		}},
		{"external host", []string{"--apihost", "https://h", "--auth", "u:k", "--insecure"}, func(t *testing.T, c Config) {
			if c.APIHost != "https://h" || c.Auth != "u:k" || !c.Insecure {
				t.Errorf("%+v", c)
			}
		}},
		{"up args keep commas", []string{"--up-arg=--maxprocs=1", "--up-arg", "--redis=redis://a,b"}, func(t *testing.T, c Config) {
			if !slices.Equal(c.UpArgs, []string{"--maxprocs=1", "--redis=redis://a,b"}) {
				t.Errorf("up args %q", c.UpArgs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--scenario", "fast"},
		{"--clients", "0"},
		{"--clients", "x"},
		{"--kind", "cobol"},
		{"--kind", "go"}, // no no-op action for it
		{"--duration", "1ms"},
		{"--many-duration", "50ms"},
		{"--actions", "0"},
		{"--sandbox", "docker"},
		{"--action-memory", "4"},
		{"--prewarm-memory", "100000"},
		{"--density-memory", "1"},
		{"--density", "0"},
		{"--resume", "-1"},
		{"--repeat", "0"},
		{"--idle-grace", "-1s"},
		{"--cold-gap", "-1s"},
		{"--cold-gap", "2m"},
		{"--apihost", "http://h", "--gust", "/bin/gust"},
		{"--nonsense"},
		{"extra"},
	} {
		if _, err := ParseConfig(args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("ParseConfig(%q) error = %v, want ErrUsage", args, err)
		}
	}
	if _, err := ParseConfig([]string{"-h"}, io.Discard); !errors.Is(err, errHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestUpMemory(t *testing.T) {
	c, _ := ParseConfig(nil, io.Discard)
	// 16 + 32 + 2*10 + 100 + 8 + 64 = 240 sandboxes of 128 MB, and 2*10
	// prewarm actions of 256 MB.
	if got := c.upMemory(); got != 240*128+20*256 {
		t.Errorf("upMemory = %d, want %d", got, 240*128+20*256)
	}
	c, _ = ParseConfig([]string{"--scenario", "density", "--density", "500"}, io.Discard)
	if got := c.upMemory(); got != 16*128+500*128 {
		t.Errorf("upMemory for density = %d, want (16+500)*128", got)
	}
	c, _ = ParseConfig([]string{"--scenario", "warm", "--clients", "1"}, io.Discard)
	if got := c.upMemory(); got != 2048+128 {
		t.Errorf("upMemory for one client = %d, want (16+1)*128", got)
	}
	c, _ = ParseConfig([]string{"--up-memory", "5000"}, io.Discard)
	if got := c.upMemory(); got != 5000 {
		t.Errorf("upMemory = %d, want 5000", got)
	}
}

func TestQuoteArgs(t *testing.T) {
	if got := quoteArgs([]string{"--scenario", "warm", "--json", "a b.json", ""}); got != `--scenario warm --json "a b.json" ""` {
		t.Errorf("quoteArgs = %s", got)
	}
}

func TestUpArgs(t *testing.T) {
	c, _ := ParseConfig([]string{"--idle-grace", "250ms", "--up-arg=--idle-grace=1s", "--up-arg=--prewarm="}, io.Discard)
	if got, want := c.upArgs(), []string{"--idle-grace=250ms", "--idle-grace=1s", "--prewarm="}; !slices.Equal(got, want) {
		t.Errorf("upArgs = %q, want %q (the --up-arg ones last, so they win)", got, want)
	}
	if c.idleGrace() != 250*time.Millisecond {
		t.Errorf("idleGrace = %v", c.idleGrace())
	}
	c, _ = ParseConfig(nil, io.Discard)
	if len(c.upArgs()) != 0 || c.idleGrace() != defaultIdleGrace {
		t.Errorf("defaults: upArgs %q, idleGrace %v", c.upArgs(), c.idleGrace())
	}
	if c.has("density") || c.has("resume") || !c.has("prewarm") {
		t.Errorf("default scenarios %v: want prewarm, not resume or density", c.Scenarios)
	}
}
