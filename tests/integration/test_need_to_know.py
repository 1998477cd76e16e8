#!/usr/bin/python3
"""Need to know: a node with no actor on a case never receives its events.

The region of test_region (mun-a, mun-b, school-a, school-b, care-a,
portal-a, the real daemons). Checked on every envelope each node received
(list_received, every origin), not only on what it lists as notices:

  - school-a's Sanne (mun-a) with care-a (her parents consenting) and
    portal-a on her case, school-a's Daan (mun-b), school-b's Noor
    (mun-a); absences, a parent's report and regie changes on all three:
    each node receives envelopes only about the cases where one of its
    actors holds a role;
  - released by staff: mun-a's staff assign care-a as CASUSREGISSEUR on
    Noor's case (care hears of her absence), then release it; care-a gets the
    change of its own leaving and then nothing of Noor's case: not her
    next absence, not a staff change, not her parents joining;
  - a care provider ending its involvement: after its own leaving, care-a
    receives nothing of Sanne's case: not an absence signal, not a
    parent's report, not leerplicht joining at the legal threshold;
  - a school after unenrolment: school-b gets its own leaving and then
    nothing of Noor's case: not the portal linking her parents, not their
    reports, not a staff change;
  - every one of those later events did reach the remaining holders, so
    the silence is need to know, not a stalled region.
"""

import rbtest
from rbtest import check, check_eq, log, wait_until
from test_region import Region, consent_for_care, enrol_and_join    # noqa: F401 (Region: test_wire_minimal too)
from test_school import bsn, use_school_time_zone, weekdays_before, today, ymd


class Watch:
    """What each node of the region received, envelope by envelope."""

    def __init__(self, r):
        self.r = r
        self.pb = r.pb

    def received(self, node):
        """(origin, case, subject) of every envelope node received."""
        out = []
        n = self.r.node(node)
        for origin in [p.name for p in n.status().peers]:
            for e in n.api.received_all(origin):
                subject = None
                if e.kind == self.pb.NOTIFICATION:
                    note = self.pb.Notification()
                    note.ParseFromString(e.payload)
                    subject = note.subject
                out.append((origin, e.case_pseudonym, subject))
        return out

    def about(self, node, case):
        return [x for x in self.received(node) if x[1] == case]

    def settle(self):
        """Every node's outboxes drained: whatever was sent has arrived (the
        agencies' first, then what the municipalities routed from it)."""
        for n in self.r.all()[2:] + self.r.all()[:2]:
            wait_until(lambda: all(p.queue_depth == 0 for p in n.status().peers), 30,
                       "%s's queues drained" % n.name)

    def cases_heard(self, node):
        return set(x[1] for x in self.received(node))

    def subjects(self, node, case):
        return [x[2] for x in self.about(node, case)]


def notices_of(r, node, case, subject, **match):
    return [i for i in r.notices(node, case) if i.notification.subject == subject
            and all(getattr(i.notification.regie_change, k) == v for k, v in match.items())]


def wait_notice(r, node, case, subject, what, **match):
    return wait_until(lambda: notices_of(r, node, case, subject, **match) or None, 30,
                      "%s at %s" % (what, node))


