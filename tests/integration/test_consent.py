#!/usr/bin/python3
"""Consent: what goes beyond the legal minimum reaches care only while the
parents consent, per case and per agency type.

A region of real daemons: mun-a (municipality), school-a, care-a (youth
care, JEUGDHULP) and care-b (the social team, WIJKTEAM) both involved in
Sanne's case, and portal-a where ouder-1 is linked to Sanne and ouder-2 to
Daan. Checks:
  - without consent care hears the register (who joins) but no absence
    signal or parent report; the school's and the parents' copies name
    only each other; the municipality counts the copies withheld;
  - ouder-1 gives consent for JEUGDHULP: care-a gets a CONSENT_CHANGE
    (role, given, since: nothing else of the case), then every later
    absence and report, listed among their recipients; what came before
    is not sent after; care-b (WIJKTEAM) still nothing; giving again
    changes and sends nothing;
  - ouder-1 withdraws: care-a gets the CONSENT_CHANGE of the withdrawal,
    then nothing more; what it got before stays;
  - mun-a and portal-a SIGKILLed and restarted: the withdrawal holds at
    both, a later absence still does not reach care-a; consent given
    again applies from then on;
  - a parent sees the consent on their own child's case (API and
    `regiebus consent show`), ouder-2 never on Sanne's (PERMISSION_DENIED),
    nor may ouder-2 decide for her; `regiebus consent give|withdraw` for
    WIJKTEAM reaches care-b; the municipality shows the consent it applies;
  - bad input (account, child, agency type, case) is refused with code and
    field, counted, and nothing is sent; a CONSENT envelope from a node
    that is not the case's PARENT, or for a role that needs no consent,
    is a dead letter and changes nothing.
"""

import rbtest
from rbtest import check, check_eq, log, wait_until
from test_school import bsn, use_school_time_zone, weekdays_before, today, ymd

SANNE, DAAN, NOBODY = bsn(101), bsn(202), bsn(303)


class Region:
    def __init__(self, env):
        self.pb = env.pb
        self.key_path, self.key = rbtest.region_key(env)
        region = dict(region__key_file=self.key_path, homes__0363="mun-a")
        self.mun = env.node("mun-a", daemon="municipality")
        self.school = env.node("school-a", daemon="school", school__location="12AB00",
                               school__close_day_at="never", **region)
        self.care_a = env.node("care-a", daemon="care", care__municipality="mun-a", **region)
        self.care_b = env.node("care-b", daemon="care", care__municipality="mun-a", **region)
        self.portal = env.node("portal-a", daemon="portal", portal__municipality="mun-a", **region)
        for n in self.agencies():
            n.add_peer(self.mun)
            self.mun.add_peer(n)
        self.keys = 0

    def agencies(self):
        return [self.school, self.care_a, self.care_b, self.portal]

    def call(self, node, what, **call):
        return rbtest.check_ok(self.pb, node.api.call(**call), what)

    def notices(self, node, subject=None):
        items = rbtest.list_notifications(self.pb, node, limit=1000)
        return [i for i in items if subject is None or i.notification.subject == subject]

    def absent(self, day):
        """Sanne is absent (sick) on day; wait until the school has the
        municipality's notification of it, then until mun-a's queues are
        empty: whatever mun-a routed from it has arrived."""
        self.keys += 1
        rec = self.pb.AttendanceRecord(idempotency_key="s-%d" % self.keys, local_id="a-1", date=ymd(day),
                                       minutes=300, reason=self.pb.SICK)
        reply = self.call(self.school, "record_attendance",
                          record_attendance=self.pb.RecordAttendanceRequest(records=[rec]))
        check(len(reply.record_attendance.results[0].signals) > 0, "a signal for the absence on %s" % day)
        wait_until(lambda: [i for i in self.notices(self.school, self.pb.ABSENCE_SIGNAL)
                            if i.notification.absence.date == ymd(day)] or None,
                   30, "the absence of %s at school-a" % day)
        self.drained()

    def report(self, kind):
        """ouder-1 reports on Sanne; wait until the school has it and mun-a's queues are empty."""
        self.keys += 1
        before = len(self.notices(self.school, self.pb.PARENT_REPORT))
        self.call(self.portal, "parent_report", parent_report=self.pb.ParentReportRequest(
            idempotency_key="r-%d" % self.keys, account="ouder-1", citizen_number=SANNE, report=kind))
        wait_until(lambda: len(self.notices(self.school, self.pb.PARENT_REPORT)) > before, 30,
                   "the parent's report at school-a")
        self.drained()

    def holders(self, case, count):
        wait_until(lambda: len(self.call(self.mun, "show_case", show_case=self.pb.ShowCaseRequest(
            case_pseudonym=case)).show_case.holders) == count, 30, "%d holders on the case" % count)

    def drained(self):
        wait_until(lambda: all(p.queue_depth == 0 for p in self.mun.status().peers), 30,
                   "mun-a's queues drained")

    def consent(self, account, given, role, bsn_=SANNE):
        return self.portal.api.call(consent=self.pb.ConsentRequest(account=account, citizen_number=bsn_,
                                                                   role=role, given=given))

    def consent_changes(self, node):
        return [i.notification.consent_change for i in self.notices(node, self.pb.CONSENT_CHANGE)]

    def wait_consent_change(self, node, count):
        return wait_until(lambda: (lambda c: c if len(c) >= count else None)(self.consent_changes(node)),
                          30, "%d consent changes at %s" % (count, node.name))

    def shown(self, account, bsn_=SANNE):
        reply = self.call(self.portal, "consent_show", consent_show=self.pb.ConsentShowRequest(
            account=account, citizen_number=bsn_))
        return reply.consent_show


