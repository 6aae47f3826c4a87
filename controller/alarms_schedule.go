package controller

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // alarm time zones must not depend on the host's zoneinfo

	"github.com/robfig/cron/v3"
)

// The alarms feeds (/whisk.system/alarms/...).
const (
	feedAlarm    = "alarm"    // cron, timezone, startDate, stopDate
	feedInterval = "interval" // minutes (or, Gust only, seconds), startDate, stopDate
	feedOnce     = "once"     // date, deleteAfterFire
)

// deleteAfterFire values of the once feed.
const (
	deleteNothing = "false" // the trigger stays (its alarm is disabled)
	deleteTrigger = "true"  // the trigger is deleted
	deleteRules   = "rules" // the trigger and its rules are deleted
)

// alarmSpec is one trigger's alarm as the feed actions store it in the
// alarms bucket (JSON, key alarmKey(namespace, trigger)). Times are epoch
// milliseconds. Gen is drawn at creation: fire ids derive from it, so an
// alarm deleted and created again never reuses the ids of the old one.
type alarmSpec struct {
	V         int    `json:"v"`
	Namespace string `json:"namespace"`
	Trigger   string `json:"trigger"`
	Feed      string `json:"feed"`
	Gen       string `json:"gen"`

	Cron            string          `json:"cron,omitempty"`
	Timezone        string          `json:"timezone,omitempty"`
	Minutes         int64           `json:"minutes,omitempty"`
	Seconds         int64           `json:"seconds,omitempty"`
	Date            int64           `json:"date,omitempty"`
	DeleteAfterFire string          `json:"deleteAfterFire,omitempty"`
	StartDate       int64           `json:"startDate,omitempty"`
	StopDate        int64           `json:"stopDate,omitempty"`
	Payload         json.RawMessage `json:"payload"`

	// Active is false once paused (PAUSE) or after a once alarm fired.
	Active bool `json:"active"`
	// Created is when the alarm was created; Changed when it was last
	// created, updated, paused or resumed. Times before Changed are never
	// fired: a resumed or updated alarm does not catch up.
	Created int64  `json:"created"`
	Changed int64  `json:"dateChanged"`
	Reason  string `json:"reason,omitempty"`
}

// alarmCursor is the scheduler's progress on one alarm, in the fires
// bucket under the alarm's key: the scheduled time of the last fire and the
// time up to which the schedule has been dealt with. It belongs to the
// alarm generation Gen.
type alarmCursor struct {
	Gen    string `json:"gen"`
	Last   int64  `json:"last"`
	Cursor int64  `json:"cursor"`
}

// alarmKey is the bucket key of ns/trigger: base64url, which only uses
// characters a NATS KV key may hold.
func alarmKey(ns, trigger string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(ns + "/" + trigger))
}

// alarmFireID is the trigger activation id of the fire of spec scheduled
// at ms: the same on every controller and after restarts, so that a fire
// repeated after a crash or a leader change is deduplicated.
func alarmFireID(spec *alarmSpec, scheduled int64) string {
	h := sha256.New()
	for _, s := range []string{"alarm", spec.Namespace, spec.Trigger, spec.Gen} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(scheduled))
	h.Write(t[:])
	var sum [sha256.Size]byte
	b := h.Sum(sum[:0])[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b)
}

// cronParser accepts OpenWhisk's five fields, an optional leading seconds
// field (node-cron's six-field form) and descriptors (@hourly, @every 90s).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseCron parses a cron expression. Day of week 7 means Sunday, as in
// node-cron and crontab(5).
func parseCron(expr string) (cron.Schedule, error) {
	fields := strings.Fields(expr)
	if n := len(fields); (n == 5 || n == 6) && !strings.HasPrefix(fields[0], "@") {
		fields[n-1] = sundaySeven(fields[n-1])
		expr = strings.Join(fields, " ")
	}
	return cronParser.Parse(expr)
}

// sundaySeven rewrites 7 (Sunday) in a day-of-week field to 0, which is
// what the parser knows: "7" → "0", "5-7" → "5-6,0".
func sundaySeven(f string) string {
	parts := strings.Split(f, ",")
	for i, p := range parts {
		switch {
		case p == "7":
			parts[i] = "0"
		case strings.HasSuffix(p, "-7") && !strings.Contains(p, "/"):
			parts[i] = strings.TrimSuffix(p, "-7") + "-6,0"
		}
	}
	return strings.Join(parts, ",")
}

// alarmSchedule is a spec compiled for the scheduler.
type alarmSchedule struct {
	cron   cron.Schedule // the alarm feed
	loc    *time.Location
	first  int64 // interval: the first fire
	period int64 // interval: ms between fires
	date   int64 // once
	stop   int64 // no fire at or after (0: none)
	start  int64 // no fire before (0: none)
}

