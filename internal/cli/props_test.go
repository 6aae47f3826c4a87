package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gust-faas/gust/client"
)

func TestPropsRoundTrip(t *testing.T) {
	in := "# my OpenWhisk\nAPIHOST=https://ow.example.com\nauth = u:k  # guest\n\nAPIGW_ACCESS_TOKEN=abc==\nnot a property\nNAMESPACE=one\nNAMESPACE=two\n"
	p := ParseProps([]byte(in))
	if got := string(p.Bytes()); got != "# my OpenWhisk\nAPIHOST=https://ow.example.com\nAUTH=u:k\n\nAPIGW_ACCESS_TOKEN=abc==\nnot a property\nNAMESPACE=one\nNAMESPACE=two\n" {
		t.Errorf("unchanged round trip:\n%s", got)
	}
	for key, want := range map[string]string{"APIHOST": "https://ow.example.com", "auth": "u:k", "APIGW_ACCESS_TOKEN": "abc==", "NAMESPACE": "two"} {
		if v, ok := p.Get(key); !ok || v != want {
			t.Errorf("Get(%s) = %q, %v; want %q", key, v, ok, want)
		}
	}
	if _, ok := p.Get("CERT"); ok {
		t.Error("CERT is set")
	}
	p.Set("APIHOST", "http://127.0.0.1:3233")
	p.Set("namespace", "three")
	p.Set("APIVERSION", "v1")
	p.Unset("AUTH")
	want := "# my OpenWhisk\nAPIHOST=http://127.0.0.1:3233\n\nAPIGW_ACCESS_TOKEN=abc==\nnot a property\nNAMESPACE=three\nAPIVERSION=v1\n"
	if got := string(p.Bytes()); got != want {
		t.Errorf("after edits:\n%s\nwant:\n%s", got, want)
	}
	if got := string(ParseProps(p.Bytes()).Bytes()); got != want {
		t.Errorf("second round trip:\n%s", got)
	}
}

func TestSaveProps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "wskprops")
	p := &Props{}
	p.Set("AUTH", "u:k")
	if err := SaveProps(path, p); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("new file: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	os.Chmod(path, 0o644)
	link := filepath.Join(dir, "link")
	os.Symlink(path, link)
	p.Set("APIHOST", "h")
	if err := SaveProps(link, p); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("saving through a symbolic link replaced the link")
	}
	data, _ := os.ReadFile(path)
	st, _ = os.Stat(path)
	if string(data) != "AUTH=u:k\nAPIHOST=h\n" || st.Mode().Perm() != 0o644 {
		t.Errorf("saved %q mode %v", data, st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "sub")); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	loaded, err := LoadProps(filepath.Join(dir, "missing"))
	if err != nil || len(loaded.Bytes()) != 0 {
		t.Errorf("missing file: %v, %q", err, loaded.Bytes())
	}
}

