#!/usr/bin/python3
"""Plans at the municipality, watched by durable timers on a test clock.

regiebus-municipality mun-a with a test clock, and the bare agency nodes of
test_municipality.py: school-a, portal-a and care-a hold the case, and
mun-a's staff join it as CASUSREGISSEUR. Checks:
  - mun-a registers a plan (owner school-a, milestones one week and a month
    out, reviewed every 10 days): every holder gets PLAN_REGISTERED, one
    notification id, the plan as stored;
  - two days before the first milestone only the owner is reminded
    (PLAN_REMINDER, ASSESS_CASE by the milestone's date);
  - mun-a is SIGKILLed after the timers were set and restarted: when the
    one-week milestone is missed every holder gets PLAN_STALLED once (its
    stall recorded on the plan, case_stalls 1); SIGKILLed again and
    restarted after it fired, nothing comes twice;
  - unreviewed past 10 days: PLAN_STALLED (review overdue) to every holder,
    case_stalls 2;
  - school-a completes the second milestone with a PLAN_COMMAND envelope:
    every holder hears of it; its reminder never comes;
  - a PLAN_COMMAND the register refuses comes back to school-a as
    PLAN_COMMAND_REFUSED with code and field, nothing applied; one for
    another node's actor is a PERMISSION_DENIED dead letter;
  - revise, review and close by call, each notified; a closed plan's timers
    are gone (nothing more fires);
  - every bad input of issue 4 part 7 and more, refused at the call with
    code and field, counted, nothing emitted, the plan unchanged;
  - municipality/plan_reminder_days out of range: exit 2 naming the key.
"""

import datetime
import time

import rbtest
from rbtest import check, check_eq, log, wait_until
from test_municipality import MUN, Region, enrolment

UNKNOWN_CASE = "ab" * 32


class Plans:
    def __init__(self, r):
        self.r = r
        self.pb = r.pb
        pb = self.pb
        self.holders = [("care-a", pb.JEUGDHULP), (MUN, pb.CASUSREGISSEUR), ("portal-a", pb.PARENT),
                        ("school-a", pb.SCHOOL_MENTOR)]
        self.director = pb.Actor(node=MUN, role=pb.CASUSREGISSEUR)
        self.owner = pb.Actor(node="school-a", role=pb.SCHOOL_MENTOR)

    def day0(self):
        return datetime.date.fromtimestamp(self.r.mun.status().now_ms / 1000)

    def move_to(self, day, hour=0, minute=1):
        """Advance mun-a's test clock to day at hour:minute local time."""
        target = int(datetime.datetime.combine(day, datetime.time(hour, minute)).timestamp() * 1000)
        by_ms = target - self.r.mun.status().now_ms
        check(by_ms > 0, "the clock cannot move back to %s" % day)
        rbtest.check_ok(self.pb, self.r.mun.api.call(advance_clock=self.pb.AdvanceClockRequest(by_ms=by_ms)),
                        "advance_clock")
        log("mun-a's clock now at %s %02d:%02d" % (day, hour, minute))

    def command(self, what, **command):
        actor = command.pop("actor", self.director)
        req = self.pb.PlanCommandRequest(case_pseudonym=rbtest.CASE,
                                         command=self.pb.PlanCommand(actor=actor, **command))
        return rbtest.check_ok(self.pb, self.r.mun.api.call(plan_command=req), what).plan_command.plan

    def plan(self, plan_id=1):
        reply = self.r.mun.api.call(get_plans=self.pb.PlanGetRequest(case_pseudonym=rbtest.CASE,
                                                                      plan_id=plan_id))
        return rbtest.check_ok(self.pb, reply, "get_plans").get_plans.plans[0]

    def changes(self, kind, node=None):
        """(node, role) -> items of PLAN_CHANGE notices of kind, everywhere."""
        found = {}
        for name, items in self.r.all_notices().items():
            for i in items:
                n = i.notification
                if n.subject == self.pb.PLAN_CHANGE and n.plan_change.change == kind \
                        and (node is None or name == node):
                    found.setdefault((name, n.recipient.role), []).append(i)
        return found

    def expect(self, kind, count, recipients, what):
        """The count-th notification of kind reaches exactly recipients,
        once each, all copies one notification id; returns the copies."""
        def arrived():
            got = self.changes(kind)
            return got if all(len(got.get(r, [])) >= count for r in recipients) else None
        wait_until(arrived, 20, what)
        self.r.settle()
        got = self.changes(kind)
        check_eq(sorted(got), sorted(recipients), what + ": who got it")
        for key, items in got.items():
            check_eq(len(items), count, what + ": copies at %s/%d" % key)
        copies = [items[count - 1] for items in got.values()]
        check_eq(len(set(c.notification.notification_id for c in copies)), 1, what + ": one id")
        for c in copies:
            n = c.notification
            others = sorted((a.node, a.role) for a in n.also_sent_to)
            check_eq(others, sorted(r for r in recipients if r != (n.recipient.node, n.recipient.role)),
                     what + ": also_sent_to")
        return {(c.notification.recipient.node, c.notification.recipient.role): c.notification
                for c in copies}

    def counter(self, name):
        return rbtest.counter(self.r.mun.status(), "municipality_" + name)

    def quiet(self, seconds, what):
        """Over some ticks no new notice appears anywhere."""
        before = self.r.counts()
        time.sleep(seconds)
        self.r.settle()
        check_eq(self.r.counts(), before, what)


