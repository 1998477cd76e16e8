#!/usr/bin/python3
"""Sender crashes: node a is SIGKILLed in the middle of a submission.

The client submits 100,000 events (100 batches of 1,000, up to 8 requests
in flight) to a. Twice, at a random batch, a is SIGKILLed while requests
are in flight; the client does what an integrator must do: after a is back
it retries every batch whose outcome it does not know, with the same
idempotency keys, and also re-sends the last batch it saw accepted. Checks:
  - a batch is all-or-nothing: every reply's duplicate flags are uniform;
  - the re-sent accepted batch comes back duplicate=true with the same
    event ids and origin_seqs;
  - event n always has origin_seq n+1 (retries land where they belong);
  - b receives origin_seq 1..100000 exactly once, in order, with the ids
    the client was given.
"""
import random
import time

import rbtest
from rbtest import check, check_eq, log, peer

COUNT = 100000
BATCH = 1000
KILLS = 2


class Killed(Exception):
    pass


def main(env):
    a, b = env.pair()
    b.start()
    a.start()

    batches = rbtest.batches_of(a.api, "b", COUNT, BATCH)
    kill_at = sorted(random.sample(range(10, len(batches) - 10), KILLS))
    log("will SIGKILL a after the replies to batches %s" % kill_at)
    outcome = {}            # batch index -> list of (event_id, origin_seq)
    dup_batches = []        # indexes answered duplicate=true after a restart
    next_batch = 0
    t0 = time.monotonic()

    def record(index, reply):
        flags = {acc.duplicate for acc in reply.submit.accepted}
        check(len(flags) == 1, "batch %d half duplicate: %s" % (index, flags))
        got = [(acc.event_id, acc.origin_seq) for acc in reply.submit.accepted]
        for j, (_, seq) in enumerate(got):
            n = index * BATCH + j
            if seq != n + 1:
                raise rbtest.TestFailure("event %d (batch %d) got origin_seq %d, expected %d" % (
                    n, index, seq, n + 1))
        if index in outcome:
            check_eq(got, outcome[index], "ids and seqs of batch %d answered again" % index)
        outcome[index] = got
        return flags.pop()

    for kill in range(KILLS + 1):
        start = next_batch

        def on_reply(i, reply):
            dup = record(start + i, reply)
            check(dup == (start + i in dup_batches), "batch %d answered duplicate=%s, expected %s" % (
                start + i, dup, start + i in dup_batches))
            if kill < KILLS and start + i == kill_at[kill]:
                time.sleep(random.uniform(0, 0.03))
                raise Killed()

        try:
            a.api.submit_pipelined(batches[start:], window=8, on_reply=on_reply)
            next_batch = len(batches)
        except Killed:
            last_known = kill_at[kill]
            st = a.status()
            a.kill()
            log("kill %d: a killed after batch %d was answered (assigned %d, b acked %d); "
                "up to 8 batches were in flight" % (kill + 1, last_known, peer(st, "b").last_assigned_seq,
                                                   peer(st, "b").acked_seq))
            a.start()
            st = a.status()
            assigned = peer(st, "b").last_assigned_seq
            log("a is back: last_assigned_seq %d (batches answered before the kill end at %d)" % (
                assigned, (last_known + 1) * BATCH))
            check(assigned >= (last_known + 1) * BATCH,
                  "a lost accepted events: last_assigned_seq %d after restart, %d were acknowledged to "
                  "the client" % (assigned, (last_known + 1) * BATCH))
            check(assigned % BATCH == 0, "a restarted with a partial batch committed: last_assigned_seq %d" %
                  assigned)
            # Re-send the last batch known to be accepted: must be answered as a duplicate.
            reply = a.api.submit(batches[last_known])
            check(reply.code == 0, "retry of accepted batch %d refused: %s %s" % (
                last_known, rbtest.errname(env.pb, reply.code), reply.message))
            check(record(last_known, reply), "retry of accepted batch %d not reported duplicate" % last_known)
            log("retry of accepted batch %d: duplicate=true, same ids and seqs" % last_known)
            next_batch = last_known + 1
            # The batches in flight during the kill are retried by the loop; note which
            # of them a had committed.
            first_unknown = next_batch
            answers = [i for i in range(first_unknown, min(first_unknown + 8, len(batches)))
                       if i * BATCH < assigned]
            if answers:
                dup_batches.extend(answers)
                log("batches %s had been committed though their replies were lost; "
                    "their retry must come back duplicate" % answers)

    log("a accepted %d events in %.1fs, %d kills" % (COUNT, time.monotonic() - t0, KILLS))
    check_eq(sorted(outcome), list(range(len(batches))), "batches with a known outcome")
    st = a.status()
    check_eq(peer(st, "b").last_assigned_seq, COUNT, "a's last_assigned_seq after all retries")
    dups = rbtest.counter(st, "api_duplicates")
    check(dups >= BATCH, "a's api_duplicates since its last start is %d, expected >= %d" % (dups, BATCH))
    log("a counts %d duplicates answered since its last start" % dups)

    rbtest.wait_delivered(a, b, COUNT, timeout=120)
    events = b.api.received_all("a")
    rbtest.verify_stream(events, COUNT, "a", "b")
    for e in events:
        i, j = divmod(e.origin_seq - 1, BATCH)
        if outcome[i][j][0] != e.event_id:
            raise rbtest.TestFailure("origin_seq %d arrived with event_id %s, the client was given %s" % (
                e.origin_seq, e.event_id.hex(), outcome[i][j][0].hex()))
    log("b holds origin_seq 1..%d exactly once, in order, with the ids the client was given" % COUNT)


if __name__ == "__main__":
    rbtest.run("kill_sender", main)
