#!/usr/bin/python3
"""The municipality daemon: the regie register and the fan-out to its holders.

regiebus-municipality "mun-a" runs with bare regiebus-node peers standing in
for the agencies: "school-a", "school-b", "care-a", "portal-a", and "other",
which holds nothing. The bare nodes submit ENROLMENT, ABSENCE_SIGNAL,
INVOLVEMENT, PARENT_LINK, CONSENT and PARENT_REPORT envelopes (payloads built here)
and receive the NOTIFICATIONs, which every node stores and lists. Checks:
  - an enrolment makes the school a holder: a REGIE_CHANGE reaches it;
  - a parent link and a care involvement join: every holder hears of it;
  - the parents' consent for youth care: a CONSENT_CHANGE reaches care only;
  - a first absence reaches school, portal and care, each copy with its
    recipient, the other two in also_sent_to, the expected action and date
    of its role, the same notification_id (BLAKE2b-128 of the signal's
    event id and the index) and the signal's event id as causation_id;
  - at the legal threshold leerplicht (this municipality) joins: the others
    get the REGIE_CHANGE, mun-a lists it and the threshold notification
    locally with ASSESS_CASE;
  - "other" receives nothing at all; care, once its involvement ended,
    hears of the end and of nothing later;
  - a parent's home signal reaches every holder, the school included;
  - show_case lists the holders; a regie call assigns and releases a
    casusregisseur, notified like any change;
  - the counters say what happened;
  - restarted with leerplicht_at_first_absence, mun-a has leerplicht join a
    new case at its first absence.

Run alone, or as the library of the other municipality tests (Region).
"""

import hashlib
import os
import time

import rbtest
from rbtest import check, check_eq, log

MUN = "mun-a"
AGENCIES = ("school-a", "school-b", "care-a", "portal-a", "other")
LEERPLICHT_CONTACT = "leerplicht 020-5550000"
FRIDAY = 20261127               # a Friday: deadlines count weekdays after it


def weekdays_after(date, n):
    """The date n weekdays (Monday to Friday) after date (YYYYMMDD)."""
    day = time.strptime(str(date), "%Y%m%d")
    t = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 12, 0, 0, 0, 0, -1))
    while n > 0:
        t += 86400
        if time.localtime(t).tm_wday < 5:
            n -= 1
    return int(time.strftime("%Y%m%d", time.localtime(t)))


def notification_id(event_id, index):
    """The id the municipality gives: the event id's first 8 bytes, then
    8 of BLAKE2b-128 of the event id and the index."""
    digest = hashlib.blake2b(event_id + index.to_bytes(4, "big"), digest_size=16).digest()
    return event_id[:8] + digest[:8]


