package gateway

import (
	"context"

	"github.com/gust-faas/gust/controller"
	"github.com/gust-faas/gust/whisk"
)

// AlarmsPackage is /whisk.system/alarms, OpenWhisk's alarms package: three
// feed actions the controller runs natively (kind whisk.KindBuiltin), so
// that wsk's feed lifecycle (trigger create --feed ..., get, update,
// delete) works unchanged.
//
//   - alarm: cron (five fields, or six with seconds first; day of week 7 is
//     Sunday), timezone (IANA), startDate, stopDate, trigger_payload.
//   - interval: minutes, startDate, stopDate, trigger_payload. Gust also
//     takes seconds instead of minutes (finer than OpenWhisk, for tests and
//     demos). The first fire is at startDate, else one interval after the
//     alarm's creation.
//   - once: date, deleteAfterFire (false, true: delete the trigger, rules:
//     delete the trigger and its rules), trigger_payload.
//
// Dates are epoch milliseconds or ISO 8601 strings, in the future. The
// lifecycle events are CREATE, READ, UPDATE, DELETE, PAUSE and UNPAUSE.
func AlarmsPackage() SystemPackage {
	feed := func(name, main, desc string, params ...string) SystemAction {
		anns := whisk.KeyValues{}.Set(annFeed, true).Set("description", desc)
		type param struct {
			Name     string `json:"name"`
			Required bool   `json:"required"`
		}
		var ps []param
		for i, p := range params {
			ps = append(ps, param{Name: p, Required: i == 0})
		}
		anns = anns.Set("parameters", ps)
		return SystemAction{
			Name: name,
			Exec: whisk.Exec{Kind: whisk.KindBuiltin, Main: main,
				Code: "// Gust runs this feed action natively in its controller (" + main + ").\n"},
			Annotations: anns,
		}
	}
	return SystemPackage{
		Name:        "alarms",
		Annotations: whisk.KeyValues{}.Set("description", "Alarms and periodic utility"),
		Actions: []SystemAction{
			feed("alarm", controller.BuiltinAlarm, "Fire trigger when alarm occurs",
				"cron", "timezone", "trigger_payload", "startDate", "stopDate"),
			feed("interval", controller.BuiltinInterval, "Fire trigger at specified interval",
				"minutes", "seconds", "trigger_payload", "startDate", "stopDate"),
			feed("once", controller.BuiltinOnce, "Fire trigger once when alarm occurs",
				"date", "trigger_payload", "deleteAfterFire"),
		},
	}
}

// InstallBuiltinPackages writes Gust's built-in packages (AlarmsPackage)
// into whisk.system. It is idempotent; every gateway may run it at start.
func InstallBuiltinPackages(ctx context.Context, st SystemStore) error {
	return InstallSystemPackage(ctx, st, AlarmsPackage())
}