def open_case(r):
    pb = r.pb
    r.send("school-a", pb.ENROLMENT, enrolment(pb))
    r.send("portal-a", pb.PARENT_LINK, pb.ParentLink(linked=True))
    r.send("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.JEUGDHULP, involved=True, contact="team 3"))
    r.settle()
    rbtest.check_ok(pb, r.mun.api.call(regie=pb.RegieRequest(
        case_pseudonym=rbtest.CASE, actor=pb.Actor(node=MUN, role=pb.CASUSREGISSEUR), joined=True,
        contact="casusregie 020-5550009")), "regie: the casusregisseur joins")
    r.settle()


def ymd(day):
    return int(day.strftime("%Y%m%d"))


def refusals(p, d0):
    """Bad input at the call: code and field, nothing applied or sent."""
    pb = p.pb
    step = lambda label, day: pb.PlanStep(label=label, date=ymd(day))
    reg = lambda **kw: pb.PlanRegistration(**dict(dict(
        type=pb.PLAN_ACTION, owner=p.owner, review_interval_days=10,
        milestones=[step("opp", d0 + datetime.timedelta(days=7))]), **kw))
    call = lambda case=rbtest.CASE, actor=None, **cmd: dict(plan_command=pb.PlanCommandRequest(
        case_pseudonym=case, command=pb.PlanCommand(actor=actor or p.director, **cmd)))
    before_plan = p.plan()
    sent = p.counter("notifications_sent")
    cases = [
        ("a milestone before the plan", call(register=reg(milestones=[step("x", d0 - datetime.timedelta(days=1))])),
         "INVALID_FIELD", "command.register.milestones[0].date"),
        ("the owner not on the case", call(register=reg(owner=pb.Actor(node="school-b", role=pb.SCHOOL_MENTOR))),
         "FAILED_PRECONDITION", "command.register.owner"),
        ("completing an unknown milestone", call(complete=pb.PlanCompletion(plan_id=1, milestone=9)),
         "NOT_FOUND", "command.complete.milestone"),
        ("completing a completed milestone", call(complete=pb.PlanCompletion(plan_id=1, milestone=2)),
         "FAILED_PRECONDITION", "command.complete.milestone"),
        ("a plan on an unknown case", call(case=UNKNOWN_CASE, register=reg()),
         "NOT_FOUND", "case_pseudonym"),
        ("an unknown plan", call(review=pb.PlanReference(plan_id=7)), "NOT_FOUND", "command.review.plan_id"),
        ("plan id 0", call(close=pb.PlanReference(plan_id=0)), "NOT_FOUND", "command.close.plan_id"),
        ("no milestones", call(register=reg(milestones=[])), "MISSING_FIELD", "command.register.milestones"),
        ("33 milestones", call(register=reg(milestones=[step("m%d" % i, d0) for i in range(33)])),
         "TOO_LARGE", "command.register.milestones"),
        ("an empty label", call(register=reg(milestones=[step("", d0)])),
         "MISSING_FIELD", "command.register.milestones[0].label"),
        ("a type out of range", call(register=reg(type=9)), "INVALID_FIELD", "command.register.type"),
        ("interval 0", call(register=reg(review_interval_days=0)),
         "INVALID_FIELD", "command.register.review_interval_days"),
        ("interval 366", call(register=reg(review_interval_days=366)),
         "INVALID_FIELD", "command.register.review_interval_days"),
        ("no owner", call(register=pb.PlanRegistration(type=pb.PLAN_OPP, review_interval_days=5,
                                                       milestones=[step("a", d0)])),
         "MISSING_FIELD", "command.register.owner"),
        ("an actor of another node", call(actor=p.owner, review=pb.PlanReference(plan_id=1)),
         "PERMISSION_DENIED", "command.actor.node"),
        ("an actor not on the case", call(actor=pb.Actor(node=MUN, role=pb.DUTY_DESK),
                                          review=pb.PlanReference(plan_id=1)),
         "PERMISSION_DENIED", "command.actor"),
        ("no command", call(), "MISSING_FIELD", "command.command"),
        ("a bad pseudonym", call(case="XYZ", review=pb.PlanReference(plan_id=1)),
         "INVALID_FIELD", "case_pseudonym"),
        ("a revision that changes nothing", call(revise=pb.PlanRevision(plan_id=1)),
         "MISSING_FIELD", "command.revise"),
    ]
    rbtest.check_refusals(pb, p.r.mun, cases)
    check_eq(p.plan(), before_plan, "the plan after the refusals")
    check_eq(p.counter("notifications_sent"), sent, "notifications sent by the refusals")
    bad = p.r.mun.api.call(get_plans=pb.PlanGetRequest(case_pseudonym=UNKNOWN_CASE))
    check_eq((rbtest.errname(pb, bad.code), bad.field), ("NOT_FOUND", "case_pseudonym"), "get_plans, unknown case")
    log("%d bad commands refused with code and field, counted, nothing applied or sent" % len(cases))


def main(env):
    pb = env.pb
    #  The plans alone: no acknowledgement reminders, no early escalation
    #  (test_escalation has those).
    r = Region(env, node__clock="test", municipality__plan_reminder_days=2,
               policy__ack_scope="none", policy__early_stalls=0)
    r.start()
    p = Plans(r)
    open_case(r)
    d0 = p.day0()
    days = lambda n: d0 + datetime.timedelta(days=n)
    CARE, DIRECTOR, PARENT, OWNER = p.holders
    log("the case is held by %s; today at mun-a is %s" % (p.holders, d0))

    # -- Register: every holder hears of it ---------------------------------------
    plan = p.command("register", register=pb.PlanRegistration(
        type=pb.PLAN_ACTION, owner=p.owner, review_interval_days=10,
        milestones=[pb.PlanStep(label="education plan from the school", date=ymd(days(7))),
                    pb.PlanStep(label="care plan", date=ymd(days(30)))]))
    check_eq((plan.plan_id, plan.review_due, [m.number for m in plan.milestones]),
             (1, ymd(days(10)), [1, 2]), "the plan as registered")
    got = p.expect(pb.PLAN_REGISTERED, 1, p.holders, "PLAN_REGISTERED")
    check_eq(got[PARENT].plan_change.plan, plan, "the plan in the portal's copy")
    check_eq(got[CARE].plan_change.by, p.director, "who registered it")
    check_eq(got[OWNER].expected, pb.NO_ACTION, "a registration asks nothing")
    log("registered: plan 1, every holder told")

    # -- Reminder: to the owner alone ---------------------------------------------
    p.move_to(days(5))
    got = p.expect(pb.PLAN_REMINDER, 1, [OWNER], "PLAN_REMINDER")
    n = got[OWNER]
    check_eq((n.plan_change.milestone, n.plan_change.label, n.plan_change.due, n.expected, n.expected_by),
             (1, "education plan from the school", ymd(days(7)), pb.ASSESS_CASE, ymd(days(7))),
             "the reminder")
    log("two days before the milestone: only the owner reminded")

    # -- SIGKILL between setting the stall timer and its due time -------------------
    r.mun.kill()
    r.mun.start()
    p.move_to(days(8))
    got = p.expect(pb.PLAN_STALLED, 1, p.holders, "PLAN_STALLED for the missed milestone")
    n = got[CARE].plan_change
    check_eq((n.milestone, n.due, n.review_overdue, n.stalls, n.case_stalls), (1, ymd(days(7)), False, 1, 1),
             "the stall")
    check_eq(got[OWNER].expected, pb.ASSESS_CASE, "the owner is to act on the stall")
    check_eq(got[CARE].expected, pb.NO_ACTION, "care is informed")
    check(p.plan().milestones[0].stalled, "milestone 1 recorded stalled")
    r.mun.kill()
    r.mun.start()
    p.quiet(1.5, "notices after the stall fired and mun-a was killed again")
    p.expect(pb.PLAN_STALLED, 1, p.holders, "PLAN_STALLED still once")
    check_eq((p.counter("plan_stalls"), p.counter("timers_fired")), (0, 0),
             "stalls and timers fired since the second restart")
    log("killed before the date: the stall fired after the restart, once; killed after: nothing twice")

    # -- Review overdue -------------------------------------------------------------
    p.move_to(days(11))
    got = p.expect(pb.PLAN_STALLED, 2, p.holders, "PLAN_STALLED for the overdue review")
    n = got[PARENT].plan_change
    check_eq((n.milestone, n.due, n.review_overdue, n.stalls, n.case_stalls), (0, ymd(days(10)), True, 2, 2),
             "the review stall")
    log("unreviewed past 10 days: stalled, the case's second stall")

    # -- A holder's node completes a milestone: PLAN_COMMAND ---------------------------
    ev = r.send("school-a", pb.PLAN_COMMAND, pb.PlanCommand(
        actor=p.owner, complete=pb.PlanCompletion(plan_id=1, milestone=2)))
    got = p.expect(pb.PLAN_MILESTONE_COMPLETED, 1, p.holders, "PLAN_MILESTONE_COMPLETED")
    check_eq((got[DIRECTOR].plan_change.milestone, got[DIRECTOR].from_node), (2, "school-a"),
             "the completion, from school-a")
    check_eq(len(r.causation_at("care-a", ev)), 1, "care's copy caused by the PLAN_COMMAND")
    check_eq(p.plan().milestones[1].completed_on, ymd(days(11)), "milestone 2 completed today")
    ev = r.send("school-a", pb.PLAN_COMMAND, pb.PlanCommand(
        actor=p.owner, complete=pb.PlanCompletion(plan_id=1, milestone=2)))
    got = p.expect(pb.PLAN_COMMAND_REFUSED, 1, [OWNER], "PLAN_COMMAND_REFUSED")
    n = got[OWNER].plan_change
    check_eq((rbtest.errname(pb, n.refused_code), n.refused_field, n.plan_id),
             ("FAILED_PRECONDITION", "complete.milestone", 1), "the refusal told to school-a")
    before = p.counter("plan_changes")
    r.send("school-a", pb.PLAN_COMMAND, pb.PlanCommand(
        actor=pb.Actor(node="care-a", role=pb.JEUGDHULP), review=pb.PlanReference(plan_id=1)))
    r.settle()
    check_eq(rbtest.counter(r.mun.status(), "link_refused_permission_denied"), 1,
             "a PLAN_COMMAND for another node's actor: a dead letter")
    check_eq(p.counter("plan_changes"), before, "plan changes after the spoofed command")
    log("school-a completed milestone 2 by PLAN_COMMAND; a repeat came back refused; a spoof was dead-lettered")

    # -- Bad input at the call ------------------------------------------------------------
    refusals(p, p.day0())

    # -- Revise, review, close --------------------------------------------------------------
    plan = p.command("revise", revise=pb.PlanRevision(
        plan_id=1, replace_milestones=True, review_interval_days=20,
        milestones=[pb.PlanStep(label="new school place", date=ymd(days(40)))]))
    check_eq([(m.number, m.completed_on > 0) for m in plan.milestones], [(2, True), (3, False)],
             "milestones after the revision")
    p.expect(pb.PLAN_REVISED, 1, p.holders, "PLAN_REVISED")
    p.command("review", review=pb.PlanReference(plan_id=1))
    p.expect(pb.PLAN_REVIEWED, 1, p.holders, "PLAN_REVIEWED")
    plan = p.command("close", close=pb.PlanReference(plan_id=1))
    check_eq((plan.closed, plan.review_due), (True, 0), "the plan closed")
    p.expect(pb.PLAN_CLOSED, 1, p.holders, "PLAN_CLOSED")
    p.move_to(days(60))
    p.quiet(1.5, "notices after the plan closed, past every date it had")
    check_eq((p.counter("plan_stalls"), p.counter("plan_reminders"), p.counter("timers_dropped")), (1, 0, 0),
             "stalls, reminders and dropped timers since the last restart")
    log("revised, reviewed and closed, each told to every holder; a closed plan fires nothing")

    # -- The reminder days are checked at start ---------------------------------------------
    r.mun.stop()
    for value in ("61", "-1", "two"):
        rbtest.check_config_refused(env, r.mun, ["--set", "municipality/plan_reminder_days=" + value],
                                    "municipality/plan_reminder_days")
    log("municipality/plan_reminder_days out of 0-60 or not a number: exit 2 naming the key")


if __name__ == "__main__":
    rbtest.run("plans", main)
