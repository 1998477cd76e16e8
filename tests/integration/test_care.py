#!/usr/bin/python3
"""The care daemon: involvement goes to the case's municipality, and only
the pseudonym and codes leave the node.

regiebus-care "care-a" runs with two bare regiebus-node peers standing in
for municipalities: "mun-a" (its default, care/municipality, and home 0363)
and "mun-b" (home 0518). Checks:
  - registering by citizen number sends one INVOLVEMENT {role, involved,
    contact} to mun-a under the keyed BLAKE2b pseudonym of the number; the
    envelope carries neither the number nor the provider's name for the
    child; the default contact stands in for an empty one;
  - the same registration again sends nothing (no event id), also after a
    restart; a new contact is sent; a case named by pseudonym with home
    0518 goes to mun-b; a second role on the same case is its own
    involvement; ending one goes to the municipality it was registered
    with, once;
  - every refusal (code and field) sends nothing and is counted;
  - NOTIFICATION envelopes from mun-a are listed with the provider's name
    for the child, stored once when delivered twice, acknowledged once;
    any other kind is a dead letter refused with PERMISSION_DENIED;
  - a config with an unknown key, a homes entry that is no peer, or no
    care/municipality, exits 2 naming the key;
  - the care node's log holds no citizen number or name either.
"""

import os
import subprocess

import rbtest
from rbtest import check, check_eq, log

BSN_1 = "111222333"
BSN_2 = "123456782"
NAME_1 = "Sanne Bakker"
CONTACT = "Jeugdhulp Noord 020-5550101"


