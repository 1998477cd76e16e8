#!/usr/bin/python3
"""An upgrade in place: nodes stopped, their stores put back into the
previous layout, the current binaries started on them.

Four nodes: mun-a, b and c are bare nodes (mun-a plays the municipality),
care-a the real regiebus-care. TEST events flow mun-a->b, b->mun-a and
mun-a->c; mun-a sends care-a notifications and care-a's acknowledgements
go back to mun-a as NOTIFICATION_ACK. So every node has an audit head,
care-a notice counters, and each stream its state at both ends.

Round 1 (SIGTERM): traffic both ways, 4 notices at care-a of which 2
acknowledged, then c stops and mun-a queues 200 more for it. Every node
stops; `rb_store_layout where` finds each record in its new place only,
`rb_store_layout old` moves them all back (audit head to key 0, notice
counters to notice_meta, stream state to instate and outstate) and `where`
finds them in the old place only; `regiebus audit verify --store` passes
on each old store. The nodes start again (c not yet) and show the same
numbers per peer, the same notices and counts; traffic goes on (numbers
continue, a second acknowledgement is refused, new notices are numbered
on), c starts and its queue flows.

Round 2 (SIGKILL): the same, with every node SIGKILLed while all three
TEST streams are mid-submission. The client retries what it does not
know the outcome of, with the same keys.

After each round: every stream holds each event exactly once and in
order (origin_seq 1..n, the payloads submitted), care-a's notices and
counters are what was done to them, mun-a received each acknowledgement
once, every node's audit chain holds and audits each envelope once as
delivered at its sender and once as received at its receiver, and after
the nodes stop again `where` finds every record moved to its new place
and none in both. The tool refuses a running node's store and a
directory without one.
"""
import random
import subprocess
import time

import rbtest
from rbtest import check, check_eq, log, peer, wait_until
from test_audit import records as audit_records

KINDS = ("audit-head", "notice-counters", "inbox-state", "outbox-state")
#  Where each node keeps records of each kind: its audit head, its notice
#  counters (care-a stores the notifications), one inbox state per origin
#  it received from and one outbox state per peer it sent to.
HOLDS = {
    "mun-a": {"audit-head": 1, "notice-counters": 0, "inbox-state": 2, "outbox-state": 3},
    "b": {"audit-head": 1, "notice-counters": 0, "inbox-state": 1, "outbox-state": 1},
    "c": {"audit-head": 1, "notice-counters": 0, "inbox-state": 1, "outbox-state": 0},
    "care-a": {"audit-head": 1, "notice-counters": 1, "inbox-state": 1, "outbox-state": 1},
}
BATCH = 100
CASE = rbtest.CASE


class Stream:
    """TEST events src -> dst, numbered by the client; events it knows
    were accepted are count, and event i must have origin_seq i + 1."""

    def __init__(self, src, dst, tag):
        self.src, self.dst, self.tag = src, dst, tag
        self.count = 0

    def payload(self, i):
        return "%s-%d" % (self.tag, i)

    def batch(self, size):
        """The next size events after those known accepted: a retry of a
        batch of unknown outcome has the same keys and payloads."""
        api = self.src.api
        return [api.submission("%s-%d" % (self.tag, i), self.dst.name, self.payload(i))
                for i in range(self.count, self.count + size)]

    def accepted(self, reply, size):
        rbtest.check_ok(self.src.env.pb, reply, "submit %s" % self.tag)
        seqs = [a.origin_seq for a in reply.submit.accepted]
        check_eq(seqs, list(range(self.count + 1, self.count + size + 1)), "origin_seqs of %s %d.." % (
            self.tag, self.count))
        self.count += size

    def submit(self, n):
        sizes = [min(BATCH, n - k) for k in range(0, n, BATCH)]
        for size in sizes:
            self.accepted(self.src.api.submit(self.batch(size)), size)

    def verify(self):
        rbtest.wait_delivered(self.src, self.dst, self.count, timeout=60)
        events = self.dst.api.received_all(self.src.name)
        rbtest.verify_stream(events, self.count, self.src.name, self.dst.name, payload_fn=self.payload)
        log("  %s: %d events, once each, in order" % (self.tag, self.count))


# ---------------------------------------------------------------------------
#  The tool

def tool(env, mode, node):
    path = env.build_dir + "/tests/integration/rb_store_layout"
    res = subprocess.run([path, mode, node.data_dir], capture_output=True, text=True, timeout=60,
                         env=rbtest.sanitizer_env())
    env.check_sanitizer_text(res.stderr, "rb_store_layout %s" % mode)
    return res