def beyond(pb, items):
    """The notifications about the child itself: absences and reports."""
    return [i for i in items if i.notification.subject in (pb.ABSENCE_SIGNAL, pb.PARENT_REPORT)]


def check_gate(pb, r, case):
    log("without consent care hears who joins, but no absence and no report")
    days = weekdays_before(today(), 15)
    r.absent(days[5])
    r.report(pb.PARENT_SICKNESS)
    for care in (r.care_a, r.care_b):
        check_eq(beyond(pb, r.notices(care)), [], "absences and reports at %s" % care.name)
        joins = [i.notification.regie_change.actor.node for i in r.notices(care, pb.REGIE_CHANGE)]
        check("portal-a" in joins, "%s heard the parents join: %s" % (care.name, joins))
    first = beyond(pb, r.notices(r.school))[0].notification
    check_eq([a.node for a in first.also_sent_to], ["portal-a"], "the school's copy: also sent to")
    check_eq(rbtest.counter(r.mun.status(), "municipality_notifications_withheld"),
             2 * len(beyond(pb, r.notices(r.school))), "copies withheld: one per care actor and notification")

    log("ouder-1 consents for JEUGDHULP: care-a gets what follows, care-b still nothing")
    reply = rbtest.check_ok(pb, r.consent("ouder-1", True, pb.JEUGDHULP), "consent")
    check_eq((reply.consent.case_pseudonym, reply.consent.changed, len(reply.consent.event_id)),
             (case, True, 16), "consent reply")
    seq = rbtest.peer(r.portal.status(), "mun-a").last_assigned_seq
    again = rbtest.check_ok(pb, r.consent("ouder-1", True, pb.JEUGDHULP), "consent again")
    check_eq((again.consent.changed, again.consent.event_id), (False, b""), "giving again")
    check_eq(rbtest.peer(r.portal.status(), "mun-a").last_assigned_seq, seq, "nothing sent for the repeat")
    given = r.wait_consent_change(r.care_a, 1)[0]
    check_eq((given.role, given.given, given.since_ms > 0), (pb.JEUGDHULP, True, True), "the consent change")
    item = r.notices(r.care_a, pb.CONSENT_CHANGE)[0]
    n = item.notification
    check_eq((n.recipient.node, list(n.also_sent_to), n.expected, item.local_name),
             ("care-a", [], pb.NO_ACTION, "client of care-a"), "the consent change names care-a alone")
    check(not any(n.HasField(f) for f in ("absence", "parent_report", "regie_change")),
          "nothing of the case comes with the consent change: %s" % n)
    r.absent(days[6])
    r.report(pb.PARENT_HOME_SIGNAL)
    got = beyond(pb, r.notices(r.care_a))
    check_eq([(i.notification.subject, i.notification.recipient.role) for i in got],
             [(pb.ABSENCE_SIGNAL, pb.JEUGDHULP)] * (len(got) - 1) + [(pb.PARENT_REPORT, pb.JEUGDHULP)],
             "care-a's notifications after the consent")
    check(all(i.notification.absence.date == ymd(days[6]) for i in got[:-1]),
          "only the absence after the consent reached care-a: %s" % got)
    check_eq(beyond(pb, r.notices(r.care_b)), [], "care-b (WIJKTEAM) without consent")
    check_eq(r.consent_changes(r.care_b), [], "care-b hears nothing of the JEUGDHULP consent")
    last = beyond(pb, r.notices(r.school))[-1].notification
    check_eq(sorted(a.node for a in last.also_sent_to), ["care-a", "portal-a"],
             "the school's copy now names care-a")

    log("ouder-1 withdraws: care-a is told, then hears nothing more; what it had stays")
    reply = rbtest.check_ok(pb, r.consent("ouder-1", False, pb.JEUGDHULP), "withdrawal")
    check_eq(reply.consent.changed, True, "withdrawal changed")
    withdrawn = r.wait_consent_change(r.care_a, 2)[1]
    check_eq((withdrawn.role, withdrawn.given), (pb.JEUGDHULP, False), "the withdrawal")
    check(withdrawn.since_ms >= given.since_ms, "the withdrawal applies after the consent")
    kept = len(got)
    r.absent(days[7])
    r.report(pb.PARENT_SICKNESS)
    check_eq(len(beyond(pb, r.notices(r.care_a))), kept, "care-a's notifications after the withdrawal")
    return days


