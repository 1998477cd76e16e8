#!/usr/bin/python3
"""The municipality daemon refuses what it must, and notifies nothing of it.

The same region as test_municipality (mun-a with bare peers school-a,
school-b, care-a, portal-a, other). Checks, each refused event a dead letter
at mun-a (its log names code and field; the sender is told) after which the
stream moves on, with no notification sent anywhere:
  - school-b, which holds nothing on the case, raises an absence signal on
    it: PERMISSION_DENIED "case", counted in link_refused_permission_denied;
    once school-b enrols the pupil its signals pass;
  - a portal not linked to the child reports: PERMISSION_DENIED "case",
    also after the parents unlinked; a linked portal's report passes;
  - kinds a role may not send (care signals, a school reports as a parent):
    PERMISSION_DENIED "kind", from the role mun-a's config gives the peer;
  - a school ends, a portal unlinks, a care provider ends an involvement on
    a case where it holds no such role: PERMISSION_DENIED "case";
  - a signal on a case the register does not have: NOT_FOUND "case";
  - payloads that do not decode (MALFORMED "payload") or carry bad values
    (INVALID_FIELD / MISSING_FIELD "payload.signal", "payload.date",
    "payload.school_location", "payload.report", "payload.role", ...);
  - kinds a municipality does not take (TEST, NOTIFICATION): PERMISSION_DENIED
    "kind", and the refused NOTIFICATION is not kept as a notice either;
  - a batch with a refused signal between two good ones: the good ones are
    notified and counted once each;
  - show_case and regie refuse bad or unknown cases, actors and contacts with
    the field named, count them, and emit nothing; other agencies' calls are
    FAILED_PRECONDITION;
  - a holder whose node is no longer a peer (care-a taken out of mun-a's
    config): a signal on its case is UNKNOWN_PEER "holders"; staff release
    it with a regie call, and signals flow to the others again;
  - configuration errors exit 2 naming the key.
"""

import hashlib

import rbtest
from rbtest import check, check_eq, log
from test_municipality import MUN, Region, enrolment, signal

OTHER_CASE = hashlib.sha256(b"a case nobody enrolled").hexdigest()


def expect_dead_letter(r, origin, seq, code, field):
    """mun-a dead-lettered origin's envelope seq with code and field, told
    origin so, and acknowledged it (the stream moved on)."""
    line = 'msg="dead letter" peer=%s seq=%d code=%s field="%s"' % (origin, seq, code, field)
    rbtest.wait_until(lambda: line in r.mun.log_text(), 20, "mun-a to log %s" % line)
    told = 'msg="peer refused" peer=%s code=%s field="%s" seq=%d' % (MUN, code, field, seq)
    rbtest.wait_until(lambda: told in r.node(origin).log_text(), 20, "%s to log %s" % (origin, told))
    rbtest.wait_until(lambda: rbtest.peer(r.node(origin).status(), MUN).acked_seq >= seq, 20,
                      "mun-a to acknowledge %s's seq %d" % (origin, seq))


def refused(r, origin, kind, payload, code, field, case=rbtest.CASE):
    """origin's envelope is a dead letter refused with code and field, and
    nothing is notified anywhere."""
    before = r.counts()
    counters = r.counters()
    name = "link_refused_" + code
    refusals = rbtest.counter(r.mun.status(), name)
    r.send(origin, kind, payload, case)
    expect_dead_letter(r, origin, r.sent[origin], code, field)
    r.settle()
    check_eq(rbtest.counter(r.mun.status(), name), refusals + 1, name)
    check_eq(r.counts(), before, "notices everywhere after a refused %s" % r.pb.EventKind.Name(kind))
    check_eq(r.counters(), counters, "mun-a's counters after a refused %s" % r.pb.EventKind.Name(kind))


