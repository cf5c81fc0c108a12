#!/usr/bin/python3
"""Generates croniter_cases.json: next run times computed by croniter (an independent
implementation) for many (expression, start, zone) triples. cron_expr_test.cpp compares
CronExpr::next_n against it; the tests do not need croniter at run time.

Needs Debian's python3-croniter and python3-tz (apt-get install -y python3-croniter python3-tz).
Run: /usr/bin/python3 src/schedule/testdata/make_croniter_cases.py > src/schedule/testdata/croniter_cases.json

Excluded on purpose: any case whose window (start - 2 days .. last expected run + 2 days) contains
a UTC offset change of its zone. croniter's DST handling differs from ours (it can repeat a run in a
fall-back overlap and shifts or skips runs in a spring-forward gap), so those are covered by the
hand-written DST tests in cron_expr_test.cpp instead of this oracle.
"""
import bisect
import datetime as dt
import json
import random
import sys

import pytz
from croniter import croniter

RUNS_PER_CASE = 3
EXPRESSIONS = [
    "* * * * *", "*/15 * * * *", "0 * * * *", "30 * * * *", "5/10 * * * *",
    "0 2 * * *", "0 9-17 * * *", "0 3 * * *", "0 9-17/2 * * *", "15,45 8,20 * * *",
    "0 0 1 * *", "0 0 1 1 *", "0 0 * * 0", "0 0 * * 7", "30 6 * * mon-fri",
    "0 12 * * SAT,sun", "0 0 13 * 5", "0 0 1,15 * 1", "59 23 31 * *", "0 0 29 2 *",
    "0 4 * jan-mar *", "0 4 * JUN,dec *", "*/7 3 * * *", "1-5/2 0 * * *", "0 22 * * 1-5",
    "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "0 0 */2 * *", "0 0 */2 * 1",
    "0 0 1-7 * mon",
]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney",
         "America/Los_Angeles"]


def iso(d):
    return d.astimezone(pytz.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def transitions(zone):
    return getattr(zone, "_utc_transition_times", [])


def crosses_offset_change(zone, start_utc, end_utc):
    times = transitions(zone)
    lo = (start_utc - dt.timedelta(days=2)).replace(tzinfo=None)
    hi = (end_utc + dt.timedelta(days=2)).replace(tzinfo=None)
    i = bisect.bisect_left(times, lo)
    return i < len(times) and times[i] <= hi


def main():
    rng = random.Random(20261126)
    cases, excluded = [], 0
    begin = dt.datetime(2024, 1, 1, tzinfo=pytz.utc).timestamp()
    end = dt.datetime(2031, 1, 1, tzinfo=pytz.utc).timestamp()
    while len(cases) < 300:
        expr = rng.choice(EXPRESSIONS)
        zone_name = rng.choice(ZONES)
        zone = pytz.timezone(zone_name)
        # Mostly random instants, some with seconds, some on exact minute boundaries.
        secs = int(rng.uniform(begin, end))
        if rng.random() < 0.4:
            secs -= secs % 60
        start_utc = dt.datetime.fromtimestamp(secs, tz=pytz.utc)
        it = croniter(expr, start_utc.astimezone(zone))
        runs = [it.get_next(dt.datetime) for _ in range(RUNS_PER_CASE)]
        if crosses_offset_change(zone, start_utc, runs[-1].astimezone(pytz.utc)):
            excluded += 1
            continue
        cases.append({"expr": expr, "tz": zone_name, "start": iso(start_utc),
                      "next": [iso(r) for r in runs]})
    print(f"{len(cases)} cases, {excluded} excluded for crossing a DST change", file=sys.stderr)
    json.dump({"generator": "make_croniter_cases.py", "croniter_cases": cases}, sys.stdout,
              indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
