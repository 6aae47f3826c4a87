package controller

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gust-faas/gust/internal/bus"
	"github.com/gust-faas/gust/store"
	"github.com/gust-faas/gust/whisk"
)

// alarmConfig is testConfig with a short leader lease, so that takeovers
// after a crash take about a second.
func alarmConfig() Config {
	cfg := testConfig()
	cfg.AlarmLeaseTTL = time.Second
	cfg.ComponentCacheTTL = time.Millisecond
	return cfg
}

// startNATSIn runs a nats-server with JetStream in dir; stop shuts it down
// (the test's end does too).
func startNATSIn(tb testing.TB, dir string) (srv *server.Server, stop func()) {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true,
	})
	if err != nil {
		tb.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server not ready")
	}
	stop = func() { srv.Shutdown(); srv.WaitForShutdown() }
	tb.Cleanup(stop)
	return srv, stop
}

// feedResult is an alarms feed's answer.
type feedResult struct {
	Error      string `json:"error"`
	StatusCode int    `json:"statusCode"`
}

var feedIDs = func() func() string {
	n := 0
	return func() string {
		n++
		return strings.Repeat("f", 24) + strings.Repeat("0", 8-len(itoa(n))) + itoa(n)
	}
}()

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// invokeFeed invokes /whisk.system/alarms/<feed> blocking as the CLI does,
// on behalf of guest, and returns the record and its decoded result.
func invokeFeed(t *testing.T, c *Controller, feed string, args map[string]any) (*whisk.Activation, feedResult, map[string]any) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	msg := &bus.ActivationMessage{
		ActivationID: feedIDs(), Namespace: "guest", Subject: "guest", Args: raw, Blocking: true,
		Action: &whisk.Action{Namespace: "whisk.system/alarms", Name: feed, Version: "0.0.1",
			Exec: whisk.Exec{Kind: whisk.KindBuiltin, Main: "alarms/" + feed}, Limits: whisk.DefaultLimits()},
	}
	rec, err := c.Invoke(context.Background(), msg, time.Minute)
	if err != nil || rec == nil {
		t.Fatalf("invoke feed %s %v: %v, %v", feed, args, rec, err)
	}
	var res feedResult
	var all map[string]any
	if err := json.Unmarshal(rec.Response.Result, &res); err != nil {
		t.Fatalf("feed result %s: %v", rec.Response.Result, err)
	}
	_ = json.Unmarshal(rec.Response.Result, &all)
	return rec, res, all
}

// lifecycle builds a feed invocation's arguments for trigger t of guest.
func lifecycle(event, trigger string, params ...any) map[string]any {
	m := map[string]any{"lifecycleEvent": event, "triggerName": "/_/" + trigger, "authKey": "uuid:key"}
	for i := 0; i+1 < len(params); i += 2 {
		m[params[i].(string)] = params[i+1]
	}
	return m
}

// mustFeed invokes a feed that must succeed.
func mustFeed(t *testing.T, c *Controller, feed string, args map[string]any) map[string]any {
	t.Helper()
	rec, res, all := invokeFeed(t, c, feed, args)
	if rec.StatusCode != whisk.StatusSuccess || res.Error != "" {
		t.Fatalf("feed %s %v: status %d, result %s", feed, args, rec.StatusCode, rec.Response.Result)
	}
	return all
}

