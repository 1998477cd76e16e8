#!/usr/bin/python3
"""The school daemon: enrolment, the attendance rules, idempotency, bad input.

One regiebus-school ("school-a", location 12AB00, days closed by hand only)
and two bare regiebus-node peers standing in for the home municipalities,
"mun-a" (CBS code 0363) and "mun-b" (0518), which keep whatever the school
sends them; the test reads it back with list_received and decodes the
payloads. Dates are computed from the real today in the daemons' time zone
(TZ=Europe/Amsterdam): every scenario lives on the weekdays of the last six
weeks, one pupil per scenario, so it works on any day.

  - enrolment: ENROLMENT reaches only the pupil's own municipality, named by
    the keyed BLAKE2b-256 of the citizen number; no citizen number, name or
    birth date in any envelope; an identical enrolment is a duplicate
  - the rules: first absence after present days, streak, the legal
    threshold (more than 16 h, lessons and minutes), high rate, one daily
    digest per date, episode closed by a present record and by the days
    without records of an absences-only school
  - a repeated submission changes nothing; a key reused is refused
  - bad input refused with code and field, nothing applied, counted
  - notifications at the school name the pupil; an ENROLMENT sent to the
    school is a PERMISSION_DENIED dead letter
  - SIGKILL after an accepted record: nothing lost, nothing sent twice
  - config errors exit 2 naming the key

test_school_days.py imports the helpers here (Region and friends).
"""
import datetime
import os
import time

import rbtest
from rbtest import TestFailure, check, check_eq, log

TZ = "Europe/Amsterdam"
LOCATION = "12AB00"
HOMES = {"0363": "mun-a", "0518": "mun-b"}


def use_school_time_zone():
    """Daemons and test agree on what today is."""
    os.environ["TZ"] = TZ
    time.tzset()


def ymd(day):
    return day.year * 10000 + day.month * 100 + day.day


def today():
    return datetime.date.today()


def weekdays_before(day, count):
    """The count weekdays (Monday to Friday) before day, oldest first."""
    out = []
    d = day
    while len(out) < count:
        d -= datetime.timedelta(days=1)
        if d.weekday() < 5:
            out.append(d)
    return list(reversed(out))


def last_weekend_day_before(day):
    d = day - datetime.timedelta(days=1)
    while d.weekday() < 5:
        d -= datetime.timedelta(days=1)
    return d


def bsn(n):
    """A citizen number passing the 11-check, made from the number n."""
    for candidate in range(10000000 + n % 80000000, 100000000):
        digits = "%08d" % candidate
        check_digit = sum(int(c) * (9 - i) for i, c in enumerate(digits)) % 11
        if check_digit < 10:
            return digits + str(check_digit)
    raise TestFailure("no citizen number from %d" % n)


def bad_bsn(good):
    """The same number with its last digit changed: fails the 11-check."""
    return good[:-1] + str((int(good[-1]) + 1) % 10)