def scenario(env, r):
    """Run the whole story; returns what the checks need."""
    pb = r.pb
    w = Watch(r)
    days = weekdays_before(today(), 15)
    sanne, daan, noor = bsn(111), bsn(222), bsn(333)
    cases = {name: rbtest.pseudonym(r.key, n) for name, n in (("sanne", sanne), ("daan", daan), ("noor", noor))}
    s_case, d_case, n_case = cases["sanne"], cases["daan"], cases["noor"]

    log("enrolment, care's involvement and the parents' link on Sanne's case")
    enrol_and_join(r, days, sanne, daan, noor)
    wait_until(lambda: len(r.call("mun-a", "show_case", show_case=pb.ShowCaseRequest(
        case_pseudonym=s_case)).show_case.holders) == 3, 30, "three holders on Sanne's case")
    consent_for_care(r, sanne, s_case)

    log("absences on all three cases, a parent's report on Sanne's")
    r.record("school-a", "s-0", "a-1", days[3], 300, pb.SICK)
    r.record("school-a", "d-0", "a-2", days[3], 120, pb.UNEXCUSED)
    r.record("school-b", "n-0", "b-1", days[3], 60, pb.SICK)
    r.call("portal-a", "parent_report", parent_report=pb.ParentReportRequest(
        idempotency_key="p-1", account="ouder-1", citizen_number=sanne, report=pb.PARENT_SICKNESS))
    for node in ("school-a", "care-a", "portal-a"):
        wait_notice(r, node, s_case, pb.PARENT_REPORT, "the parent's report")
    wait_notice(r, "school-b", n_case, pb.ABSENCE_SIGNAL, "Noor's absence")
    wait_notice(r, "school-a", d_case, pb.ABSENCE_SIGNAL, "Daan's absence")
    w.settle()
    heard = {"school-a": {s_case, d_case}, "school-b": {n_case}, "care-a": {s_case},
             "portal-a": {s_case}, "mun-a": {s_case, n_case}, "mun-b": {d_case}}
    for node, expected in heard.items():
        check_eq(w.cases_heard(node), expected, "cases %s received envelopes about" % node)
    log("each node received envelopes only about the cases it holds a role on")

    log("staff assign care-a to Noor's case, then release it")
    # A case role of the municipality's: Noor has no parents linked to consent to more.
    actor = pb.Actor(node="care-a", role=pb.CASUSREGISSEUR)
    r.call("mun-a", "regie join", regie=pb.RegieRequest(case_pseudonym=n_case, actor=actor, joined=True,
                                                        contact="wijkteam 020-555 0500"))
    r.record("school-b", "n-1", "b-1", days[4], 60, pb.SICK)
    wait_notice(r, "care-a", n_case, pb.ABSENCE_SIGNAL, "Noor's absence while care-a holds a role")
    r.call("mun-a", "regie release", regie=pb.RegieRequest(case_pseudonym=n_case, actor=actor, joined=False))
    wait_notice(r, "care-a", n_case, pb.REGIE_CHANGE, "care-a's release", joined=False)
    w.settle()
    care_on_noor = w.about("care-a", n_case)

    log("care-a ends its involvement on Sanne's case")
    r.call("care-a", "end involvement", involvement=pb.InvolvementRequest(
        citizen_number=sanne, role=pb.JEUGDHULP, involved=False))
    wait_notice(r, "care-a", s_case, pb.REGIE_CHANGE, "care-a's own leaving", joined=False)
    w.settle()
    care_on_sanne = w.about("care-a", s_case)

    log("school-b unenrols Noor")
    r.call("school-b", "unenrol", unenrol=pb.UnenrolRequest(local_id="b-1", left_on=ymd(days[5])))
    wait_notice(r, "school-b", n_case, pb.REGIE_CHANGE, "school-b's own leaving", joined=False)
    w.settle()
    school_b_on_noor = w.about("school-b", n_case)

    log("after the releases: Sanne's absences to the legal threshold, a report; Noor's parents link "
        "and report; staff change Noor's case")
    for i, day in enumerate(days[6:10]):
        r.record("school-a", "s-%d" % (i + 1), "a-1", day, 300, pb.UNEXCUSED)
    r.call("portal-a", "second report", parent_report=pb.ParentReportRequest(
        idempotency_key="p-2", account="ouder-1", citizen_number=sanne, report=pb.PARENT_HOME_SIGNAL))
    r.call("portal-a", "link Noor", parent_link=pb.ParentLinkRequest(
        account="ouder-2", citizen_number=noor, child_name="Noor", linked=True))
    wait_notice(r, "portal-a", n_case, pb.REGIE_CHANGE, "the portal joining Noor's case", joined=True)
    r.call("portal-a", "Noor's report", parent_report=pb.ParentReportRequest(
        idempotency_key="p-3", account="ouder-2", citizen_number=noor, report=pb.PARENT_SICKNESS))
    duty = pb.Actor(node="mun-a", role=pb.CASUSREGISSEUR)
    r.call("mun-a", "director joins", regie=pb.RegieRequest(case_pseudonym=n_case, actor=duty, joined=True,
                                                            contact="regisseur 020-555 0600"))
    # The remaining holders heard every one of them.
    wait_notice(r, "portal-a", n_case, pb.PARENT_REPORT, "Noor's report at the portal")
    wait_notice(r, "portal-a", n_case, pb.REGIE_CHANGE, "the director joining Noor's case",
                actor=duty, joined=True)
    for node in ("school-a", "portal-a"):
        wait_notice(r, node, s_case, pb.REGIE_CHANGE, "leerplicht joining Sanne's case",
                    actor=pb.Actor(node="mun-a", role=pb.LEERPLICHT), joined=True)
        wait_until(lambda: len(notices_of(r, node, s_case, pb.PARENT_REPORT)) == 2, 30,
                   "the second report at %s" % node)
    w.settle()
    return dict(w=w, cases=cases, care_on_noor=care_on_noor, care_on_sanne=care_on_sanne,
                school_b_on_noor=school_b_on_noor,
                numbers={"sanne": sanne, "daan": daan, "noor": noor},
                names=["Sanne de Vries", "Daan Jansen", "Noor Bakker", "client 17", "Sanne", "Noor"],
                birth_date=20140501, school_day=ymd(days[3]))


def check_released(r, got):
    pb = r.pb
    w, cases = got["w"], got["cases"]
    s_case, d_case, n_case = cases["sanne"], cases["daan"], cases["noor"]
    check_eq(w.about("care-a", n_case), got["care_on_noor"],
             "envelopes about Noor's case at care-a after staff released it")
    check_eq(w.about("care-a", s_case), got["care_on_sanne"],
             "envelopes about Sanne's case at care-a after its involvement ended")
    check_eq(w.about("school-b", n_case), got["school_b_on_noor"],
             "envelopes about Noor's case at school-b after she left")
    check_eq(w.cases_heard("school-b"), {n_case}, "cases school-b ever heard of")
    check_eq(w.cases_heard("care-a"), {s_case, n_case}, "cases care-a ever heard of")
    check_eq(w.cases_heard("mun-b"), {d_case}, "cases mun-b ever heard of")
    check(pb.ABSENCE_SIGNAL in w.subjects("care-a", n_case) and
          w.subjects("care-a", n_case)[-1] == pb.REGIE_CHANGE,
          "care-a's last envelope about Noor's case is its release: %s" % w.subjects("care-a", n_case))
    for node, case in (("care-a", s_case), ("school-b", n_case)):
        last = notices_of(r, node, case, pb.REGIE_CHANGE, joined=False)
        check(last and last[-1].notification.regie_change.actor.node == node,
              "%s's last notice about the case is its own leaving" % node)
    log("released actors received nothing more: care-a (staff release, end of involvement), school-b (unenrolment)")


def main(env):
    use_school_time_zone()
    r = Region(env).start()
    got = scenario(env, r)
    check_released(r, got)


if __name__ == "__main__":
    rbtest.run("need_to_know", main)
