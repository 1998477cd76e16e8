#!/usr/bin/python3
"""A whole region of real daemons: every route a child's case takes.

Two municipalities (mun-a for CBS code 0363, mun-b for 0518), two schools
(school-a with pupils in both municipalities, school-b with one in mun-a), a
care provider and a parents' portal, each the real daemon with its own LMDB
store, CURVE keys and peers, run the way agencies run them. Checks, each on
what lands in the notification lists of the nodes:

  - a first absence reaches every holder of the case (school, care, to
    which the parents consent, and the parents) at its own node, under
    that node's own name for the child,
    with the recipient's role, the other holders and what is expected;
  - a parent's sickness report reaches every holder, the school included;
  - absences past 16 hours in 4 weeks make leerplicht join: every holder
    hears of the change and mun-a keeps the threshold notification itself;
  - a pupil living in the other municipality is routed to mun-b only: its
    case is at mun-b, not at mun-a, and its notifications come from mun-b;
  - need to know: a node with no actor on a case receives nothing about
    it (school-b, care and portal hear nothing of school-a's other pupil;
    school-a nothing of school-b's); care, once its involvement ends,
    receives nothing more;
  - repeating the same attendance records changes nothing anywhere;
  - a pupil leaving her school (unenrol): the municipality takes the
    school off her case, and the school hears of its own leaving.
"""

import rbtest
from rbtest import check, check_eq, log, wait_until
from test_school import bsn, use_school_time_zone, weekdays_before, today, ymd

HOMES = {"0363": "mun-a", "0518": "mun-b"}
LEERPLICHT = "leerplicht 020-555 0300"


class Region:
    def __init__(self, env):
        self.env = env
        self.pb = env.pb
        self.key_path, self.key = rbtest.region_key(env)
        region = dict(region__key_file=self.key_path)
        homes = {"homes__" + code: node for code, node in HOMES.items()}
        self.mun = {name: env.node(name, daemon="municipality",
                                   municipality__leerplicht_contact=LEERPLICHT)
                    for name in HOMES.values()}
        self.school = {
            "school-a": env.node("school-a", daemon="school", school__location="12AB00",
                                 school__close_day_at="never", **region, **homes),
            "school-b": env.node("school-b", daemon="school", school__location="34CD00",
                                 school__close_day_at="never", **region, **homes),
        }
        self.care = env.node("care-a", daemon="care", care__municipality="mun-a",
                             care__contact="jeugdteam 020-555 0400", homes__0363="mun-a", **region)
        self.portal = env.node("portal-a", daemon="portal", portal__municipality="mun-a",
                               homes__0363="mun-a", **region)
        for a, b in (("school-a", "mun-a"), ("school-a", "mun-b"), ("school-b", "mun-a"),
                     ("school-b", "mun-b"), ("care-a", "mun-a"), ("portal-a", "mun-a")):
            self.node(a).add_peer(self.node(b))
            self.node(b).add_peer(self.node(a))

    def node(self, name):
        for group in (self.mun, self.school):
            if name in group:
                return group[name]
        return {"care-a": self.care, "portal-a": self.portal}[name]

    def all(self):
        return list(self.mun.values()) + list(self.school.values()) + [self.care, self.portal]

    def start(self):
        for n in self.all():
            n.start()
        return self

    def call(self, node, what, **call):
        return rbtest.check_ok(self.pb, self.node(node).api.call(**call), what)

    def notices(self, node, case=""):
        return rbtest.list_notifications(self.pb, self.node(node), case_pseudonym=case, limit=1000)

    def wait_notices(self, node, case, count, what):
        return wait_until(lambda: (lambda n: n if len(n) >= count else None)(self.notices(node, case)),
                          30, "%s: %d notifications at %s" % (what, count, node))

    def record(self, school, key, local_id, day, minutes, reason):
        rec = self.pb.AttendanceRecord(idempotency_key=key, local_id=local_id, date=ymd(day),
                                       minutes=minutes, reason=reason)
        reply = self.call(school, "record_attendance %s" % key,
                          record_attendance=self.pb.RecordAttendanceRequest(records=[rec]))
        return list(reply.record_attendance.results[0].signals)


def pupil(pb, local_id, number, home, name, enrolled):
    return pb.Pupil(local_id=local_id, citizen_number=number, birth_date=20140501,
                    home_municipality=home, enrolled_on=ymd(enrolled), display_name=name)


def enrol_and_join(r, days, sanne, daan, noor):
    """Sanne and Daan (living in 0518) at school-a, Noor at school-b; care-a
    (as JEUGDHULP) and the portal (account ouder-1) join Sanne's case."""
    pb = r.pb
    r.call("school-a", "enrol", enrol=pb.EnrolRequest(pupils=[
        pupil(pb, "a-1", sanne, "0363", "Sanne de Vries", days[0]),
        pupil(pb, "a-2", daan, "0518", "Daan Jansen", days[0])]))
    r.call("school-b", "enrol", enrol=pb.EnrolRequest(pupils=[
        pupil(pb, "b-1", noor, "0363", "Noor Bakker", days[0])]))
    r.call("care-a", "involvement", involvement=pb.InvolvementRequest(
        citizen_number=sanne, role=pb.JEUGDHULP, involved=True, local_name="client 17"))
    r.call("portal-a", "parent_link", parent_link=pb.ParentLinkRequest(
        account="ouder-1", citizen_number=sanne, child_name="Sanne", linked=True))


