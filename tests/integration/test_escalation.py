#!/usr/bin/python3
"""The escalation ladder and acknowledgement reminders, on a test clock.

regiebus-municipality mun-a (test clock, doorbraakteam on the bare node
team-a, reminders after 24 h, escalation 24 h later), the real portal
daemon portal-a, and bare nodes school-a and care-a playing their
agencies. Checks:
  - a first absence: the portal's parent acknowledges its copy at portal-a,
    whose NOTIFICATION_ACK reaches mun-a (municipality_acks_received); the
    school does not: a day later its copy comes again as a reminder (an id
    of its own, reminder 1, reminder_of the original, stored beside it),
    a day after that the duty desk (no casusregisseur yet) gets an
    ESCALATION_UNACKNOWLEDGED naming the notification and the school; the
    portal gets nothing more; the duty desk's ack of it is recorded;
  - 4 weeks: ESCALATION_CASUSREGISSEUR_NEEDED to every holder and the duty
    desk; a week on a reminder (NO_CASUSREGISSEUR 1); staff assign a
    casusregisseur: no more reminders;
  - 8 weeks: the doorbraakteam joins (REGIE_CHANGE, show_case) and gets
    ESCALATION_DOORBRAAKTEAM with every holder;
  - mun-a SIGKILLed right after the clock passes 12 weeks, twice: exactly
    one ESCALATION_THUISZITTER per recipient; show_case: level 3,
    thuiszitter since that day;
  - the episode closes: show_case says so, no thuiszitter, nothing next;
  - another case whose plan stalls twice escalates early (plan_id named);
  - bad policy values: exit 2 naming the key.
"""

import datetime
import os
import time

import rbtest
from rbtest import check, check_eq, log, wait_until
from test_municipality import MUN, enrolment

BSN = "111222333"
TEAM = "team-a"


class Ladder:
    def __init__(self, env):
        os.environ["TZ"] = "Europe/Amsterdam"
        time.tzset()
        self.env = env
        self.pb = env.pb
        key_path, key = rbtest.region_key(env)
        self.case = rbtest.pseudonym(key, BSN)
        self.case2 = rbtest.CASE
        self.mun = env.node(MUN, daemon="municipality", node__clock="test",
                            municipality__duty_contact="duty desk 020-5550001",
                            policy__doorbraakteam_node=TEAM, policy__doorbraakteam_contact="doorbraak 020-5550002",
                            policy__ack_remind_hours=24, policy__ack_escalate_hours=24)
        self.portal = env.node("portal-a", daemon="portal", portal__municipality=MUN,
                               region__key_file=key_path, homes__0363=MUN)
        self.bare = {name: env.node(name) for name in ("school-a", "care-a", TEAM)}
        for n in [self.portal] + list(self.bare.values()):
            n.add_peer(self.mun)
            self.mun.add_peer(n)
        self.keys = 0
        self.sent = {name: 0 for name in self.bare}

    def nodes(self):
        return {MUN: self.mun, "portal-a": self.portal, **self.bare}

    def start(self):
        for n in self.nodes().values():
            n.start()

    def send(self, origin, kind, payload, case=None):
        self.keys += 1
        reply = self.bare[origin].api.submit([self.pb.Submission(
            idempotency_key="k-%d" % self.keys, destination=MUN, case_pseudonym=case or self.case,
            kind=kind, payload=payload.SerializeToString())])
        rbtest.check_ok(self.pb, reply, "submit at %s" % origin)
        self.sent[origin] += 1

    def call(self, node, what, **req):
        return rbtest.check_ok(self.pb, node.api.call(**req), what)

    def today(self):
        return datetime.date.fromtimestamp(self.mun.status().now_ms / 1000)

    def advance(self, days, what):
        target = datetime.datetime.combine(self.today() + datetime.timedelta(days=days), datetime.time(0, 5))
        by_ms = int(target.timestamp() * 1000) - self.mun.status().now_ms
        self.call(self.mun, "advance_clock", advance_clock=self.pb.AdvanceClockRequest(by_ms=by_ms))
        log("mun-a's clock moved to %s: %s" % (self.today(), what))

    def advance_hours(self, hours, what):
        self.call(self.mun, "advance_clock", advance_clock=self.pb.AdvanceClockRequest(by_ms=hours * 3600000))
        log("mun-a's clock moved %d hours: %s" % (hours, what))

    def notices(self, name):
        items, after = [], 0
        while True:
            reply = self.call(self.nodes()[name], "list_notifications at %s" % name,
                              list_notifications=self.pb.ListNotificationsRequest(after_seq=after, limit=1000))
            items.extend(reply.list_notifications.items)
            if not reply.list_notifications.more:
                return items
            after = items[-1].seq

    def escalations(self, step, case=None):
        """(node, role) -> notices of an ESCALATION step about the case
        (not their reminders)."""
        found = {}
        for name in self.nodes():
            for i in self.notices(name):
                n = i.notification
                if n.subject == self.pb.ESCALATION and n.escalation.step == step \
                        and not n.reminder and i.case_pseudonym == (case or self.case):
                    found.setdefault((name, n.recipient.role), []).append(i)
        return found

    def expect_step(self, step, recipients, what, count=1, case=None):
        wait_until(lambda: all(len(self.escalations(step, case).get(r, [])) >= count for r in recipients)
                   or None, 20, what)
        time.sleep(1.2)                 # two more ticks: nothing more may come
        got = self.escalations(step, case)
        check_eq(sorted(got), sorted(recipients), what + ": who got it")
        for key, items in got.items():
            check_eq(len(items), count, what + ": copies at %s/%d" % key)
        return {k: v[-1].notification for k, v in got.items()}

    def show(self, case=None):
        return self.call(self.mun, "show_case", show_case=self.pb.ShowCaseRequest(
            case_pseudonym=case or self.case)).show_case

    def counter(self, name):
        return rbtest.counter(self.mun.status(), "municipality_" + name)