func TestAlarmFeedLifecycle(t *testing.T) {
	srv := startNATS(t)
	st := openFireStore(t)
	c, _ := runStoreController(t, srv, st, alarmConfig())
	putTrigger(t, st, "guest", "t", nil)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UnixMilli()

	bad := []struct {
		name, feed string
		args       map[string]any
		status     int
		msg        string
	}{
		{"malformed cron", "alarm", lifecycle("CREATE", "t", "cron", "every day"), 400, "cron pattern 'every day' is not valid"},
		{"cron out of range", "alarm", lifecycle("CREATE", "t", "cron", "61 * * * *"), 400, "is not valid"},
		{"no cron", "alarm", lifecycle("CREATE", "t"), 400, "missing the cron parameter"},
		{"bad timezone", "alarm", lifecycle("CREATE", "t", "cron", "* * * * *", "timezone", "Mars/Olympus"), 400, "timezone 'Mars/Olympus' is not valid"},
		{"stop before start", "alarm", lifecycle("CREATE", "t", "cron", "* * * * *", "startDate", time.Now().Add(2*time.Hour).UnixMilli(), "stopDate", future), 400, "must be greater than the startDate"},
		{"past stop", "alarm", lifecycle("CREATE", "t", "cron", "* * * * *", "stopDate", past), 400, "must be in the future"},
		{"no minutes", "interval", lifecycle("CREATE", "t"), 400, "missing the minutes parameter"},
		{"fractional minutes", "interval", lifecycle("CREATE", "t", "minutes", 1.5), 400, "must be an integer"},
		{"zero seconds", "interval", lifecycle("CREATE", "t", "seconds", "0"), 400, "greater than zero"},
		{"minutes and seconds", "interval", lifecycle("CREATE", "t", "minutes", 1, "seconds", 1), 400, "not both"},
		{"no date", "once", lifecycle("CREATE", "t"), 400, "missing the date parameter"},
		{"past date", "once", lifecycle("CREATE", "t", "date", past), 400, "must be in the future"},
		{"bad date", "once", lifecycle("CREATE", "t", "date", "soon"), 400, "is not a valid Date"},
		{"bad deleteAfterFire", "once", lifecycle("CREATE", "t", "date", future, "deleteAfterFire", "maybe"), 400, "must be one of [false, true, rules]"},
		{"array payload", "alarm", lifecycle("CREATE", "t", "cron", "* * * * *", "trigger_payload", []int{1}), 400, "trigger_payload"},
		{"missing trigger", "alarm", lifecycle("CREATE", "nope", "cron", "* * * * *"), 404, "trigger /guest/nope does not exist"},
		{"another namespace", "alarm", map[string]any{"lifecycleEvent": "CREATE", "triggerName": "/other/t", "cron": "* * * * *"}, 403, "not authorized"},
		{"no trigger name", "alarm", map[string]any{"lifecycleEvent": "CREATE", "cron": "* * * * *"}, 400, "no trigger name"},
		{"unknown event", "alarm", lifecycle("RESTART", "t"), 400, "unsupported lifecycleEvent"},
		{"read missing", "alarm", lifecycle("READ", "t"), 404, "no alarm is configured"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			rec, res, _ := invokeFeed(t, c, tc.feed, tc.args)
			if rec.StatusCode != whisk.StatusApplicationError || res.StatusCode != tc.status || !strings.Contains(res.Error, tc.msg) {
				t.Errorf("status %d, result %s; want an application error %d containing %q", rec.StatusCode, rec.Response.Result, tc.status, tc.msg)
			}
		})
	}
	if _, err := c.alarms.specs.Get(context.Background(), alarmKey("guest", "t")); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("a failed CREATE left an alarm: %v", err)
	}

	// CREATE, READ, UPDATE, PAUSE, UNPAUSE, DELETE.
	res := mustFeed(t, c, "alarm", lifecycle("CREATE", "t", "cron", "0 2 * * 7", "timezone", "Europe/Berlin", "trigger_payload", "hi"))
	if res["status"] != "success" {
		t.Errorf("CREATE result %v", res)
	}
	read := func() (config, status map[string]any) {
		t.Helper()
		r := mustFeed(t, c, "alarm", lifecycle("READ", "t"))
		config, _ = r["config"].(map[string]any)
		status, _ = r["status"].(map[string]any)
		return config, status
	}
	config, status := read()
	if config["cron"] != "0 2 * * 7" || config["timezone"] != "Europe/Berlin" || config["name"] != "t" || config["namespace"] != "guest" {
		t.Errorf("READ config %v", config)
	}
	if p, _ := config["payload"].(map[string]any); p["payload"] != "hi" {
		t.Errorf("READ payload %v, want a string payload wrapped as {payload}", config["payload"])
	}
	if status["active"] != true {
		t.Errorf("READ status %v", status)
	}
	mustFeed(t, c, "alarm", lifecycle("UPDATE", "t", "cron", "*/5 * * * *"))
	if config, _ := read(); config["cron"] != "*/5 * * * *" || config["timezone"] != "Europe/Berlin" {
		t.Errorf("after UPDATE: %v", config)
	}
	if rec, res, _ := invokeFeed(t, c, "alarm", lifecycle("UPDATE", "t")); rec.StatusCode != 1 || !strings.Contains(res.Error, "no updatable parameters") {
		t.Errorf("empty UPDATE: %s", rec.Response.Result)
	}
	if rec, res, _ := invokeFeed(t, c, "interval", lifecycle("UPDATE", "t", "minutes", 2)); rec.StatusCode != 1 || !strings.Contains(res.Error, "configured by the alarm feed") {
		t.Errorf("UPDATE through another feed: %s", rec.Response.Result)
	}
	mustFeed(t, c, "alarm", lifecycle("PAUSE", "t"))
	if _, status := read(); status["active"] != false || status["reason"] != "paused" {
		t.Errorf("after PAUSE: %v", status)
	}
	mustFeed(t, c, "alarm", lifecycle("UNPAUSE", "t"))
	if _, status := read(); status["active"] != true {
		t.Errorf("after UNPAUSE: %v", status)
	}
	mustFeed(t, c, "alarm", lifecycle("DELETE", "t"))
	if rec, res, _ := invokeFeed(t, c, "alarm", lifecycle("READ", "t")); rec.StatusCode != 1 || res.StatusCode != 404 {
		t.Errorf("READ after DELETE: %s", rec.Response.Result)
	}
	mustFeed(t, c, "alarm", lifecycle("DELETE", "t")) // idempotent, as wsk trigger delete needs

	// The feed's record is stored, as an invoker would store it.
	rec, _, _ := invokeFeed(t, c, "once", lifecycle("CREATE", "t", "date", future, "deleteAfterFire", true))
	stored, err := st.GetActivation(context.Background(), "guest", rec.ActivationID)
	if err != nil || stored.Name != "once" || string(stored.Annotations.Get(whisk.AnnPath)) != `"whisk.system/alarms/once"` {
		t.Errorf("stored feed record %+v, %v", stored, err)
	}
}

