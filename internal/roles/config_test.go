package roles

import (
	"errors"
	"testing"
	"time"

	"github.com/gust-faas/gust/invoker"
)

// TestLoadSharedParts: a role running as its own process must be told where
// the shared NATS and Redis are; `gust up` needs neither.
func TestLoadSharedParts(t *testing.T) {
	const nats, redis = "nats://127.0.0.1:4222", "redis://127.0.0.1:6379/0"
	tests := []struct {
		role string
		args []string
		want error
	}{
		{"up", nil, nil},
		{"up", []string{"--nats", nats, "--redis", redis}, nil},
		{"controller", []string{"--redis", redis}, nil}, // embeds NATS
		{"controller", []string{"--nats", nats, "--redis", redis}, nil},
		{"controller", nil, ErrNeedRedis},
		{"gateway", []string{"--nats", nats, "--redis", redis}, nil},
		{"gateway", []string{"--redis", redis}, ErrNeedNATS},
		{"gateway", []string{"--nats", nats}, ErrNeedRedis},
		{"invoker", []string{"--nats", nats, "--redis", redis}, nil},
		{"invoker", []string{"--redis", redis}, ErrNeedNATS},
		{"invoker", []string{"--nats", nats}, ErrNeedRedis},
	}
	for _, tt := range tests {
		t.Setenv("GUST_NATS", "")
		t.Setenv("GUST_REDIS", "")
		_, err := Load(tt.role, tt.args)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("Load(%q, %q) = %v, want %v", tt.role, tt.args, err, tt.want)
		}
	}
}

func TestLoadJetStreamReplicas(t *testing.T) {
	tests := []struct {
		arg  string
		want int // 0: an error
	}{{"", 1}, {"3", 3}, {"5", 5}, {"0", 0}, {"6", 0}, {"-1", 0}}
	for _, tt := range tests {
		t.Setenv("GUST_JETSTREAM_REPLICAS", "")
		args := []string{}
		if tt.arg != "" {
			args = append(args, "--jetstream-replicas", tt.arg)
		}
		cfg, err := Load("up", args)
		switch {
		case tt.want == 0 && err == nil:
			t.Errorf("--jetstream-replicas %s: no error", tt.arg)
		case tt.want != 0 && (err != nil || cfg.Replicas != tt.want):
			t.Errorf("--jetstream-replicas %q: %d, %v; want %d", tt.arg, cfg.Replicas, err, tt.want)
		}
	}
}

// TestLoadEmptyFlagBeatsEnv: deploy/compose gives every role GUST_NATS and
// the controller --nats= so that it embeds the server.
func TestLoadEmptyFlagBeatsEnv(t *testing.T) {
	t.Setenv("GUST_NATS", "nats://controller:4222")
	t.Setenv("GUST_REDIS", "redis://redis:6379/0")
	cfg, err := Load("controller", []string{"--nats="})
	if err != nil || cfg.NATSURL != "" {
		t.Fatalf("Load(controller, --nats=) = NATSURL %q, %v; want empty (embedded NATS)", cfg.NATSURL, err)
	}
	if cfg, _ := Load("controller", nil); cfg.NATSURL != "nats://controller:4222" {
		t.Fatalf("Load(controller) NATSURL = %q, want GUST_NATS", cfg.NATSURL)
	}
}

func TestLoadIdleGrace(t *testing.T) {
	tests := []struct {
		arg, env string
		want     time.Duration // 0: an error
	}{
		{"", "", invoker.DefaultIdleGrace},
		{"200ms", "", 200 * time.Millisecond},
		{"", "500ms", 500 * time.Millisecond},
		{"1s", "500ms", time.Second},
		{"0s", "", 0},
		{"-1s", "", 0},
		{"24h", "", 0},
	}
	for _, tt := range tests {
		t.Setenv("GUST_IDLE_GRACE", tt.env)
		var args []string
		if tt.arg != "" {
			args = []string{"--idle-grace", tt.arg}
		}
		cfg, err := Load("up", args)
		switch {
		case tt.want == 0 && err == nil:
			t.Errorf("--idle-grace %q: no error", tt.arg)
		case tt.want != 0 && (err != nil || cfg.IdleGrace != tt.want):
			t.Errorf("--idle-grace %q (env %q): %v, %v; want %v", tt.arg, tt.env, cfg.IdleGrace, err, tt.want)
		}
	}
}

func TestLoadSandboxShells(t *testing.T) {
	tests := []struct {
		arg, env string
		want     int // -1: an error
	}{{"", "", 4}, {"0", "", 0}, {"", "5", 5}, {"3", "5", 3}, {"64", "", 64}, {"65", "", -1}, {"-1", "", -1}}
	for _, tt := range tests {
		t.Setenv("GUST_SANDBOX_SHELLS", tt.env)
		args := []string{}
		if tt.arg != "" {
			args = append(args, "--sandbox-shells", tt.arg)
		}
		cfg, err := Load("up", args)
		switch {
		case tt.want < 0 && err == nil:
			t.Errorf("--sandbox-shells %q: no error", tt.arg)
		case tt.want >= 0 && (err != nil || cfg.Shells != tt.want):
			t.Errorf("--sandbox-shells %q (env %q): %d, %v; want %d", tt.arg, tt.env, cfg.Shells, err, tt.want)
		}
	}
}