def parse(res, what):
    """{kind: {field: number}} from the tool's lines `kind a=N b=M`."""
    check(res.returncode == 0, "%s exited %d: %s" % (what, res.returncode, res.stderr.strip()))
    out = {}
    for line in res.stdout.splitlines():
        kind, *fields = line.split()
        out[kind] = {k: int(v) for k, v in (f.split("=") for f in fields)}
    check_eq(sorted(out), sorted(KINDS), "kinds %s printed" % what)
    return out


def where(env, node):
    return parse(tool(env, "where", node), "where %s" % node.name)


def check_where(env, node, place):
    """Every record node holds is in place ("new" or "old"), none elsewhere."""
    got = where(env, node)
    other = "old" if place == "new" else "new"
    for kind in KINDS:
        check_eq((got[kind][place], got[kind][other], got[kind]["both"]), (HOLDS[node.name][kind], 0, 0),
                 "%s's %s records in the %s place, the %s, both" % (node.name, kind, place, other))


def to_old_layout(env, nodes):
    """Every stopped store into the previous layout, checked before and after."""
    for n in nodes:
        check_where(env, n, "new")
        moved = parse(tool(env, "old", n), "old %s" % n.name)
        check_eq({k: v["moved"] for k, v in moved.items()}, HOLDS[n.name], "records moved at %s" % n.name)
        check_where(env, n, "old")
        res = subprocess.run([env.cli_bin, "audit", "verify", "--store", n.data_dir], capture_output=True,
                             text=True, timeout=60, env=rbtest.sanitizer_env())
        env.check_sanitizer_text(res.stderr, "regiebus audit verify --store")
        check(res.returncode == 0 and res.stdout.startswith("audit chain OK: "),
              "audit verify --store on %s's old store: exit %d %s%s" % (n.name, res.returncode, res.stdout,
                                                                       res.stderr))
    log("every store in the previous layout: %s" % ", ".join(
        "%s %s" % (n.name, "/".join(str(HOLDS[n.name][k]) for k in KINDS)) for n in nodes))


def check_refusals(env, running, keys_dir):
    for mode in ("where", "old"):
        res = tool(env, mode, running)
        check(res.returncode == 3 and "in use" in res.stderr,
              "%s on the running %s: exit %d %r" % (mode, running.name, res.returncode, res.stderr))
    res = subprocess.run([env.build_dir + "/tests/integration/rb_store_layout", "old", keys_dir],
                         capture_output=True, text=True, timeout=60, env=rbtest.sanitizer_env())
    check(res.returncode == 3 and "no LMDB store" in res.stderr,
          "old on a directory without a store: exit %d %r" % (res.returncode, res.stderr))
    rbtest.check_ok(env.pb, running.api.call(audit_verify=env.pb.AuditVerifyRequest()), "running node after")
    log("the tool refuses a running node's store (exit 3, in use) and a directory without one")


# ---------------------------------------------------------------------------
#  Nodes, notices and what they must show

def region(env):
    key_path, _ = rbtest.region_key(env)
    mun = env.node("mun-a")
    b = env.node("b")
    c = env.node("c")
    care = env.node("care-a", daemon="care", care__municipality="mun-a", care__contact="jeugdteam noord",
                    region__key_file=key_path, homes__0363="mun-a")
    for n in (b, c, care):
        n.add_peer(mun)
        mun.add_peer(n)
    return mun, b, c, care


class Notices:
    """What mun-a sent care-a and what care-a's users acknowledged."""

    def __init__(self, env, mun, care):
        self.pb, self.mun, self.care = env.pb, mun, care
        self.sent = []          # Notification ids, in order
        self.acked = []         # (seq, id), in the order acknowledged

    def send(self, n):
        pb = self.pb
        items = []
        for _ in range(n):
            note = rbtest.notification(pb, "care-a", pb.JEUGDHULP, from_node="mun-a", subject=pb.ABSENCE_SIGNAL,
                                       absence=pb.AbsenceSignal(signal=pb.FIRST_ABSENCE, episode=1,
                                                                date=20261123, school_location="12AB00"),
                                       expected=pb.CONFIRM_INVOLVEMENT, expected_by=20261125)
            items.append((CASE, note, "note-%d" % len(self.sent)))
            self.sent.append(note.notification_id)
        rbtest.deliver_notifications(pb, self.mun, self.care, items)
        got = self.listing()
        check_eq([(i.seq, i.notification.notification_id) for i in got[-n:]],
                 [(len(self.sent) - n + k + 1, self.sent[len(self.sent) - n + k]) for k in range(n)],
                 "the %d new notices numbered on at care-a" % n)

    def ack(self, seq):
        rbtest.check_ack_once(self.pb, self.care, seq, "team.lead")
        self.acked.append((seq, self.sent[seq - 1]))

    def listing(self):
        return rbtest.list_notifications(self.pb, self.care, limit=1000)

    def check(self):
        """The listing and the counters say what was sent and acknowledged."""
        items = self.listing()
        done = {seq for seq, _ in self.acked}
        check_eq([(i.seq, i.notification.notification_id, i.acknowledged, i.acked_by) for i in items],
                 [(k + 1, nid, k + 1 in done, "team.lead" if k + 1 in done else "")
                  for k, nid in enumerate(self.sent)], "care-a's notices")
        st = self.care.status()
        check_eq((rbtest.counter(st, "notifications_new"), rbtest.counter(st, "notifications_acked")),
                 (len(self.sent) - len(done), len(done)), "care-a's notifications_new, notifications_acked")
        return items

    def check_receipts(self):
        """mun-a received each acknowledgement once, in the order given."""
        n = len(self.acked)
        wait_until(lambda: peer(self.mun.status(), "care-a").received_seq >= n, 30,
                   "%d acknowledgements at mun-a" % n)
        events = self.mun.api.received_all("care-a")
        check_eq([(e.origin_seq, e.kind) for e in events],
                 [(k + 1, self.pb.NOTIFICATION_ACK) for k in range(n)], "envelopes care-a sent mun-a")
        ids = [self.pb.AckReceipt.FromString(e.payload).notification_id for e in events]
        check_eq(ids, [nid for _, nid in self.acked], "the notices mun-a heard acknowledged")
        got = self.care.api.received_all("mun-a")
        check_eq([(e.origin_seq, self.pb.Notification.FromString(e.payload).notification_id) for e in got],
                 [(k + 1, nid) for k, nid in enumerate(self.sent)], "notifications care-a received")


