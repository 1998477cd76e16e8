#!/usr/bin/python3
"""A pupil leaves the school (unenrol), and may be enrolled again.

One regiebus-school ("school-a", days closed by hand only) and the bare
municipality nodes of test_school.py, which keep whatever the school sends
them. Dates are the weekdays before the real today (TZ=Europe/Amsterdam).

  - unenrol sends ENROLMENT {school_location, enrolled_on, ended_on =
    left_on, contact} to the pupil's home municipality, once: the same
    call again (same day, or 0) is a duplicate and sends nothing
  - the pupil's record stays: a notification about the case still names it
  - a record dated after the day it left is refused (the message says
    when it left) and a batch holding one applies nothing; records up to
    that day still work
  - close_day passes the pupil who left by
  - refusals with code and field, counted, nothing sent
  - the day it left survives a SIGKILL
  - enrolled again from a later day: a new ENROLMENT, a fresh attendance
    state; not after the day it left, or as another child: ALREADY_EXISTS
  - `regiebus unenrol` in plain words, --json, a refusal on one line
  - the counters school_pupils_left and school_pupils
"""
import datetime
import json

import rbtest
from rbtest import check, check_eq, log
from test_school import LOCATION, Region, bsn, refused, today, use_school_time_zone, weekdays_before, ymd

CONTACT = "attendance desk 020-555 0100"


def enrolment_at(region, seen):
    """The one new envelope from the school at mun-a: an ENROLMENT, decoded."""
    pb = region.pb
    e = rbtest.next_arrival(region.muns["mun-a"], region.school.name, seen)
    check_eq(e.kind, pb.ENROLMENT, "kind of the envelope at mun-a")
    enrolment = pb.Enrolment()
    enrolment.ParseFromString(e.payload)
    return e.case_pseudonym, enrolment


def unenrol(region, local_id, left_on=0):
    return region.school.api.call(unenrol=region.pb.UnenrolRequest(local_id=local_id, left_on=left_on))


def check_leaving(region, lisa, case, enrolled, left_on, seen):
    pb = region.pb
    reply = rbtest.check_ok(pb, unenrol(region, "l-lisa", left_on), "unenrol")
    check_eq((reply.unenrol.case_pseudonym, reply.unenrol.duplicate), (case, False), "unenrol reply")
    got_case, enrolment = enrolment_at(region, seen)
    check_eq((got_case, enrolment.school_location, enrolment.enrolled_on, enrolment.ended_on,
              enrolment.contact), (case, LOCATION, enrolled, left_on, CONTACT), "the ended ENROLMENT at mun-a")
    check(lisa.encode() not in seen[-1].SerializeToString(), "the ended enrolment carries the citizen number")
    sent = region.assigned("mun-a")
    for again in (left_on, 0):
        reply = rbtest.check_ok(pb, unenrol(region, "l-lisa", again), "unenrol again (%d)" % again)
        check_eq((reply.unenrol.case_pseudonym, reply.unenrol.duplicate), (case, True),
                 "unenrol again with left_on %d" % again)
    check_eq(region.assigned("mun-a"), sent, "events sent for the repeats")
    check_eq(region.counter("school_pupils_left"), 1, "school_pupils_left")
    log("the ended enrolment reached mun-a once; its repeats are duplicates")

    rbtest.deliver_notifications(pb, region.muns["mun-a"], region.school, [(case, rbtest.notification(
        pb, region.school.name, pb.SCHOOL_MENTOR, from_node="mun-a", subject=pb.REGIE_CHANGE,
        regie_change=pb.RegieChange(actor=pb.Actor(node=region.school.name, role=pb.SCHOOL_MENTOR),
                                    joined=False, reason="enrolment_ended")), "n-left")])
    check_eq([(i.case_pseudonym, i.local_name) for i in rbtest.list_notifications(pb, region.school)],
             [(case, "Lisa")], "the notification about the case of the pupil who left")


def check_records(region, days, case, left_on):
    pb = region.pb
    r = region.record
    sent = region.assigned("mun-a")
    accepted = region.counter("school_records_accepted")
    log("a record after the day the pupil left, in a batch with a good one:")
    refused(pb, region.attend(r("l-2", "l-lisa", days[-5], present=True),
                              r("l-3", "l-lisa", days[-3], minutes=300, reason=pb.UNEXCUSED)),
            pb.INVALID_FIELD, "records[1].date", "left on %d" % left_on)
    check_eq(region.assigned("mun-a"), sent, "events sent for the refused batch")
    check_eq(region.counter("school_records_accepted"), accepted, "records accepted from the refused batch")
    check_eq(region.attend_ok(r("l-2", "l-lisa", days[-5], present=True)), [["EPISODE_CLOSED"]],
             "the good record alone: the refused batch applied nothing")
    check_eq(region.attend_ok(r("l-4", "l-lisa", days[-4], minutes=60, reason=pb.SICK)), [["FIRST_ABSENCE"]],
             "a record on the day the pupil left")
    region.settle()
    check_eq(region.signal_kinds("mun-a", case), ["FIRST_ABSENCE", "EPISODE_CLOSED", "FIRST_ABSENCE"],
             "signals of the pupil at mun-a")


