#!/usr/bin/python3
"""The audit chain over real daemons: who got and saw what, provably.

A region of school-a, mun-a, care-a and portal-a runs a first absence to
the end: the enrolment, care's involvement, the parent's link and consent, the
absence, its notification at every holder, shown to a parent account at
the portal and acknowledged by a mentor at the school. Then at every node:

  - `audit verify` (over the API, with the CLI, and with `--store` on the
    running node's LMDB directory) says the chain holds, with its count;
  - each envelope mun-a sent is audited twice, as received (from mun-a,
    committed) at its holder and as delivered (acknowledged) at mun-a,
    under the same event id; the same for school-a's envelopes at mun-a;
  - the notification is audited as stored, as shown to the account and
    as acknowledged by the mentor, with the recipient role and the
    notification id; `audit list` says so in plain words;
  - no record holds a citizen number or a name.

A copy of care-a's stopped store with one byte of one record changed is
named by `audit verify --store` (exit 1, that record, hash mismatch); the
original still holds. Last, two bare nodes exchange 20,000 events while
the receiver is SIGKILLed twice and the sender once: both chains still
hold, and each event is audited exactly once as received at b and once as
delivered at a.
"""
import json
import os
import random
import shutil
import subprocess
import threading
import time

import rbtest
from rbtest import check, check_eq, log, peer, wait_until
from test_school import bsn, use_school_time_zone, weekdays_before, today, ymd

SANNE = "Sanne de Vries"
COUNT = 20000


def records(pb, node):
    """Every audit record of node, through audit_list page by page."""
    out, after = [], 0
    for _ in range(10000):
        reply = rbtest.check_ok(pb, node.api.call(audit_list=pb.AuditListRequest(after_seq=after, limit=1000)),
                                "audit_list at %s" % node.name)
        out += list(reply.audit_list.records)
        if not reply.audit_list.more:
            return out
        after = out[-1].seq
    raise rbtest.TestFailure("audit_list at %s never ended" % node.name)


def verify(pb, node):
    reply = rbtest.check_ok(pb, node.api.call(audit_verify=pb.AuditVerifyRequest()),
                            "audit_verify at %s" % node.name)
    return reply.audit_verify


def cli_offline(env, *args):
    """The CLI with no node named: only --store tells it where to look."""
    res = subprocess.run([env.cli_bin] + list(args), capture_output=True, text=True, timeout=60,
                         env=rbtest.sanitizer_env())
    env.check_sanitizer_text(res.stderr, "regiebus %s" % " ".join(args))
    return res


def check_intact(pb, env, node):
    """The chain holds by API, by CLI and straight from the store."""
    v = verify(pb, node)
    check_eq((v.problem, v.broken_seq), (pb.AUDIT_INTACT, 0), "audit_verify at %s (%s)" % (node.name, v.detail))
    check(v.count > 0 and v.head_seq == v.count and len(v.head_hash) == 32,
          "audit_verify at %s: count %d head %d" % (node.name, v.count, v.head_seq))
    text = node.cli("audit", "verify").stdout
    check(text.startswith("audit chain OK: ") and "records, head" in text, "regiebus audit verify: %r" % text)
    res = cli_offline(env, "audit", "verify", "--store", node.data_dir, "--json")
    check_eq(res.returncode, 0, "audit verify --store %s exit code (%s)" % (node.name, res.stderr))
    offline = json.loads(res.stdout)
    check(offline["problem"] == "AUDIT_INTACT" and offline["count"] >= v.count,
          "audit verify --store on the running %s: %s" % (node.name, offline))
    return v


def of_kind(pb, recs, kind, peer_name=None):
    return [r for r in recs if r.kind == kind and (peer_name is None or r.peer == peer_name)]