func TestBuiltinRefusedOutsideWhiskSystem(t *testing.T) {
	srv := startNATS(t)
	c, _ := runStoreController(t, srv, openFireStore(t), alarmConfig())
	msg := &bus.ActivationMessage{ActivationID: feedIDs(), Namespace: "guest", Blocking: true, Args: json.RawMessage(`{}`),
		Action: &whisk.Action{Namespace: "guest", Name: "x", Exec: whisk.Exec{Kind: whisk.KindBuiltin, Main: BuiltinAlarm}}}
	rec, err := c.Invoke(context.Background(), msg, time.Minute)
	if err != nil || rec.StatusCode != whisk.StatusDeveloperError {
		t.Errorf("a builtin outside whisk.system: %v, %v; want a developer error", rec, err)
	}
}

// alarmWorld is a trigger t of guest with one active rule to action a.
func alarmWorld(t *testing.T, st store.Store) {
	putTrigger(t, st, "guest", "t", whisk.KeyValues{}.Set("from", "trigger"))
	putNodeAction(t, st, "guest", "a", nil, nil)
	putRule(t, st, "guest", "r", "t", "a", whisk.RuleActive)
}

// checkPeriods finds the scheduled period of each fire of the interval
// alarm of guest/t from its id (alarmFireID), and fails unless the periods
// of consecutive fires (oldest first) strictly increase (no double fire)
// by at most two (no fire missed beyond one period). Periods, not wall
// clock gaps: a fire delayed by a loaded machine is still on schedule.
func checkPeriods(t *testing.T, c *Controller, recs []*whisk.Activation) {
	t.Helper()
	e, err := c.alarms.specs.Get(context.Background(), alarmKey("guest", "t"))
	if err != nil {
		t.Fatalf("the alarm: %v", err)
	}
	spec := new(alarmSpec)
	if err := json.Unmarshal(e.Value(), spec); err != nil {
		t.Fatal(err)
	}
	sc, err := spec.schedule()
	if err != nil || sc.period == 0 {
		t.Fatalf("not an interval alarm: %+v, %v", spec, err)
	}
	periods := make([]int64, 0, len(recs))
	for _, r := range recs {
		k := int64(-1)
		for i := int64(0); i < 10_000 && k < 0; i++ {
			if alarmFireID(spec, sc.first+i*sc.period) == r.ActivationID {
				k = i
			}
		}
		if k < 0 {
			t.Fatalf("fire %s matches no period of the alarm", r.ActivationID)
		}
		periods = append(periods, k)
	}
	for i := 1; i < len(periods); i++ {
		if d := periods[i] - periods[i-1]; d < 1 || d > 2 {
			t.Errorf("fires of periods %v: %d follows %d", periods, periods[i], periods[i-1])
		}
	}
}