def check_permissions(r):
    pb = r.pb
    r.send("school-a", pb.ENROLMENT, enrolment(pb))
    r.send("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.WIJKTEAM, involved=True, contact="wijkteam"))
    r.settle()
    refused(r, "school-b", pb.ABSENCE_SIGNAL, signal(pb, pb.FIRST_ABSENCE), "permission_denied", "case")
    log("school-b's signal on a case it does not hold: dead letter, PERMISSION_DENIED case, nothing notified")
    refused(r, "portal-a", pb.PARENT_REPORT, pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261127),
            "permission_denied", "case")
    refused(r, "care-a", pb.ABSENCE_SIGNAL, signal(pb, pb.FIRST_ABSENCE), "permission_denied", "kind")
    refused(r, "school-a", pb.PARENT_REPORT, pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261127),
            "permission_denied", "kind")
    log("an unlinked portal may not report, care may not signal, a school may not report as a parent")
    refused(r, "school-b", pb.ENROLMENT, enrolment(pb, ended_on=20261201), "permission_denied", "case")
    refused(r, "portal-a", pb.PARENT_LINK, pb.ParentLink(linked=False), "permission_denied", "case")
    refused(r, "care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.JEUGDHULP, involved=False),
            "permission_denied", "case")
    log("nobody ends what it does not hold: a school's enrolment, a portal's link, care's involvement")
    refused(r, "school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.FIRST_ABSENCE), "not_found", "case", OTHER_CASE)
    log("a signal on a case nobody enrolled: NOT_FOUND case")

    # The streams moved on: school-b enrols and may signal, the portal links and may report.
    before = r.counts()
    r.send("school-b", pb.ENROLMENT, enrolment(pb, contact="school b"))
    r.send("school-b", pb.ABSENCE_SIGNAL, signal(pb, pb.DAILY_DIGEST))
    # Two senders' streams have no order between them: the counts below
    # hold when school-b's digest is routed before the portal joins.
    r.settle()
    r.send("portal-a", pb.PARENT_LINK, pb.ParentLink(linked=True))
    r.send("portal-a", pb.PARENT_REPORT, pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261127))
    r.settle()
    after = r.counts()
    # school-b: its join, the digest, the portal's join, the report; portal-a:
    # its join and its report.
    check_eq(after["school-b"] - before["school-b"], 4, "new notices at school-b")
    check_eq(after["portal-a"] - before["portal-a"], 2, "new notices at portal-a")
    check_eq(after["other"], 0, "notices at other")
    r.send("portal-a", pb.PARENT_LINK, pb.ParentLink(linked=False))
    r.settle()
    refused(r, "portal-a", pb.PARENT_REPORT, pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261127),
            "permission_denied", "case")
    log("after enrolling, school-b's signal passes; after unlinking, the portal's report is refused again")


def check_payloads(r):
    pb = r.pb
    bad = [
        ("school-a", pb.ABSENCE_SIGNAL, b"\xff\xff\xff", "malformed", "payload"),
        ("school-a", pb.ABSENCE_SIGNAL, signal(pb, 9), "invalid_field", "payload.signal"),
        ("school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.STREAK, date=20261131), "invalid_field", "payload.date"),
        ("school-a", pb.ABSENCE_SIGNAL, pb.AbsenceSignal(signal=pb.STREAK, date=20261127),
         "missing_field", "payload.school_location"),
        ("school-a", pb.ABSENCE_SIGNAL, pb.AbsenceSignal(signal=pb.STREAK, date=20261127, reason=7,
                                                         school_location="12AB00"),
         "invalid_field", "payload.reason"),
        ("school-a", pb.ENROLMENT, pb.Enrolment(school_location="12AB00"), "invalid_field", "payload.enrolled_on"),
        ("school-a", pb.ENROLMENT, enrolment(pb, ended_on=20260801), "invalid_field", "payload.ended_on"),
        ("school-a", pb.ENROLMENT, enrolment(pb, contact="desk\n"), "invalid_field", "payload.contact"),
        ("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.LEERPLICHT, involved=True), "invalid_field",
         "payload.role"),
        ("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.WIJKTEAM, involved=True, contact="x" * 129),
         "too_large", "payload.contact"),
        ("portal-a", pb.PARENT_REPORT, b"\x08", "malformed", "payload"),
        ("school-a", pb.TEST, b"hello", "permission_denied", "kind"),
    ]
    for origin, kind, payload, code, field in bad:
        refused(r, origin, kind, payload, code, field)
    log("%d bad payloads and kinds: each a dead letter naming its field, nothing notified" % len(bad))
    r.send("portal-a", pb.PARENT_LINK, pb.ParentLink(linked=True))
    r.settle()
    for payload, field in ((pb.ParentReport(report=3, from_date=20261127), "payload.report"),
                           (pb.ParentReport(report=pb.PARENT_SICKNESS), "payload.from_date"),
                           (pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261127, until_date=20261126),
                            "payload.until_date"),
                           (pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261127, code=10000),
                            "payload.code")):
        refused(r, "portal-a", pb.PARENT_REPORT, payload, "invalid_field", field)
    log("bad parent reports: report kind, dates and code refused by name")

    # A NOTIFICATION is not for a municipality's handler: refused, and not kept.
    n = rbtest.notification(pb, MUN, pb.LEERPLICHT, from_node="care-a", subject=pb.REGIE_CHANGE)
    local = len(r.notices(MUN))
    refused(r, "care-a", pb.NOTIFICATION, n, "permission_denied", "kind")
    check_eq(len(r.notices(MUN)), local, "mun-a's notices after a refused NOTIFICATION")
    log("a NOTIFICATION sent to mun-a: PERMISSION_DENIED kind, no notice kept")


