package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gust-faas/gust/client"
)

// requestLines returns the requests the fake received since the first
// `from`, as "METHOD path?query body".
func (f *fakeAPI) requestLines(from int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests[from:] {
		line := r.Method + " " + r.Path
		if r.Query != "" {
			line += "?" + r.Query
		}
		if len(r.Body) > 0 {
			line += " " + string(r.Body)
		}
		out = append(out, line)
	}
	return out
}

// TestEntityCommandRequests checks what the package, trigger and rule
// commands send and print, without the stock wsk (TestCompatWithWsk compares
// them with it).
func TestEntityCommandRequests(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(*fakeAPI)
		argv   []string
		stdout string
		reqs   []string // every request, in order
	}{
		{name: "package create shared",
			argv:   []string{"package", "create", "utils", "--shared", "yes", "-p", "a", "1", "-a", "k", `"v"`},
			stdout: "ok: created package utils\n",
			reqs:   []string{`PUT /api/v1/namespaces/_/packages/utils?overwrite=false {"parameters":[{"key":"a","value":1}],"annotations":[{"key":"k","value":"v"}],"publish":true}`}},
		{name: "package update private", setup: withPackage,
			argv:   []string{"package", "update", "utils", "--shared", "NO"},
			stdout: "ok: updated package utils\n",
			reqs:   []string{`PUT /api/v1/namespaces/_/packages/utils?overwrite=true {"publish":false}`}},
		{name: "package bind", setup: withFeeds,
			argv:   []string{"package", "bind", "/whisk.system/alarms", "mine", "-p", "cron", "* * * * *"},
			stdout: "ok: created binding mine\n",
			reqs:   []string{`PUT /api/v1/namespaces/_/packages/mine?overwrite=false {"parameters":[{"key":"cron","value":"* * * * *"}],"binding":{"namespace":"whisk.system","name":"alarms"}}`}},
		{name: "package list namespace", setup: withFeeds,
			argv:   []string{"package", "list", "/whisk.system", "-l", "5"},
			stdout: "packages\n" + pad("/whisk.system/alarms") + " shared\n",
			reqs:   []string{`GET /api/v1/namespaces/whisk.system/packages?limit=5`}},
		{name: "package summary", setup: withPackage,
			argv: []string{"package", "get", "utils", "-s"},
			stdout: "package /guest/utils: handy tools\n   (parameters: *region)\n" +
				" action /guest/utils/date: the date\n   (parameters: none defined)\n" +
				" action /guest/utils/echo\n   (parameters: none defined)\n" +
				" feed   /guest/utils/changes\n   (parameters: none defined)\n",
			reqs: []string{`GET /api/v1/namespaces/_/packages/utils`}},
		{name: "trigger create with parameters",
			argv:   []string{"trigger", "create", "tick", "-p", "a", "1"},
			stdout: "ok: created trigger tick\n",
			reqs:   []string{`PUT /api/v1/namespaces/_/triggers/tick?overwrite=false {"parameters":[{"key":"a","value":1}]}`}},
		{name: "trigger create with a feed", setup: withFeeds,
			argv: []string{"trigger", "create", "alarmed", "--feed", "/whisk.system/alarms/alarm", "-p", "cron", "0 * * * *"},
			reqs: []string{
				`PUT /api/v1/namespaces/_/triggers/alarmed?overwrite=false {"annotations":[{"key":"feed","value":"/whisk.system/alarms/alarm"}]}`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true&result=false {"cron":"0 * * * *","lifecycleEvent":"CREATE","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
			}},
		{name: "trigger create with feed and trigger parameters", setup: withFeeds,
			argv: []string{"trigger", "create", "alarmed", "--feed", "/whisk.system/alarms/alarm", "-F", "cron", "1", "-T", "t", "2"},
			reqs: []string{
				`PUT /api/v1/namespaces/_/triggers/alarmed?overwrite=false {"parameters":[{"key":"t","value":2}],"annotations":[{"key":"feed","value":"/whisk.system/alarms/alarm"}]}`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true&result=false {"cron":1,"lifecycleEvent":"CREATE","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
			}},
		{name: "a failing feed deletes its trigger", setup: withFeeds,
			argv:   []string{"trigger", "create", "alarmed", "--feed", "/whisk.system/alarms/fail", "-p", "a", "1"},
			stdout: "ok: deleted trigger alarmed\n",
			reqs: []string{
				`PUT /api/v1/namespaces/_/triggers/alarmed?overwrite=false {"annotations":[{"key":"feed","value":"/whisk.system/alarms/fail"}]}`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/fail?blocking=true&result=false {"a":1,"lifecycleEvent":"CREATE","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
				`GET /api/v1/namespaces/_/triggers/alarmed`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/fail?blocking=true&result=false {"a":1,"lifecycleEvent":"DELETE","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
				`DELETE /api/v1/namespaces/_/triggers/alarmed`,
			}},
		{name: "trigger get reads the feed", setup: withFeedTrigger,
			argv: []string{"trigger", "get", "alarmed"},
			reqs: []string{
				`GET /api/v1/namespaces/_/triggers/alarmed`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true&result=false {"lifecycleEvent":"READ","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
			}},
		{name: "trigger update goes to the feed", setup: withFeedTrigger,
			argv: []string{"trigger", "update", "alarmed", "-p", "cron", "x"},
			reqs: []string{
				`GET /api/v1/namespaces/_/triggers/alarmed`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true&result=false {"cron":"x","lifecycleEvent":"UPDATE","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
			}},
		{name: "trigger delete tells the feed first", setup: withFeedTrigger,
			argv: []string{"trigger", "delete", "alarmed"},
			reqs: []string{
				`GET /api/v1/namespaces/_/triggers/alarmed`,
				`POST /api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true&result=false {"lifecycleEvent":"DELETE","triggerName":"/_/alarmed","authKey":"` + client.GuestAuth + `"}`,
				`DELETE /api/v1/namespaces/_/triggers/alarmed`,
			}},
		{name: "trigger update without a feed", setup: withTrigger,
			argv:   []string{"trigger", "update", "tick", "-a", "k", "v"},
			stdout: "ok: updated trigger tick\n",
			reqs: []string{
				`GET /api/v1/namespaces/_/triggers/tick`,
				`PUT /api/v1/namespaces/_/triggers/tick?overwrite=true {"annotations":[{"key":"k","value":"v"}]}`,
			}},
		{name: "trigger fire", setup: withTrigger,
			argv:   []string{"trigger", "fire", "tick", "-p", "n", "1"},
			stdout: "ok: triggered /_/tick with id 00000000000000000000000000000001\n",
			reqs:   []string{`POST /api/v1/namespaces/_/triggers/tick {"n":1}`}},
		{name: "rule create qualifies its trigger and action", setup: withTrigger,
			argv:   []string{"rule", "create", "r", "tick", "/guest/hello"},
			stdout: "ok: created rule r\n",
			reqs:   []string{`PUT /api/v1/namespaces/_/rules/r?overwrite=false {"trigger":"/_/tick","action":"/guest/hello"}`}},
		{name: "rule delete --disable", setup: withTrigger,
			argv:   []string{"rule", "delete", "every", "--disable"},
			stdout: "ok: deleted rule every\n",
			reqs: []string{
				`POST /api/v1/namespaces/_/rules/every {"status":"inactive"}`,
				`DELETE /api/v1/namespaces/_/rules/every`,
			}},
		{name: "rule list reads each status", setup: withTrigger,
			argv:   []string{"rule", "list"},
			stdout: "rules\n" + pad("/guest/every") + " private              active\n",
			reqs:   []string{`GET /api/v1/namespaces/_/rules?limit=30`, `GET /api/v1/namespaces/_/rules/every`}},
		{name: "rule status", setup: withTrigger,
			argv:   []string{"rule", "status", "every"},
			stdout: "ok: rule every is active\n",
			reqs:   []string{`GET /api/v1/namespaces/_/rules/every`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			r := runFake(t, f, tc.argv...)
			if tc.stdout != "" && r.stdout != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, tc.stdout)
			}
			wantCode := 0
			if strings.Contains(tc.name, "failing") {
				wantCode = 502 - 256
			}
			if r.code != wantCode {
				t.Errorf("exit %d; want %d (stderr %q)", r.code, wantCode, r.stderr)
			}
			got := f.requestLines(0)
			if strings.Join(got, "\n") != strings.Join(tc.reqs, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.reqs, "\n"))
			}
		})
	}
}

func TestFeedLifecycleOutcomes(t *testing.T) {
	f := newFakeAPI(t)
	withFeeds(f)
	r := runFake(t, f, "trigger", "create", "alarmed", "--feed", "/whisk.system/alarms/alarm")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: invoked /whisk.system/alarms/alarm with id 00000000000000000000000000000001\n{\n") ||
		!strings.HasSuffix(r.stdout, "}\nok: created trigger alarmed\n") || r.stderr != "" {
		t.Errorf("create with a feed: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runFake(t, f, "trigger", "get", "alarmed")
	var rec map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rec); r.code != 0 || err != nil || rec["activationId"] != "00000000000000000000000000000002" {
		t.Errorf("get shows the feed's READ answer: %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}

	// A feed that fails: the trigger is deleted again, the activation shown
	// on stderr, the exit status the HTTP status's.
	r = runFake(t, f, "trigger", "create", "broken", "--feed", "/whisk.system/alarms/fail")
	if r.code != 502-256 || r.stdout != "ok: deleted trigger broken\n" || !strings.Contains(r.stderr, `"error": "it failed"`) {
		t.Errorf("failing feed: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	f.mu.Lock()
	_, left := f.triggers["guest/broken"]
	f.mu.Unlock()
	if left {
		t.Error("the trigger of a failing feed was not deleted")
	}

	// A feed that does not exist: the API error is reported.
	r = runFake(t, f, "trigger", "create", "orphan", "--feed", "nope")
	want := "error: Unable to create trigger 'orphan': Unable to configure feed '/_/nope': The requested resource does not exist. (code tid404)\n"
	if r.code != 404-256 || r.stderr != want || r.stdout != "ok: deleted trigger orphan\n" {
		t.Errorf("missing feed: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Bad combinations of flags.
	for argv, want := range map[string]string{
		"trigger create t -F a 1":        "error: Incorrect usage. Trigger without a feed cannot have feed parameters\n",
		"trigger create t -p a 1 -T b 2": "error: Incorrect usage. Cannot combine --feed-param or --trigger-param flag with neither --param nor --param-file flag\n",
	} {
		n := f.requestCount()
		r := runFake(t, f, strings.Fields(argv)...)
		if r.code != exitNotAllowed || r.stderr != want || f.requestCount() != n {
			t.Errorf("%s: %d %q (%d requests)", argv, r.code, r.stderr, f.requestCount()-n)
		}
	}
	r = runFake(t, f, "trigger", "create", "t", "-F", "a")
	if r.code != 1 || r.stderr != "error: Failed to parse arguments: Arguments for '-F' must be a key/value pair\nRun 'gust --help' for usage.\n" {
		t.Errorf("-F without a value: %d %q", r.code, r.stderr)
	}
}

func TestFireWithoutActiveRule(t *testing.T) {
	f := newFakeAPI(t)
	withTrigger(f)
	if r := runFake(t, f, "rule", "disable", "every"); r.code != 0 || r.stdout != "ok: disabled rule every\n" {
		t.Fatalf("disable: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// wsk prints an empty id when no rule is active (the API answers 204).
	r := runFake(t, f, "trigger", "fire", "tick")
	if r.code != 0 || r.stdout != "ok: triggered /_/tick with id \n" {
		t.Errorf("fire: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runFake(t, f, "rule", "enable", "every"); r.code != 0 || r.stdout != "ok: enabled rule every\n" {
		t.Fatalf("enable: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runFake(t, f, "trigger", "fire", "tick")
	if r.code != 0 || r.stdout != "ok: triggered /_/tick with id 00000000000000000000000000000001\n" {
		t.Errorf("fire: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = runFake(t, f, "activation", "logs", "00000000000000000000000000000001")
	want := `{"action":"guest/hello","activationId":"00000000000000000000000000000002","rule":"guest/every","statusCode":0,"success":true}` + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("trigger activation logs: %d\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
}

func TestNamespaceArgument(t *testing.T) {
	f := newFakeAPI(t)
	for _, tc := range []struct{ argv, stderr string }{
		{"trigger list guest", "error: An entity name, 'guest', was provided instead of a namespace. Valid namespaces are of the following format: /NAMESPACE.\nRun 'gust --help' for usage.\n"},
		{"rule list /a /b", "error: Invalid argument(s): /b. An optional namespace is the only valid argument.\nRun 'gust --help' for usage.\n"},
		{"package list /nope", "error: Unable to obtain the list of packages for namespace 'nope': The requested resource does not exist. (code tid404)\n"},
	} {
		r := runFake(t, f, strings.Fields(tc.argv)...)
		if r.code == 0 || r.stderr != tc.stderr {
			t.Errorf("%s: %d %q; want %q", tc.argv, r.code, r.stderr, tc.stderr)
		}
	}
}
