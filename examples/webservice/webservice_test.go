// Package webservice_test runs the example web service the way its README
// does: `gust up`, `./deploy.sh`, then curl-like requests and a real headless
// Chromium loading the page.
package webservice_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const guestAuth = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGust builds the gust binary, runs `gust up` and returns the binary
// and the API address once it answers.
func startGust(t *testing.T) (bin, addr string) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/node"); err != nil {
		t.Skip("the example's actions need /usr/bin/node")
	}
	dir := t.TempDir()
	bin = filepath.Join(dir, "gust")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/gust-faas/gust/cmd/gust").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr = freeAddr(t)
	up := exec.Command(bin, "up", "--data-dir", filepath.Join(dir, "data"), "--listen", addr,
		"--nats-listen", freeAddr(t), "--sandbox", "process", "--prewarm", "")
	var log bytes.Buffer
	up.Stdout, up.Stderr = &log, &log
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		up.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- up.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			up.Process.Kill()
			t.Errorf("gust up did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("gust up output:\n%s", log.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/api/v1"); err == nil {
			resp.Body.Close()
			return bin, addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("gust up did not answer within 30s:\n%s", log.String())
		}
	}
}

func TestWebService(t *testing.T) {
	bin, addr := startGust(t)
	props := filepath.Join(t.TempDir(), "wskprops")
	os.WriteFile(props, []byte(fmt.Sprintf("APIHOST=http://%s\nAUTH=%s\n", addr, guestAuth)), 0o600)
	deploy := exec.Command("./deploy.sh")
	deploy.Env = append(os.Environ(), "GUST="+bin, "WSK_CONFIG_FILE="+props)
	out, err := deploy.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy.sh: %v\n%s", err, out)
	}
	base := "http://" + addr + "/api/v1/web/guest/webservice"
	if !strings.Contains(string(out), base+"/hello") {
		t.Errorf("deploy.sh did not print the hello URL %s:\n%s", base+"/hello", out)
	}

	tests := []struct {
		method, path, body, ctype string
		status                    int
		wantType, wantBody        string
		wantHeader                [2]string
	}{
		{"GET", "/hello?name=Jane", "", "", 200, "text/html", "Hello, Jane!", [2]string{}},
		{"GET", "/api/items/7", "", "", 200, "application/json", `"square":49`, [2]string{}},
		{"GET", "/api/items/700", "", "", 404, "application/json", "no item 700", [2]string{}},
		{"POST", "/api", `{"name":"Jane"}`, "application/json", 201, "application/json", "Jane", [2]string{"Location", "/api/v1/web/guest/webservice/api/items/"}},
		{"POST", "/api", `{}`, "application/json", 400, "application/json", "name", [2]string{}},
		{"DELETE", "/api/items/7", "", "", 405, "", "", [2]string{"Allow", "GET, POST"}},
		{"GET", "/badge", "", "", 200, "image/png", "\x89PNG", [2]string{}},
		{"GET", "/hello?__ow_method=x", "", "", 400, "", "", [2]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("Content-Type %q, want %q", ct, tt.wantType)
			}
			if !bytes.Contains(body, []byte(tt.wantBody)) {
				t.Errorf("body %.200q, want it to contain %q", body, tt.wantBody)
			}
			if h := tt.wantHeader; h[0] != "" && !strings.HasPrefix(resp.Header.Get(h[0]), h[1]) {
				t.Errorf("%s: %q, want %q", h[0], resp.Header.Get(h[0]), h[1])
			}
		})
	}
	t.Run("chromium", func(t *testing.T) { browse(t, base+"/hello?name=Browser") })
}

// browse loads the page in a real headless Chromium: the DOM the browser
// rendered must hold the greeting and the badge's image element, and a
// screenshot of it must come out.
func browse(t *testing.T, url string) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("headless browser test needs Debian's chromium package")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shot := filepath.Join(t.TempDir(), "page.png")
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--window-size=800,400"}
	dom, err := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", url)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if !bytes.Contains(dom, []byte("Hello, Browser!")) || !bytes.Contains(dom, []byte("<img")) {
		t.Errorf("rendered DOM lacks the greeting or the badge:\n%s", dom)
	}
	if out, err := exec.CommandContext(ctx, chromium, append(args, "--screenshot="+shot, url)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Errorf("screenshot missing or empty: %v", err)
	}
}