def first_absence_flow(env, pb):
    use_school_time_zone()
    key_path, key = rbtest.region_key(env)
    region = dict(region__key_file=key_path)
    mun = env.node("mun-a", daemon="municipality", municipality__leerplicht_contact="leerplicht 020")
    school = env.node("school-a", daemon="school", school__location="12AB00", school__close_day_at="never",
                      homes__0363="mun-a", **region)
    care = env.node("care-a", daemon="care", care__municipality="mun-a", care__contact="jeugdteam",
                    homes__0363="mun-a", **region)
    portal = env.node("portal-a", daemon="portal", portal__municipality="mun-a", homes__0363="mun-a", **region)
    holders = [school, care, portal]
    for n in holders:
        n.add_peer(mun)
        mun.add_peer(n)
    for n in [mun] + holders:
        n.start()
    days = weekdays_before(today(), 8)
    sanne = bsn(101)
    case = rbtest.pseudonym(key, sanne)

    log("enrolment, involvement, parent link, then Sanne's first absence")
    rbtest.check_ok(pb, school.api.call(enrol=pb.EnrolRequest(pupils=[pb.Pupil(
        local_id="a-1", citizen_number=sanne, birth_date=20140501, home_municipality="0363",
        enrolled_on=ymd(days[0]), display_name=SANNE)])), "enrol")
    rbtest.check_ok(pb, care.api.call(involvement=pb.InvolvementRequest(
        citizen_number=sanne, role=pb.JEUGDHULP, involved=True, local_name="client 17")), "involvement")
    rbtest.check_ok(pb, portal.api.call(parent_link=pb.ParentLinkRequest(
        account="ouder-1", citizen_number=sanne, child_name="Sanne", linked=True)), "parent_link")
    wait_until(lambda: len(mun.api.call(show_case=pb.ShowCaseRequest(case_pseudonym=case)).show_case.holders) == 3,
               30, "three holders on Sanne's case")
    # Care hears of her absence only with the parents' consent, applied at mun-a first.
    rbtest.check_ok(pb, portal.api.call(consent=pb.ConsentRequest(
        account="ouder-1", citizen_number=sanne, role=pb.JEUGDHULP, given=True)), "consent")
    wait_until(lambda: mun.api.call(consent_show=pb.ConsentShowRequest(
        case_pseudonym=case)).consent_show.consents[0].given, 30, "the consent applied at mun-a")
    rec = pb.AttendanceRecord(idempotency_key="s-0", local_id="a-1", date=ymd(days[5]), minutes=300,
                              reason=pb.SICK)
    rbtest.check_ok(pb, school.api.call(record_attendance=pb.RecordAttendanceRequest(records=[rec])), "absence")

    def first_absence(node, **filters):
        items = rbtest.list_notifications(pb, node, case_pseudonym=case, **filters)
        got = [i for i in items if i.notification.subject == pb.ABSENCE_SIGNAL]
        return got[0] if got else None

    notices = {n.name: wait_until(lambda: first_absence(n), 30, "first absence at %s" % n.name) for n in holders}
    shown = first_absence(portal, account="ouder-1")
    check(shown is not None, "the parent's account sees the first absence")
    acked = school.cli("ack", str(notices["school-a"].seq), "--by", "mentor.jansen")
    check("acknowledged" in acked.stdout, "regiebus ack: %r" % acked.stdout)
    # Everything mun-a sent is acknowledged, so it is audited as delivered.
    for n in holders:
        wait_until(lambda: peer(mun.status(), n.name).queue_depth == 0 and
                   peer(n.status(), "mun-a").queue_depth == 0, 30, "queues to and from %s empty" % n.name)
    return mun, school, care, portal, case, notices