def numbers(nodes):
    """Per node and peer the numbers that live in the moved records."""
    out = {}
    for n in nodes:
        for p in n.status().peers:
            out[(n.name, p.name)] = (p.last_assigned_seq, p.acked_seq, p.received_seq, p.queue_depth)
    return out


def delivered(pb, recs, to):
    return sorted(r.stream_seq for r in recs if r.kind == pb.AUDIT_DELIVERED and r.peer == to)


def settle(pb, nodes):
    """Wait until every acknowledgement is in the store (a trim rides on a
    later commit): each peer's acked_seq is audited as delivered."""
    def settled():
        for n in nodes:
            recs = audit_records(pb, n)
            for p in n.status().peers:
                if len(delivered(pb, recs, p.name)) != p.acked_seq:
                    return None
        return True
    wait_until(settled, 30, "every acknowledgement trimmed and audited", interval=0.2)


def check_audit(pb, nodes):
    """Every chain holds; every envelope is audited once as delivered at
    its sender and once as received at its receiver."""
    recs = {}
    for n in nodes:
        v = rbtest.check_ok(pb, n.api.call(audit_verify=pb.AuditVerifyRequest()), "audit_verify").audit_verify
        check_eq((v.problem, v.broken_seq), (pb.AUDIT_INTACT, 0), "audit_verify at %s (%s)" % (n.name, v.detail))
        recs[n.name] = audit_records(pb, n)
    for n in nodes:
        for p in n.status().peers:
            sent = delivered(pb, recs[n.name], p.name)
            check_eq(sent, list(range(1, p.acked_seq + 1)), "%s->%s audited as delivered" % (n.name, p.name))
            if p.name in recs:
                got = sorted(r.stream_seq for r in recs[p.name]
                             if r.kind == pb.AUDIT_RECEIVED and r.peer == n.name and r.code == 0)
                check_eq(got, list(range(1, p.last_assigned_seq + 1)),
                         "%s->%s audited as received at %s" % (n.name, p.name, p.name))
    log("every chain holds; each envelope audited once at each end (%s records)" % (
        ", ".join("%s %d" % (k, len(v)) for k, v in recs.items())))


def check_all(env, streams, notices, nodes):
    for s in streams:
        s.verify()
    notices.check()
    notices.check_receipts()
    settle(env.pb, nodes)
    check_audit(env.pb, nodes)


def stop_and_check_moved(env, nodes):
    for n in nodes:
        n.stop()
    for n in nodes:
        check_where(env, n, "new")
    log("stopped: every record in its new place, none in both")


# ---------------------------------------------------------------------------
#  Round 1: stopped with SIGTERM, c down with a queue waiting for it