def check_restart(pb, r, days):
    log("SIGKILL mun-a and portal-a: the withdrawal holds at both")
    r.mun.restart(kill=True)
    r.portal.restart(kill=True)
    kept = len(beyond(pb, r.notices(r.care_a)))
    state = {s.role: s for s in r.shown("ouder-1").consents}
    check_eq([s.role for s in r.shown("ouder-1").consents], [pb.JEUGDHULP, pb.WIJKTEAM, pb.SAMENWERKINGSVERBAND],
             "the agency types shown")
    j = state[pb.JEUGDHULP]
    check_eq((j.given, j.since_ms > 0, j.by), (False, True, "ouder-1"), "JEUGDHULP at the portal")
    check_eq((state[pb.WIJKTEAM].given, state[pb.WIJKTEAM].since_ms), (False, 0), "WIJKTEAM never decided")
    at_mun = r.call(r.mun, "consent_show", consent_show=pb.ConsentShowRequest(
        case_pseudonym=rbtest.pseudonym(r.key, SANNE))).consent_show
    check_eq([(s.role, s.given, s.since_ms > 0) for s in at_mun.consents],
             [(pb.JEUGDHULP, False, True), (pb.WIJKTEAM, False, False), (pb.SAMENWERKINGSVERBAND, False, False)],
             "the consent mun-a applies after its restart")
    r.absent(days[8])
    check_eq(len(beyond(pb, r.notices(r.care_a))), kept, "care-a after the restart, still withdrawn")

    log("consent again after the restarts: from then on")
    rbtest.check_ok(pb, r.consent("ouder-1", True, pb.JEUGDHULP), "consent again")
    r.wait_consent_change(r.care_a, 3)
    r.report(pb.PARENT_SICKNESS)
    check_eq(len(beyond(pb, r.notices(r.care_a))), kept + 1, "care-a gets the report after consent again")