class Region:
    """One school and the two municipality nodes it sends to."""

    def __init__(self, env, school_name="school-a", **school_settings):
        self.env = env
        self.pb = env.pb
        self.key_path, self.region_key = rbtest.region_key(env)
        check_eq(len(self.region_key), 32, "region key length")
        settings = dict(school__location=LOCATION, school__contact="attendance desk 020-555 0100",
                        region__key_file=self.key_path)
        for code, node in HOMES.items():
            settings["homes__" + code] = node
        settings.update(school_settings)
        self.school = env.node(school_name, daemon="school", **settings)
        self.muns = {}
        for node in HOMES.values():
            mun = env.node(node)
            mun.add_peer(self.school)
            self.school.add_peer(mun)
            self.muns[node] = mun

    def start(self):
        for mun in self.muns.values():
            mun.start()
        self.school.start()
        return self

    # -- identities

    def pseudonym(self, citizen_number):
        return rbtest.pseudonym(self.region_key, citizen_number)

    def pupil(self, local_id, citizen_number, home="0363", enrolled_on=0, birth_date=20150301,
              name="", location=""):
        return self.pb.Pupil(local_id=local_id, citizen_number=citizen_number, birth_date=birth_date,
                             home_municipality=home, school_location=location,
                             enrolled_on=enrolled_on, display_name=name)

    def record(self, key, local_id, day, minutes=0, lessons=0, present=False, reason=None):
        if reason is None:
            reason = 0 if present else self.pb.SICK
        return self.pb.AttendanceRecord(idempotency_key=key, local_id=local_id,
                                        date=day if isinstance(day, int) else ymd(day),
                                        minutes=minutes, lessons=lessons, present=present,
                                        reason=reason)

    # -- calls

    def enrol(self, *pupils):
        return self.school.api.call(enrol=self.pb.EnrolRequest(pupils=list(pupils)))

    def enrol_ok(self, *pupils):
        reply = self.enrol(*pupils)
        if reply.code != 0:
            raise rbtest.ApiError(self.pb, reply, "enrol")
        return reply.enrol.results

    def attend(self, *records):
        return self.school.api.call(record_attendance=self.pb.RecordAttendanceRequest(records=list(records)))

    def attend_ok(self, *records):
        """Record and return the signal kinds raised per record, by name."""
        reply = self.attend(*records)
        if reply.code != 0:
            raise rbtest.ApiError(self.pb, reply, "record_attendance")
        check_eq(len(reply.record_attendance.results), len(records), "results in the reply")
        return [[self.signal_name(k) for k in r.signals] for r in reply.record_attendance.results]

    def close_day(self, day):
        return self.school.api.call(close_day=self.pb.CloseDayRequest(
            date=day if isinstance(day, int) else ymd(day)))

    def signal_name(self, kind):
        return self.pb.AbsenceSignalKind.Name(kind)

    # -- what arrived

    def assigned(self, mun):
        return rbtest.peer(self.school.status(), mun).last_assigned_seq

    def settle(self, timeout=20):
        """Wait until every municipality has committed all the school sent it."""
        def drained():
            st = self.school.status()
            for name, mun in self.muns.items():
                p = rbtest.peer(st, name)
                if p.queue_depth != 0 or p.acked_seq != p.last_assigned_seq:
                    return None
                if rbtest.peer(mun.status(), self.school.name).received_seq != p.last_assigned_seq:
                    return None
            return True
        rbtest.wait_until(drained, timeout, "the municipalities to receive everything from %s" %
                          self.school.name)

    def received(self, mun):
        return self.muns[mun].api.received_all(self.school.name)

    def signals(self, mun, case):
        """AbsenceSignal payloads that arrived at mun for case, in order."""
        out = []
        for e in self.received(mun):
            if e.case_pseudonym == case and e.kind == self.pb.ABSENCE_SIGNAL:
                s = self.pb.AbsenceSignal()
                s.ParseFromString(e.payload)
                out.append(s)
        return out

    def signal_kinds(self, mun, case):
        return [self.signal_name(s.signal) for s in self.signals(mun, case)]

    def counter(self, name):
        return rbtest.counters(self.school.status()).get(name, 0)


def refused(pb, reply, code, field, text=None):
    """The reply is a refusal with this code and field (and text in its message)."""
    check(reply.code == code, "expected %s on %s, got %s field=%r message=%r" % (
        rbtest.errname(pb, code), field, rbtest.errname(pb, reply.code), reply.field, reply.message))
    check_eq(reply.field, field, "refused field")
    if text is not None:
        check(text in reply.message, "message %r does not say %r" % (reply.message, text))
    log("  refused as expected: %s %s: %s" % (rbtest.errname(pb, code), field, reply.message))


# ---------------------------------------------------------------------------
#  The scenarios

