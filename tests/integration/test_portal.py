#!/usr/bin/python3
"""The parents' portal daemon: links and reports go to the child's
municipality, parents see only their own children, and only the pseudonym
and codes leave the node.

regiebus-portal "portal" runs with two bare regiebus-node peers standing in
for municipalities: "mun-a" (its default, portal/municipality, and home
0363) and "mun-b" (home 0518). Checks:
  - the first parent linked to a child sends PARENT_LINK {linked} to mun-a
    under the keyed BLAKE2b pseudonym of the child's number; linking again
    or a second parent sends nothing; unlinking sends PARENT_LINK {not
    linked} only for the last parent; a child of home 0518 goes to mun-b;
  - a linked parent's report arrives as PARENT_REPORT {report, from_date
    (0 = today), until_date, code}; the same key again is a duplicate with
    the first event id and sends nothing, also after a restart; the same
    key for another report is IDEMPOTENCY_CONFLICT; an account not linked
    to the child is PERMISSION_DENIED;
  - no envelope carries a citizen number, a child's name or an account,
    nor does the portal's log hold a number or a name;
  - every refusal (code and field) sends nothing and is counted;
  - notifications from the municipalities are listed with the child's
    name; a listing for one account shows only that parent's children;
    a repeat is stored once; acknowledged once; other kinds are dead
    letters refused with PERMISSION_DENIED;
  - a config with an unknown key, a homes entry that is no peer, or no
    portal/municipality, exits 2 naming the key.
"""

import datetime
import os

import rbtest
from rbtest import check, check_eq, log

BSN_1, BSN_2, BSN_3 = "111222333", "123456782", "999999990"
NAME_1, NAME_2 = "Daan Visser", "Noor el Amrani"
ACCOUNTS = ("ouder.a@example.nl", "ouder.b", "ouder-c")


def day(offset):
    """Today (the local date, as the portal reckons it) plus offset days, YYYYMMDD."""
    d = datetime.date.today() + datetime.timedelta(days=offset)
    return int(d.strftime("%Y%m%d"))


