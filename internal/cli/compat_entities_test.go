package cli

import (
	"testing"

	"github.com/gust-faas/gust/client"
)

// Fixtures of the programming model, set up identically in both fakes.

// withPackage: a shared package "utils" with a parameter, two actions and a
// feed.
func withPackage(f *fakeAPI) {
	p := f.addPackage("utils", true, "")
	p.Parameters = p.Parameters.Set("region", "eu")
	p.Annotations = p.Annotations.Set("description", "handy tools")
	d := f.addAction("utils/date", "nodejs:20", "")
	d.Annotations = d.Annotations.Set("description", "the date")
	f.addAction("utils/echo", "python:3.11", "")
	c := f.addAction("utils/changes", "nodejs:20", "")
	c.Annotations = c.Annotations.Set("feed", true)
}

// withFeeds: /whisk.system/alarms with a working feed "alarm", one that
// fails ("fail") and one that does not finish in time ("slow").
func withFeeds(f *fakeAPI) {
	f.addPackage("/whisk.system/alarms", true, "")
	for _, n := range []string{"alarm", "fail", "slow"} {
		f.addAction("/whisk.system/alarms/"+n, "nodejs:20", "")
	}
}

// withTrigger: a trigger "tick" with a parameter, an action "hello" and an
// active rule "every" between them.
func withTrigger(f *fakeAPI) {
	t := f.addTrigger("tick", "")
	t.Parameters = t.Parameters.Set("from", "tick")
	f.addAction("hello", "nodejs:20", "code")
	f.addRule("every", "/guest/tick", "/guest/hello", "active")
}

// withFeedTrigger: withFeeds and a trigger "alarmed" on the alarm feed.
func withFeedTrigger(f *fakeAPI) {
	withFeeds(f)
	f.addTrigger("alarmed", "/whisk.system/alarms/alarm")
}

