#!/usr/bin/python3
"""A node stops on SIGTERM within seconds, whichever of its threads takes
the signal and however early it comes.

The kernel hands a process's signal to any of its threads that does not
block it, and CZMQ's actors (the authenticator and the monitors) end by
themselves when a signal interrupts their poll or when they find CZMQ's
zsys_interrupted set. A monitor that ended so had the node wait forever
for it at shutdown; a stop during startup ended the actors before the
node had set them up, and it hung or aborted. Checks:
  - every thread of a running node but its main one (ZeroMQ's, CZMQ's
    actors) blocks SIGTERM, SIGINT and SIGHUP, and the main one none of
    them (/proc/PID/task/*/status): those signals reach the loop's thread;
  - SIGHUP still reloads (`reloads` in status);
  - with traffic both ways, SIGINT and then SIGTERM: exit 0 within 10 s;
  - SIGTERM as soon as the node's ZeroMQ threads exist (its handler is in
    place), before it binds and starts its actors, 10 times: exit 0
    within 10 s each time;
  - a node stopped by SIGTERM keeps the acknowledgements it had not yet
    trimmed its outbox for (link/ack_stage_ms set to a minute, so only
    the stop can trim): started again with its peer down, its queue is
    empty, and when the peer returns nothing is sent to it twice.
"""
import os
import signal
import subprocess
import time

import rbtest
from rbtest import check, check_eq, log, peer, wait_until

STOP_WITHIN = 10
NODE_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
EARLY_STOPS = 10


def blocked(pid, tid):
    """The signals thread tid of pid blocks, from its SigBlk mask."""
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigBlk:"))
    return {s for s in NODE_SIGNALS if mask & (1 << (s - 1))}


def threads(pid):
    """{tid: name} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            out[int(tid)] = f.read().strip()
    return out


def check_masks(node):
    pid = node.pid
    tasks = threads(pid)
    check(len(tasks) >= 4, "%s has %d threads, expected main, ZeroMQ's and CZMQ's actors: %s"
          % (node.name, len(tasks), tasks))
    for tid, name in sorted(tasks.items()):
        got = blocked(pid, tid)
        want = set() if tid == pid else set(NODE_SIGNALS)
        check(got == want, "%s thread %d (%s) blocks %s, expected %s" % (
            node.name, tid, name, sorted(s.name for s in got) or "none",
            sorted(s.name for s in want) or "none"))
    log("%s: %d threads; only the main one takes SIGTERM, SIGINT and SIGHUP" % (node.name, len(tasks)))


def check_traffic_stops(a, b):
    a.api.submit_pipelined(rbtest.batches_of(a.api, "b", 2000, 200), window=4)
    b.api.submit_pipelined(rbtest.batches_of(b.api, "a", 2000, 200), window=4)
    a.api.submit_pipelined(rbtest.batches_of(a.api, "b", 2000, 200, start=2000), window=4)
    b.stop(timeout=STOP_WITHIN, sig=signal.SIGINT)
    b.start()
    rbtest.wait_delivered(a, b, 4000)
    rbtest.wait_delivered(b, a, 2000)
    for n in (b, a):
        n.stop(timeout=STOP_WITHIN, sig=signal.SIGTERM)
    log("with traffic both ways, SIGINT and SIGTERM stopped the nodes with exit 0")


def early_stop(node, round_no):
    """Start node and SIGTERM it as soon as its ZeroMQ threads exist."""
    node.start(wait=False)
    pid = node.pid
    deadline = time.monotonic() + 30
    while len(threads(pid)) < 3:
        check(node.proc.poll() is None, "%s exited with %s before its ZeroMQ threads started"
              % (node.name, node.proc.returncode))
        check(time.monotonic() < deadline, "%s: no ZeroMQ threads within 30 s" % node.name)
        time.sleep(0.0005)
    running = len(threads(pid))
    os.kill(pid, signal.SIGTERM)
    try:
        rc = node.proc.wait(STOP_WITHIN)
    except subprocess.TimeoutExpired:
        node.kill()
        raise rbtest.TestFailure("%s did not stop within %ds of a SIGTERM while starting (round %d)"
                                 % (node.name, STOP_WITHIN, round_no))
    node._drop_api()
    check_eq(rc, 0, "%s's exit code after a SIGTERM while starting (round %d, %d threads then)"
             % (node.name, round_no, running))
    return running


def check_stop_keeps_acks(env):
    s = env.node("s", link__ack_stage_ms=60000)
    r = env.node("r")
    s.add_peer(r)
    r.add_peer(s)
    r.start()
    s.start()
    wait_until(lambda: peer(s.status(), "r").up, 20, "s's link to r up")
    s.api.submit_pipelined(rbtest.batches_of(s.api, "r", 1000, 100), window=4)
    rbtest.wait_delivered(s, r, 1000)
    s.stop(timeout=STOP_WITHIN, sig=signal.SIGTERM)
    r.stop(timeout=STOP_WITHIN, sig=signal.SIGTERM)
    s.start()
    p = peer(s.status(), "r")
    check_eq((p.acked_seq, p.queue_depth), (1000, 0),
             "s's acknowledged seq and queue for r after a SIGTERM and a start with r down")
    r.start()
    wait_until(lambda: peer(s.status(), "r").up and peer(r.status(), "s").up, 20, "s and r up again")
    s.api.submit_pipelined(rbtest.batches_of(s.api, "r", 10, 10, start=1000), window=1)
    rbtest.wait_delivered(s, r, 1010)
    check_eq(peer(r.status(), "s").duplicates, 0, "envelopes r got from s twice")
    for n in (s, r):
        n.stop(timeout=STOP_WITHIN, sig=signal.SIGTERM)
    log("SIGTERM kept 1,000 acknowledgements the outbox had not yet been trimmed for: "
        "nothing was sent again")


def main(env):
    check_stop_keeps_acks(env)
    a, b = env.pair()
    b.start()
    a.start()
    wait_until(lambda: peer(a.status(), "b").up and peer(b.status(), "a").up, 20, "a and b up")
    for n in (a, b):
        check_masks(n)

    before = rbtest.counter(b.status(), "reloads")
    os.kill(b.pid, signal.SIGHUP)
    wait_until(lambda: rbtest.counter(b.status(), "reloads") == before + 1, 20, "b to reload on SIGHUP")
    log("SIGHUP still reloads b")

    check_traffic_stops(a, b)

    a.start()
    counts = [early_stop(b, i) for i in range(EARLY_STOPS)]
    log("%d SIGTERMs while b was starting (with %s threads): exit 0 each time"
        % (EARLY_STOPS, "/".join(str(c) for c in sorted(set(counts)))))
    b.start()
    check_masks(b)


if __name__ == "__main__":
    rbtest.run("stop", main)
