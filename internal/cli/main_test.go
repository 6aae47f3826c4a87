package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMain_(t *testing.T) {
	props := filepath.Join(t.TempDir(), "wskprops")
	os.WriteFile(props, []byte("APIHOST=https://example.invalid:1\n"), 0o600)
	t.Setenv("WSK_CONFIG_FILE", props)
	t.Setenv("WHISK_APIHOST", "")
	var out, errOut bytes.Buffer
	if code := Main([]string{"property", "get", "--apihost", "-o", "raw"}, &out, &errOut); code != 0 || out.String() != "https://example.invalid:1\n" {
		t.Errorf("Main: %d %q %q", code, out.String(), errOut.String())
	}
}

func TestInsecureTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode([]string{"guest"})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	env := map[string]string{"WSK_CONFIG_FILE": filepath.Join(t.TempDir(), "none")}
	r := runCLI(t, env, "namespace", "list", "--apihost", srv.URL)
	if r.code != exitNetwork || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("self-signed certificate without -i: %d %q", r.code, r.stderr)
	}
	r = runCLI(t, env, "namespace", "list", "--apihost", srv.URL, "-i")
	if r.code != 0 || r.stdout != "namespaces\nguest\n" {
		t.Errorf("with -i: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// A host without a scheme means HTTPS, as in wsk.
	r = runCLI(t, env, "namespace", "list", "--apihost", strings.TrimPrefix(srv.URL, "https://"), "--insecure")
	if r.code != 0 {
		t.Errorf("scheme-less host: %d %q", r.code, r.stderr)
	}
}

func TestInvalidAPIHost(t *testing.T) {
	env := map[string]string{"WSK_CONFIG_FILE": filepath.Join(t.TempDir(), "none")}
	r := runCLI(t, env, "action", "list", "--apihost", "http://")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "error: The API host is not valid: API host \"http:\" is not a valid host or URL\n") {
		t.Errorf("%d %q", r.code, r.stderr)
	}
	r = runCLI(t, env, "action", "list", "-u", "no-colon")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "error: Unable to initialize server connection: ") {
		t.Errorf("%d %q", r.code, r.stderr)
	}
}

func TestNamespaceGet(t *testing.T) {
	f := newFakeAPI(t)
	f.addAction("zeta", "nodejs:20", "")
	f.addAction("alpha", "python:3.11", "")
	f.addPackage("utils", true, "")
	f.addTrigger("tick", "")
	f.addRule("every-tick", "/guest/tick", "/guest/alpha", "active")
	r := runFake(t, f, "list", "-n")
	want := "Entities in namespace: default\n" +
		"packages\n" + pad("/guest/utils") + " shared\n" +
		"actions\n" + pad("/guest/alpha") + " private python\n" + pad("/guest/zeta") + " private nodejs\n" +
		"triggers\n" + pad("/guest/tick") + " private\n" +
		"rules\n" + pad("/guest/every-tick") + " private              active\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s%s", r.stdout, want, r.stderr)
	}
}

func pad(s string) string { return s + strings.Repeat(" ", 70-len(s)) }