func programmingModelCases(t *testing.T, hello, params string) []compatCase {
	annFile := writeFile(t, "ann.json", []byte(`{"description": "from a file"}`))
	withFire := func(f *fakeAPI) {
		withTrigger(f)
		runFake(t, f, "trigger", "fire", "tick", "-p", "name", "Fire")
	}
	withSequence := func(f *fakeAPI) {
		f.addAction("hello", "nodejs:20", "code")
		f.addAction("utils/date", "nodejs:20", "")
		f.addAction("seq", "sequence", "/guest/hello,/_/utils/date")
		runFake(t, f, "action", "invoke", "seq", "-b", "-p", "name", "Seq")
	}
	all := func(f *fakeAPI) {
		withPackage(f)
		withTrigger(f)
		f.addTrigger("other", "")
		f.addRule("idle", "/guest/other", "/guest/hello", "inactive")
		f.addPackage("mine", false, "/guest/utils")
	}
	return []compatCase{
		// packages
		{"package create", nil, []string{"package", "create", "utils", "-p", "a", "1", "--shared", "yes", "-a", "description", "my tools"}},
		{"package create private", nil, []string{"package", "create", "/guest/p", "--shared", "no", "-P", params, "-A", annFile}},
		{"package create exists", withPackage, []string{"package", "create", "utils"}},
		{"package create bad shared", nil, []string{"package", "create", "utils", "--shared", "maybe"}},
		{"package create no name", nil, []string{"package", "create"}},
		{"package create too many", nil, []string{"package", "create", "a", "b"}},
		{"package update", withPackage, []string{"package", "update", "utils", "-p", "b", "2", "--shared", "no"}},
		{"package update creates", nil, []string{"package", "update", "fresh"}},
		{"package update missing namespace", nil, []string{"package", "update", "/nope/p"}},
		{"package bind", withFeeds, []string{"package", "bind", "/whisk.system/alarms", "myalarms", "-p", "cron", "* * * * *"}},
		{"package bind local", withPackage, []string{"package", "bind", "utils", "/guest/mine", "-a", "k", "v"}},
		{"package bind exists", func(f *fakeAPI) { withPackage(f); f.addPackage("mine", false, "/guest/utils") }, []string{"package", "bind", "utils", "mine"}},
		{"package bind overwrite", func(f *fakeAPI) { withPackage(f); f.addPackage("mine", false, "/guest/utils") }, []string{"package", "bind", "utils", "mine", "-o"}},
		{"package bind missing", nil, []string{"package", "bind", "nothing", "mine"}},
		{"package bind one arg", nil, []string{"package", "bind", "utils"}},
		{"package get", withPackage, []string{"package", "get", "utils"}},
		{"package get summary", withPackage, []string{"package", "get", "utils", "-s"}},
		{"package get summary bare", func(f *fakeAPI) { f.addPackage("bare", false, "") }, []string{"package", "get", "bare", "--summary"}},
		{"package get field", withPackage, []string{"package", "get", "utils", "parameters"}},
		{"package get field publish", withPackage, []string{"package", "get", "utils", "Publish"}},
		{"package get field binding", withPackage, []string{"package", "get", "utils", "binding"}},
		{"package get field actions", withPackage, []string{"package", "get", "utils", "actions"}},
		{"package get bad field", withPackage, []string{"package", "get", "utils", "nope"}},
		{"package get binding", func(f *fakeAPI) { withPackage(f); f.addPackage("mine", false, "/guest/utils") }, []string{"package", "get", "mine"}},
		{"package get missing", nil, []string{"package", "get", "nope"}},
		{"package get bad name", nil, []string{"package", "get", "/"}},
		{"package delete not empty", withPackage, []string{"package", "delete", "utils"}},
		{"package delete", func(f *fakeAPI) { f.addPackage("bare", false, "") }, []string{"package", "delete", "bare"}},
		{"package delete missing", nil, []string{"package", "delete", "nope"}},
		{"package list", all, []string{"package", "list"}},
		{"package list sorted", func(f *fakeAPI) { all(f); f.addPackage("Alpha", false, "") }, []string{"package", "list", "-n"}},
		{"package list empty", nil, []string{"package", "list"}},
		{"package list namespace", withFeeds, []string{"package", "list", "/whisk.system", "--limit", "5", "--skip", "0"}},
		{"package list entity", nil, []string{"package", "list", "guest"}},
		{"package list unknown namespace", nil, []string{"package", "list", "/nope"}},
		{"package list too many", nil, []string{"package", "list", "/a", "/b"}},
		{"package refresh unsupported", nil, []string{"package", "refresh"}},
		{"package refresh", func(f *fakeAPI) {
			f.refresh = &client.BindingUpdates{Added: []string{"guest/a"}, Deleted: []string{"guest/b", "guest/c"}}
		}, []string{"package", "refresh", "/guest"}},
		{"package refresh entity", nil, []string{"package", "refresh", "x"}},

		// triggers
		{"trigger create", nil, []string{"trigger", "create", "tick", "-p", "a", "1", "-a", "description", "ticks"}},
		{"trigger create files", nil, []string{"trigger", "create", "/guest/tick", "-P", params, "-A", annFile}},
		{"trigger create exists", withTrigger, []string{"trigger", "create", "tick"}},
		{"trigger create no name", nil, []string{"trigger", "create"}},
		{"trigger create feed", withFeeds, []string{"trigger", "create", "alarmed", "--feed", "/whisk.system/alarms/alarm", "-p", "cron", "*/5 * * * *", "-a", "k", "v"}},
		{"trigger create feed failing", withFeeds, []string{"trigger", "create", "alarmed", "-f", "/whisk.system/alarms/fail", "-p", "cron", "x"}},
		{"trigger create feed slow", withFeeds, []string{"trigger", "create", "alarmed", "-f", "/whisk.system/alarms/slow"}},
		{"trigger create feed missing", nil, []string{"trigger", "create", "alarmed", "--feed", "nope"}},
		{"trigger create feed bad name", nil, []string{"trigger", "create", "alarmed", "--feed", "/"}},
		{"trigger create feed params", withFeeds, []string{"trigger", "create", "alarmed", "--feed", "whisk.system/alarms/alarm", "-F", "cron", "0 * * * *", "-T", "payload", `{"x":1}`}},
		{"trigger create trigger params", nil, []string{"trigger", "create", "tick", "-T", "a", "1", "-a", "k", "v"}},
		{"trigger create feed params without feed", nil, []string{"trigger", "create", "tick", "-F", "a", "1"}},
		{"trigger create mixed params", withFeeds, []string{"trigger", "create", "tick", "-p", "a", "1", "-F", "b", "2"}},
		{"trigger create bad feed param", nil, []string{"trigger", "create", "tick", "-F", "a"}},
		{"trigger update", withTrigger, []string{"trigger", "update", "tick", "-p", "a", "2", "-a", "description", "updated"}},
		{"trigger update creates", nil, []string{"trigger", "update", "fresh", "-p", "a", "1"}},
		{"trigger update feed", withFeedTrigger, []string{"trigger", "update", "alarmed", "-p", "cron", "1 * * * *", "-a", "ignored", "yes"}},
		{"trigger update feed params", withFeedTrigger, []string{"trigger", "update", "alarmed", "-F", "cron", "2 * * * *", "-T", "t", "1"}},
		{"trigger update trigger params", withTrigger, []string{"trigger", "update", "tick", "-T", "t", "1"}},
		{"trigger update feed params without feed", withTrigger, []string{"trigger", "update", "tick", "-F", "a", "1"}},
		{"trigger update failing feed", func(f *fakeAPI) { withFeeds(f); f.addTrigger("alarmed", "/whisk.system/alarms/fail") }, []string{"trigger", "update", "alarmed", "-p", "a", "1"}},
		{"trigger update missing feed", func(f *fakeAPI) { f.addTrigger("alarmed", "/whisk.system/alarms/gone") }, []string{"trigger", "update", "alarmed"}},
		{"trigger get", withTrigger, []string{"trigger", "get", "tick"}},
		{"trigger get summary", withTrigger, []string{"trigger", "get", "tick", "-s"}},
		{"trigger get field", withTrigger, []string{"trigger", "get", "tick", "parameters"}},
		{"trigger get field rules", withTrigger, []string{"trigger", "get", "tick", "rules"}},
		{"trigger get field limits", withTrigger, []string{"trigger", "get", "/guest/tick", "limits"}},
		{"trigger get bad field", withTrigger, []string{"trigger", "get", "tick", "nope"}},
		{"trigger get missing", nil, []string{"trigger", "get", "nope"}},
		{"trigger get feed", withFeedTrigger, []string{"trigger", "get", "alarmed"}},
		{"trigger get failing feed", func(f *fakeAPI) { withFeeds(f); f.addTrigger("alarmed", "/whisk.system/alarms/fail") }, []string{"trigger", "get", "alarmed"}},
		{"trigger get missing feed", func(f *fakeAPI) { f.addTrigger("alarmed", "/whisk.system/alarms/gone") }, []string{"trigger", "get", "alarmed"}},
		{"trigger delete", withTrigger, []string{"trigger", "delete", "tick"}},
		{"trigger delete feed", withFeedTrigger, []string{"trigger", "delete", "alarmed"}},
		{"trigger delete missing feed", func(f *fakeAPI) { f.addTrigger("alarmed", "/whisk.system/alarms/gone") }, []string{"trigger", "delete", "alarmed"}},
		{"trigger delete missing", nil, []string{"trigger", "delete", "nope"}},
		{"trigger list", all, []string{"trigger", "list"}},
		{"trigger list sorted", all, []string{"trigger", "list", "-n", "/guest"}},
		{"trigger list empty", nil, []string{"trigger", "list"}},
		{"trigger fire", withTrigger, []string{"trigger", "fire", "tick", "-p", "name", "Fire", "-P", params}},
		{"trigger fire no rule", func(f *fakeAPI) { f.addTrigger("lonely", "") }, []string{"trigger", "fire", "lonely"}},
		{"trigger fire missing", nil, []string{"trigger", "fire", "nope"}},
		{"trigger fire no name", nil, []string{"trigger", "fire"}},

		// rules
		{"rule create", withTrigger, []string{"rule", "create", "r", "tick", "hello"}},
		{"rule create qualified", withTrigger, []string{"rule", "create", "/guest/r", "/guest/tick", "guest/utils/hello"}},
		{"rule create exists", withTrigger, []string{"rule", "create", "every", "tick", "hello"}},
		{"rule create missing trigger", withTrigger, []string{"rule", "create", "r", "nope", "hello"}},
		{"rule create two args", nil, []string{"rule", "create", "r", "tick"}},
		{"rule update", func(f *fakeAPI) { withTrigger(f); f.addAction("other", "nodejs:20", "") }, []string{"rule", "update", "every", "tick", "other"}},
		{"rule enable", withTrigger, []string{"rule", "enable", "every"}},
		{"rule disable", withTrigger, []string{"rule", "disable", "every"}},
		{"rule disable missing", nil, []string{"rule", "disable", "nope"}},
		{"rule status", all, []string{"rule", "status", "idle"}},
		{"rule status missing", nil, []string{"rule", "status", "nope"}},
		{"rule get", withTrigger, []string{"rule", "get", "every"}},
		{"rule get summary", all, []string{"rule", "get", "idle", "-s"}},
		{"rule get field", withTrigger, []string{"rule", "get", "every", "action"}},
		{"rule get field status", withTrigger, []string{"rule", "get", "every", "status"}},
		{"rule get bad field", withTrigger, []string{"rule", "get", "every", "nope"}},
		{"rule get missing", nil, []string{"rule", "get", "nope"}},
		{"rule delete", withTrigger, []string{"rule", "delete", "every"}},
		{"rule delete disable", withTrigger, []string{"rule", "delete", "every", "--disable"}},
		{"rule delete missing", nil, []string{"rule", "delete", "nope"}},
		{"rule list", all, []string{"rule", "list"}},
		{"rule list sorted", all, []string{"rule", "list", "-n"}},
		{"rule list empty", nil, []string{"rule", "list"}},

		// actions in the programming model
		{"action list package", withPackage, []string{"action", "list", "utils"}},
		{"action list package qualified", withPackage, []string{"action", "list", "/guest/utils", "-n"}},
		{"action get url package", withPackage, []string{"action", "get", "utils/date", "--url"}},
		{"action get url web package", func(f *fakeAPI) {
			withPackage(f)
			runFake(t, f, "action", "update", "utils/date", "--web", "raw")
		}, []string{"action", "get", "/guest/utils/date", "-r"}},
		{"action create web secure", nil, []string{"action", "create", "w", hello, "--web", "yes", "--web-secure", "s3cret"}},
		{"action update web secure off", func(f *fakeAPI) {
			runFake(t, f, "action", "create", "w", hello, "--web", "true", "--web-secure", "s3cret")
		}, []string{"action", "update", "w", "--web-secure", "false"}},
		{"action create sequence qualified", withSequence, []string{"action", "create", "seq2", "--sequence", "/guest/hello,utils/date,whisk.system/alarms/alarm"}},
		{"action get sequence", withSequence, []string{"action", "get", "seq"}},
		{"action invoke sequence", withSequence, []string{"action", "invoke", "seq", "-b"}},

		// activations of triggers and sequences
		{"activation list fired", withFire, []string{"activation", "list"}},
		{"activation get trigger", withFire, []string{"activation", "get", "00000000000000000000000000000001"}},
		{"activation logs trigger", withFire, []string{"activation", "logs", "00000000000000000000000000000001"}},
		{"activation logs trigger strip", withFire, []string{"activation", "logs", "00000000000000000000000000000001", "--strip"}},
		{"activation result trigger", withFire, []string{"activation", "result", "00000000000000000000000000000001"}},
		{"activation get trigger summary", withFire, []string{"activation", "get", "00000000000000000000000000000001", "-s"}},
		{"activation list full fired", withFire, []string{"activation", "list", "--full"}},
		{"activation list sequence", withSequence, []string{"activation", "list"}},
		{"activation get sequence", withSequence, []string{"activation", "get", "00000000000000000000000000000001"}},
		{"activation get sequence logs", withSequence, []string{"activation", "get", "00000000000000000000000000000001", "logs"}},
		{"activation logs sequence", withSequence, []string{"activation", "logs", "00000000000000000000000000000001"}},
		{"activation get component", withSequence, []string{"activation", "get", "00000000000000000000000000000002"}},

		// everything
		{"list everything", all, []string{"list"}},
		{"list everything sorted", all, []string{"list", "--name-sort"}},
		{"namespace get everything", all, []string{"namespace", "get"}},
		{"namespace get default", all, []string{"namespace", "get", "/_"}},
	}
}