def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def check_enrolment(region, enrolled):
    pb = region.pb
    anna, bram = bsn(11122233), bsn(44455566)
    results = region.enrol_ok(
        region.pupil("e-anna", anna, "0363", enrolled, 20150301, "Anna de Vries"),
        region.pupil("e-bram", bram, "0518", enrolled, 20160412, "Bram Bakker"))
    check_eq([(r.case_pseudonym, r.municipality_node, r.duplicate) for r in results],
             [(region.pseudonym(anna), "mun-a", False), (region.pseudonym(bram), "mun-b", False)],
             "enrol results (pseudonym = keyed BLAKE2b-256 of the citizen number)")
    region.settle()
    for mun, mine, other in (("mun-a", anna, bram), ("mun-b", bram, anna)):
        got = [e for e in region.received(mun) if e.kind == pb.ENROLMENT]
        check_eq([e.case_pseudonym for e in got], [region.pseudonym(mine)], "ENROLMENT cases at %s" % mun)
        enrolment = pb.Enrolment()
        enrolment.ParseFromString(got[0].payload)
        check_eq((enrolment.school_location, enrolment.enrolled_on, enrolment.ended_on, enrolment.contact),
                 (LOCATION, enrolled, 0, "attendance desk 020-555 0100"), "Enrolment at %s" % mun)
        check(region.pseudonym(other) not in [e.case_pseudonym for e in region.received(mun)],
              "%s got the other municipality's pupil" % mun)
    for mun in HOMES.values():
        for e in region.received(mun):
            raw = e.SerializeToString()
            for secret in (anna, bram, "Anna de Vries", "Bram Bakker", "Anna", "Bakker",
                           "20150301", "20160412"):
                check(secret.encode() not in raw, "an envelope at %s carries %r" % (mun, secret))
            for birth in (20150301, 20160412):
                check(varint(birth) not in raw, "an envelope at %s carries birth date %d" % (mun, birth))
    log("ENROLMENT reached only each pupil's own municipality, with no personal data")
    before = region.assigned("mun-a"), region.assigned("mun-b")
    again = region.enrol_ok(region.pupil("e-anna", anna, "0363", 0, 20150301, "Anna de Vries"))
    check(again[0].duplicate and again[0].case_pseudonym == region.pseudonym(anna),
          "the same enrolment again (enrolled_on 0) is a duplicate: %s" % again[0])
    check_eq((region.assigned("mun-a"), region.assigned("mun-b")), before, "events sent for a duplicate")
    check_eq(region.counter("school_pupils"), 2, "school_pupils")


def enrol_one(region, local_id, number, enrolled, name="", home="0363"):
    result = region.enrol_ok(region.pupil(local_id, number, home, enrolled, 20140101, name))[0]
    return result.case_pseudonym