def main(env):
    pb = env.pb
    key_path, key = rbtest.region_key(env)
    mun_a = env.node("mun-a")
    mun_b = env.node("mun-b")
    portal = env.node("portal", daemon="portal", portal__municipality="mun-a", region__key_file=key_path,
                      homes__0363="mun-a", homes__0518="mun-b")
    for mun in (mun_a, mun_b):
        portal.add_peer(mun)
        mun.add_peer(portal)
        mun.start()
    portal.start()
    case_1, case_2, case_3 = (rbtest.pseudonym(key, b) for b in (BSN_1, BSN_2, BSN_3))
    arrived = {"mun-a": [], "mun-b": []}
    a, b, c = ACCOUNTS

    def link(account, bsn, linked=True, **fields):
        return portal.api.call(parent_link=pb.ParentLinkRequest(account=account, citizen_number=bsn,
                                                                 linked=linked, **fields))

    def report(key, account, bsn, **fields):
        return portal.api.call(parent_report=pb.ParentReportRequest(idempotency_key=key, account=account,
                                                                    citizen_number=bsn, **fields))

    def arrival(mun, kind, case, payload_type):
        e = rbtest.next_arrival(mun, "portal", arrived[mun.name])
        check_eq((e.kind, e.case_pseudonym), (kind, case), "kind and case at %s" % mun.name)
        data = e.SerializeToString()
        for secret in (BSN_1, BSN_2, BSN_3, NAME_1, NAME_2) + ACCOUNTS:
            check(secret.encode() not in data, "%r is in an envelope at %s" % (secret, mun.name))
        p = payload_type()
        p.ParseFromString(e.payload)
        return e, p

    def linked(reply, changed, case):
        rbtest.check_ok(pb, reply, "parent_link")
        check_eq((reply.parent_link.case_pseudonym, reply.parent_link.changed), (case, changed),
                 "parent_link reply (case, changed)")

    def link_sent(mun, case, state):
        _, p = arrival(mun, pb.PARENT_LINK, case, pb.ParentLink)
        check_eq(p.linked, state, "ParentLink.linked at %s" % mun.name)

    def report_sent(reply, mun, case, kind, from_date, until_date, code):
        rbtest.check_ok(pb, reply, "parent_report")
        check_eq((reply.parent_report.case_pseudonym, reply.parent_report.duplicate), (case, False),
                 "parent_report reply (case, duplicate)")
        e, p = arrival(mun, pb.PARENT_REPORT, case, pb.ParentReport)
        check_eq(e.event_id, reply.parent_report.event_id, "report event id")
        check_eq((p.report, p.from_date, p.until_date, p.code), (kind, from_date, until_date, code),
                 "ParentReport payload")
        return reply.parent_report.event_id

    # -- Links: first and last reach the municipality ---------------------------
    linked(link(a, BSN_1, child_name=NAME_1), True, case_1)
    link_sent(mun_a, case_1, True)
    linked(link(a, BSN_1), False, case_1)
    linked(link(b, BSN_1, home_municipality="0363"), True, case_1)
    log("first parent linked: PARENT_LINK at mun-a under %s...; again and a second parent: no event"
        % case_1[:12])

    # -- Reports -------------------------------------------------------------------
    first = report_sent(report("r-1", a, BSN_1, report=pb.PARENT_SICKNESS, code=12), mun_a, case_1,
                        pb.PARENT_SICKNESS, day(0), 0, 12)
    again = rbtest.check_ok(pb, report("r-1", a, BSN_1, report=pb.PARENT_SICKNESS, code=12), "repeat")
    check_eq((again.parent_report.duplicate, again.parent_report.event_id,
              again.parent_report.case_pseudonym), (True, first, case_1), "the repeated report")
    report_sent(report("r-2", b, BSN_1, report=pb.PARENT_HOME_SIGNAL, from_date=day(-2), until_date=day(3),
                       code=9999), mun_a, case_1, pb.PARENT_HOME_SIGNAL, day(-2), day(3), 9999)
    log("reports: sickness from today, a home signal by the second parent; a repeat is a duplicate")

    # -- Unlinking: only the last parent's reaches the municipality --------------
    linked(link(a, BSN_1, linked=False), True, case_1)
    linked(link(b, BSN_1, linked=False), True, case_1)
    link_sent(mun_a, case_1, False)
    linked(link(c, BSN_2, child_name=NAME_2, home_municipality="0518"), True, case_2)
    link_sent(mun_b, case_2, True)
    report_sent(report("r-3", c, BSN_2, report=pb.PARENT_HOME_SIGNAL, from_date=day(30), code=0), mun_b,
                case_2, pb.PARENT_HOME_SIGNAL, day(30), 0, 0)
    st = portal.status()
    check_eq([rbtest.counter(st, n) for n in ("portal_links", "portal_unlinks", "portal_reports")], [3, 2, 3],
             "portal_links, portal_unlinks, portal_reports")
    log("the last unlink sends PARENT_LINK {linked=false}; a child of 0518 goes to mun-b")

    # -- Refusals: code and field, nothing sent, counted ---------------------------
    link_cases = [
        ("account with a space", dict(account="ouder a", citizen_number=BSN_1, linked=True),
         "INVALID_FIELD", "parent_link.account"),
        ("account too long", dict(account="p" * 65, citizen_number=BSN_1, linked=True),
         "TOO_LARGE", "parent_link.account"),
        ("no account", dict(citizen_number=BSN_1, linked=True), "MISSING_FIELD", "parent_link.account"),
        ("no citizen number", dict(account=a, linked=True), "MISSING_FIELD", "parent_link.citizen_number"),
        ("bad citizen number", dict(account=a, citizen_number="111222334", linked=True),
         "INVALID_FIELD", "parent_link.citizen_number"),
        ("child name too long", dict(account=a, citizen_number=BSN_1, linked=True, child_name="n" * 129),
         "TOO_LARGE", "parent_link.child_name"),
        ("child name with a newline", dict(account=a, citizen_number=BSN_1, linked=True, child_name="a\nb"),
         "INVALID_FIELD", "parent_link.child_name"),
        ("unknown municipality", dict(account=a, citizen_number=BSN_1, linked=True, home_municipality="0344"),
         "NOT_FOUND", "parent_link.home_municipality"),
        ("malformed municipality", dict(account=a, citizen_number=BSN_1, linked=True,
                                        home_municipality="03630"), "INVALID_FIELD",
         "parent_link.home_municipality"),
        ("moving a linked child", dict(account=a, citizen_number=BSN_2, linked=True, home_municipality="0363"),
         "FAILED_PRECONDITION", "parent_link.home_municipality"),
        ("unlinking what is not linked", dict(account=a, citizen_number=BSN_1, linked=False),
         "NOT_FOUND", "parent_link.account"),
        ("unlinking an unknown child", dict(account=a, citizen_number=BSN_3, linked=False),
         "NOT_FOUND", "parent_link.account"),
        ("unlinking what is not linked, elsewhere", dict(account=a, citizen_number=BSN_2, linked=False,
                                                         home_municipality="0363"),
         "NOT_FOUND", "parent_link.account"),
    ]
    sick = dict(account=c, citizen_number=BSN_2, report=pb.PARENT_SICKNESS)
    report_cases = [
        ("no key", dict(sick), "MISSING_FIELD", "parent_report.idempotency_key"),
        ("key too long", dict(sick, idempotency_key="k" * 129), "TOO_LARGE", "parent_report.idempotency_key"),
        ("key used for another report", dict(sick, idempotency_key="r-3"), "IDEMPOTENCY_CONFLICT",
         "parent_report.idempotency_key"),
        ("no report kind", dict(sick, idempotency_key="x-1", report=0), "INVALID_FIELD", "parent_report.report"),
        ("unknown report kind", dict(sick, idempotency_key="x-2", report=7), "INVALID_FIELD",
         "parent_report.report"),
        ("from_date not a date", dict(sick, idempotency_key="x-3", from_date=20261340), "INVALID_FIELD",
         "parent_report.from_date"),
        ("from_date 31 days ahead", dict(sick, idempotency_key="x-4", from_date=day(31)), "INVALID_FIELD",
         "parent_report.from_date"),
        ("until_date before from_date", dict(sick, idempotency_key="x-5", from_date=day(0),
                                             until_date=day(-1)), "INVALID_FIELD", "parent_report.until_date"),
        ("until_date not a date", dict(sick, idempotency_key="x-6", until_date=20260229), "INVALID_FIELD",
         "parent_report.until_date"),
        ("code over 9999", dict(sick, idempotency_key="x-7", code=10000), "INVALID_FIELD", "parent_report.code"),
        ("bad account", dict(sick, idempotency_key="x-8", account="ouder;c"), "INVALID_FIELD",
         "parent_report.account"),
        ("bad citizen number", dict(sick, idempotency_key="x-9", citizen_number="12345678"), "INVALID_FIELD",
         "parent_report.citizen_number"),
        ("a parent of another child", dict(sick, idempotency_key="x-10", account=a), "PERMISSION_DENIED",
         "parent_report.account"),
        ("a parent unlinked", dict(sick, idempotency_key="x-11", account=a, citizen_number=BSN_1),
         "PERMISSION_DENIED", "parent_report.account"),
        ("an unknown child", dict(sick, idempotency_key="x-12", citizen_number=BSN_3), "PERMISSION_DENIED",
         "parent_report.account"),
    ]
    rbtest.check_refusals(pb, portal,
                          [(w, {"parent_link": pb.ParentLinkRequest(**f)}, code, field)
                           for w, f, code, field in link_cases]
                          + [(w, {"parent_report": pb.ParentReportRequest(**f)}, code, field)
                             for w, f, code, field in report_cases])
    log("%d refusals, each counted, nothing sent" % (len(link_cases) + len(report_cases)))

    # -- A restart keeps links and idempotency keys -----------------------------
    portal.restart()
    linked(link(c, BSN_2), False, case_2)
    again = rbtest.check_ok(pb, report("r-1", a, BSN_1, report=pb.PARENT_SICKNESS, code=12), "repeat")
    check_eq((again.parent_report.duplicate, again.parent_report.event_id), (True, first),
             "the first report repeated after a restart")
    linked(link(a, BSN_1), True, case_1)
    link_sent(mun_a, case_1, True)
    log("after a restart: links hold, a repeated report is still a duplicate; relinking is sent again")

    # -- Notifications: each parent sees their own children ----------------------
    n_1 = rbtest.notification(pb, "portal", pb.PARENT, subject=pb.ABSENCE_SIGNAL,
                              absence=pb.AbsenceSignal(signal=pb.FIRST_ABSENCE, episode=1, date=day(0)),
                              also_sent_to=[pb.Actor(node="school-a", role=pb.SCHOOL_MENTOR)],
                              expected=pb.CONTACT_SCHOOL, expected_by=day(1))
    n_2 = rbtest.notification(pb, "portal", pb.PARENT, subject=pb.PARENT_REPORT,
                              parent_report=pb.ParentReport(report=pb.PARENT_HOME_SIGNAL, from_date=day(30)),
                              from_node="portal", expected=pb.NO_ACTION)
    n_3 = rbtest.notification(pb, "portal", pb.PARENT, subject=pb.REGIE_CHANGE,
                              regie_change=pb.RegieChange(actor=pb.Actor(node="mun-a", role=pb.LEERPLICHT),
                                                          joined=True))
    rbtest.deliver_notifications(pb, mun_a, portal, [(case_1, n_1, "n-1"), (case_1, n_1, "n-1-again"),
                                                     (case_3, n_3, "n-3")])
    rbtest.deliver_notifications(pb, mun_b, portal, [(case_2, n_2, "n-2")])
    every = rbtest.list_notifications(pb, portal)
    check_eq([(i.case_pseudonym, i.local_name, i.origin) for i in every],
             [(case_1, NAME_1, "mun-a"), (case_3, "", "mun-a"), (case_2, NAME_2, "mun-b")],
             "every notification, with the children's names")
    check_eq(every[0].notification, n_1, "the first notification as sent")
    for account, cases in ((a, [case_1]), (c, [case_2]), (b, []), ("stranger", []), ("p" * 64, [])):
        got = [i.case_pseudonym for i in rbtest.list_notifications(pb, portal, account=account)]
        check_eq(got, cases, "notifications listed for account %s" % account)
    check_eq(rbtest.counter(portal.status(), "notifications_received"), 3, "notifications_received")
    rbtest.check_ack_once(pb, portal, every[0].seq, a)
    log("notifications: named, filtered by account, the repeat stored once, acknowledged once")

    rbtest.check_kind_refused(pb, portal, mun_a, case_1, pb.INVOLVEMENT,
                              pb.Involvement(role=pb.JEUGDHULP, involved=True).SerializeToString())
    log("an INVOLVEMENT envelope at the portal is a dead letter (PERMISSION_DENIED)")

    # -- Configuration errors (the daemon reads its sections once the node is
    #    up, so the running one must make room) ---------------------------------
    portal.stop()
    for override, key_named in (("portal/colour=blue", "portal/colour"), ("homes/0344=mun-z", "homes/0344"),
                                ("portal/municipality=mun-z", "portal/municipality"),
                                ("region/key_file=%s" % os.path.join(env.dir, "none.key"), "region/key_file")):
        rbtest.check_config_refused(env, portal, ["--set", override], key_named)
    no_municipality = portal.config_text().replace('    municipality = "mun-a"\n', "")
    rbtest.check_config_refused(env, portal, [], "portal/municipality", text=no_municipality)
    log("config errors exit 2 naming the key")
    for secret in (BSN_1, BSN_2, BSN_3, NAME_1, NAME_2):
        check(secret not in portal.log_text(), "%r is in the portal's log" % secret)


if __name__ == "__main__":
    rbtest.run("portal", main)