def check_cli(pb, r, case):
    log("regiebus consent give | withdraw | show")
    out = r.portal.cli("consent", "show", "--account", "ouder-1", "--bsn", SANNE).stdout
    for text in ("consent on case %s (Sanne)" % case, "JEUGDHULP", "by ouder-1", "WIJKTEAM",
                 "never asked"):
        check(text in out, "%r in `consent show`: %s" % (text, out))
    out = r.portal.cli("consent", "give", "--account", "ouder-1", "--bsn", SANNE, "--type", "wijkteam").stdout
    check("consent for WIJKTEAM given on case %s" % case in out, "consent give: %s" % out)
    change = r.wait_consent_change(r.care_b, 1)[0]
    check_eq((change.role, change.given), (pb.WIJKTEAM, True), "care-b told of its consent")
    out = r.portal.cli("consent", "withdraw", "--account", "ouder-1", "--bsn", SANNE, "--type",
                       "wijkteam").stdout
    check("consent for WIJKTEAM withdrawn" in out, "consent withdraw: %s" % out)
    r.wait_consent_change(r.care_b, 2)
    out = r.care_b.cli("notifications").stdout
    check("The parents withdrew their consent for WIJKTEAM" in out, "care-b's listing: %s" % out)
    res = r.portal.cli("consent", "show", "--account", "ouder-2", "--bsn", SANNE, check_rc=False)
    check(res.returncode == 1 and "PERMISSION_DENIED" in res.stderr and "consent_show.account" in res.stderr,
          "another parent's `consent show`: exit %d %s" % (res.returncode, res.stderr))
    out = r.mun.cli("consent", "show", "--case", case).stdout
    check(["JEUGDHULP", "given"] in [line.split()[:2] for line in out.splitlines()],
          "`consent show` at mun-a: %s" % out)
    res = r.portal.cli("consent", "give", "--account", "ouder-1", "--bsn", SANNE, check_rc=False)
    check_eq(res.returncode, 2, "consent give without --type")