def check_rules(region, days, enrolled):
    """One pupil per rule; the replies name the signals, the municipality gets them."""
    pb = region.pb
    d = days
    r = region.record
    sick, unexcused = pb.SICK, pb.UNEXCUSED
    cases = {}

    # First absence after present days; a present record closes the episode.
    cases["first"] = enrol_one(region, "r-first", bsn(20000001), enrolled, "Fleur")
    got = region.attend_ok(r("first-1", "r-first", d[-10], present=True),
                           r("first-2", "r-first", d[-9], present=True),
                           r("first-3", "r-first", d[-8], minutes=300, reason=sick))
    check_eq(got, [[], [], ["FIRST_ABSENCE"]], "first absence after two present days")
    check_eq(region.attend_ok(r("first-4", "r-first", d[-7], present=True)), [["EPISODE_CLOSED"]],
             "a present record after the absence")

    # A streak at 3 days, with one daily digest for a day of two records.
    cases["streak"] = enrol_one(region, "r-streak", bsn(20000002), enrolled)
    got = region.attend_ok(r("streak-1", "r-streak", d[-6], minutes=300, reason=sick),
                           r("streak-2", "r-streak", d[-5], lessons=2, reason=sick),
                           r("streak-3", "r-streak", d[-5], lessons=1, reason=sick),
                           r("streak-4", "r-streak", d[-4], minutes=300, reason=sick))
    check_eq(got, [["FIRST_ABSENCE"], ["DAILY_DIGEST"], [], ["STREAK"]], "streak and digest")

    # The legal threshold: more than 960 unexcused minutes, lessons and minutes mixed.
    cases["legal"] = enrol_one(region, "r-legal", bsn(20000003), enrolled)
    got = region.attend_ok(r("legal-1", "r-legal", d[-9], lessons=6, reason=unexcused),
                           r("legal-2", "r-legal", d[-8], minutes=300, reason=unexcused),
                           r("legal-3", "r-legal", d[-7], lessons=6, reason=unexcused),
                           r("legal-4", "r-legal", d[-6], minutes=60, reason=unexcused))
    check_eq(got, [["FIRST_ABSENCE"], ["DAILY_DIGEST"], ["STREAK"], ["DAILY_DIGEST"]],
             "up to exactly 960 unexcused minutes: no threshold yet")
    check_eq(region.attend_ok(r("legal-5", "r-legal", d[-6], minutes=1, reason=unexcused)),
             [["LEGAL_THRESHOLD"]], "the 961st unexcused minute")

    # A high rate: four present days, then absence over 20 % of the time.
    cases["rate"] = enrol_one(region, "r-rate", bsn(20000004), enrolled)
    got = region.attend_ok(*[r("rate-p%d" % i, "r-rate", d[i], present=True) for i in (-12, -11, -10, -9)])
    check_eq(got, [[]] * 4, "present days")
    check_eq(region.attend_ok(r("rate-1", "r-rate", d[-8], minutes=300, reason=sick)), [["FIRST_ABSENCE"]],
             "200 permille is not over the rate")
    check_eq(region.attend_ok(r("rate-2", "r-rate", d[-7], minutes=300, reason=sick)), [["HIGH_RATE"]],
             "333 permille is")
    check_eq(region.attend_ok(r("rate-3", "r-rate", d[-6], minutes=300, reason=sick)), [["STREAK"]],
             "the rate once per episode")

    # An absences-only school: a day without records counts present.
    cases["gaps"] = enrol_one(region, "r-gaps", bsn(20000005), enrolled)
    check_eq(region.attend_ok(r("gaps-1", "r-gaps", d[-5], minutes=300, reason=sick)), [["FIRST_ABSENCE"]],
             "absence")
    check_eq(region.attend_ok(r("gaps-2", "r-gaps", d[-3], minutes=300, reason=sick)),
             [["EPISODE_CLOSED", "FIRST_ABSENCE"]], "absence after a day without records")

    # A pupil of the other municipality.
    cases["other"] = enrol_one(region, "r-other", bsn(20000006), enrolled, home="0518")
    check_eq(region.attend_ok(r("other-1", "r-other", d[-2], lessons=1, reason=pb.LATE)),
             [["FIRST_ABSENCE"]], "absence of a mun-b pupil")

    region.settle()
    first = region.signals("mun-a", cases["first"])
    check_eq([(region.signal_name(s.signal), s.date, s.episode, s.episode_started, s.reason, s.streak_days)
              for s in first],
             [("FIRST_ABSENCE", ymd(d[-8]), 1, ymd(d[-8]), sick, 1),
              ("EPISODE_CLOSED", ymd(d[-7]), 1, ymd(d[-8]), 0, 0)], "first absence at mun-a")
    check_eq((first[0].school_location, first[0].absences_today, first[0].absent_minutes_4w,
              first[0].unexcused_minutes_4w), (LOCATION, 1, 300, 0), "first absence's figures")
    streak = region.signals("mun-a", cases["streak"])
    check_eq([(region.signal_name(s.signal), s.date, s.streak_days) for s in streak],
             [("FIRST_ABSENCE", ymd(d[-6]), 1), ("DAILY_DIGEST", ymd(d[-5]), 2),
              ("STREAK", ymd(d[-4]), 3)], "streak at mun-a (one digest for the day of two records)")
    legal = region.signals("mun-a", cases["legal"])
    check_eq([region.signal_name(s.signal) for s in legal],
             ["FIRST_ABSENCE", "DAILY_DIGEST", "STREAK", "DAILY_DIGEST", "LEGAL_THRESHOLD"], "legal at mun-a")
    check_eq((legal[-1].date, legal[-1].reason, legal[-1].unexcused_minutes_4w, legal[-1].absent_minutes_4w),
             (ymd(d[-6]), unexcused, 961, 961), "the threshold's figures")
    rate = region.signals("mun-a", cases["rate"])
    check_eq([(region.signal_name(s.signal), s.rate_permille_4w) for s in rate],
             [("FIRST_ABSENCE", 200), ("HIGH_RATE", 333), ("STREAK", 428)], "rate at mun-a")
    gaps = region.signals("mun-a", cases["gaps"])
    check_eq([(region.signal_name(s.signal), s.date, s.episode) for s in gaps],
             [("FIRST_ABSENCE", ymd(d[-5]), 1), ("EPISODE_CLOSED", ymd(d[-4]), 1),
              ("FIRST_ABSENCE", ymd(d[-3]), 2)], "absences only at mun-a")
    check_eq(region.signal_kinds("mun-b", cases["other"]), ["FIRST_ABSENCE"], "mun-b pupil at mun-b")
    check_eq(region.signal_kinds("mun-a", cases["other"]), [], "mun-b pupil at mun-a")
    for name, case in cases.items():
        if name != "other":
            check_eq(region.signal_kinds("mun-b", case), [], "signals of mun-a pupil %s at mun-b" % name)
    sent = {"FIRST_ABSENCE": 7, "EPISODE_CLOSED": 2, "DAILY_DIGEST": 3, "STREAK": 3,
            "LEGAL_THRESHOLD": 1, "HIGH_RATE": 1}
    for kind, count in sent.items():
        check_eq(region.counter("school_signal_" + kind.lower()), count, "school_signal_" + kind.lower())
    check_eq(region.counter("school_signals_sent"), sum(sent.values()), "school_signals_sent")
    check_eq(region.counter("school_records_accepted"), 23, "school_records_accepted")
    log("every rule raised its signal, and only the pupil's municipality got it")
    return cases


