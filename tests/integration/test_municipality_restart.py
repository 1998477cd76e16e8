#!/usr/bin/python3
"""The municipality killed mid-stream shows nobody a notification twice.

The region of test_municipality; school-a enrols the pupil, the portal links
and care registers involvement, to which the parents consent. Then school-a
queues 600 DAILY_DIGEST signals for mun-a with a link window of 4, so that
they arrive over a second or more, and mun-a is SIGKILLed while it is
visibly taking them in, three times, each
time restarted. Batches it had not committed come again and are handled
again; notifications it had committed but whose delivery was not yet
acknowledged are sent again. Checks, at the end:
  - school-a, portal-a and care-a each list exactly one notice per signal,
    with exactly the ids BLAKE2b-128(signal event id || 0), and no other
    new notice; each received exactly one NOTIFICATION envelope per notice;
  - mun-a lists none (leerplicht did not join) and "other" nothing at all;
  - mun-a's register still holds the three actors, once each.
"""

import rbtest
from rbtest import check, check_eq, log
from test_municipality import MUN, Region, enrolment, notification_id, signal

SIGNALS = 600
BATCH = 100
KILLS = 3
RECEIVERS = ("school-a", "portal-a", "care-a")


def received_from_school(r):
    return rbtest.peer(r.mun.status(timeout=5), "school-a").received_seq


def kill_while_receiving(r, first, last, kills):
    """SIGKILL mun-a while its received_seq from school-a is between first
    and last, up to kills times, restarting it each time; how many times it
    was killed mid-stream."""
    done = 0
    for k in range(kills):
        goal = first + (last - first) * (k + 1) // (kills + 2)
        seen = rbtest.wait_until(lambda: (lambda s: s if s >= goal else None)(received_from_school(r)),
                                 30, "mun-a to take in signal %d" % goal, interval=0.01)
        if seen >= last:
            break
        r.mun.kill()
        done += 1
        log("killed mun-a mid-stream at school-a seq %d of %d..%d" % (seen, first, last))
        r.mun.start()
        log("mun-a restarted at school-a seq %d" % received_from_school(r))
    return done


def main(env):
    pb = env.pb
    r = Region(env, agency_settings={"school-a": {"link__window": 4, "link__batch_events": 4}})
    r.start()
    r.send("school-a", pb.ENROLMENT, enrolment(pb))
    r.send("portal-a", pb.PARENT_LINK, pb.ParentLink(linked=True))
    r.send("care-a", pb.INVOLVEMENT, pb.Involvement(role=pb.WIJKTEAM, involved=True, contact="wijkteam"))
    r.send("portal-a", pb.CONSENT, pb.Consent(role=pb.WIJKTEAM, given=True))
    r.settle()
    before = r.counts()
    log("case set up: school-a, portal-a, care-a hold it (%s notices)" % before)

    # Queue the signals at school-a while mun-a is down, so they all flow once it is up.
    r.mun.stop()
    first = r.sent["school-a"]
    ids = []
    school = r.node("school-a").api
    for b in range(0, SIGNALS, BATCH):
        batch = [pb.Submission(idempotency_key="digest-%d" % n, destination=MUN, case_pseudonym=rbtest.CASE,
                               kind=pb.ABSENCE_SIGNAL,
                               payload=signal(pb, pb.DAILY_DIGEST, absences_today=n % 7).SerializeToString())
                 for n in range(b, b + BATCH)]
        reply = rbtest.check_ok(pb, school.submit(batch), "submit of digests %d.." % b)
        ids.extend(a.event_id for a in reply.submit.accepted)
    r.sent["school-a"] += SIGNALS
    last = r.sent["school-a"]
    r.mun.start()
    killed = kill_while_receiving(r, first, last, KILLS)
    check(killed >= 1, "mun-a was never killed mid-stream (it took in all %d signals first)" % SIGNALS)
    r.settle(timeout=90)
    log("all %d signals processed after %d kills mid-stream" % (SIGNALS, killed))

    expected = {notification_id(e, 0) for e in ids}
    check_eq(len(expected), SIGNALS, "distinct expected notification ids")
    for name in RECEIVERS:
        items = r.notices(name)[before[name]:]
        got = [i.notification.notification_id for i in items]
        check_eq(len(got), SIGNALS, "new notices at %s" % name)
        check_eq(len(set(got)), SIGNALS, "distinct notification ids at %s" % name)
        check(set(got) == expected, "notification ids at %s are not those of the signals" % name)
        check(all(i.notification.subject == pb.ABSENCE_SIGNAL
                  and i.notification.absence.signal == pb.DAILY_DIGEST for i in items),
              "a new notice at %s is not a digest" % name)
        envelopes = [e for e in r.node(name).api.received_all(MUN) if e.kind == pb.NOTIFICATION]
        check_eq(len(envelopes), before[name] + SIGNALS, "NOTIFICATION envelopes at %s" % name)
        st = r.node(name).status()
        log("%s: %d notices, one per signal, ids as derived; link duplicates %d" % (
            name, len(items), rbtest.peer(st, MUN).duplicates))
    check_eq(r.notices(MUN), [], "mun-a's own notices")
    check_eq(r.counts()["other"], 0, "notices at other")
    holders = rbtest.check_ok(pb, r.mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=rbtest.CASE)),
                              "show_case").show_case.holders
    check_eq(sorted((h.actor.node, h.actor.role) for h in holders),
             [("care-a", pb.WIJKTEAM), ("portal-a", pb.PARENT), ("school-a", pb.SCHOOL_MENTOR)], "holders")
    st = r.node("school-a").status()
    log("school-a resent %d envelopes to mun-a; mun-a skipped %d as duplicates since its last start" % (
        rbtest.peer(st, MUN).retransmits, rbtest.peer(r.mun.status(), "school-a").duplicates))


if __name__ == "__main__":
    rbtest.run("municipality_restart", main)