class Region:
    """mun-a and the bare agency nodes, each peered with mun-a only."""

    def __init__(self, env, agency_settings=None, **mun_settings):
        os.environ["TZ"] = "Europe/Amsterdam"
        time.tzset()
        self.env = env
        self.pb = env.pb
        settings = dict(municipality__leerplicht_contact=LEERPLICHT_CONTACT)
        settings.update(mun_settings)
        self.mun = env.node(MUN, daemon="municipality", **settings)
        self.nodes = {name: env.node(name, **(agency_settings or {}).get(name, {})) for name in AGENCIES}
        for n in self.nodes.values():
            n.add_peer(self.mun)
            self.mun.add_peer(n)
        self.keys = 0
        self.sent = {name: 0 for name in AGENCIES}

    def start(self):
        self.mun.start()
        for n in self.nodes.values():
            n.start()

    def node(self, name):
        return self.mun if name == MUN else self.nodes[name]

    def send(self, origin, kind, payload, case=rbtest.CASE):
        """origin submits one envelope to mun-a; its event id."""
        self.keys += 1
        data = payload if isinstance(payload, bytes) else payload.SerializeToString()
        reply = self.node(origin).api.submit([self.pb.Submission(
            idempotency_key="k-%d" % self.keys, destination=MUN, case_pseudonym=case, kind=kind,
            payload=data)])
        rbtest.check_ok(self.pb, reply, "submit at %s" % origin)
        self.sent[origin] += 1
        return reply.submit.accepted[0].event_id

    def settle(self, timeout=20):
        """Wait until mun-a processed all that was sent to it and every
        notification it emitted is acknowledged by its receiver."""
        def done():
            st = self.mun.status(timeout=5)
            for p in st.peers:
                if p.received_seq < self.sent.get(p.name, 0) or p.queue_depth:
                    return None
            return st
        return rbtest.wait_until(done, timeout, "mun-a to process and deliver everything")

    def notices(self, name, only_new=False):
        """Every notice listed at a node, in arrival order."""
        items, after = [], 0
        for _ in range(1000):
            reply = self.node(name).api.call(list_notifications=self.pb.ListNotificationsRequest(
                after_seq=after, limit=1000, only_new=only_new))
            rbtest.check_ok(self.pb, reply, "list_notifications at %s" % name)
            items.extend(reply.list_notifications.items)
            if not reply.list_notifications.more:
                return items
            after = items[-1].seq
        raise rbtest.TestFailure("list_notifications at %s did not end" % name)

    def all_notices(self):
        return {name: self.notices(name) for name in (MUN,) + AGENCIES}

    def copies(self, nid):
        """(node, role) -> NotificationItem for every copy of notification nid."""
        found = {}
        for name, items in self.all_notices().items():
            for item in items:
                if item.notification.notification_id == nid:
                    key = (name, item.notification.recipient.role)
                    check(key not in found, "notification %s listed twice at %s for role %d"
                          % (nid.hex(), name, key[1]))
                    found[key] = item
        return found

    def expect(self, event_id, index, subject, recipients, from_node, expected=None, case=rbtest.CASE):
        """Notification index of event_id reaches exactly recipients, a list
        of (node, role) in register order; expected maps (node, role) to
        (action, date) (the rest: NO_ACTION). Returns (node, role) -> item."""
        pb = self.pb
        nid = notification_id(event_id, index)
        rbtest.wait_until(lambda: len(self.copies(nid)) >= len(recipients), 20,
                          "notification %d of event %s at %s" % (index, event_id.hex(), recipients))
        self.settle()
        got = self.copies(nid)
        check_eq(sorted(got), sorted(recipients), "who got notification %d of %s" % (index, event_id.hex()))
        for node, role in recipients:
            item = got[(node, role)]
            n = item.notification
            what = "copy for %s/%s" % (node, pb.Role.Name(role))
            check_eq(item.case_pseudonym, case, what + ": case")
            check_eq(item.origin, MUN, what + ": origin")
            check_eq(n.subject, subject, what + ": subject")
            check_eq((n.recipient.node, n.recipient.role), (node, role), what + ": recipient")
            others = [(a.node, a.role) for a in n.also_sent_to]
            check_eq(others, [r for r in recipients if r != (node, role)], what + ": also_sent_to")
            want = (expected or {}).get((node, role), (pb.NO_ACTION, 0))
            check_eq((n.expected, n.expected_by), want, what + ": expected action and date")
            check_eq(n.from_node, from_node, what + ": from_node")
        return got

    def causation_at(self, name, event_id):
        """The NOTIFICATION envelopes at name caused by event_id."""
        return [e for e in self.node(name).api.received_all(MUN)
                if e.kind == self.pb.NOTIFICATION and e.causation_id == event_id]

    def counters(self):
        st = self.mun.status()
        return {name: rbtest.counter(st, "municipality_" + name)
                for name in ("cases_opened", "notifications_sent", "regie_changes")}

    def today(self):
        return int(time.strftime("%Y%m%d", time.localtime(self.mun.status().now_ms / 1000)))

    def counts(self):
        """How many notices each node lists."""
        return {name: len(items) for name, items in self.all_notices().items()}


def signal(pb, kind, date=FRIDAY, **fields):
    return pb.AbsenceSignal(signal=kind, episode=1, date=date, episode_started=date,
                            reason=pb.UNEXCUSED, school_location="12AB00", **fields)