func TestAlarmIntervalFiresRepeatedly(t *testing.T) {
	t.Parallel() // mostly waiting for the clock
	srv := startNATS(t)
	st := openFireStore(t)
	c, _ := runStoreController(t, srv, st, alarmConfig())
	run := startAsyncRunner(t, srv, st)
	alarmWorld(t, st)

	mustFeed(t, c, "interval", lifecycle("CREATE", "t", "seconds", 1, "trigger_payload", map[string]any{"n": 7}))
	eventually(t, 8*time.Second, "three fires", func() bool { return len(triggerRecords(t, st, "guest", "t")) >= 3 })
	recs := triggerRecords(t, st, "guest", "t")
	checkPeriods(t, c, recs)
	for _, r := range recs {
		en := entries(t, r)
		if len(en) != 1 || !en[0].Success {
			t.Fatalf("fire %s: entries %v", r.ActivationID, r.Logs)
		}
		eventually(t, 5*time.Second, "the rule's action ran", func() bool { return run.ran(en[0].ActivationID) == 1 })
		var args map[string]any
		_ = json.Unmarshal(run.message(en[0].ActivationID).Args, &args)
		if args["n"] != 7.0 || args["from"] != "trigger" {
			t.Errorf("the action got %v, want the payload over the trigger's parameters", args)
		}
	}
	if !c.alarms.leader.Load() || c.alarms.fired.Load() < 3 {
		t.Errorf("leader %v, fired %d", c.alarms.leader.Load(), c.alarms.fired.Load())
	}

	// PAUSE stops the fires, UNPAUSE resumes them without catching up.
	mustFeed(t, c, "interval", lifecycle("PAUSE", "t"))
	time.Sleep(200 * time.Millisecond) // a fire in progress lands
	n := len(triggerRecords(t, st, "guest", "t"))
	time.Sleep(1500 * time.Millisecond)
	if m := len(triggerRecords(t, st, "guest", "t")); m != n {
		t.Errorf("%d fires while paused", m-n)
	}
	mustFeed(t, c, "interval", lifecycle("UNPAUSE", "t"))
	eventually(t, 3*time.Second, "a fire after UNPAUSE", func() bool { return len(triggerRecords(t, st, "guest", "t")) > n })

	// A trigger deleted behind the feed's back takes its alarm along.
	if err := st.DeleteEntity(context.Background(), store.Key{Namespace: "guest", Collection: store.Triggers, Name: "t"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 4*time.Second, "the alarm of a deleted trigger is deleted", func() bool {
		_, err := c.alarms.specs.Get(context.Background(), alarmKey("guest", "t"))
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
}

func TestAlarmOnceDeletesTriggerAndRules(t *testing.T) {
	t.Parallel() // mostly waiting for the clock
	srv := startNATS(t)
	st := openFireStore(t)
	c, _ := runStoreController(t, srv, st, alarmConfig())
	startAsyncRunner(t, srv, st)
	alarmWorld(t, st)
	at := time.Now().Add(1200 * time.Millisecond)
	mustFeed(t, c, "once", lifecycle("CREATE", "t", "date", at.UnixMilli(), "deleteAfterFire", "rules"))
	eventually(t, 6*time.Second, "the once alarm fired", func() bool { return len(triggerRecords(t, st, "guest", "t")) == 1 })
	if r := triggerRecords(t, st, "guest", "t")[0]; r.Start < at.UnixMilli() {
		t.Errorf("fired at %d, before its date %d", r.Start, at.UnixMilli())
	}
	ctx := context.Background()
	eventually(t, 3*time.Second, "trigger, rule and alarm deleted", func() bool {
		_, terr := st.GetEntity(ctx, store.Key{Namespace: "guest", Collection: store.Triggers, Name: "t"})
		_, rerr := st.GetEntity(ctx, store.Key{Namespace: "guest", Collection: store.Rules, Name: "r"})
		_, aerr := c.alarms.specs.Get(ctx, alarmKey("guest", "t"))
		return errors.Is(terr, store.ErrNotFound) && errors.Is(rerr, store.ErrNotFound) && errors.Is(aerr, jetstream.ErrKeyNotFound)
	})
	if _, err := st.GetEntity(ctx, store.Key{Namespace: "guest", Collection: store.Actions, Name: "a"}); err != nil {
		t.Errorf("the action went too: %v", err)
	}
}

// TestAlarmSurvivesRestart stops the controller and the NATS server and
// starts them again on the same JetStream directory and store: the alarm
// keeps firing, no fire is repeated and none is missed beyond one period.
func TestAlarmSurvivesRestart(t *testing.T) {
	t.Parallel() // mostly waiting for the clock
	dir := t.TempDir()
	st := openFireStore(t)
	alarmWorld(t, st)

	srv1, stopNATS1 := startNATSIn(t, dir)
	c1, stop1 := runStoreController(t, srv1, st, alarmConfig())
	startAsyncRunner(t, srv1, st)
	mustFeed(t, c1, "interval", lifecycle("CREATE", "t", "seconds", 1))
	eventually(t, 8*time.Second, "three fires before the restart", func() bool { return len(triggerRecords(t, st, "guest", "t")) >= 3 })
	stop1()
	stopNATS1()
	before := len(triggerRecords(t, st, "guest", "t"))

	srv2, _ := startNATSIn(t, dir)
	c2, stop2 := runStoreController(t, srv2, st, alarmConfig())
	startAsyncRunner(t, srv2, st)
	eventually(t, 8*time.Second, "three fires after the restart", func() bool { return len(triggerRecords(t, st, "guest", "t")) >= before+3 })
	stop2()

	recs := triggerRecords(t, st, "guest", "t")
	checkPeriods(t, c2, recs)
	if fired := c1.alarms.fired.Load() + c2.alarms.fired.Load(); fired != int64(len(recs)) {
		t.Errorf("the controllers fired %d times, %d fires recorded", fired, len(recs))
	}
}

// TestAlarmNoRepeatAfterLeaderCrash: a leader that fired but died before
// recording its progress leaves the fire's record; the next leader finds
// it and does not fire that time again.
func TestAlarmNoRepeatAfterLeaderCrash(t *testing.T) {
	t.Parallel() // mostly waiting for the clock
	srv := startNATS(t)
	st := openFireStore(t)
	alarmWorld(t, st)
	ctx := context.Background()
	// Bring up the buckets with a controller whose scheduler has nothing
	// to do, then stop it.
	_, stop := runStoreController(t, srv, st, alarmConfig())
	stop()

	now := time.Now().UnixMilli()
	spec := &alarmSpec{V: 1, Namespace: "guest", Trigger: "t", Feed: feedInterval, Gen: "g1", Seconds: 3,
		Payload: json.RawMessage(`{}`), Active: true, Created: now - 3500, Changed: now - 3500}
	first := spec.Created + 3000 // due 500 ms ago
	data, _ := json.Marshal(spec)
	js, err := jetstream.New(connect(t, srv))
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, alarmsBucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, alarmKey("guest", "t"), data); err != nil {
		t.Fatal(err)
	}
	// The crashed leader's fire of `first`: its record exists.
	crashed := &whisk.Activation{Namespace: "guest", Name: "t", ActivationID: alarmFireID(spec, first), Start: first,
		Response: whisk.NewResponse(0, json.RawMessage(`{}`)), Logs: []string{}}
	if err := st.PutActivation(ctx, crashed); err != nil {
		t.Fatal(err)
	}

	c, _ := runStoreController(t, srv, st, alarmConfig())
	run := startAsyncRunner(t, srv, st)
	next := alarmFireID(spec, first+3000)
	eventually(t, 6*time.Second, "the next period's fire", func() bool {
		_, err := st.GetActivation(ctx, "guest", next)
		return err == nil
	})
	if recs := triggerRecords(t, st, "guest", "t"); len(recs) != 2 {
		t.Errorf("%d trigger records, want the crashed leader's and the next one", len(recs))
	}
	if n := run.ran(RuleActivationID(crashed.ActivationID, "guest/r")); n != 0 {
		t.Errorf("the crashed leader's fire ran again (%d)", n)
	}
	if c.alarms.fired.Load() != 1 {
		t.Errorf("fired %d times, want 1", c.alarms.fired.Load())
	}
}

// TestAlarmOneLeader runs two controllers: one schedules; when it stops,
// or dies without releasing its lease, the other takes over within
// seconds.
func TestAlarmOneLeader(t *testing.T) {
	t.Parallel() // mostly waiting for the clock
	srv := startNATS(t)
	st := openFireStore(t)
	alarmWorld(t, st)
	a, stopA := runStoreController(t, srv, st, alarmConfig())
	cfgB := alarmConfig()
	cfgB.ID = "test-b"
	b, stopB := runStoreController(t, srv, st, cfgB)
	startAsyncRunner(t, srv, st)

	leaders := func() int {
		n := 0
		for _, c := range []*Controller{a, b} {
			if c.alarms.leader.Load() {
				n++
			}
		}
		return n
	}
	eventually(t, 5*time.Second, "a leader", func() bool { return leaders() == 1 })
	for range 50 { // sampled for a second: never two
		if n := leaders(); n != 1 {
			t.Fatalf("%d leaders", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	leader, follower, stopLeader := a, b, stopA
	if b.alarms.leader.Load() {
		leader, follower, stopLeader = b, a, stopB
	}
	mustFeed(t, follower, "interval", lifecycle("CREATE", "t", "seconds", 1)) // any controller serves the feed
	eventually(t, 6*time.Second, "two fires", func() bool { return len(triggerRecords(t, st, "guest", "t")) >= 2 })
	if follower.alarms.fired.Load() != 0 {
		t.Errorf("the follower fired %d times", follower.alarms.fired.Load())
	}

	// The leader stops: it releases its lease and the follower takes over.
	stopLeader()
	took := time.Now()
	eventually(t, 3*time.Second, "the follower takes over", func() bool { return follower.alarms.leader.Load() })
	t.Logf("takeover after a clean stop: %v", time.Since(took))
	n := len(triggerRecords(t, st, "guest", "t"))
	eventually(t, 4*time.Second, "fires from the new leader", func() bool { return len(triggerRecords(t, st, "guest", "t")) >= n+2 })
	if follower.alarms.fired.Load() < 2 {
		t.Errorf("the new leader fired %d times", follower.alarms.fired.Load())
	}
	if leader.alarms.leader.Load() {
		t.Error("the stopped controller still leads")
	}

	// A third controller; the leader dies without releasing its lease (its
	// connection drops): the third takes over once the lease expires.
	cfgC := alarmConfig()
	cfgC.ID = "test-c"
	c3, _ := runStoreController(t, srv, st, cfgC)
	time.Sleep(300 * time.Millisecond)
	if c3.alarms.leader.Load() {
		t.Fatal("the third controller leads while another holds the lease")
	}
	follower.nc.Close()
	took = time.Now()
	eventually(t, 5*time.Second, "the third controller takes over an expired lease", func() bool { return c3.alarms.leader.Load() })
	t.Logf("takeover after a crash: %v", time.Since(took))
	eventually(t, 3*time.Second, "the dead leader steps down", func() bool { return !follower.alarms.leader.Load() })
	n = len(triggerRecords(t, st, "guest", "t"))
	eventually(t, 4*time.Second, "fires from the third controller", func() bool { return len(triggerRecords(t, st, "guest", "t")) >= n+2 })
	checkPeriods(t, c3, triggerRecords(t, st, "guest", "t"))
}

func TestAlarmSchedule(t *testing.T) {
	ms := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	compile := func(s alarmSpec) *alarmSchedule {
		sc, err := s.schedule()
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		return sc
	}
	every := compile(alarmSpec{Feed: feedInterval, Seconds: 1, Created: 0})
	start := compile(alarmSpec{Feed: feedInterval, Minutes: 1, StartDate: 5000})
	stopped := compile(alarmSpec{Feed: feedInterval, Seconds: 1, StopDate: 2500})
	twoSec := compile(alarmSpec{Feed: feedAlarm, Cron: "*/2 * * * * *"})
	berlin := compile(alarmSpec{Feed: feedAlarm, Cron: "0 2 * * 7", Timezone: "Europe/Berlin"})
	once := compile(alarmSpec{Feed: feedOnce, Date: 5000})
	for _, tc := range []struct {
		name     string
		sc       *alarmSchedule
		after    int64
		next     int64
		now, due int64
	}{
		{"interval first", every, 0, 1000, 3500, 3000},
		{"interval on a fire", every, 1000, 2000, 1999, 0},
		{"interval between", every, 1500, 2000, 2000, 2000},
		{"start date", start, 0, 5000, 70_000, 65_000},
		{"stop date", stopped, 2000, 0, 10_000, 0},
		{"stop date catch-up", stopped, 0, 1000, 10_000, 2000},
		{"cron seconds", twoSec, 0, 2000, 9000, 8000},
		{"cron timezone and sunday 7", berlin, ms("2024-01-01T00:00:00Z"), ms("2024-01-07T01:00:00Z"), ms("2024-01-20T00:00:00Z"), ms("2024-01-14T01:00:00Z")},
		{"once", once, 0, 5000, 6000, 5000},
		{"once done", once, 5000, 0, 9000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sc.next(tc.after); got != tc.next {
				t.Errorf("next(%d) = %d, want %d", tc.after, got, tc.next)
			}
			if got := tc.sc.latestDue(tc.after, tc.now); got != tc.due {
				t.Errorf("latestDue(%d, %d) = %d, want %d", tc.after, tc.now, got, tc.due)
			}
		})
	}
	for in, want := range map[string]string{"7": "0", "5-7": "5-6,0", "1,7": "1,0", "*/2": "*/2", "MON-FRI": "MON-FRI"} {
		if got := sundaySeven(in); got != want {
			t.Errorf("sundaySeven(%q) = %q, want %q", in, got, want)
		}
	}
	for _, expr := range []string{"", "bad", "* * *", "61 * * * *", "* * * * * * *"} {
		if _, err := parseCron(expr); err == nil {
			t.Errorf("parseCron(%q) succeeded", expr)
		}
	}
	for _, expr := range []string{"* * * * *", "*/30 * * * * *", "0 9 8 * *", "@hourly", "@every 90s"} {
		if _, err := parseCron(expr); err != nil {
			t.Errorf("parseCron(%q): %v", expr, err)
		}
	}
}

func TestFeedDates(t *testing.T) {
	want := time.Date(2030, 1, 31, 23, 59, 0, 0, time.UTC).UnixMilli()
	epoch := strconv.FormatInt(want, 10)
	for in, ok := range map[string]bool{
		`"2030-01-31T23:59:00.000Z"`: true, `"2030-01-31T23:59:00Z"`: true, `"2030-02-01T00:59:00+01:00"`: true,
		epoch: true, `"` + epoch + `"`: true, `"tomorrow"`: false, `-5`: false, `1.5`: false, `true`: false,
	} {
		got, err := feedParams{"d": json.RawMessage(in)}.date("d")
		if ok && (err != nil || got != want) {
			t.Errorf("date(%s) = %d, %v; want %d", in, got, err, want)
		}
		if !ok && err == nil {
			t.Errorf("date(%s) = %d, want an error", in, got)
		}
	}
	if got, err := (feedParams{"d": json.RawMessage(`"2030-01-31"`)}).date("d"); err != nil || got != time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC).UnixMilli() {
		t.Errorf("a date without time: %d, %v", got, err)
	}
}
