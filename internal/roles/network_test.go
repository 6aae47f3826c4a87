package roles

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/gust-faas/gust/client"
	"github.com/gust-faas/gust/sandbox/linux"
	"github.com/gust-faas/gust/whisk"
)

// startLinuxUp starts gust up with cfg on the linux sandbox driver, or
// skips the test where that driver cannot run.
func startLinuxUp(t *testing.T, cfg Config) *client.Client {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("linux sandboxes need root")
	}
	if err := linux.Available(); err != nil {
		t.Skipf("the linux sandbox driver cannot run on this host: %v", err)
	}
	cfg.Sandbox = "linux"
	return startUp(t, cfg)
}

// TestNetworkAnnotation: on the linux driver an action has no network
// unless it carries the network annotation; with it, its sandbox gets
// eth0 (sandbox/linux's TestSandboxNetwork checks where that leads), and
// its loopback is still its own, empty one.
func TestNetworkAnnotation(t *testing.T) {
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("sandbox egress needs the nft command (Debian package nftables)")
	}
	cfg := testConfig(t)
	c := startLinuxUp(t, cfg)
	code := `import socket

def main(args):
    try:
        socket.create_connection(('127.0.0.1', args['port']), timeout=2).close()
        gateway = 'ok'
    except OSError as e:
        gateway = type(e).__name__
    return {'ifaces': sorted(n for _, n in socket.if_nameindex()), 'gateway': gateway}
`
	_, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		ann     whisk.KeyValues
		ifaces  string
		gateway string
	}{
		{"no-network", nil, `["lo"]`, "ConnectionRefusedError"},
		{"network", whisk.KeyValues{}.Set(whisk.AnnNetwork, true), `["eth0","lo"]`, "ConnectionRefusedError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ap := &client.ActionPut{Exec: &whisk.Exec{Kind: "python:3", Code: code}, Annotations: tc.ann}
			if _, err := c.PutAction(context.Background(), tc.name, ap, true); err != nil {
				t.Fatal(err)
			}
			act := invokeBlocking(t, c, tc.name, map[string]any{"port": json.Number(port)})
			wantStatus(t, act, whisk.StatusSuccess)
			var res struct {
				Ifaces  json.RawMessage `json:"ifaces"`
				Gateway string          `json:"gateway"`
			}
			if err := json.Unmarshal(act.Response.Result, &res); err != nil {
				t.Fatalf("result %s: %v", act.Response.Result, err)
			}
			if string(res.Ifaces) != tc.ifaces {
				t.Errorf("interfaces %s, want %s", res.Ifaces, tc.ifaces)
			}
			if res.Gateway != tc.gateway {
				t.Errorf("connecting to the gateway's port on 127.0.0.1: %s, want %s", res.Gateway, tc.gateway)
			}
		})
	}
}