def round_sigterm(env, nodes, streams, notices):
    mun, b, c, care = nodes
    to_b, from_b, to_c = streams
    for n in nodes:
        n.start()
    check_refusals(env, mun, env.keys_dir)
    for s, n in ((to_b, 1500), (from_b, 1500), (to_c, 300)):
        s.submit(n)
    notices.send(4)
    notices.ack(1)
    notices.ack(3)
    to_c.verify()
    c.stop()
    to_c.submit(200)
    for s in (to_b, from_b):
        s.verify()
    notices.check_receipts()
    settle(env.pb, (mun, b, care))
    before = numbers((mun, b, care))
    listing = notices.check()
    check_eq(before[("mun-a", "c")][3], 200, "mun-a's queue for c when the nodes stop")
    for n in (mun, b, care):
        n.stop()
    log("round 1: every node stopped with SIGTERM; mun-a holds 200 unacknowledged for c")

    to_old_layout(env, nodes)
    for n in (mun, b, care):
        n.start()
    after = numbers((mun, b, care))
    check_eq(after, before, "numbers per peer after the upgrade")
    check_eq(notices.listing(), listing, "care-a's notices after the upgrade")
    notices.check()
    for n in (mun, b, care):
        v = rbtest.check_ok(env.pb, n.api.call(audit_verify=env.pb.AuditVerifyRequest()), "audit_verify")
        check_eq(v.audit_verify.problem, env.pb.AUDIT_INTACT, "audit_verify at %s on its old store" % n.name)
    log("the current binaries on the old stores: the same numbers per peer, notices and counts")

    for s, n in ((to_b, 500), (from_b, 500), (to_c, 100)):
        s.submit(n)
    check_eq(peer(mun.status(), "c").queue_depth, 300, "mun-a's queue for c while c is down")
    again = care.api.call(ack_notification=env.pb.AckNotificationRequest(seq=1, by="someone.else"))
    check_eq((rbtest.errname(env.pb, again.code), again.field), ("FAILED_PRECONDITION", "ack_notification.seq"),
             "acknowledging notice 1 again after the upgrade")
    check("team.lead" in again.message, "the refusal names who acknowledged it: %r" % again.message)
    notices.ack(2)
    notices.send(2)
    notices.ack(5)
    c.start()
    check_all(env, streams, notices, nodes)
    stop_and_check_moved(env, nodes)


# ---------------------------------------------------------------------------
#  Round 2: SIGKILLed mid-submission

def pump(streams, batches, kill_at, nodes):
    """Submit a batch to every stream at a time; after sending batch
    kill_at, SIGKILL every node with those requests in flight."""
    for i in range(batches):
        sent = []
        for s in streams:
            req = s.src.api.request(submit=s.src.env.pb.SubmitRequest(events=s.batch(BATCH)))
            sent.append((s, s.src.api.send(req)))
        if i == kill_at:
            time.sleep(random.uniform(0, 0.03))
            for n in random.sample(nodes, len(nodes)):
                n.kill()
            return
        for s, rid in sent:
            reply = s.src.api.wait_for(rid, 30)
            check(reply is not None, "no reply to batch %d of %s" % (i, s.tag))
            s.accepted(reply, BATCH)


def round_sigkill(env, nodes, streams, notices):
    mun, b, c, care = nodes
    for n in nodes:
        n.start()
    notices.send(2)
    notices.ack(6)
    listing = notices.check()
    batches = 10
    kill_at = random.randrange(3, batches - 2)
    known = {s.tag: s.count for s in streams}
    pump(streams, batches, kill_at, nodes)
    log("round 2: every node SIGKILLed with batch %d of every stream in flight (%s)" % (
        kill_at, ", ".join("%s %d known accepted" % (s.tag, s.count) for s in streams)))
    check(all(s.count - known[s.tag] == kill_at * BATCH for s in streams), "batches answered before the kill")

    to_old_layout(env, nodes)
    for n in nodes:
        n.start()
    check_eq(notices.listing(), listing, "care-a's notices after the kill and the upgrade")
    for s in streams:
        out = peer(s.src.status(), s.dst.name)
        check(out.last_assigned_seq in (s.count, s.count + BATCH), "%s: %d assigned after the upgrade, %d "
              "were accepted and one batch of %d was in flight" % (s.tag, out.last_assigned_seq, s.count, BATCH))
        log("  %s after the upgrade: %d assigned (the batch in flight %s), %d acknowledged, %d at %s" % (
            s.tag, out.last_assigned_seq, "committed" if out.last_assigned_seq > s.count else "lost",
            out.acked_seq, peer(s.dst.status(), s.src.name).received_seq, s.dst.name))
    for i in range(kill_at, batches):
        for s in streams:
            s.accepted(s.src.api.submit(s.batch(BATCH)), BATCH)
    log("the batch in flight retried with its keys, and the rest submitted")
    notices.send(1)
    notices.ack(7)
    check_all(env, streams, notices, nodes)
    stop_and_check_moved(env, nodes)


def main(env):
    nodes = region(env)
    mun, b, c, care = nodes
    streams = (Stream(mun, b, "mb"), Stream(b, mun, "bm"), Stream(mun, c, "mc"))
    notices = Notices(env, mun, care)
    round_sigterm(env, nodes, streams, notices)
    round_sigkill(env, nodes, streams, notices)


if __name__ == "__main__":
    rbtest.run("upgrade", main)