def check_refusals(pb, r, case):
    log("other parents, unknown children and agency types, bad accounts: refused, nothing sent")
    mine = r.shown("ouder-2", DAAN)
    check_eq(mine.child_name, "Daan", "ouder-2 sees Daan's case")

    def consent(account, role, bsn_=SANNE, given=True):
        return {"consent": pb.ConsentRequest(account=account, citizen_number=bsn_, role=role, given=given)}

    def show(account, bsn_=SANNE):
        return {"consent_show": pb.ConsentShowRequest(account=account, citizen_number=bsn_)}
    cases = [
        ("another parent decides", consent("ouder-2", pb.WIJKTEAM), "PERMISSION_DENIED", "consent.account"),
        ("another parent withdraws", consent("ouder-2", pb.JEUGDHULP, given=False), "PERMISSION_DENIED",
         "consent.account"),
        ("an unknown account", consent("ouder-9", pb.WIJKTEAM), "PERMISSION_DENIED", "consent.account"),
        ("an unknown child", consent("ouder-1", pb.WIJKTEAM, NOBODY), "PERMISSION_DENIED", "consent.account"),
        ("a malformed account", consent("ouder 1", pb.WIJKTEAM), "INVALID_FIELD", "consent.account"),
        ("no child", consent("ouder-1", pb.WIJKTEAM, ""), "MISSING_FIELD", "consent.citizen_number"),
        ("a bad citizen number", consent("ouder-1", pb.WIJKTEAM, "123456789"), "INVALID_FIELD",
         "consent.citizen_number"),
        ("no agency type", consent("ouder-1", 0), "MISSING_FIELD", "consent.role"),
        ("the school (legal minimum)", consent("ouder-1", pb.SCHOOL_MENTOR), "INVALID_FIELD", "consent.role"),
        ("leerplicht (legal minimum)", consent("ouder-1", pb.LEERPLICHT), "INVALID_FIELD", "consent.role"),
        ("an unknown agency type", consent("ouder-1", 99), "INVALID_FIELD", "consent.role"),
        ("another parent looks", show("ouder-2"), "PERMISSION_DENIED", "consent_show.account"),
        ("an unknown child's", show("ouder-1", NOBODY), "PERMISSION_DENIED", "consent_show.account"),
        ("look without an account", show(""), "MISSING_FIELD", "consent_show.account"),
        ("look without a child", show("ouder-1", ""), "MISSING_FIELD", "consent_show.citizen_number"),
    ]
    rbtest.check_refusals(pb, r.portal, cases)
    rbtest.check_refusals(pb, r.mun, [
        ("a malformed case", {"consent_show": pb.ConsentShowRequest(case_pseudonym=case.upper())},
         "INVALID_FIELD", "consent_show.case_pseudonym"),
        ("an unknown case", {"consent_show": pb.ConsentShowRequest(
            case_pseudonym=rbtest.pseudonym(r.key, NOBODY))}, "NOT_FOUND", "consent_show.case_pseudonym"),
        ("consent at the municipality", consent("ouder-1", pb.JEUGDHULP), "FAILED_PRECONDITION", "call")])
    rbtest.check_refusals(pb, r.school, [("consent_show at a school", show("ouder-1"),
                                          "FAILED_PRECONDITION", "call")])

    log("CONSENT envelopes the municipality refuses: not from the PARENT, a role that needs none")
    before = r.call(r.mun, "consent_show", consent_show=pb.ConsentShowRequest(case_pseudonym=case)).consent_show
    for sender, role, code in ((r.school, pb.WIJKTEAM, "permission_denied"),
                               (r.portal, pb.LEERPLICHT, "invalid_field")):
        name = "link_refused_" + code
        count = rbtest.counter(r.mun.status(), name)
        r.keys += 1
        rbtest.check_ok(pb, sender.api.submit([pb.Submission(
            idempotency_key="raw-%d" % r.keys, destination="mun-a", case_pseudonym=case, kind=pb.CONSENT,
            payload=pb.Consent(role=role, given=True).SerializeToString())]), "raw CONSENT")
        wait_until(lambda: rbtest.counter(r.mun.status(), name) > count, 20, "mun-a refuses it (%s)" % code)
    after = r.call(r.mun, "consent_show", consent_show=pb.ConsentShowRequest(case_pseudonym=case)).consent_show
    check_eq(after, before, "the consent at mun-a after the refused envelopes")


def main(env):
    use_school_time_zone()
    pb = env.pb
    r = Region(env)
    r.mun.start()
    for n in r.agencies():
        n.start()
    case = rbtest.pseudonym(r.key, SANNE)
    days = weekdays_before(today(), 15)
    r.call(r.school, "enrol", enrol=pb.EnrolRequest(pupils=[pb.Pupil(
        local_id="a-1", citizen_number=SANNE, birth_date=20140501, home_municipality="0363",
        enrolled_on=ymd(days[0]), display_name="Sanne de Vries")]))
    for care, role in ((r.care_a, pb.JEUGDHULP), (r.care_b, pb.WIJKTEAM)):
        r.call(care, "involvement", involvement=pb.InvolvementRequest(
            citizen_number=SANNE, role=role, involved=True, local_name="client of %s" % care.name))
    # The parents join after care, so both care actors hear of it.
    r.holders(case, 3)
    for account, number, name in (("ouder-1", SANNE, "Sanne"), ("ouder-2", DAAN, "Daan")):
        r.call(r.portal, "parent_link", parent_link=pb.ParentLinkRequest(
            account=account, citizen_number=number, child_name=name, linked=True))
    r.holders(case, 4)
    r.drained()
    days = check_gate(pb, r, case)
    check_restart(pb, r, days)
    check_cli(pb, r, case)
    check_refusals(pb, r, case)


if __name__ == "__main__":
    rbtest.run("consent", main)