def check_repeats(region, days, enrolled):
    pb = region.pb
    enrol_one(region, "i-ida", bsn(30000001), enrolled)
    batch = [region.record("ida-1", "i-ida", days[-2], minutes=120, reason=pb.SICK),
             region.record("ida-2", "i-ida", days[-1], lessons=3, reason=pb.SICK)]
    first = region.attend(*batch)
    check_eq(first.code, 0, "first submission")
    check_eq([list(r.signals) for r in first.record_attendance.results],
             [[pb.FIRST_ABSENCE], [pb.DAILY_DIGEST]], "signals of the first submission")
    sent = region.assigned("mun-a")
    accepted = region.counter("school_records_accepted")
    again = region.attend(*batch)
    check_eq(again.code, 0, "repeated submission")
    check_eq([(r.duplicate, list(r.signals)) for r in again.record_attendance.results],
             [(True, [pb.FIRST_ABSENCE]), (True, [pb.DAILY_DIGEST])], "the repeat's reply")
    check_eq(region.assigned("mun-a"), sent, "events sent for the repeat")
    check_eq(region.counter("school_records_accepted"), accepted, "records accepted by the repeat")
    check_eq(region.counter("school_records_duplicate"), 2, "school_records_duplicate")
    conflict = region.attend(region.record("ida-2", "i-ida", days[-1], lessons=4, reason=pb.SICK))
    refused(pb, conflict, pb.IDEMPOTENCY_CONFLICT, "records[0].idempotency_key")
    check_eq(region.counter("api_refused_idempotency_conflict"), 1, "api_refused_idempotency_conflict")
    region.settle()
    check_eq(region.signal_kinds("mun-a", region.pseudonym(bsn(30000001))),
             ["FIRST_ABSENCE", "DAILY_DIGEST"], "signals at mun-a after the repeat")