func TestPropertyCommands(t *testing.T) {
	f := newFakeAPI(t)
	path := filepath.Join(t.TempDir(), "wskprops")
	os.WriteFile(path, []byte("# keep me\nAPIGW_ACCESS_TOKEN=tok\n"), 0o600)
	env := map[string]string{"WSK_CONFIG_FILE": path}

	r := runCLI(t, env, "property", "set", "--apihost", f.srv.URL, "--auth", client.GuestAuth, "--namespace", "guest", "--apiversion", "v1")
	wantOut := "ok: whisk auth set. Run 'gust property get --auth' to see the new value.\n" +
		"ok: whisk API host set to " + f.srv.URL + "\n" +
		"ok: whisk API version set to v1\n" +
		"ok: whisk namespace set to guest\n"
	if r.code != 0 || r.stdout != wantOut {
		t.Fatalf("property set: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	data, _ := os.ReadFile(path)
	wantFile := "# keep me\nAPIGW_ACCESS_TOKEN=tok\nAUTH=" + client.GuestAuth + "\nAPIHOST=" + f.srv.URL + "\nAPIVERSION=v1\nNAMESPACE=guest\n"
	if string(data) != wantFile {
		t.Errorf("file:\n%s\nwant:\n%s", data, wantFile)
	}

	r = runCLI(t, env, "property", "get")
	wantAll := "whisk API host\t\t" + f.srv.URL + "\n" +
		"whisk auth\t\t" + client.GuestAuth + "\n" +
		"whisk namespace\t\tguest\n" +
		"client cert\t\t\n" +
		"Client key\t\t\n" +
		"whisk API version\tv1\n" +
		"whisk CLI version\t" + Version + "\n" +
		"whisk API build\t\t2024-01-01\n" +
		"whisk API build number\tfake-1\n"
	if r.code != 0 || r.stdout != wantAll {
		t.Errorf("property get: %d\n%s\nwant:\n%s%s", r.code, r.stdout, wantAll, r.stderr)
	}
	r = runCLI(t, env, "property", "get", "--namespace", "-o", "raw")
	if r.stdout != "guest\n" {
		t.Errorf("get --namespace raw = %q", r.stdout)
	}
	r = runCLI(t, env, "property", "get", "--all", "-o", "raw")
	if r.code == 0 || !strings.Contains(r.stderr, "raw only supported with specific property type") {
		t.Errorf("get --all raw: %d %q", r.code, r.stderr)
	}

	// The properties reach the requests: the action lands in namespace guest.
	r = runCLI(t, env, "action", "list")
	if req := f.lastRequest(t, "GET", "/api/v1/namespaces/"); r.code != 0 || req.Path != "/api/v1/namespaces/guest/actions" {
		t.Errorf("action list with NAMESPACE=guest: %d path %s %s", r.code, req.Path, r.stderr)
	}

	r = runCLI(t, env, "property", "unset", "--namespace", "--auth", "--apiversion")
	wantOut = "ok: whisk auth unset.\nok: whisk API version unset; the default value of v1 will be used.\nok: whisk namespace unset; the default value of _ will be used.\n"
	if r.code != 0 || r.stdout != wantOut {
		t.Errorf("property unset: %d\n%s", r.code, r.stdout)
	}
	data, _ = os.ReadFile(path)
	if string(data) != "# keep me\nAPIGW_ACCESS_TOKEN=tok\nAPIHOST="+f.srv.URL+"\n" {
		t.Errorf("file after unset:\n%s", data)
	}
	// Without AUTH the guest key is the default, so this still works.
	if r = runCLI(t, env, "namespace", "list"); r.code != 0 || r.stdout != "namespaces\nguest\n" {
		t.Errorf("namespace list with default auth: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestConfigurePrecedence(t *testing.T) {
	props := filepath.Join(t.TempDir(), "wskprops")
	os.WriteFile(props, []byte("APIHOST=props-host\nAUTH=p:p\nNAMESPACE=pns\nAPIVERSION=v9\n"), 0o600)
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".wskprops"), []byte("APIHOST=home-host/\n"), 0o600)

	cases := []struct {
		name string
		env  map[string]string
		argv []string
		want settings
	}{
		{name: "defaults", env: map[string]string{"HOME": t.TempDir()},
			want: settings{apiHost: client.DefaultAPIHost, auth: client.GuestAuth, namespace: "_", apiVersion: "v1"}},
		{name: "home wskprops", env: map[string]string{"HOME": home},
			want: settings{apiHost: "home-host", auth: client.GuestAuth, namespace: "_", apiVersion: "v1"}},
		{name: "WSK_CONFIG_FILE wins over home", env: map[string]string{"HOME": home, "WSK_CONFIG_FILE": props},
			want: settings{apiHost: "props-host", auth: "p:p", namespace: "pns", apiVersion: "v9"}},
		{name: "environment over file", env: map[string]string{"WSK_CONFIG_FILE": props, "WHISK_AUTH": "e:e", "WHISK_APIHOST": "env-host"},
			want: settings{apiHost: "env-host", auth: "e:e", namespace: "pns", apiVersion: "v9"}},
		{name: "flags over all", env: map[string]string{"WSK_CONFIG_FILE": props, "WHISK_AUTH": "e:e"},
			argv: []string{"--apihost", "flag-host", "-u", "f:f", "--apiversion", "v2", "-i", "-d"},
			want: settings{apiHost: "flag-host", auth: "f:f", namespace: "pns", apiVersion: "v2", insecure: true, debug: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{stdout: &strings.Builder{}, stderr: &strings.Builder{}, lookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
			in, err := parse(newRoot(), append([]string{"action", "list"}, tc.argv...))
			if err != nil {
				t.Fatal(err)
			}
			if err := a.configure(in); err != nil {
				t.Fatal(err)
			}
			got := a.set
			got.propsPath = ""
			if got != tc.want {
				t.Errorf("settings = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
