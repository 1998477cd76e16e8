#!/usr/bin/python3
"""Store and forward: b is down for the whole submission, then catches up.

200,000 events with 512-byte payloads (about 100 MiB) are submitted to a
while b is not running. The queue must live in a's store on disk, not in
its memory: a's RssAnon after 100% of the submission may exceed its
RssAnon after 20% by less than a quarter of the bytes submitted in
between. Then b starts; it must catch up completely, exactly once and in
order, and a's queue must drain to zero.

The daemons run with ASAN_OPTIONS quarantine_size_mb=8 so that freed
memory held by AddressSanitizer does not count as growth.
"""
import time

import rbtest
from rbtest import check, check_eq, log, peer

COUNT = 200000
BATCH = 1000
PAYLOAD = 512


def payload(n):
    return ("%d:" % n).ljust(PAYLOAD, "x")


class LazyBatches:
    """Batches built when sent, so the client does not hold 100 MiB."""

    def __init__(self, api, count, batch):
        self.api, self.count, self.batch = api, count, batch

    def __len__(self):
        return (self.count + self.batch - 1) // self.batch

    def __getitem__(self, i):
        if isinstance(i, slice):
            raise TypeError("no slices")
        if not 0 <= i < len(self):
            raise IndexError(i)
        first = i * self.batch
        return [self.api.submission("ev-%d" % n, "b", payload(n))
                for n in range(first, min(first + self.batch, self.count))]


def main(env):
    opts = rbtest.ASAN_OPTIONS + ":quarantine_size_mb=8"
    a, b = env.pair()
    a.asan_options = b.asan_options = opts
    a.start()

    batches = LazyBatches(a.api, COUNT, BATCH)
    fifth = len(batches) // 5
    rss = {}

    def on_reply(index, reply):
        if index == fifth - 1:
            rss["20"] = a.rss_anon_kb()
            log("20%% submitted (%d events): a's RssAnon %d kB" % ((index + 1) * BATCH, rss["20"]))

    t0 = time.monotonic()
    a.api.submit_pipelined(batches, window=4, timeout=120, on_reply=on_reply)
    rss["100"] = a.rss_anon_kb()
    log("a accepted %d events of %d bytes in %.1fs with b down; RssAnon %d kB" % (
        COUNT, PAYLOAD, time.monotonic() - t0, rss["100"]))

    submitted = (COUNT - fifth * BATCH) * PAYLOAD
    growth = (rss["100"] - rss["20"]) * 1024
    log("RssAnon growth from 20%% to 100%%: %.1f MiB for %.1f MiB of payload submitted (limit 25%%: %.1f MiB)"
        % (growth / 2**20, submitted / 2**20, submitted * 0.25 / 2**20))
    check(growth < submitted * 0.25,
          "a's RssAnon grew by %.1f MiB while %.1f MiB were queued: the queue is held in memory"
          % (growth / 2**20, submitted / 2**20))

    st = a.status()
    pa = peer(st, "b")
    check(not pa.up, "a reports b up while b is not running")
    check_eq(pa.queue_depth, COUNT, "a's queue_depth for b while b is down")
    check_eq(pa.acked_seq, 0, "a's acked_seq for b while b is down")
    check(pa.oldest_unacked_age_ms > 0, "oldest_unacked_age_ms is %d while b is down" % pa.oldest_unacked_age_ms)
    check(st.store_used_bytes > COUNT * PAYLOAD,
          "a's store_used_bytes is %d, less than the %d bytes queued" % (st.store_used_bytes, COUNT * PAYLOAD))
    log("a: queue_depth %d, store_used %.1f MiB of %.1f MiB map" % (
        pa.queue_depth, st.store_used_bytes / 2**20, st.store_map_bytes / 2**20))

    t1 = time.monotonic()
    b.start()
    rbtest.wait_delivered(a, b, COUNT, timeout=240)
    log("catch-up of %d events took %.1fs; a's RssAnon now %d kB" % (
        COUNT, time.monotonic() - t1, a.rss_anon_kb()))

    events = b.api.received_all("a")
    rbtest.verify_stream(events, COUNT, "a", "b", payload_fn=payload)
    log("b holds origin_seq 1..%d from a exactly once, in order" % COUNT)
    del events

    out = b.cli("received", "--origin", "a", "--limit", "3").stdout.splitlines()
    check(len(out) == 4 and out[0].startswith("a#1 ") and out[2].startswith("a#3 ") and out[3].startswith("(more"),
          "regiebus received --limit 3 printed %r" % out)
    sa = a.cli_status()
    check_eq([p["queue_depth"] for p in sa["peers"]], [0], "a's queue depths after catch-up (status --json)")


if __name__ == "__main__":
    rbtest.run("store_and_forward", main)