def check_bad_input(region, days, enrolled, holiday):
    """Each refused with code and field; afterwards the pupil behaves as if none came."""
    pb = region.pb
    r = region.record
    fresh = bsn(40000001)
    case = enrol_one(region, "b-bert", fresh, enrolled)
    late = enrol_one(region, "b-late", bsn(40000002), ymd(days[-3]))
    before = {c: region.counter("api_refused_" + c) for c in
              ("not_found", "invalid_field", "already_exists", "missing_field")}
    sent = region.assigned("mun-a"), region.assigned("mun-b")
    tomorrow = today() + datetime.timedelta(days=1)
    weekend = last_weekend_day_before(today())
    good = r("bert-1", "b-bert", days[-2], minutes=300, reason=pb.UNEXCUSED)
    attempts = [
        ("unknown pupil", region.attend(r("bad-1", "nobody", days[-2], minutes=300)),
         pb.NOT_FOUND, "records[0].local_id", "nobody"),
        ("date in the future", region.attend(r("bad-2", "b-bert", tomorrow, minutes=300)),
         pb.INVALID_FIELD, "records[0].date", "in the future"),
        ("date before enrolment", region.attend(r("bad-3", "b-late", days[-5], minutes=300)),
         pb.INVALID_FIELD, "records[0].date", "before enrolment on %d" % ymd(days[-3])),
        ("weekend", region.attend(r("bad-4", "b-bert", weekend, minutes=300)),
         pb.INVALID_FIELD, "records[0].date", "not a school day"),
        ("holiday", region.attend(r("bad-5", "b-bert", holiday, minutes=300)),
         pb.INVALID_FIELD, "records[0].date", "not a school day"),
        ("unknown reason", region.attend(r("bad-6", "b-bert", days[-2], minutes=300, reason=9)),
         pb.INVALID_FIELD, "records[0].reason", None),
        ("no idempotency key", region.attend(r("", "b-bert", days[-2], minutes=300)),
         pb.MISSING_FIELD, "records[0].idempotency_key", None),
        ("one bad record among good ones",
         region.attend(good, r("bert-2", "b-bert", days[-1], minutes=300, reason=pb.UNEXCUSED),
                       r("bad-7", "b-bert", days[-1], minutes=301, reason=pb.SICK)),
         pb.INVALID_FIELD, "records[2].minutes", None),
        ("unknown municipality", region.enrol(region.pupil("b-new", bsn(40000003), "0599", enrolled)),
         pb.NOT_FOUND, "pupils[0].home_municipality", "0599"),
        ("bad citizen number", region.enrol(region.pupil("b-new", bad_bsn(bsn(40000003)), "0363", enrolled)),
         pb.INVALID_FIELD, "pupils[0].citizen_number", None),
        ("local id enrolled with other details",
         region.enrol(region.pupil("b-bert", fresh, "0363", enrolled, 20140101, "Bert")),
         pb.ALREADY_EXISTS, "pupils[0].local_id", None),
        ("citizen number enrolled under another local id",
         region.enrol(region.pupil("b-bert-2", fresh, "0363", enrolled, 20140101)),
         pb.ALREADY_EXISTS, "pupils[0].citizen_number", "b-bert"),
        ("one bad pupil among good ones",
         region.enrol(region.pupil("b-new", bsn(40000003), "0363", enrolled),
                      region.pupil("b-new-2", bsn(40000004), "0363", 0, 20990101)),
         pb.INVALID_FIELD, "pupils[1].birth_date", None),
    ]
    for what, reply, code, field, text in attempts:
        log("%s:" % what)
        refused(pb, reply, code, field, text)
    check_eq((region.assigned("mun-a"), region.assigned("mun-b")), sent, "events sent for refused input")
    expected = {"not_found": 2, "invalid_field": 8, "already_exists": 2, "missing_field": 1}
    for name, count in expected.items():
        check_eq(region.counter("api_refused_" + name) - before[name], count, "api_refused_" + name)
    # Nothing of it was applied: the good record opens the first episode,
    # and the pupil of the refused batch was never enrolled.
    check_eq(region.attend_ok(good), [["FIRST_ABSENCE"]], "the good record after the refusals")
    check_eq([r.duplicate for r in region.enrol_ok(region.pupil("b-new", bsn(40000003), "0363", enrolled))],
             [False], "the good pupil of the refused enrolment is new")
    region.settle()
    check_eq([(region.signal_name(s.signal), s.episode, s.unexcused_minutes_4w)
              for s in region.signals("mun-a", case)],
             [("FIRST_ABSENCE", 1, 300)], "signals of the pupil after the refusals")
    check_eq(region.signal_kinds("mun-a", late), [], "signals of the late pupil")
    log("bad input refused, counted, and nothing of it applied")
    return case


def check_notifications(region, cases):
    """A municipality's notifications are listed at the school under the
    pupil's name; an ENROLMENT sent to the school is a dead letter."""
    pb = region.pb
    mun = region.muns["mun-a"]
    school = region.school
    items = []
    for case, key in ((cases["first"], "n-1"), (cases["streak"], "n-2")):
        n = rbtest.notification(pb, school.name, pb.SCHOOL_MENTOR, from_node=school.name,
                                subject=pb.ABSENCE_SIGNAL, expected=pb.CONTACT_PARENTS,
                                absence=pb.AbsenceSignal(signal=pb.FIRST_ABSENCE, episode=1, date=20261123,
                                                         school_location=LOCATION))
        items.append((case, n, key))
    rbtest.deliver_notifications(pb, mun, school, items)
    check_eq([(i.case_pseudonym, i.local_name) for i in rbtest.list_notifications(pb, school)],
             [(cases["first"], "Fleur"), (cases["streak"], "r-streak")],
             "notifications named by display name, or local id when there is none")
    enrolment = pb.Enrolment(school_location=LOCATION, enrolled_on=20261123).SerializeToString()
    rbtest.check_kind_refused(pb, school, mun, cases["first"], pb.ENROLMENT, enrolment)
    check_eq(region.counter("link_refused_permission_denied"), 1, "link_refused_permission_denied")
    check_eq([e.kind for e in school.api.received_all("mun-a")], [pb.NOTIFICATION, pb.NOTIFICATION],
             "what the school took from mun-a")
    log("notifications name the pupil; the ENROLMENT envelope was refused and the school goes on")