def check_region_audit(env, pb, mun, school, care, portal, case, notices):
    log("every node's chain holds (API, CLI, and --store beside the running daemon)")
    for n in (mun, school, care, portal):
        v = check_intact(pb, env, n)
        log("  %s: %d records, head %s" % (n.name, v.count, v.head_hash.hex()[:16]))
    recs = {n.name: records(pb, n) for n in (mun, school, care, portal)}

    log("each delivery is audited at both ends under one event id")
    for sender, receiver in (("mun-a", "school-a"), ("mun-a", "care-a"), ("mun-a", "portal-a"),
                             ("school-a", "mun-a"), ("care-a", "mun-a"), ("portal-a", "mun-a")):
        sent = {(r.stream_seq, r.event_id, r.event_kind) for r in of_kind(pb, recs[sender], pb.AUDIT_DELIVERED, receiver)}
        got = {(r.stream_seq, r.event_id, r.event_kind)
               for r in of_kind(pb, recs[receiver], pb.AUDIT_RECEIVED, sender) if r.code == 0}
        check(sent and sent == got, "%s->%s: delivered %s, received %s" % (sender, receiver, sorted(sent), sorted(got)))
        seqs = sorted(s for s, _, _ in sent)
        check_eq(seqs, list(range(1, len(seqs) + 1)), "%s->%s stream seqs audited" % (sender, receiver))
    kinds = {r.event_kind for r in of_kind(pb, recs["mun-a"], pb.AUDIT_RECEIVED, "school-a")}
    check(pb.ENROLMENT in kinds and pb.ABSENCE_SIGNAL in kinds, "mun-a received from school-a: %s" % kinds)
    check(all(r.case_pseudonym == case for r in recs["care-a"] if r.kind != pb.AUDIT_DELIVERED),
          "every record at care-a names Sanne's case by its pseudonym")

    log("the notification: stored, shown to the account, acknowledged by the mentor")
    for name, item in notices.items():
        n = item.notification
        stored = [r for r in of_kind(pb, recs[name], pb.AUDIT_NOTICE_STORED) if r.stream_seq == item.seq]
        check(len(stored) == 1 and stored[0].peer == "mun-a" and stored[0].role == n.recipient.role
              and stored[0].notification_id == n.notification_id and stored[0].event_kind == pb.ABSENCE_SIGNAL,
              "notice %d stored at %s: %s" % (item.seq, name, stored))
        shown = [r for r in of_kind(pb, recs[name], pb.AUDIT_NOTICE_SHOWN) if r.stream_seq == item.seq]
        check(shown, "notice %d shown at %s" % (item.seq, name))
    to_parent = [r for r in of_kind(pb, recs["portal-a"], pb.AUDIT_NOTICE_SHOWN) if r.who == "ouder-1"]
    check(any(r.stream_seq == notices["portal-a"].seq for r in to_parent),
          "portal-a audits the notice as shown to ouder-1: %s" % to_parent)
    acks = of_kind(pb, recs["school-a"], pb.AUDIT_NOTICE_ACKED)
    check_eq([(r.stream_seq, r.who) for r in acks], [(notices["school-a"].seq, "mentor.jansen")],
             "acknowledgements audited at school-a")
    check_eq(of_kind(pb, recs["care-a"], pb.AUDIT_NOTICE_ACKED), [], "acknowledgements at care-a")

    text = cli_offline(env, "audit", "list", "--store", school.data_dir, "--limit", "1000").stdout
    check("acknowledged by mentor.jansen" in text and "delivered to mun-a" in text
          and "received from mun-a" in text, "audit list at school-a in words:\n%s" % text)
    text = portal.cli("audit", "list", "--limit", "1000").stdout
    check("shown to account ouder-1" in text and "stored: ABSENCE_SIGNAL from mun-a" in text,
          "audit list at portal-a in words:\n%s" % text)
    check_eq(rbtest.counter(school.status(), "audit_records"), len(records(pb, school)),
             "audit_records at school-a")

    log("no citizen number or name in any record")
    for n in (mun, school, care, portal):
        dump = cli_offline(env, "audit", "list", "--store", n.data_dir, "--limit", "1000", "--json").stdout
        for secret in (bsn(101), SANNE, "Sanne", "client 17", "20140501"):
            check(secret not in dump, "%r in %s's audit records" % (secret, n.name))


