#!/usr/bin/python3
"""Exactly once, in order: 100,000 events from node a to node b.

Two daemons on loopback with CURVE links. The client submits 100 batches of
1,000 events (payload = decimal counter, idempotency key "ev-<n>") to a's
API with several requests in flight. Checks:
  - every reply is OK, origin_seq of event n is n+1, none is a duplicate;
  - b received origin_seq 1..100000 from a, contiguous, payloads 0..99999
    in order, event ids unique and equal to those a handed out;
  - a's status (regiebus status --json) shows queue_depth 0, everything
    acknowledged; b's counters show 100,000 received;
  - the CLI's `received` lists the tail of the stream.
"""
import time

import rbtest
from rbtest import check, check_eq, log, peer

COUNT = 100000
BATCH = 1000


def main(env):
    a, b = env.pair()
    b.start()
    a.start()

    batches = rbtest.batches_of(a.api, "b", COUNT, BATCH)
    log("submitting %d events to a in %d batches" % (COUNT, len(batches)))
    t0 = time.monotonic()
    replies = a.api.submit_pipelined(batches, window=8)
    log("a accepted %d events in %.1fs" % (COUNT, time.monotonic() - t0))
    ids = []
    for i, reply in enumerate(replies):
        for j, acc in enumerate(reply.submit.accepted):
            n = i * BATCH + j
            if acc.origin_seq != n + 1 or acc.duplicate or len(acc.event_id) != 16:
                raise rbtest.TestFailure("event %d accepted as seq %d duplicate=%s id of %d bytes" % (
                    n, acc.origin_seq, acc.duplicate, len(acc.event_id)))
            ids.append(acc.event_id)
    log("every reply OK: seqs 1..%d, no duplicates" % COUNT)

    rbtest.wait_delivered(a, b, COUNT, timeout=120)
    log("transfer finished %.1fs after the first submission" % (time.monotonic() - t0))

    events = b.api.received_all("a")
    rbtest.verify_stream(events, COUNT, "a", "b")
    for e in events:
        if e.event_id != ids[e.origin_seq - 1]:
            raise rbtest.TestFailure("origin_seq %d arrived with event_id %s, a handed out %s" % (
                e.origin_seq, e.event_id.hex(), ids[e.origin_seq - 1].hex()))
    log("b holds origin_seq 1..%d from a exactly once, in order, ids as accepted" % COUNT)

    everything = b.api.list_received("", 0, 10).list_received
    check(len(everything.events) == 10 and everything.more,
          "list_received with no origin: %d events more=%s" % (len(everything.events), everything.more))

    sa = a.cli_status()
    pa = [p for p in sa["peers"] if p["name"] == "b"]
    check(len(pa) == 1, "a's status --json lists peer b once: %r" % sa["peers"])
    pa = pa[0]
    check_eq(sa["node"], "a", "a's status node")
    check_eq(pa["queue_depth"], 0, "a's queue_depth for b")
    check_eq(pa["last_assigned_seq"], COUNT, "a's last_assigned_seq for b")
    check_eq(pa["acked_seq"], COUNT, "a's acked_seq for b")
    check_eq(pa["oldest_unacked_age_ms"], 0, "a's oldest_unacked_age_ms for b")
    check(pa["up"], "a sees b up")
    check_eq(sa["counters"]["api_accepted"], COUNT, "a's api_accepted")
    log("a: queue_depth 0, acked %d, retransmits %d" % (pa["acked_seq"], pa["retransmits"]))

    sb = b.status()
    pb_ = peer(sb, "a")
    check_eq(pb_.received_seq, COUNT, "b's received_seq from a")
    check_eq(rbtest.counter(sb, "link_received"), COUNT, "b's link_received")
    log("b: received_seq %d, link_received %d, duplicates %d, gaps %d" % (
        pb_.received_seq, rbtest.counter(sb, "link_received"), pb_.duplicates, pb_.gaps))

    out = b.cli("received", "--origin", "a", "--after", str(COUNT - 2), "--limit", "5").stdout
    lines = [line for line in out.splitlines() if line.strip()]
    check(len(lines) == 2 and lines[0].startswith("a#%d " % (COUNT - 1)) and lines[1].startswith("a#%d " % COUNT)
          and lines[1].endswith("payload=%d" % (COUNT - 1)),
          "regiebus received --after %d printed %r" % (COUNT - 2, out))
    log("regiebus received shows the last two events")


if __name__ == "__main__":
    rbtest.run("exactly_once", main)