def ymd(d):
    return d.year * 10000 + d.month * 100 + d.day


def acks(l):
    pb = l.pb
    school, portal = ("school-a", pb.SCHOOL_MENTOR), ("portal-a", pb.PARENT)
    duty = (MUN, pb.DUTY_DESK)
    today = ymd(l.today())
    l.send("school-a", pb.ABSENCE_SIGNAL, pb.AbsenceSignal(
        signal=pb.FIRST_ABSENCE, episode=1, date=today, episode_started=today, reason=pb.UNEXCUSED,
        school_location="12AB00"))
    wait_until(lambda: [i for i in l.notices("portal-a") if i.notification.subject == pb.ABSENCE_SIGNAL]
               or None, 20, "the first absence at portal-a")
    item = [i for i in l.notices("portal-a") if i.notification.subject == pb.ABSENCE_SIGNAL][0]
    original = item.notification.notification_id
    l.call(l.portal, "ack at portal-a", ack_notification=pb.AckNotificationRequest(seq=item.seq, by="mother"))
    wait_until(lambda: l.counter("acks_received") >= 1 or None, 20, "the portal's receipt at mun-a")
    log("the parent acknowledged at portal-a; mun-a recorded the receipt")

    l.advance_hours(25, "a day without the school's acknowledgement")
    def reminders(name):
        return [i for i in l.notices(name) if i.notification.reminder]
    wait_until(lambda: reminders("school-a") or None, 20, "the reminder at school-a")
    r = reminders("school-a")
    check_eq(len(r), 1, "one reminder at school-a")
    n = r[0].notification
    check_eq((n.subject, n.reminder, n.reminder_of, n.absence.signal, n.recipient.node),
             (pb.ABSENCE_SIGNAL, 1, original, pb.FIRST_ABSENCE, "school-a"), "the reminder")
    check(n.notification_id != original, "the reminder has an id of its own")
    check_eq(len([i for i in l.notices("school-a") if i.notification.notification_id == original]), 1,
             "the original stays at school-a, once")
    check_eq(reminders("portal-a"), [], "no reminder for the parent who acknowledged")
    out = l.bare["school-a"].cli("notifications", "--new").stdout
    check("REMINDER 1: not acknowledged yet (notification %s..." % original[:6].hex() in out,
          "regiebus notifications shows the reminder in words: %r" % out[-600:])
    log("a day later school-a is reminded (reminder 1 of the same notification); the parent is not")

    l.advance_hours(25, "another day: the reminder is not acknowledged either")
    got = l.expect_step(pb.ESCALATION_UNACKNOWLEDGED, [duty], "the unacknowledged escalation")
    e = got[duty].escalation
    check_eq((e.notification_id, e.unacknowledged_by.node, e.unacknowledged_by.role, e.about, e.sent_on),
             (original, "school-a", pb.SCHOOL_MENTOR, pb.ABSENCE_SIGNAL, today), "what the duty desk is told")
    check_eq(got[duty].expected, pb.ASSESS_CASE, "the duty desk assesses")
    check_eq(reminders("portal-a"), [], "still nothing more for the parent")
    seq = [i for i in l.notices(MUN) if i.notification.subject == pb.ESCALATION][0].seq
    before = l.counter("acks_received")
    l.call(l.mun, "ack at mun-a", ack_notification=pb.AckNotificationRequest(seq=seq, by="duty.officer"))
    check_eq(l.counter("acks_received"), before + 1, "the duty desk's own ack recorded")
    out = l.mun.cli("notifications").stdout
    check("Not acknowledged, also not after a reminder: the ABSENCE_SIGNAL notification of" in out
          and "to school mentor (school-a, SCHOOL_MENTOR)" in out, "the escalation in words: %r" % out[-800:])
    log("another day: the duty desk (no casusregisseur yet) is told school-a did not acknowledge")
    return today