def check_close(region, days):
    reply = region.close_day(days[-1])
    check_eq(reply.code, 0, "close_day (%s)" % reply.message)
    check_eq((reply.close_day.pupils, reply.close_day.signals), (1, 0),
             "close_day counts the pupil who stayed, not the one who left (whose episode is open)")
    check_eq(region.counter("school_pupils_closed_present"), 1, "school_pupils_closed_present")


def check_refusals(region, enrolled, left_on):
    pb = region.pb
    tomorrow = ymd(today() + datetime.timedelta(days=1))
    before = ymd(datetime.date(enrolled // 10000, enrolled // 100 % 100, enrolled % 100)
                 - datetime.timedelta(days=1))
    again = region.pupil("l-lisa", bsn(61000001), "0363", ymd(today()), 20140101, "Lisa")
    cases = [
        ("unknown pupil", dict(unenrol=pb.UnenrolRequest(local_id="nobody")), "NOT_FOUND", "unenrol.local_id"),
        ("no pupil", dict(unenrol=pb.UnenrolRequest(left_on=left_on)), "MISSING_FIELD", "unenrol.local_id"),
        ("not a date", dict(unenrol=pb.UnenrolRequest(local_id="l-stay", left_on=20261345)),
         "INVALID_FIELD", "unenrol.left_on"),
        ("in the future", dict(unenrol=pb.UnenrolRequest(local_id="l-stay", left_on=tomorrow)),
         "INVALID_FIELD", "unenrol.left_on"),
        ("before enrolment", dict(unenrol=pb.UnenrolRequest(local_id="l-stay", left_on=before)),
         "INVALID_FIELD", "unenrol.left_on"),
        ("left on another day", dict(unenrol=pb.UnenrolRequest(local_id="l-lisa", left_on=enrolled)),
         "ALREADY_EXISTS", "unenrol.left_on"),
        ("enrolled again from the day it left",
         dict(enrol=pb.EnrolRequest(pupils=[region.pupil("l-lisa", bsn(61000001), "0363", left_on,
                                                         20140101, "Lisa")])),
         "ALREADY_EXISTS", "pupils[0].local_id"),
        ("enrolled again as another child",
         dict(enrol=pb.EnrolRequest(pupils=[region.pupil("l-lisa", bsn(63000003), "0363", ymd(today()),
                                                         20140101, "Lisa")])),
         "ALREADY_EXISTS", "pupils[0].local_id"),
        ("its citizen number under another local id",
         dict(enrol=pb.EnrolRequest(pupils=[region.pupil("l-lisa-2", again.citizen_number, "0363",
                                                         ymd(today()), 20140101)])),
         "ALREADY_EXISTS", "pupils[0].citizen_number"),
    ]
    rbtest.check_refusals(pb, region.school, cases)
    log("%d refusals with code and field, counted, nothing sent" % len(cases))
    reply = unenrol(region, "l-lisa", enrolled)
    check("left on %d" % left_on in reply.message, "the refusal says when the pupil left: %r" % reply.message)


def check_kept_across_kill(region, days, left_on):
    pb = region.pb
    region.school.kill()
    region.school.start()
    refused(pb, region.attend(region.record("l-5", "l-lisa", days[-2], minutes=300, reason=pb.SICK)),
            pb.INVALID_FIELD, "records[0].date", "left on %d" % left_on)
    reply = rbtest.check_ok(pb, unenrol(region, "l-lisa", left_on), "unenrol after the restart")
    check(reply.unenrol.duplicate, "unenrol after the restart is a duplicate")
    log("the day the pupil left survived SIGKILL")


def check_enrolled_again(region, days, case, enrolled, seen):
    pb = region.pb
    sent = region.assigned("mun-a")
    pupils = region.counter("school_pupils")
    first = region.enrol_ok(region.pupil("l-lisa", bsn(61000001), "0363", enrolled, 20140101, "Lisa"))
    check(first[0].duplicate, "the first enrolment repeated is a duplicate: %s" % first[0])
    check_eq(region.assigned("mun-a"), sent, "events sent for the repeat")
    result = region.enrol_ok(region.pupil("l-lisa", bsn(61000001), "0363", ymd(days[-2]), 20140101, "Lisa V."))
    check_eq((result[0].case_pseudonym, result[0].duplicate), (case, False), "enrolled again")
    got_case, enrolment = enrolment_at(region, seen)
    check_eq((got_case, enrolment.enrolled_on, enrolment.ended_on), (case, ymd(days[-2]), 0),
             "the new ENROLMENT at mun-a")
    check_eq(region.counter("school_pupils"), pupils + 1, "school_pupils")
    refused(pb, region.attend(region.record("l-6", "l-lisa", days[-3], minutes=300, reason=pb.SICK)),
            pb.INVALID_FIELD, "records[0].date", "before enrolment on %d" % ymd(days[-2]))
    check_eq(region.attend_ok(region.record("l-7", "l-lisa", days[-1], minutes=300, reason=pb.SICK)),
             [["FIRST_ABSENCE"]], "an absence after enrolling again")
    region.settle()
    seen[:] = region.received("mun-a")
    last = region.signals("mun-a", case)[-1]
    check_eq((region.signal_name(last.signal), last.episode, last.episode_started),
             ("FIRST_ABSENCE", 1, ymd(days[-1])), "a fresh attendance state: episode 1 again")
    check_eq([i.local_name for i in rbtest.list_notifications(region.pb, region.school)], ["Lisa V."],
             "the notification named as the pupil is known now")
    reply = rbtest.check_ok(pb, unenrol(region, "l-lisa"), "unenrol today")
    check(not reply.unenrol.duplicate, "leaving the second enrolment is new")
    got_case, enrolment = enrolment_at(region, seen)
    check_eq((enrolment.enrolled_on, enrolment.ended_on), (ymd(days[-2]), ymd(today())),
             "left_on 0 is today")
    log("enrolled again from a later day: a new enrolment with a fresh state")


def check_cli(region, stay_case, left_on, seen):
    school = region.school
    out = school.cli("unenrol", "--pupil", "l-stay", "--on", str(left_on)).stdout
    check(out.startswith("l-stay left the school on ") and stay_case in out, "unenrol in plain words: %r" % out)
    got_case, enrolment = enrolment_at(region, seen)
    check_eq((got_case, enrolment.ended_on), (stay_case, left_on), "the ENROLMENT the CLI's call sent")
    data = json.loads(school.cli("unenrol", "--pupil", "l-stay", "--json").stdout)
    check_eq(data, {"case_pseudonym": stay_case, "duplicate": True}, "unenrol --json, repeated")
    res = school.cli("unenrol", "--pupil", "nobody", check_rc=False)
    lines = res.stderr.strip().splitlines()
    check(res.returncode == 1 and len(lines) == 1 and "NOT_FOUND" in lines[0] and "unenrol.local_id" in lines[0],
          "a refusal on one line, exit 1: %d %r" % (res.returncode, res.stderr))
    res = school.cli("unenrol", "--on", "2026-11-23", check_rc=False)
    check_eq(res.returncode, 2, "unenrol without --pupil is a usage error")
    check_eq(region.counter("school_pupils_left"), 2, "school_pupils_left since the restart")
    log("regiebus unenrol answers in plain words and as JSON; a refusal exits 1 on one line")


def main(env):
    use_school_time_zone()
    pb = env.pb
    days = weekdays_before(today(), 10)
    enrolled = ymd(today() - datetime.timedelta(days=50))
    left_on = ymd(days[-4])
    region = Region(env, school__close_day_at="never").start()
    log("today %s, the pupil leaves on %d" % (today(), left_on))
    lisa = bsn(61000001)
    case = region.pseudonym(lisa)
    stay_case = region.enrol_ok(region.pupil("l-stay", bsn(62000002), "0363", enrolled))[0].case_pseudonym
    region.enrol_ok(region.pupil("l-lisa", lisa, "0363", enrolled, 20140101, "Lisa"))
    check_eq(region.attend_ok(region.record("l-1", "l-lisa", days[-6], minutes=300, reason=pb.SICK)),
             [["FIRST_ABSENCE"]], "an absence before leaving")
    region.settle()
    seen = region.received("mun-a")
    check_leaving(region, lisa, case, enrolled, left_on, seen)
    check_records(region, days, case, left_on)
    check_close(region, days)
    check_refusals(region, enrolled, left_on)
    check_kept_across_kill(region, days, left_on)
    seen = region.received("mun-a")
    check_enrolled_again(region, days, case, enrolled, seen)
    check_cli(region, stay_case, ymd(days[-1]), seen)
    check_eq(region.received("mun-b"), [], "what mun-b received")


if __name__ == "__main__":
    rbtest.run("school_leave", main)