def main(env):
    pb = env.pb
    key_path, key = rbtest.region_key(env)
    mun_a = env.node("mun-a")
    mun_b = env.node("mun-b")
    care = env.node("care-a", daemon="care", care__municipality="mun-a", care__contact=CONTACT,
                    region__key_file=key_path, homes__0363="mun-a", homes__0518="mun-b")
    for mun in (mun_a, mun_b):
        care.add_peer(mun)
        mun.add_peer(care)
        mun.start()
    care.start()
    api = care.api
    case_1 = rbtest.pseudonym(key, BSN_1)
    case_2 = rbtest.pseudonym(key, BSN_2)
    arrived = {"mun-a": [], "mun-b": []}

    def involvement(**fields):
        return api.call(involvement=pb.InvolvementRequest(**fields))

    def sent(reply, mun, role, involved, contact, case):
        """reply is OK with an event id, and exactly that event arrives next at mun."""
        rbtest.check_ok(pb, reply, "involvement")
        check_eq(reply.involvement.case_pseudonym, case, "case_pseudonym in the reply")
        check_eq(len(reply.involvement.event_id), 16, "event_id length in the reply")
        e = rbtest.next_arrival(mun, "care-a", arrived[mun.name])
        check_eq(e.event_id, reply.involvement.event_id, "event id at %s" % mun.name)
        check_eq(e.kind, pb.INVOLVEMENT, "kind at %s" % mun.name)
        check_eq(e.case_pseudonym, case, "case at %s" % mun.name)
        p = pb.Involvement()
        p.ParseFromString(e.payload)
        check_eq((p.role, p.involved, p.contact), (role, involved, contact), "Involvement payload")
        for secret in (BSN_1, BSN_2, NAME_1):
            check(secret.encode() not in e.SerializeToString(), "%r is in the envelope" % secret)
        return e

    def unchanged(reply, what):
        rbtest.check_ok(pb, reply, what)
        check_eq(reply.involvement.event_id, b"", "event_id of %s (nothing sent)" % what)

    # -- Registration, repeats, changes, ending --------------------------------
    sent(involvement(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True, local_name=NAME_1),
         mun_a, pb.JEUGDHULP, True, CONTACT, case_1)
    log("registered by citizen number: INVOLVEMENT at mun-a under %s..., no number or name on the wire"
        % case_1[:12])
    unchanged(involvement(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True), "the same again")
    unchanged(involvement(case_pseudonym=case_1, role=pb.JEUGDHULP, involved=True, contact=CONTACT,
                          home_municipality="0363"), "the same, named by pseudonym")
    sent(involvement(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True, contact="desk 2"),
         mun_a, pb.JEUGDHULP, True, "desk 2", case_1)
    sent(involvement(case_pseudonym=case_2, role=pb.WIJKTEAM, involved=True, home_municipality="0518"),
         mun_b, pb.WIJKTEAM, True, CONTACT, case_2)
    sent(involvement(case_pseudonym=case_1, role=pb.SAMENWERKINGSVERBAND, involved=True),
         mun_a, pb.SAMENWERKINGSVERBAND, True, CONTACT, case_1)
    check_eq(rbtest.counter(care.status(), "care_involvements"), 4, "care_involvements")
    log("repeats send nothing; a new contact, another municipality and a second role are sent")

    care.restart()
    api = care.api
    unchanged(involvement(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True, contact="desk 2"),
              "the same after a restart")
    sent(involvement(case_pseudonym=case_2, role=pb.WIJKTEAM, involved=False), mun_b, pb.WIJKTEAM,
         False, CONTACT, case_2)
    unchanged(involvement(case_pseudonym=case_2, role=pb.WIJKTEAM, involved=False), "ending again")
    st = care.status()
    check_eq(rbtest.counter(st, "care_involvements_ended"), 1, "care_involvements_ended since restart")
    log("after a restart the state holds; ending goes to mun-b (where it was registered), once")

    # -- Refusals: code and field, nothing sent, counted -----------------------
    long_text = "x" * 129
    cases = [
        ("no case", dict(role=pb.JEUGDHULP, involved=True), "MISSING_FIELD", "involvement.citizen_number"),
        ("both names", dict(citizen_number=BSN_1, case_pseudonym=case_1, role=pb.JEUGDHULP, involved=True),
         "INVALID_FIELD", "involvement.case_pseudonym"),
        ("bad citizen number", dict(citizen_number="123456789", role=pb.JEUGDHULP, involved=True),
         "INVALID_FIELD", "involvement.citizen_number"),
        ("bad pseudonym", dict(case_pseudonym=case_1.upper(), role=pb.JEUGDHULP, involved=True),
         "INVALID_FIELD", "involvement.case_pseudonym"),
        ("role PARENT", dict(citizen_number=BSN_1, role=pb.PARENT, involved=True),
         "INVALID_FIELD", "involvement.role"),
        ("no role", dict(citizen_number=BSN_1, involved=True), "INVALID_FIELD", "involvement.role"),
        ("contact too long", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True, contact=long_text),
         "TOO_LARGE", "involvement.contact"),
        ("contact with a newline", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True,
                                        contact="desk\n2"), "INVALID_FIELD", "involvement.contact"),
        ("local name too long", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True,
                                     local_name=long_text), "TOO_LARGE", "involvement.local_name"),
        ("local name with a tab", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True,
                                       local_name="a\tb"), "INVALID_FIELD", "involvement.local_name"),
        ("unknown municipality", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True,
                                      home_municipality="0344"), "NOT_FOUND", "involvement.home_municipality"),
        ("malformed municipality", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True,
                                        home_municipality="363"), "INVALID_FIELD",
         "involvement.home_municipality"),
        ("ending what was never registered (by number)", dict(citizen_number=BSN_2, role=pb.JEUGDHULP,
                                                              involved=False),
         "NOT_FOUND", "involvement.citizen_number"),
        ("ending what was never registered (by pseudonym)", dict(case_pseudonym=case_2, role=pb.JEUGDHULP,
                                                                 involved=False),
         "NOT_FOUND", "involvement.case_pseudonym"),
        ("moving while involved", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=True,
                                       home_municipality="0518"), "FAILED_PRECONDITION",
         "involvement.home_municipality"),
        ("ending at another municipality", dict(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=False,
                                                home_municipality="0518"), "FAILED_PRECONDITION",
         "involvement.home_municipality"),
    ]
    rbtest.check_refusals(pb, care, [(what, {"involvement": pb.InvolvementRequest(**fields)}, code, field)
                                     for what, fields, code, field in cases])
    # Nothing refused went out: the next event on each stream is the next one sent.
    sent(involvement(citizen_number=BSN_1, role=pb.JEUGDHULP, involved=False), mun_a, pb.JEUGDHULP,
         False, CONTACT, case_1)
    sent(involvement(case_pseudonym=case_2, role=pb.WIJKTEAM, involved=True, home_municipality="0518"),
         mun_b, pb.WIJKTEAM, True, CONTACT, case_2)
    log("%d refusals, each counted, nothing sent" % len(cases))

    # -- Notifications from the municipality ------------------------------------
    notice = rbtest.notification(pb, "care-a", pb.JEUGDHULP, subject=pb.ABSENCE_SIGNAL,
                                 absence=pb.AbsenceSignal(signal=pb.FIRST_ABSENCE, episode=1, date=20261123,
                                                          school_location="12AB00"),
                                 also_sent_to=[pb.Actor(node="school-a", role=pb.SCHOOL_MENTOR)],
                                 expected=pb.CONFIRM_INVOLVEMENT, expected_by=20261125)
    other = rbtest.notification(pb, "care-a", pb.WIJKTEAM, subject=pb.REGIE_CHANGE,
                                regie_change=pb.RegieChange(actor=pb.Actor(node="care-a", role=pb.WIJKTEAM),
                                                            joined=True))
    rbtest.deliver_notifications(pb, mun_a, care, [(case_1, notice, "n-1"), (case_1, notice, "n-1-again"),
                                                   (case_2, other, "n-2")])
    items = rbtest.list_notifications(pb, care)
    check_eq([(i.case_pseudonym, i.local_name) for i in items], [(case_1, NAME_1), (case_2, "")],
             "notifications listed with the provider's names")
    check_eq(items[0].notification, notice, "the first notification as sent")
    check_eq(items[0].origin, "mun-a", "origin of the first notification")
    check_eq(rbtest.counter(care.status(), "notifications_received"), 2, "notifications_received")
    rbtest.check_ack_once(pb, care, items[0].seq, "desk.noord")
    log("notifications: listed with local names, the repeat stored once, acknowledged once")

    # -- Other kinds are refused ------------------------------------------------
    rbtest.check_kind_refused(pb, care, mun_a, case_1, pb.ENROLMENT,
                              pb.Enrolment(school_location="12AB00").SerializeToString())
    log("an ENROLMENT envelope at the care node is a dead letter (PERMISSION_DENIED)")

    # -- Configuration errors (the daemon reads its sections once the node is
    #    up, so the running one must make room) ---------------------------------
    care.stop()
    for override, key_named in (("care/colour=blue", "care/colour"), ("homes/0344=mun-z", "homes/0344"),
                                ("care/municipality=mun-z", "care/municipality"),
                                ("region/key_file=%s" % os.path.join(env.dir, "none.key"), "region/key_file")):
        rbtest.check_config_refused(env, care, ["--set", override], key_named)
    no_municipality = care.config_text().replace('    municipality = "mun-a"\n', "")
    rbtest.check_config_refused(env, care, [], "care/municipality", text=no_municipality)
    log("config errors exit 2 naming the key")
    for secret in (BSN_1, BSN_2, NAME_1):
        check(secret not in care.log_text(), "%r is in care-a's log" % secret)


if __name__ == "__main__":
    rbtest.run("care", main)
