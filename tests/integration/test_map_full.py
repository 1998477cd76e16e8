#!/usr/bin/python3
"""A full store refuses with STORE_FULL, keeps serving, and loses nothing.

Node a runs with map_size_mb = 1 while b is down. The client submits
events with 60 KiB payloads, one per request, until a answers STORE_FULL.
Checks:
  - STORE_FULL comes (within 100 submissions) and keeps coming, nothing of
    a refused request is written (last_assigned_seq stays at the count
    accepted), the refusal is counted (api_refused_store_full);
  - a still answers status, and a retry of an accepted key is answered as
    a duplicate;
  - a restarts cleanly with its store full;
  - once b is up, every accepted event is delivered exactly once, in order;
  - with the queue drained, a accepts new events again, and they arrive.
"""
import time

import rbtest
from rbtest import check, check_eq, log, peer

PAYLOAD = 60 * 1024
LIMIT = 100


def payload(n):
    return ("%d:" % n).ljust(PAYLOAD, "m")


def main(env):
    pb = env.pb
    a, b = env.pair(a_settings={"node__map_size_mb": 1})
    a.start()
    api = a.api

    accepted = 0
    full = None
    for n in range(LIMIT):
        reply = api.submit([api.submission("mf-%d" % n, "b", payload(n))], timeout=30)
        if reply.code == pb.STORE_FULL:
            full = reply
            break
        check(reply.code == 0, "submission %d refused with %s %r: %s" % (
            n, rbtest.errname(pb, reply.code), reply.field, reply.message))
        check_eq(reply.submit.accepted[0].origin_seq, n + 1, "origin_seq of event %d" % n)
        accepted += 1
    check(full is not None, "a accepted %d events of 60 KiB with a 1 MiB map and never said STORE_FULL" % accepted)
    check(accepted >= 1, "a was full before accepting anything")
    log("a accepted %d events of 60 KiB, then STORE_FULL (%r: %s)" % (accepted, full.field, full.message))

    for n in range(accepted, accepted + 3):
        reply = api.submit([api.submission("mf-%d" % n, "b", payload(n))])
        check(reply.code == pb.STORE_FULL, "submission %d after full: %s %s" % (
            n, rbtest.errname(pb, reply.code), reply.message))
    st = a.status()
    check_eq(peer(st, "b").last_assigned_seq, accepted, "a's last_assigned_seq when full")
    check_eq(peer(st, "b").queue_depth, accepted, "a's queue_depth when full")
    check(rbtest.counter(st, "api_refused_store_full") >= 4,
          "api_refused_store_full is %d after 4 refusals" % rbtest.counter(st, "api_refused_store_full"))
    check(st.store_used_bytes <= st.store_map_bytes, "store_used_bytes %d > store_map_bytes %d" % (
        st.store_used_bytes, st.store_map_bytes))
    log("a still answers status: used %d of %d bytes, api_refused_store_full %d" % (
        st.store_used_bytes, st.store_map_bytes, rbtest.counter(st, "api_refused_store_full")))

    reply = api.submit([api.submission("mf-0", "b", payload(0))])
    env.expect(reply.code == 0 and reply.submit.accepted[0].duplicate and reply.submit.accepted[0].origin_seq == 1,
               "retry of accepted key mf-0 on a full store: %s %r %s" % (
                   rbtest.errname(pb, reply.code), reply.field,
                   reply.submit.accepted[0] if reply.code == 0 else reply.message))

    a.stop()
    a.start()
    st = a.status()
    check_eq(peer(st, "b").last_assigned_seq, accepted, "a's last_assigned_seq after restart while full")
    log("a restarted with a full store and kept its %d queued events" % accepted)

    b.start()
    rbtest.wait_delivered(a, b, accepted, timeout=60)
    rbtest.verify_stream(b.api.received_all("a"), accepted, "a", "b", payload_fn=payload)
    log("b received all %d accepted events exactly once, in order" % accepted)

    # With the queue drained the space is free again: a big event must fit.
    expected = [payload(n).encode() for n in range(accepted)]
    big = payload(accepted)
    tries = []
    for _ in range(10):
        reply = a.api.submit([a.api.submission("mf-after", "b", big)])
        tries.append(rbtest.errname(pb, reply.code))
        if reply.code != pb.STORE_FULL:
            break
        time.sleep(0.5)
    check(reply.code in (0, pb.STORE_FULL), "60 KiB submission after drain: %s %s" % (
        rbtest.errname(pb, reply.code), reply.message))
    if not env.expect(reply.code == 0,
                      "with b's queue drained (acked_seq %d, queue_depth 0) a still refused a 60 KiB event "
                      "%d times over 5s with STORE_FULL (%s); the freed pages are only reused after some "
                      "other write commits" % (accepted, len(tries), reply.message)):
        reply = a.api.submit([a.api.submission("mf-small", "b", "small")])
        check(reply.code == 0, "a small event after drain: %s %s" % (rbtest.errname(pb, reply.code), reply.message))
        expected.append(b"small")
        log("a 5-byte event was accepted; trying the 60 KiB one again")
        reply = a.api.submit([a.api.submission("mf-after", "b", big)])
        check(reply.code == 0, "60 KiB event after drain and a small commit: %s %s" % (
            rbtest.errname(pb, reply.code), reply.message))
    expected.append(big.encode())
    check_eq(reply.submit.accepted[0].origin_seq, len(expected), "origin_seq of the 60 KiB event after drain")
    rbtest.wait_delivered(a, b, len(expected), timeout=60)
    got = b.api.received_all("a")
    check_eq([e.origin_seq for e in got], list(range(1, len(expected) + 1)), "seqs b holds from a")
    check([e.payload for e in got] == expected, "payloads b holds from a differ from those accepted")
    log("after the drain a accepted and delivered %d more event(s)" % (len(expected) - accepted))


if __name__ == "__main__":
    rbtest.run("map_full", main)