def check_mixed_batch(r):
    """Three signals submitted together travel in one batch; the middle one
    is refused, the batch is applied again without it: the two good ones
    are notified and counted once."""
    pb = r.pb
    # care-a holds WIJKTEAM without the parents' consent: it is not told.
    holders = len([h for h in r.mun.api.call(show_case=pb.ShowCaseRequest(
        case_pseudonym=rbtest.CASE)).show_case.holders if h.actor.role != pb.WIJKTEAM])
    before = r.counts()
    counters = r.counters()
    events = [signal(pb, pb.DAILY_DIGEST), signal(pb, 9), signal(pb, pb.DAILY_DIGEST, date=20261130)]
    keys = ["mixed-%d" % i for i in range(3)]
    reply = r.node("school-a").api.submit([pb.Submission(
        idempotency_key=k, destination=MUN, case_pseudonym=rbtest.CASE, kind=pb.ABSENCE_SIGNAL,
        payload=e.SerializeToString()) for k, e in zip(keys, events)])
    rbtest.check_ok(pb, reply, "submit of three signals")
    r.sent["school-a"] += 3
    seq = reply.submit.accepted[1].origin_seq
    expect_dead_letter(r, "school-a", seq, "invalid_field", "payload.signal")
    r.settle()
    after = r.counts()
    check_eq(after["school-a"] - before["school-a"], 2, "new notices at school-a")
    check_eq(after["portal-a"] - before["portal-a"], 2, "new notices at portal-a")
    counted = r.counters()
    check_eq(counted["notifications_sent"] - counters["notifications_sent"], 2 * holders,
             "notification copies counted for the two good signals")
    check_eq(counted["regie_changes"], counters["regie_changes"], "regie changes")
    log("good, refused, good in one submission: 2 x %d copies notified and counted once" % holders)


