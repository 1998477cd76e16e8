#!/usr/bin/python3
"""Receiver crashes: node b is SIGKILLed at 5 random moments of a transfer.

100,000 events a->b are submitted in batches of 1,000 by a client thread
while the main thread kills b five times. Each kill waits until b is
visibly receiving (its received_seq from a has grown by a random amount
since it came up), so the SIGKILL lands in the middle of inbound commits;
b is restarted after a random pause, during which a keeps accepting and
queueing. Checks that b ends up with origin_seq 1..100000 exactly once, in
order, nothing lost, and that a's queue drains to zero.
"""
import random
import threading
import time

import rbtest
from rbtest import check, log, peer

COUNT = 100000
BATCH = 1000
KILLS = 5


def main(env):
    a, b = env.pair()
    b.start()
    a.start()

    batches = rbtest.batches_of(a.api, "b", COUNT, BATCH)
    outcome = {}

    def submit():
        try:
            t0 = time.monotonic()
            a.api.submit_pipelined(batches, window=8, timeout=120)
            outcome["seconds"] = time.monotonic() - t0
        except BaseException as e:      # reported by the main thread
            outcome["error"] = e

    submitter = threading.Thread(target=submit)
    submitter.start()

    def received():
        return peer(b.status(timeout=5), "a").received_seq

    kills = []
    base = 0
    for k in range(KILLS):
        step = random.randint(1000, 10000)
        target = base + step
        got = rbtest.wait_until(lambda: (lambda r: r if r >= target else None)(received()), 90,
                                "b to receive past seq %d (kill %d)" % (target, k + 1), interval=0.01)
        time.sleep(random.uniform(0, 0.02))
        b.kill()
        kills.append(got)
        check(got < COUNT, "kill %d came after b had everything (received_seq %d)" % (k + 1, got))
        pause = random.uniform(0, 1.0)
        log("kill %d: b had received_seq %d (target %d); restarting in %.2fs" % (k + 1, got, target, pause))
        time.sleep(pause)
        b.start(timeout=30)
        base = received()
        log("b back with received_seq %d (committed before the kill survived)" % base)
        check(base >= got, "b came back with received_seq %d, below the %d it had reported before "
              "the kill: committed events were lost" % (base, got))

    submitter.join(180)
    check(not submitter.is_alive(), "submission did not finish within 180s")
    if "error" in outcome:
        raise outcome["error"]
    log("a accepted %d events in %.1fs" % (COUNT, outcome["seconds"]))
    check(len(kills) == KILLS, "b was killed %d times, expected %d" % (len(kills), KILLS))

    rbtest.wait_delivered(a, b, COUNT, timeout=120)
    events = b.api.received_all("a")
    rbtest.verify_stream(events, COUNT, "a", "b")
    log("b holds origin_seq 1..%d from a exactly once, in order, after %d kills" % (COUNT, KILLS))

    sa, sb = a.status(), b.status()
    pa, pb_ = peer(sa, "b"), peer(sb, "a")
    check(pa.queue_depth == 0, "a's queue_depth for b is %d" % pa.queue_depth)
    log("a: retransmits %d; b since its last start: duplicates %d gaps %d link_received %d" % (
        pa.retransmits, pb_.duplicates, pb_.gaps, rbtest.counter(sb, "link_received")))


if __name__ == "__main__":
    rbtest.run("kill_receiver", main)