def ladder(l, started):
    pb = l.pb
    holders = [("school-a", pb.SCHOOL_MENTOR), ("portal-a", pb.PARENT), ("care-a", pb.JEUGDHULP)]
    duty = (MUN, pb.DUTY_DESK)
    start = datetime.date(started // 10000, started // 100 % 100, started % 100)
    def to_week(weeks, what):
        l.advance((start + datetime.timedelta(weeks=weeks) - l.today()).days, what)

    to_week(4, "4 weeks of absence")
    got = l.expect_step(pb.ESCALATION_CASUSREGISSEUR_NEEDED, holders + [duty], "4 weeks")
    check_eq((got[duty].escalation.level, got[duty].escalation.weeks_absent, got[duty].escalation.episode_started,
              got[duty].expected), (1, 4, started, pb.ASSESS_CASE), "level 1 at the duty desk")
    show = l.show()
    check_eq((show.escalation.level, show.escalation.level_since, show.escalation.episode_open),
             (1, ymd(l.today()), True), "show_case at level 1")
    out = l.bare["care-a"].cli("notifications").stdout
    check("Escalation level 1: absent 4 weeks (since" in out and "a casusregisseur must be assigned" in out,
          "level 1 in words at care-a: %r" % out[-600:])
    log("4 weeks: every holder and the duty desk: a casusregisseur must be assigned")

    l.advance(7, "a week without a casusregisseur")
    got = l.expect_step(pb.ESCALATION_NO_CASUSREGISSEUR, holders + [duty], "the first reminder")
    check_eq(got[duty].escalation.reminder, 1, "reminder 1")
    l.call(l.mun, "regie", regie=pb.RegieRequest(case_pseudonym=l.case, actor=pb.Actor(
        node=MUN, role=pb.CASUSREGISSEUR), joined=True, contact="casusregisseur 020-5550003"))
    l.advance(7, "a week with a casusregisseur")
    time.sleep(1.5)
    check_eq(sum(len(v) for v in l.escalations(pb.ESCALATION_NO_CASUSREGISSEUR).values()), 4,
             "no second reminder once a casusregisseur holds the case")
    log("a week on: reminded; staff assign a casusregisseur: no more reminders")

    to_week(8, "8 weeks without a plan")
    team = (TEAM, pb.DOORBRAAKTEAM)
    director = (MUN, pb.CASUSREGISSEUR)
    got = l.expect_step(pb.ESCALATION_DOORBRAAKTEAM, holders + [duty, director, team], "8 weeks")
    check_eq((got[team].escalation.level, got[team].expected), (2, pb.ASSESS_CASE), "the team's copy")
    joined = [i for i in l.notices(TEAM) if i.notification.subject == pb.REGIE_CHANGE]
    check_eq([(i.notification.regie_change.actor.node, i.notification.regie_change.reason) for i in joined],
             [(TEAM, "doorbraakteam")], "the team's REGIE_CHANGE")
    check((TEAM, pb.DOORBRAAKTEAM) in [(h.actor.node, h.actor.role) for h in l.show().holders],
          "the doorbraakteam holds the case")
    log("8 weeks: the doorbraakteam joins the case and is told, with every holder")

    l.mun.kill()
    l.mun.start()
    to_week(12, "12 weeks")
    l.mun.kill()
    l.mun.start()
    l.mun.kill()
    l.mun.start()
    got = l.expect_step(pb.ESCALATION_THUISZITTER, holders + [duty, director, team], "12 weeks")
    show = l.show().escalation
    check_eq((show.level, show.thuiszitter, show.thuiszitter_since, show.next_step_on),
             (3, True, ymd(l.today()), 0), "show_case: thuiszitter")
    out = l.mun.cli("case", l.case).stdout
    check("escalation level 3, thuiszitter" in out and "THUISZITTER since" in out, "regiebus case: %r" % out)
    log("12 weeks, mun-a SIGKILLed around it twice: thuiszitter once per recipient, on the case")

    l.send("school-a", pb.ABSENCE_SIGNAL, pb.AbsenceSignal(
        signal=pb.EPISODE_CLOSED, episode=1, date=ymd(l.today()), episode_started=started,
        school_location="12AB00"))
    wait_until(lambda: not l.show().escalation.episode_open or None, 20, "the episode to close")
    show = l.show().escalation
    check_eq((show.episode_open, show.episode_closed_on, show.thuiszitter, show.level, show.next_step_on),
             (False, ymd(l.today()), False, 3, 0), "show_case after the close")
    log("present again: the episode closed, no longer thuiszitter, nothing next")


def stalls(l):
    pb = l.pb
    case = l.case2
    l.send("school-a", pb.ENROLMENT, enrolment(pb), case=case)
    wait_until(lambda: l.call(l.mun, "show", show_case=pb.ShowCaseRequest(case_pseudonym=case)) or None,
               20, "the second case")
    director = pb.Actor(node=MUN, role=pb.CASUSREGISSEUR)
    l.call(l.mun, "regie", regie=pb.RegieRequest(case_pseudonym=case, actor=director, joined=True))
    day = lambda n: ymd(l.today() + datetime.timedelta(days=n))
    l.call(l.mun, "plan", plan_command=pb.PlanCommandRequest(case_pseudonym=case, command=pb.PlanCommand(
        actor=director, register=pb.PlanRegistration(type=pb.PLAN_ACTION, owner=director, review_interval_days=30,
                                                     milestones=[pb.PlanStep(label="school plan", date=day(1)),
                                                                 pb.PlanStep(label="care plan", date=day(2))]))))
    l.advance(2, "the first milestone missed")
    time.sleep(1.5)
    check_eq(l.escalations(pb.ESCALATION_CASUSREGISSEUR_NEEDED, case), {}, "one stall: no escalation")
    l.advance(1, "the second missed too")
    got = l.expect_step(pb.ESCALATION_CASUSREGISSEUR_NEEDED, [("school-a", pb.SCHOOL_MENTOR),
                        (MUN, pb.CASUSREGISSEUR), (MUN, pb.DUTY_DESK)], "two stalls", case=case)
    e = got[(MUN, pb.DUTY_DESK)].escalation
    check_eq((e.plan_id, e.plan_stalls, e.level, e.episode_started), (1, 2, 1, 0), "early, by the plan's stalls")
    check_eq(l.show(case).escalation.level, 1, "the second case at level 1")
    log("a plan that stalls twice escalates its case early, naming the plan")


def config(l):
    for override, key in (("policy/thuiszitter_weeks=8", "policy/thuiszitter_weeks"),
                          ("policy/casusregisseur_weeks=0", "policy/casusregisseur_weeks"),
                          ("policy/ack_scope=some", "policy/ack_scope"),
                          ("policy/doorbraakteam_node=nobody", "policy/doorbraakteam_node"),
                          ("policy/ack_remind_hours=0", "policy/ack_remind_hours"),
                          ("policy/ladder=1", "policy/ladder")):
        rbtest.check_config_refused(l.env, l.mun, ["--set", override], key)
    log("bad policy values: exit 2 naming the key")


def main(env):
    pb = env.pb
    l = Ladder(env)
    l.start()
    l.send("school-a", pb.ENROLMENT, enrolment(pb))
    l.call(l.portal, "parent_link", parent_link=pb.ParentLinkRequest(
        account="mother", citizen_number=BSN, child_name="Sanne", linked=True))
    l.send("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.JEUGDHULP, involved=True, contact="team 3"))
    wait_until(lambda: len(l.show().holders) == 3 or None, 20, "three holders at mun-a")
    #  The ladder's steps tell care how long the child has been away: like
    #  absences, they reach youth care only with the parents' consent.
    l.call(l.portal, "consent", consent=pb.ConsentRequest(
        account="mother", citizen_number=BSN, role=pb.JEUGDHULP, given=True))
    wait_until(lambda: [i for i in l.notices("care-a") if i.notification.subject == pb.CONSENT_CHANGE] or None,
               20, "care-a hears of the parents' consent")
    started = acks(l)
    ladder(l, started)
    stalls(l)
    config(l)


if __name__ == "__main__":
    rbtest.run("escalation", main)
