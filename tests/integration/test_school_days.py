#!/usr/bin/python3
"""The school daemon closes school days: on request, and by itself at close_day_at.

One regiebus-school with a test clock and school/close_day_at = 18:00, and
the bare municipality nodes of test_school.py. The test clock first moves
to noon of the next weekday after the real today (TZ=Europe/Amsterdam), so
that no 18:00 passes while the test sets up; later it moves to chosen local
times of the days after.

  - close_day: a school day not in the future, else refused naming "close_day.date";
    every pupil enrolled by then without a record that day counts present
    (the reply counts them), an open episode closes with EPISODE_CLOSED;
    closing again changes nothing
  - by itself: nothing at 17:59, the day closed once the local time passes
    18:00, once per date, also across a restart (the last closed date is
    in the store), and never on a weekend
"""
import datetime
import time

import rbtest
from rbtest import check, check_eq, log
from test_school import (Region, bsn, last_weekend_day_before, refused, today, use_school_time_zone,
                         weekdays_before, ymd)

QUIET_S = 3                             # ticks come every second: three of them


def next_weekday(day):
    """The first day after day that is Monday to Friday."""
    d = day + datetime.timedelta(days=1)
    while d.weekday() >= 5:
        d += datetime.timedelta(days=1)
    return d


def next_saturday(day):
    return day + datetime.timedelta(days=(5 - day.weekday()) % 7 or 7)


def move_clock_to(region, day, hour, minute):
    """Advance the school's test clock to day at hour:minute local time."""
    target_ms = int(datetime.datetime.combine(day, datetime.time(hour, minute)).timestamp() * 1000)
    by_ms = target_ms - region.school.status().now_ms
    check(by_ms > 0, "the clock cannot move back to %s %02d:%02d" % (day, hour, minute))
    reply = region.school.api.call(advance_clock=region.pb.AdvanceClockRequest(by_ms=by_ms))
    check_eq(reply.code, 0, "advance_clock (%s)" % reply.message)
    log("school clock now at %s %02d:%02d" % (day, hour, minute))


def stays(region, name, value, what):
    """Over QUIET_S seconds of ticks the counter keeps its value."""
    deadline = time.monotonic() + QUIET_S
    while time.monotonic() < deadline:
        check_eq(region.counter(name), value, what)
        time.sleep(0.25)


def check_close_call(region, now, days, enrolled):
    pb = region.pb
    absent = region.enrol_ok(region.pupil("c-absent", bsn(50000001), "0363", enrolled))[0].case_pseudonym
    silent = region.enrol_ok(region.pupil("c-silent", bsn(50000002), "0363", enrolled))[0].case_pseudonym
    region.enrol_ok(region.pupil("c-later", bsn(50000003), "0363", ymd(now)))
    check_eq(region.attend_ok(region.record("c-1", "c-absent", days[-2], minutes=300)), [["FIRST_ABSENCE"]],
             "absence before the close")
    sent = region.assigned("mun-a")
    tomorrow = now + datetime.timedelta(days=1)
    refused(pb, region.close_day(last_weekend_day_before(now)), pb.INVALID_FIELD, "close_day.date",
            "not a school day")
    refused(pb, region.close_day(tomorrow), pb.INVALID_FIELD, "close_day.date", "in the future")
    refused(pb, region.close_day(0), pb.INVALID_FIELD, "close_day.date", "not a date")
    check_eq(region.assigned("mun-a"), sent, "events sent for refused closes")

    reply = region.close_day(days[-1])
    check_eq(reply.code, 0, "close_day (%s)" % reply.message)
    check_eq((reply.close_day.pupils, reply.close_day.signals), (2, 1),
             "pupils counted present (not the one enrolled later) and episodes closed")
    again = region.close_day(days[-1])
    check_eq((again.code, again.close_day.pupils, again.close_day.signals), (0, 0, 0), "closing again")
    region.settle()
    check_eq([(region.signal_name(s.signal), s.date, s.episode) for s in region.signals("mun-a", absent)],
             [("FIRST_ABSENCE", ymd(days[-2]), 1), ("EPISODE_CLOSED", ymd(days[-1]), 1)],
             "signals of the absent pupil")
    check_eq(region.signals("mun-a", silent), [], "signals of the pupil without records")
    # The silent pupil's day is known now: its first absence after it opens episode 1.
    check_eq(region.attend_ok(region.record("c-2", "c-silent", days[-1], minutes=60)), [["FIRST_ABSENCE"]],
             "absence on the closed day (left early)")
    log("close_day counted the pupils without records present and closed the open episode")


def check_close_by_time(region, now, days, enrolled):
    pb = region.pb
    case = region.enrol_ok(region.pupil("t-tess", bsn(60000001), "0363", enrolled))[0].case_pseudonym
    check_eq(region.attend_ok(region.record("t-1", "t-tess", days[-1], minutes=300, reason=pb.UNEXCUSED)),
             [["FIRST_ABSENCE"]], "absence on the last school day")
    closed = region.counter("school_days_closed")
    sent = region.assigned("mun-a")
    day = next_weekday(now)
    move_clock_to(region, day, 17, 59)
    stays(region, "school_days_closed", closed, "days closed before 18:00")
    check_eq(region.assigned("mun-a"), sent, "events sent before 18:00")
    move_clock_to(region, day, 18, 1)
    rbtest.wait_until(lambda: region.counter("school_days_closed") == closed + 1, 10,
                      "the school to close %s by itself" % day)
    stays(region, "school_days_closed", closed + 1, "days closed: once per date")
    region.settle()
    reopened = next_weekday(days[-1])
    check_eq([(region.signal_name(s.signal), s.date) for s in region.signals("mun-a", case)],
             [("FIRST_ABSENCE", ymd(days[-1])), ("EPISODE_CLOSED", ymd(reopened))],
             "signals of the pupil across the close")
    sent = region.assigned("mun-a")

    region.school.restart()
    stays(region, "school_days_closed", 0, "days closed after a restart on the same date")
    check_eq(region.assigned("mun-a"), sent, "events sent after the restart")
    saturday = next_saturday(day)
    move_clock_to(region, saturday, 18, 1)
    stays(region, "school_days_closed", 0, "days closed on a Saturday")
    check_eq(region.assigned("mun-a"), sent, "events sent on a Saturday")
    log("the school closed %s by itself once, after 18:00, and not on %s" % (day, saturday))


def main(env):
    use_school_time_zone()
    region = Region(env, node__clock="test", school__close_day_at="18:00").start()
    now = next_weekday(today())
    move_clock_to(region, now, 12, 0)
    days = weekdays_before(now, 10)
    enrolled = ymd(now - datetime.timedelta(days=30))
    log("the school's today %s, school days used %s .. %s" % (now, days[0], days[-1]))
    check_close_call(region, now, days, enrolled)
    check_close_by_time(region, now, days, enrolled)


if __name__ == "__main__":
    rbtest.run("school_days", main)