def enrolment(pb, contact="mentor 4B, 020-5551234", ended_on=0):
    return pb.Enrolment(school_location="12AB00", enrolled_on=20260901, ended_on=ended_on,
                        contact=contact)


def main(env):
    pb = env.pb
    r = Region(env)
    r.start()
    SCHOOL = ("school-a", pb.SCHOOL_MENTOR)
    PARENT = ("portal-a", pb.PARENT)
    CARE = ("care-a", pb.JEUGDHULP)
    LEERPLICHT = (MUN, pb.LEERPLICHT)
    DIRECTOR = (MUN, pb.CASUSREGISSEUR)

    # -- The case opens with the school ---------------------------------------
    ev = r.send("school-a", pb.ENROLMENT, enrolment(pb))
    got = r.expect(ev, 0, pb.REGIE_CHANGE, [SCHOOL], "school-a")
    change = got[SCHOOL].notification.regie_change
    check_eq((change.actor.node, change.actor.role, change.joined, change.contact, change.reason),
             ("school-a", pb.SCHOOL_MENTOR, True, "mentor 4B, 020-5551234", "enrolment"),
             "the school's REGIE_CHANGE")
    check_eq(len(r.causation_at("school-a", ev)), 1, "NOTIFICATION envelopes at school-a caused by the enrolment")
    check_eq(r.counters(), {"cases_opened": 1, "notifications_sent": 1, "regie_changes": 1}, "counters")
    log("enrolment: school-a holds the case and got its REGIE_CHANGE; counters 1/1/1")

    # -- Parents and care join; every holder hears of it ------------------------
    ev = r.send("portal-a", pb.PARENT_LINK, pb.ParentLink(linked=True))
    got = r.expect(ev, 0, pb.REGIE_CHANGE, [PARENT, SCHOOL], "portal-a")
    check_eq(got[SCHOOL].notification.regie_change.reason, "parent_link", "reason of the parent's join")
    ev = r.send("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.JEUGDHULP, involved=True,
                                                         contact="jeugdhulp team 3"))
    got = r.expect(ev, 0, pb.REGIE_CHANGE, [CARE, PARENT, SCHOOL], "care-a")
    check_eq(got[PARENT].notification.regie_change.contact, "jeugdhulp team 3", "care's contact")
    log("parent link and involvement: each join reached every holder")

    # -- The parents consent to sharing with youth care: care alone is told ------
    ev = r.send("portal-a", pb.CONSENT, pb.Consent(role=pb.JEUGDHULP, given=True))
    got = r.expect(ev, 0, pb.CONSENT_CHANGE, [CARE], "portal-a")
    check_eq((got[CARE].notification.consent_change.role, got[CARE].notification.consent_change.given),
             (pb.JEUGDHULP, True), "the consent change at care-a")
    log("consent for JEUGDHULP: care-a alone hears of it")

    # -- A first absence reaches school, portal and care -------------------------
    ev = r.send("school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.FIRST_ABSENCE))
    monday = weekdays_after(FRIDAY, 1)
    got = r.expect(ev, 0, pb.ABSENCE_SIGNAL, [CARE, PARENT, SCHOOL], "school-a",
                   {SCHOOL: (pb.CONTACT_PARENTS, monday), PARENT: (pb.CONTACT_SCHOOL, monday)})
    check_eq(got[PARENT].notification.absence.signal, pb.FIRST_ABSENCE, "the signal in the portal's copy")
    check_eq(got[CARE].notification.absence.school_location, "12AB00", "the school in care's copy")
    for name in ("school-a", "portal-a", "care-a"):
        check_eq(len(r.causation_at(name, ev)), 1, "envelopes at %s caused by the first absence" % name)
    check_eq(r.notices(MUN), [], "mun-a's own notices before leerplicht joins")
    log("first absence: school CONTACT_PARENTS and portal CONTACT_SCHOOL by %d, care informed, one id" % monday)

    # -- At the legal threshold leerplicht joins ----------------------------------
    ev = r.send("school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.LEGAL_THRESHOLD, unexcused_minutes_4w=1000))
    today = r.today()
    holders = [CARE, LEERPLICHT, PARENT, SCHOOL]
    got = r.expect(ev, 0, pb.REGIE_CHANGE, holders, "school-a",
                   {LEERPLICHT: (pb.ASSESS_CASE, weekdays_after(today, 5))})
    change = got[CARE].notification.regie_change
    check_eq((change.actor.node, change.actor.role, change.joined, change.contact, change.reason),
             (MUN, pb.LEERPLICHT, True, LEERPLICHT_CONTACT, "legal_threshold"), "leerplicht's REGIE_CHANGE")
    later = weekdays_after(FRIDAY, 5)
    got = r.expect(ev, 1, pb.ABSENCE_SIGNAL, holders, "school-a",
                   {LEERPLICHT: (pb.ASSESS_CASE, later), PARENT: (pb.CONTACT_SCHOOL, later)})
    local = r.notices(MUN)
    check_eq([(i.notification.subject, i.origin) for i in local],
             [(pb.REGIE_CHANGE, MUN), (pb.ABSENCE_SIGNAL, MUN)], "mun-a's own notices, in order")
    log("legal threshold: leerplicht joined (ASSESS_CASE by %d), assesses the signal by %d, listed at mun-a"
        % (weekdays_after(today, 5), later))

    # -- Need to know ---------------------------------------------------------------
    check_eq(r.notices("other"), [], "notices at other")
    check_eq(r.node("other").api.received_all(MUN), [], "envelopes at other")
    check_eq(r.notices("school-b"), [], "notices at school-b")
    ev = r.send("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.JEUGDHULP, involved=False))
    got = r.expect(ev, 0, pb.REGIE_CHANGE, [LEERPLICHT, PARENT, SCHOOL, CARE], "care-a")
    check_eq(got[CARE].notification.regie_change.joined, False, "care's leave")
    before = r.counts()
    ev = r.send("school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.STREAK, date=FRIDAY + 3, streak_days=2))
    r.expect(ev, 0, pb.ABSENCE_SIGNAL, [LEERPLICHT, PARENT, SCHOOL], "school-a",
             {SCHOOL: (pb.CONTACT_PARENTS, weekdays_after(FRIDAY + 3, 1)),
              PARENT: (pb.CONTACT_SCHOOL, weekdays_after(FRIDAY + 3, 1))})
    after = r.counts()
    check_eq(after["care-a"], before["care-a"], "care's notices after it left")
    check_eq(after["other"], 0, "notices at other")
    log("need to know: other got nothing; care heard of its own leave and nothing after")

    # -- A parent's report reaches every holder --------------------------------------
    ev = r.send("portal-a", pb.PARENT_REPORT, pb.ParentReport(report=pb.PARENT_HOME_SIGNAL, from_date=FRIDAY,
                                                              code=42))
    got = r.expect(ev, 0, pb.PARENT_REPORT, [LEERPLICHT, PARENT, SCHOOL], "portal-a",
                   {SCHOOL: (pb.CONTACT_PARENTS, monday)})
    check_eq(got[SCHOOL].notification.parent_report.code, 42, "the report's code at the school")
    log("parent report: the school is asked to contact the parents by %d" % monday)

    # -- Staff: show_case and regie -----------------------------------------------------
    reply = rbtest.check_ok(pb, r.mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=rbtest.CASE)),
                            "show_case")
    shown = [(h.actor.node, h.actor.role, h.reason, h.contact) for h in reply.show_case.holders]
    check_eq(shown, [(MUN, pb.LEERPLICHT, "legal_threshold", LEERPLICHT_CONTACT),
                     ("portal-a", pb.PARENT, "parent_link", ""),
                     ("school-a", pb.SCHOOL_MENTOR, "enrolment", "mentor 4B, 020-5551234")], "show_case holders")
    check(reply.show_case.opened_at_ms > 0, "show_case opened_at_ms")
    before = r.counts()
    reply = rbtest.check_ok(pb, r.mun.api.call(regie=pb.RegieRequest(
        case_pseudonym=rbtest.CASE, actor=pb.Actor(node=MUN, role=pb.CASUSREGISSEUR), joined=True,
        contact="casusregie desk")), "regie assign")
    check(reply.regie.changed, "regie assign changed the register")
    holders = [DIRECTOR, LEERPLICHT, PARENT, SCHOOL]
    rbtest.wait_until(lambda: r.counts()["school-a"] > before["school-a"], 20, "the assignment at school-a")
    r.settle()
    news = [i for i in r.notices("school-a")[before["school-a"]:]]
    check_eq(len(news), 1, "new notices at school-a after the assignment")
    nid = news[0].notification.notification_id
    got = r.copies(nid)
    check_eq(sorted(got), sorted(holders), "who got the assignment")
    check_eq(got[DIRECTOR].notification.expected, pb.ASSESS_CASE, "the casusregisseur's expected action")
    check_eq(got[DIRECTOR].notification.regie_change.reason, "staff", "the assignment's reason")
    check_eq(got[PARENT].notification.from_node, MUN, "from_node of a staff change")
    reply = rbtest.check_ok(pb, r.mun.api.call(regie=pb.RegieRequest(
        case_pseudonym=rbtest.CASE, actor=pb.Actor(node=MUN, role=pb.CASUSREGISSEUR), joined=True,
        contact="casusregie desk")), "regie assign again")
    check(not reply.regie.changed, "the same assignment again changes nothing")
    reply = rbtest.check_ok(pb, r.mun.api.call(regie=pb.RegieRequest(
        case_pseudonym=rbtest.CASE, actor=pb.Actor(node=MUN, role=pb.CASUSREGISSEUR), joined=False)),
        "regie release")
    check(reply.regie.changed, "the release changed the register")
    rbtest.wait_until(lambda: r.counts()["portal-a"] == before["portal-a"] + 2, 20, "the release at portal-a")
    r.settle()
    check_eq(r.counts()["other"], 0, "notices at other")
    log("staff: show_case lists 3 holders; a casusregisseur assigned (ASSESS_CASE) and released, notified")

    # -- What the counters say -------------------------------------------------------------
    # Copies: enrolment 1, link 2, involvement 3, first absence 3, threshold 4 + 4,
    # care's leave 4, streak 3, report 3, assignment 4, release 4 (3 holders and the leaver).
    check_eq(r.counters(), {"cases_opened": 1, "notifications_sent": 36, "regie_changes": 7},
             "mun-a's counters")
    log("counters: 1 case opened, 7 regie changes, 35 notification copies sent")

    # -- A region may have leerplicht join at the first absence ----------------------------
    r.mun.settings["municipality"]["leerplicht_at_first_absence"] = "true"
    r.mun.restart()
    case = hashlib.sha256(b"a second pupil").hexdigest()
    r.send("school-a", pb.ENROLMENT, enrolment(pb), case)
    ev = r.send("school-a", pb.ABSENCE_SIGNAL, signal(pb, pb.FIRST_ABSENCE), case)
    got = r.expect(ev, 0, pb.REGIE_CHANGE, [LEERPLICHT, SCHOOL], "school-a",
                   {LEERPLICHT: (pb.ASSESS_CASE, weekdays_after(r.today(), 5))}, case)
    check_eq(got[SCHOOL].notification.regie_change.reason, "first_absence", "leerplicht's reason")
    r.expect(ev, 1, pb.ABSENCE_SIGNAL, [LEERPLICHT, SCHOOL], "school-a",
             {SCHOOL: (pb.CONTACT_PARENTS, monday)}, case)
    check_eq(r.counters(), {"cases_opened": 1, "notifications_sent": 5, "regie_changes": 2},
             "mun-a's counters since its restart")
    log("leerplicht_at_first_absence: leerplicht joined a new case at its first absence")


if __name__ == "__main__":
    rbtest.run("municipality", main)
