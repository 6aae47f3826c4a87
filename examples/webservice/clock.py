"""clock: JSON and text answers from one Python action.

  .../webservice/clock.json              the whole result as JSON
  .../webservice/clock.json/utc          a projection: just the "utc" object
  .../webservice/clock.text              the "text" field as text/plain
  .../webservice/clock.json?tz=%2B05:30  query arguments arrive as strings
                                          (+ must be sent as %2B in a query)
"""
from datetime import datetime, timedelta, timezone


def main(args):
    tz = args.get("tz", "+00:00")
    offset = parse_offset(tz)
    warning = None
    if offset is None:
        warning = "tz must look like +05:30 or -08:00; showing UTC"
        tz, offset = "+00:00", timedelta(0)
    now = datetime.now(timezone.utc)
    local = now.astimezone(timezone(offset))
    result = {
        "utc": {"iso": now.isoformat(timespec="seconds"), "epoch": int(now.timestamp())},
        "local": {"iso": local.isoformat(timespec="seconds"), "offset": tz},
        "text": "It is " + local.strftime("%H:%M:%S") + " at UTC" + tz + ".\n",
    }
    if warning:
        result["warning"] = warning
    return result


def parse_offset(tz):
    if len(tz) != 6 or tz[0] not in "+-" or tz[3] != ":":
        return None
    try:
        hours, minutes = int(tz[1:3]), int(tz[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = 1 if tz[0] == "+" else -1
    return timedelta(hours=sign * hours, minutes=sign * minutes)