def check_tamper(env, pb, care):
    log("one byte of one record in a copy of care-a's stopped store: verify names that record")
    recs = records(pb, care)
    victim = recs[len(recs) // 2]
    care.stop()
    copy = os.path.join(env.dir, "care-a-copy")
    shutil.copytree(care.data_dir, copy)
    path = os.path.join(copy, "data.mdb")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    # The record's value is its canonical bytes then its hash; LMDB may keep
    # stale copies in free pages, so every copy is changed: byte 12 of the
    # record, inside its time.
    size = (38 + 5 + len(victim.event_id) + len(victim.notification_id) + len(victim.peer)
            + (32 if victim.case_pseudonym else 0) + len(victim.who))
    at, changed = data.find(victim.hash), 0
    while at >= 0:
        data[at - size + 12] ^= 0x01
        changed += 1
        at = data.find(victim.hash, at + 1)
    check(changed >= 1, "record %d's hash found in the copy" % victim.seq)
    with open(path, "wb") as f:
        f.write(data)
    res = cli_offline(env, "audit", "verify", "--store", copy)
    check_eq(res.returncode, 1, "audit verify --store on the tampered copy: exit code (%s)" % res.stdout)
    check(("BROKEN at record %d (hash mismatch)" % victim.seq) in res.stdout, "verify says: %r" % res.stdout)
    js = json.loads(cli_offline(env, "audit", "verify", "--store", copy, "--json").stdout)
    check_eq((js["problem"], js["broken_seq"], js["count"]), ("AUDIT_HASH_MISMATCH", victim.seq, victim.seq - 1),
             "verify --json on the tampered copy")
    log("  %s" % res.stdout.strip())
    res = cli_offline(env, "audit", "verify", "--store", care.data_dir)
    check_eq(res.returncode, 0, "the original store still verifies: %s" % res.stdout)
    res = cli_offline(env, "audit", "verify", "--store", os.path.join(env.dir, "nowhere"))
    check_eq(res.returncode, 3, "a store that is not there: exit code")


def check_kills(env, pb):
    log("a->b %d events; b SIGKILLed twice and a once mid-traffic" % COUNT)
    a, b = env.pair()
    b.start()
    a.start()
    outcome = {}

    def submit():
        try:
            a.api.submit_pipelined(rbtest.batches_of(a.api, "b", COUNT, 500), window=4, timeout=120)
        except BaseException as e:
            outcome["error"] = e

    def received():
        return peer(b.status(timeout=5), "a").received_seq

    submitter = threading.Thread(target=submit)
    submitter.start()
    for k, target in enumerate((3000, 7000)):
        wait_until(lambda: received() >= target, 60, "b past seq %d" % target, interval=0.01)
        time.sleep(random.uniform(0, 0.02))
        b.kill()
        time.sleep(random.uniform(0, 0.3))
        b.start(timeout=30)
    submitter.join(150)
    check(not submitter.is_alive() and "error" not in outcome, "submission: %s" % outcome.get("error"))
    wait_until(lambda: received() >= 12000, 60, "b past seq 12000")
    a.kill()
    a.start(timeout=30)
    rbtest.wait_delivered(a, b, COUNT, timeout=120)
    for n in (a, b):
        check_intact(pb, env, n)
    got = [r.stream_seq for r in of_kind(pb, records(pb, b), pb.AUDIT_RECEIVED, "a")]
    check_eq(sorted(got), list(range(1, COUNT + 1)), "b audits each event once as received")
    sent = [r.stream_seq for r in of_kind(pb, records(pb, a), pb.AUDIT_DELIVERED, "b")]
    check_eq(sorted(sent), list(range(1, COUNT + 1)), "a audits each event once as delivered")
    log("both chains hold; %d events received and delivered exactly once in the audit" % COUNT)


def main(env):
    pb = env.pb
    mun, school, care, portal, case, notices = first_absence_flow(env, pb)
    check_region_audit(env, pb, mun, school, care, portal, case, notices)
    check_tamper(env, pb, care)
    for n in (mun, school, portal):
        n.stop()
    check_kills(env, pb)


if __name__ == "__main__":
    rbtest.run("audit", main)