// schedule compiles the spec; it fails only on a spec the feed would not
// have stored.
func (s *alarmSpec) schedule() (*alarmSchedule, error) {
	sc := &alarmSchedule{stop: s.StopDate, start: s.StartDate, loc: time.UTC}
	switch s.Feed {
	case feedAlarm:
		cs, err := parseCron(s.Cron)
		if err != nil {
			return nil, fmt.Errorf("cron pattern '%s' is not valid: %v", s.Cron, err)
		}
		sc.cron = cs
		if s.Timezone != "" {
			if sc.loc, err = time.LoadLocation(s.Timezone); err != nil {
				return nil, fmt.Errorf("timezone '%s' is not valid", s.Timezone)
			}
		}
	case feedInterval:
		sc.period = s.Minutes * int64(time.Minute/time.Millisecond)
		if s.Seconds > 0 {
			sc.period = s.Seconds * int64(time.Second/time.Millisecond)
		}
		if sc.period <= 0 {
			return nil, fmt.Errorf("interval alarm without a period")
		}
		sc.first = s.Created + sc.period
		if s.StartDate > 0 {
			sc.first = s.StartDate
		}
	case feedOnce:
		if s.Date <= 0 {
			return nil, fmt.Errorf("once alarm without a date")
		}
		sc.date = s.Date
	default:
		return nil, fmt.Errorf("unknown alarm feed %q", s.Feed)
	}
	return sc, nil
}

// next returns the first fire time after t (epoch ms), or 0 when the alarm
// never fires again.
func (sc *alarmSchedule) next(t int64) int64 {
	var n int64
	switch {
	case sc.cron != nil:
		from := t
		if sc.start > 0 && from < sc.start-1 {
			from = sc.start - 1
		}
		nt := sc.cron.Next(time.UnixMilli(from).In(sc.loc))
		if nt.IsZero() {
			return 0
		}
		n = nt.UnixMilli()
	case sc.period > 0:
		if t < sc.first {
			n = sc.first
		} else {
			k := (t-sc.first)/sc.period + 1
			if k > (math.MaxInt64-sc.first)/sc.period {
				return 0
			}
			n = sc.first + k*sc.period
		}
	default:
		if t >= sc.date {
			return 0
		}
		n = sc.date
	}
	if sc.stop > 0 && n >= sc.stop {
		return 0
	}
	return n
}

// maxCatchUpSteps bounds the walk to the latest missed time of a cron
// alarm after a long outage; past it, an earlier missed time is fired.
const maxCatchUpSteps = 100_000

// latestDue returns the latest fire time in (after, now], or 0 for none:
// after an outage the scheduler fires an alarm once, for its latest missed
// time, not once per missed time.
func (sc *alarmSchedule) latestDue(after, now int64) int64 {
	n := sc.next(after)
	if n == 0 || n > now {
		return 0
	}
	if sc.period > 0 {
		lim := now
		if sc.stop > 0 && sc.stop-1 < lim {
			lim = sc.stop - 1
		}
		return max(n, sc.first+(lim-sc.first)/sc.period*sc.period)
	}
	for range maxCatchUpSteps {
		m := sc.next(n)
		if m == 0 || m > now {
			return n
		}
		n = m
	}
	return n
}

// Parameters of the alarms feeds, as OpenWhisk's alarms package reads them.

// feedParams are a feed invocation's arguments.
type feedParams map[string]json.RawMessage

// has reports whether key is given and not null.
func (p feedParams) has(key string) bool {
	v, ok := p[key]
	return ok && string(v) != "null"
}

// str returns a string parameter ("" when absent).
func (p feedParams) str(key string) (string, error) {
	if !p.has(key) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(p[key], &s); err != nil {
		return "", fmt.Errorf("the %s parameter must be a string", key)
	}
	return s, nil
}

// positiveInt returns an integer parameter given as a number or a numeric
// string, which must be > 0.
func (p feedParams) positiveInt(key string) (int64, error) {
	raw := strings.Trim(string(p[key]), `" `)
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(raw, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, fmt.Errorf("the %s parameter must be an integer", key)
		}
		n = int64(f)
	}
	if n <= 0 {
		return 0, fmt.Errorf("the %s parameter must be an integer greater than zero", key)
	}
	return n, nil
}

// date returns a date parameter: epoch milliseconds as a number or a
// numeric string, or an ISO 8601 string ("2030-01-31T23:59:00.000Z",
// "2030-01-31T23:59:00+01:00", "2030-01-31"; UTC without a zone).
func (p feedParams) date(key string) (int64, error) {
	raw := p[key]
	bad := fmt.Errorf("%s parameter '%s' is not a valid Date", key, strings.Trim(string(raw), `"`))
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var f float64
		if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || f <= 0 || f > 1<<53 {
			return 0, bad
		}
		return int64(f), nil
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, bad
}

// payload returns trigger_payload as OpenWhisk's alarms package takes it:
// an object as is, a string s as {"payload": s}; absent, {}.
func (p feedParams) payload() (json.RawMessage, error) {
	if !p.has("trigger_payload") {
		return json.RawMessage("{}"), nil
	}
	raw := json.RawMessage(strings.TrimSpace(string(p["trigger_payload"])))
	switch raw[0] {
	case '{':
		return raw, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"payload": s})
	}
	return nil, fmt.Errorf("the trigger_payload parameter must be an object or a string")
}

// deleteAfterFire returns the once feed's deleteAfterFire: false, true or
// "rules", as a boolean or a string.
func (p feedParams) deleteAfterFire() (string, error) {
	v := strings.ToLower(strings.Trim(strings.TrimSpace(string(p["deleteAfterFire"])), `"`))
	v = strings.TrimSpace(v)
	switch v {
	case deleteNothing, deleteTrigger, deleteRules:
		return v, nil
	}
	return "", fmt.Errorf("deleteAfterFire parameter must be one of [false, true, rules].")
}