def consent_for_care(r, sanne, case):
    """ouder-1 consents to sharing Sanne's case with youth care, and care-a
    is told: care hears of the child beyond the legal minimum only so.
    Call it once care-a holds the case."""
    pb = r.pb
    r.call("portal-a", "consent", consent=pb.ConsentRequest(
        account="ouder-1", citizen_number=sanne, role=pb.JEUGDHULP, given=True))
    wait_until(lambda: [i for i in r.notices("care-a", case)
                        if i.notification.subject == pb.CONSENT_CHANGE] or None,
               30, "care hears of the parents' consent")


def absence_notices(pb, items, signal):
    return [i for i in items if i.notification.subject == pb.ABSENCE_SIGNAL
            and i.notification.absence.signal == signal]


def main(env):
    use_school_time_zone()
    pb = env.pb
    r = Region(env).start()
    days = weekdays_before(today(), 15)
    sanne, daan, noor = bsn(101), bsn(202), bsn(303)
    case_sanne, case_daan, case_noor = (rbtest.pseudonym(r.key, n) for n in (sanne, daan, noor))

    log("enrolment: Sanne and Daan at school-a (Daan lives in 0518), Noor at school-b")
    enrol_and_join(r, days, sanne, daan, noor)
    # school-a, care-a and portal-a hold Sanne's case: each hears of the others joining.
    r.wait_notices("portal-a", case_sanne, 1, "portal hears it joined")
    wait_until(lambda: len(r.call("mun-a", "show_case", show_case=pb.ShowCaseRequest(
        case_pseudonym=case_sanne)).show_case.holders) == 3, 30, "three holders on Sanne's case")
    consent_for_care(r, sanne, case_sanne)

    log("a pupil living in 0518 is routed to mun-b, not mun-a")
    wait_until(lambda: r.node("mun-b").api.call(show_case=pb.ShowCaseRequest(
        case_pseudonym=case_daan)).code == 0, 30, "Daan's case at mun-b")
    check_eq(rbtest.errname(pb, r.node("mun-a").api.call(show_case=pb.ShowCaseRequest(
        case_pseudonym=case_daan)).code), "NOT_FOUND", "Daan's case at mun-a")
    check_eq(rbtest.errname(pb, r.node("mun-b").api.call(show_case=pb.ShowCaseRequest(
        case_pseudonym=case_sanne)).code), "NOT_FOUND", "Sanne's case at mun-b")

    log("Sanne's first absence reaches school-a, care-a and portal-a")
    check(pb.FIRST_ABSENCE in r.record("school-a", "s-0", "a-1", days[5], 300, pb.SICK),
          "a first absence was raised")
    expected = {"school-a": (pb.SCHOOL_MENTOR, "Sanne de Vries", pb.CONTACT_PARENTS),
                "care-a": (pb.JEUGDHULP, "client 17", pb.NO_ACTION),
                "portal-a": (pb.PARENT, "Sanne", pb.CONTACT_SCHOOL)}
    ids = set()
    for node, (role, name, action) in expected.items():
        got = wait_until(lambda: absence_notices(pb, r.notices(node, case_sanne), pb.FIRST_ABSENCE) or None,
                         30, "first absence at %s" % node)
        check_eq(len(got), 1, "first-absence notices at %s" % node)
        item = got[0]
        n = item.notification
        check_eq((item.origin, item.local_name, n.recipient.node, n.recipient.role, n.expected),
                 ("mun-a", name, node, role, action), "first absence at %s" % node)
        check_eq(sorted(a.node for a in n.also_sent_to), sorted(set(expected) - {node}),
                 "also sent to, at %s" % node)
        check_eq(n.absence.date, ymd(days[5]), "absence date at %s" % node)
        ids.add(n.notification_id)
    check_eq(len(ids), 1, "one notification id for every copy")

    log("the parent reports sickness: every holder hears it, the school included")
    r.call("portal-a", "parent_report", parent_report=pb.ParentReportRequest(
        idempotency_key="p-1", account="ouder-1", citizen_number=sanne, report=pb.PARENT_SICKNESS))
    for node in expected:
        wait_until(lambda: [i for i in r.notices(node, case_sanne)
                            if i.notification.subject == pb.PARENT_REPORT] or None,
                   30, "parent report at %s" % node)

    log("unexcused absences past 16 hours in 4 weeks: leerplicht joins")
    signals = []
    for i, day in enumerate(days[6:10]):
        signals += r.record("school-a", "s-%d" % (i + 1), "a-1", day, 300, pb.UNEXCUSED)
    check(pb.STREAK in signals and pb.LEGAL_THRESHOLD in signals,
          "streak and legal threshold raised: %s" % signals)
    for node in expected:
        wait_until(lambda: [i for i in r.notices(node, case_sanne)
                            if i.notification.subject == pb.REGIE_CHANGE
                            and i.notification.regie_change.actor.role == pb.LEERPLICHT] or None,
                   30, "leerplicht's joining at %s" % node)
    at_mun = r.wait_notices("mun-a", case_sanne, 1, "leerplicht's own notice")
    threshold = absence_notices(pb, at_mun, pb.LEGAL_THRESHOLD)
    check(threshold and threshold[0].notification.recipient.role == pb.LEERPLICHT
          and threshold[0].notification.expected == pb.ASSESS_CASE,
          "mun-a keeps the threshold notification for leerplicht: %s" % at_mun)

    log("Daan's absence: school-a hears it from mun-b; nobody else does")
    r.record("school-a", "d-0", "a-2", days[5], 120, pb.UNEXCUSED)
    got = wait_until(lambda: absence_notices(pb, r.notices("school-a", case_daan), pb.FIRST_ABSENCE) or None,
                     30, "Daan's first absence at school-a")
    check_eq((got[0].origin, got[0].local_name), ("mun-b", "Daan Jansen"), "Daan's notice")

    log("Noor's absence: only school-b")
    r.record("school-b", "n-0", "b-1", days[5], 60, pb.SICK)
    wait_until(lambda: absence_notices(pb, r.notices("school-b", case_noor), pb.FIRST_ABSENCE) or None,
               30, "Noor's first absence at school-b")

    log("care ends its involvement; the next absence does not reach it")
    r.call("care-a", "end involvement", involvement=pb.InvolvementRequest(
        citizen_number=sanne, role=pb.JEUGDHULP, involved=False))
    wait_until(lambda: [i for i in r.notices("care-a", case_sanne)
                        if i.notification.subject == pb.REGIE_CHANGE
                        and not i.notification.regie_change.joined] or None,
               30, "care hears its own leaving")
    care_before = len(r.notices("care-a"))
    school_before = len(r.notices("school-a", case_sanne))
    r.record("school-a", "s-9", "a-1", days[11], 300, pb.UNEXCUSED)
    r.wait_notices("school-a", case_sanne, school_before + 1, "a later absence at school-a")

    log("repeating every record changes nothing anywhere")
    counts = {n.name: len(r.notices(n.name)) for n in r.all()}
    for i, day in enumerate(days[6:10]):
        r.record("school-a", "s-%d" % (i + 1), "a-1", day, 300, pb.UNEXCUSED)
    r.record("school-a", "s-0", "a-1", days[5], 300, pb.SICK)
    # Whatever the repeats sent would sit in an outbox until acknowledged:
    # the schools' first, then what the municipalities routed from it.
    for n in r.all()[2:] + r.all()[:2]:
        wait_until(lambda: all(p.queue_depth == 0 for p in n.status().peers), 30,
                   "%s's queues drained" % n.name)
    after = {n.name: len(r.notices(n.name)) for n in r.all()}
    check_eq(after, counts, "notifications per node after the repeats")
    check_eq(len(r.notices("care-a")), care_before, "notices at care after its involvement ended")

    log("need to know: who heard what")
    for node in ("school-b", "care-a", "portal-a"):
        check_eq(r.notices(node, case_daan), [], "Daan's case at %s" % node)
    for node in ("school-a", "care-a", "portal-a", "mun-b"):
        check_eq(r.notices(node, case_noor), [], "Noor's case at %s" % node)
    for node in ("school-b", "mun-b"):
        check_eq(r.notices(node, case_sanne), [], "Sanne's case at %s" % node)

    log("school-b unenrols Noor: mun-a takes school-b off her case, and school-b hears it")
    left = r.call("school-b", "unenrol", unenrol=pb.UnenrolRequest(local_id="b-1", left_on=ymd(days[12])))
    check_eq((left.unenrol.case_pseudonym, left.unenrol.duplicate), (case_noor, False), "Noor's unenrol")

    def noor_holders():
        reply = r.call("mun-a", "show_case", show_case=pb.ShowCaseRequest(case_pseudonym=case_noor))
        return [h.actor.node for h in reply.show_case.holders]
    wait_until(lambda: "school-b" not in noor_holders(), 30, "school-b off Noor's case at mun-a")
    check_eq(noor_holders(), [], "holders of Noor's case at mun-a after she left school-b")
    got = wait_until(lambda: [i for i in r.notices("school-b", case_noor)
                              if i.notification.subject == pb.REGIE_CHANGE
                              and not i.notification.regie_change.joined] or None,
                     30, "school-b hears of its own leaving")
    change = got[0].notification.regie_change
    check_eq((len(got), got[0].local_name, change.actor.node, change.actor.role, change.reason),
             (1, "Noor Bakker", "school-b", pb.SCHOOL_MENTOR, "enrolment_ended"),
             "the REGIE_CHANGE at school-b, named as the school knows the pupil")
    for node in ("school-a", "care-a", "portal-a", "mun-b"):
        check_eq(r.notices(node, case_noor), [], "Noor's case at %s after she left school-b" % node)


if __name__ == "__main__":
    rbtest.run("region", main)