def check_kill(region, days, case):
    """SIGKILL right after an accepted record: nothing lost, nothing sent twice."""
    pb = region.pb
    record = region.record("bert-3", "b-bert", days[-1], minutes=200, reason=pb.UNEXCUSED)
    check_eq(region.attend_ok(record), [["DAILY_DIGEST"]], "record before the kill")
    region.school.kill()
    region.school.start()
    again = region.attend(record)
    check_eq(again.code, 0, "the record again after the restart")
    check_eq([(r.duplicate, list(r.signals)) for r in again.record_attendance.results],
             [(True, [pb.DAILY_DIGEST])], "the record was kept")
    check_eq(region.attend_ok(region.record("bert-4", "b-bert", days[-1], present=True)),
             [["EPISODE_CLOSED"]], "the state was kept: present closes the open episode")
    region.settle()
    got = [e for e in region.received("mun-a") if e.case_pseudonym == case]
    check_eq(len({e.event_id for e in got}), len(got), "distinct event ids")
    check_eq(region.signal_kinds("mun-a", case), ["FIRST_ABSENCE", "DAILY_DIGEST", "EPISODE_CLOSED"],
             "signals at mun-a across the kill")
    log("nothing lost and nothing sent twice across SIGKILL")


def check_config_errors(env, region):
    """Each broken school config exits 2 naming the key."""
    base = {section: dict(items) for section, items in region.school.settings.items()}
    node = env.node("school-bad", daemon="school")
    for mun in region.muns.values():
        node.add_peer(mun)
    cases = [
        ("homes names a node that is no peer", {"homes": {"0363": "mun-x"}}, "homes/0363"),
        ("unknown key in school", {"school": dict(base["school"], colour="blue")}, "school/colour"),
        ("no school/location", {"school": {"contact": "desk"}}, "school/location"),
        ("bad school/location", {"school": dict(base["school"], location="12ab00")}, "school/location"),
        ("bad close_day_at", {"school": dict(base["school"], close_day_at="25:00")}, "school/close_day_at"),
        ("bad holidays", {"school": dict(base["school"], holidays="20261301")}, "school/holidays"),
        ("bad rule", {"rules": {"streak_days": "0"}}, "rules/streak_days"),
        ("unknown rule", {"rules": {"streak": "3"}}, "rules/streak"),
        ("bad municipality code", {"homes": {"363": "mun-a"}}, "homes/363"),
        ("no homes", {"homes": None}, "homes"),
        ("no region key file", {"region": None}, "region/key_file"),
    ]
    for what, change, key in cases:
        settings = dict(base, node=dict(base["node"], name=node.name, data_dir=node.data_dir,
                                        cert=node.cert, bind=node.bind),
                        api={"endpoint": node.api_endpoint})
        settings.update(change)
        node.settings = {section: items for section, items in settings.items() if items is not None}
        rbtest.check_config_refused(env, node, [], key)
        log("config refused as expected: %s (%s)" % (what, key))


def main(env):
    use_school_time_zone()
    all_days = weekdays_before(today(), 26)
    holiday = all_days[-12]
    days = [d for d in all_days if d != holiday]
    enrolled = ymd(today() - datetime.timedelta(days=50))
    region = Region(env, school__close_day_at="never", school__holidays=str(ymd(holiday))).start()
    log("today %s, school days used %s .. %s, holiday %s" % (today(), days[0], days[-1], holiday))
    check_enrolment(region, enrolled)
    cases = check_rules(region, days, enrolled)
    check_repeats(region, days, enrolled)
    bert = check_bad_input(region, days, enrolled, holiday)
    check_notifications(region, cases)
    check_kill(region, days, bert)
    check_config_errors(env, region)


if __name__ == "__main__":
    rbtest.run("school", main)