def check_calls(r):
    pb = r.pb
    case = rbtest.CASE
    mun_actor = pb.Actor(node=MUN, role=pb.CASUSREGISSEUR)

    def regie(**fields):
        return {"regie": pb.RegieRequest(**fields)}
    rbtest.check_refusals(pb, r.mun, [
        ("show_case of a bad pseudonym", {"show_case": pb.ShowCaseRequest(case_pseudonym="ABC")},
         "INVALID_FIELD", "show_case.case_pseudonym"),
        ("show_case of an unknown case", {"show_case": pb.ShowCaseRequest(case_pseudonym=OTHER_CASE)},
         "NOT_FOUND", "show_case.case_pseudonym"),
        ("regie on a bad pseudonym", regie(case_pseudonym=case[:-1], actor=mun_actor, joined=True),
         "INVALID_FIELD", "regie.case_pseudonym"),
        ("regie on an unknown case", regie(case_pseudonym=OTHER_CASE, actor=mun_actor, joined=True),
         "NOT_FOUND", "regie.case_pseudonym"),
        ("regie without an actor", regie(case_pseudonym=case, joined=True), "MISSING_FIELD", "regie.actor"),
        ("regie for a bad node name", regie(case_pseudonym=case, actor=pb.Actor(node="Mun A", role=pb.LEERPLICHT),
                                            joined=True), "INVALID_FIELD", "regie.actor.node"),
        ("regie for no role", regie(case_pseudonym=case, actor=pb.Actor(node=MUN), joined=True),
         "INVALID_FIELD", "regie.actor.role"),
        ("regie for role 10", regie(case_pseudonym=case, actor=pb.Actor(node=MUN, role=10), joined=True),
         "INVALID_FIELD", "regie.actor.role"),
        ("regie for a node that is no peer", regie(case_pseudonym=case, actor=pb.Actor(node="care-z", role=pb.JEUGDHULP),
                                                   joined=True), "UNKNOWN_PEER", "regie.actor.node"),
        ("regie with a control character in the contact",
         regie(case_pseudonym=case, actor=mun_actor, joined=True, contact="desk\x07"), "INVALID_FIELD", "regie.contact"),
        ("regie with a long contact", regie(case_pseudonym=case, actor=mun_actor, joined=True, contact="x" * 129),
         "TOO_LARGE", "regie.contact"),
        ("a school's call", {"enrol": pb.EnrolRequest()}, "FAILED_PRECONDITION", "call"),
        ("a portal's call", {"parent_link": pb.ParentLinkRequest()}, "FAILED_PRECONDITION", "call"),
    ])
    reply = rbtest.check_ok(pb, r.mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case)), "show_case")
    check(all(h.actor.role != pb.CASUSREGISSEUR for h in reply.show_case.holders),
          "a refused regie call left a holder behind")
    log("show_case and regie: 13 refusals with their fields, counted, nothing emitted or joined")


def check_unreachable_holder(r):
    """care-a holds the case but is no longer mun-a's peer: a signal that
    would notify it is a dead letter (UNKNOWN_PEER holders), not a silent
    loss; staff release care-a, the others hear of it, and signals flow."""
    pb = r.pb
    # With the parents' consent care-a is one of the signal's recipients.
    r.send("portal-a", pb.CONSENT, pb.Consent(role=pb.WIJKTEAM, given=True))
    r.settle()
    del r.mun.peers["care-a"]
    r.mun.restart()
    refused(r, "school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.DAILY_DIGEST), "unknown_peer", "holders")
    before = r.counts()
    reply = rbtest.check_ok(pb, r.mun.api.call(regie=pb.RegieRequest(
        case_pseudonym=rbtest.CASE, actor=pb.Actor(node="care-a", role=pb.WIJKTEAM), joined=False)),
        "regie release of care-a")
    check(reply.regie.changed, "the release of care-a changed the register")
    r.send("school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.DAILY_DIGEST))
    r.settle()
    after = r.counts()
    for name in ("school-a", "school-b", "portal-a"):
        check_eq(after[name] - before[name], 2, "new notices at %s (the release, the signal)" % name)
    check_eq(after["care-a"], before["care-a"], "notices at care-a")
    log("a holder that is no peer: its case's events are UNKNOWN_PEER dead letters until staff release it")


def check_config(env, r):
    mun = r.mun
    mun.stop()
    for override, key in (("municipality/duty_node=nowhere", "municipality/duty_node"),
                          ("municipality/duty_node=Bad_Name", "municipality/duty_node"),
                          ("municipality/nonsense=1", "municipality/nonsense"),
                          ("municipality/leerplicht_at_first_absence=maybe",
                           "municipality/leerplicht_at_first_absence"),
                          ("municipality/leerplicht_contact=" + "x" * 129, "municipality/leerplicht_contact"),
                          ("policy/anything=1", "policy/anything")):
        rbtest.check_config_refused(env, mun, ["--set", override], key)
    log("configuration errors exit 2 naming the key")


def main(env):
    r = Region(env)
    r.start()
    check_permissions(r)
    check_payloads(r)
    check_mixed_batch(r)
    check_calls(r)
    check_unreachable_holder(r)
    check_eq(r.counts()["other"], 0, "notices at other")
    check_config(env, r)


if __name__ == "__main__":
    rbtest.run("municipality_refusals", main)
