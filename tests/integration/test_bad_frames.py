#!/usr/bin/python3
"""Bad input on the peer link and on the local API is refused, counted, and
leaves nothing half-applied; the node keeps serving.

Peer link: node b lists c as a peer; this script plays c over CURVE with
c's certificate and sends, one at a time:
  - garbage bytes                          -> Refusal MALFORMED
  - a valid LinkFrame cut in half          -> Refusal MALFORMED
  - a frame of max_frame_bytes + 1024      -> Refusal TOO_LARGE
  - a LinkFrame with version 2             -> Refusal UNSUPPORTED_VERSION
  - a batch seq 1..3 whose envelope 2 has version 2
        -> seqs 1 and 3 committed, seq 2 dead-lettered with Refusal
           UNSUPPORTED_VERSION field "envelopes[1].version" seq 2; Ack 3
  - a batch at first_seq 4 whose envelope says origin_seq 10
        -> Refusal OUT_OF_SEQUENCE "envelopes[0].origin_seq" seq 4, Ack 4
  - a LinkFrame with no body               -> Refusal MISSING_FIELD "body"
  - an Ack sent to the ROUTER              -> Refusal INVALID_FIELD "body"
  - a batch with first_seq 0               -> Refusal INVALID_FIELD "batch.first_seq"
  - a batch at first_seq 2^64-1, and one at 2^64-2 of two envelopes (seq
    2^64-1 is no envelope's: it keys a stream's state on disk)
                                           -> Refusal INVALID_FIELD "batch.first_seq"
  - a batch of max_batch_events + 1        -> Refusal TOO_LARGE "batch.envelopes"
  - a batch that skips ahead               -> Ack{committed_seq 5, gap}, nothing stored
  - a message of two frames                -> Refusal MALFORMED "frame"
  - a batch whose envelope does not decode -> Refusal MALFORMED "envelopes[0]" seq 6, Ack 6
Each refusal must show in b's link_refused_<reason> counters.

Local API of a: garbage, version 2, no call, unknown destination, bad case
pseudonym, missing or over-long idempotency key, unknown kind, negative
time, bad causation id, payload over the limit, more than max_batch_events
events, a request over max_frame_bytes, idempotency conflict, list limit
over 10000, advance_clock on a wall clock: each answered with the right code and field, counted in
api_refused_<reason>, and a batch with one bad event commits none (a's
last_assigned_seq unchanged, the good keys in it are still new after).

Afterwards a normal stream from a (including one event from the CLI, and
its retry) reaches b, and b still answers status.
"""
import rbtest
from rbtest import CASE, check, check_eq, log, peer

MAX_FRAME = 1048576
MAX_BATCH = 2000
MAX_PAYLOAD = 4096


def link_checks(env, a, b):
    pb = env.pb
    before = rbtest.counters(b.status())
    c = env.curve_dealer("c", b)
    c.send(rbtest.ping_frame(pb))
    rbtest.expect_ack(pb, c, 0, timeout=10)
    log("link: c's Ping answered; sending bad frames")

    log("link: garbage bytes")
    c.send(b"\xff" * 24 + b"this is not a protobuf")
    rbtest.expect_refusal(pb, c, pb.MALFORMED)

    log("link: truncated LinkFrame")
    whole = rbtest.batch_frame(pb, 1, [rbtest.envelope(pb, "c", "b", 1, b"p" * 200)])
    c.send(whole[:len(whole) // 2])
    rbtest.expect_refusal(pb, c, pb.MALFORMED)

    log("link: frame of max_frame_bytes + 1024")
    big = rbtest.batch_frame(pb, 1, [rbtest.envelope(pb, "c", "b", 1, b"q" * (MAX_FRAME + 1024))])
    check(len(big) > MAX_FRAME + 1024, "oversized frame is %d bytes" % len(big))
    c.send(big)
    rbtest.expect_refusal(pb, c, pb.TOO_LARGE)

    log("link: LinkFrame version 2")
    c.send(rbtest.ping_frame(pb, version=2))
    rbtest.expect_refusal(pb, c, pb.UNSUPPORTED_VERSION, "version")

    st = b.status()
    check_eq(peer(st, "c").received_seq, 0, "b's received_seq from c after refused frames")

    log("link: batch 1..3 with envelope 2 of version 2")
    c.send(rbtest.batch_frame(pb, 1, [rbtest.envelope(pb, "c", "b", 1, b"one"),
                                      rbtest.envelope(pb, "c", "b", 2, b"two", version=2),
                                      rbtest.envelope(pb, "c", "b", 3, b"three")]))
    r, frames = rbtest.expect_refusal(pb, c, pb.UNSUPPORTED_VERSION, "envelopes[1].version", 2)
    rbtest.expect_ack(pb, c, 3, frames=frames)
    got = b.api.received_all("c")
    check_eq([(e.origin_seq, e.payload) for e in got], [(1, b"one"), (3, b"three")],
             "events b holds from c (seq 2 dead-lettered)")

    log("link: envelope with origin_seq 10 at batch position first_seq 4")
    c.send(rbtest.batch_frame(pb, 4, [rbtest.envelope(pb, "c", "b", 10, b"ten")]))
    r, frames = rbtest.expect_refusal(pb, c, pb.OUT_OF_SEQUENCE, "envelopes[0].origin_seq", 4)
    rbtest.expect_ack(pb, c, 4, frames=frames)

    log("link: batch 5 that is fine, and a repeat of it (duplicate)")
    good = rbtest.batch_frame(pb, 5, [rbtest.envelope(pb, "c", "b", 5, b"five")])
    c.send(good)
    rbtest.expect_ack(pb, c, 5)
    c.send(good)
    rbtest.expect_ack(pb, c, 5)
    got = b.api.received_all("c")
    check_eq([(e.origin_seq, e.payload) for e in got], [(1, b"one"), (3, b"three"), (5, b"five")],
             "events b holds from c")

    log("link: LinkFrame with no body")
    c.send(pb.LinkFrame(version=1).SerializeToString())
    rbtest.expect_refusal(pb, c, pb.MISSING_FIELD, "body")

    log("link: an Ack sent to b's ROUTER")
    c.send(pb.LinkFrame(version=1, ack=pb.Ack(committed_seq=5)).SerializeToString())
    rbtest.expect_refusal(pb, c, pb.INVALID_FIELD, "body")

    log("link: batch with first_seq 0")
    c.send(rbtest.batch_frame(pb, 0, [rbtest.envelope(pb, "c", "b", 0, b"zero")]))
    rbtest.expect_refusal(pb, c, pb.INVALID_FIELD, "batch.first_seq")

    log("link: batches that reach seq 2^64-1")
    ones = 2**64 - 1
    c.send(rbtest.batch_frame(pb, ones, [rbtest.envelope(pb, "c", "b", ones, b"ones")]))
    rbtest.expect_refusal(pb, c, pb.INVALID_FIELD, "batch.first_seq")
    c.send(rbtest.batch_frame(pb, ones - 1, [rbtest.envelope(pb, "c", "b", ones - 1, b"almost"),
                                             rbtest.envelope(pb, "c", "b", ones, b"ones")]))
    rbtest.expect_refusal(pb, c, pb.INVALID_FIELD, "batch.first_seq")
    check_eq(peer(b.status(), "c").received_seq, 5, "b's received_seq from c after the batches at 2^64-1")
    check_eq(len(b.api.received_all("c")), 3, "events b holds from c after the batches at 2^64-1")
    reply = b.api.list_received("c", ones, 100)
    check(reply.code == 0 and not reply.list_received.events,
          "list_received after seq 2^64-1 gave code %d and %d events, expected none" % (
              reply.code, len(reply.list_received.events)))

    log("link: batch of max_batch_events + 1 envelopes")
    many = [rbtest.envelope(pb, "c", "b", 6 + i, b"m") for i in range(MAX_BATCH + 1)]
    frame = rbtest.batch_frame(pb, 6, many)
    check(len(frame) < MAX_FRAME, "the too-long batch is %d bytes, over the frame limit" % len(frame))
    c.send(frame)
    rbtest.expect_refusal(pb, c, pb.TOO_LARGE, "batch.envelopes")
    check_eq(peer(b.status(), "c").received_seq, 5, "b's received_seq from c after the too-long batch")

    log("link: batch skipping ahead to seq 8 (gap)")
    c.send(rbtest.batch_frame(pb, 8, [rbtest.envelope(pb, "c", "b", 8, b"eight")]))
    frames = rbtest.recv_link_frames(pb, c, 5, until=lambda fs: fs)
    check(len(frames) == 1 and not isinstance(frames[0], bytes) and frames[0].WhichOneof("body") == "ack"
          and frames[0].ack.committed_seq == 5 and frames[0].ack.gap,
          "gap batch answered with %s, expected Ack{committed_seq=5 gap=True}" % rbtest.describe_frames(pb, frames))
    log("  answered %s" % rbtest.describe_frames(pb, frames))
    got = b.api.received_all("c")
    check_eq([(e.origin_seq, e.payload) for e in got], [(1, b"one"), (3, b"three"), (5, b"five")],
             "events b holds from c after the refused batches")

    log("link: a message of two frames")
    c.send_multipart([rbtest.ping_frame(pb), rbtest.ping_frame(pb)])
    rbtest.expect_refusal(pb, c, pb.MALFORMED, "frame")

    log("link: batch at seq 6 whose envelope does not decode")
    c.send(rbtest.batch_frame(pb, 6, [b"\xff" * 40]))
    r, frames = rbtest.expect_refusal(pb, c, pb.MALFORMED, "envelopes[0]", 6)
    rbtest.expect_ack(pb, c, 6, frames=frames)
    check_eq(len(b.api.received_all("c")), 3, "events b holds from c after the undecodable envelope")

    after = rbtest.counters(b.status())
    delta = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    log("link: b's counters moved: %s" % delta)
    for name, want in (("link_refused_malformed", 4), ("link_refused_too_large", 2),
                       ("link_refused_unsupported_version", 2), ("link_refused_out_of_sequence", 1),
                       ("link_refused_missing_field", 1), ("link_refused_invalid_field", 4),
                       ("link_gaps", 1)):
        check_eq(delta.get(name, 0), want, "increment of b's %s" % name)
    check_eq(delta.get("link_received", 0), 3, "increment of b's link_received")
    check(delta.get("link_duplicates", 0) >= 1, "b counted no duplicate for the repeated batch")
    st = b.status()
    check_eq(peer(st, "c").refused, 14, "b's refused count for peer c")
    check_eq(peer(st, "c").gaps, 1, "b's gap count for peer c")
    c.close(0)


def api_checks(env, a, b):
    pb = env.pb
    api = a.api
    before = rbtest.counters(a.status())
    seq0 = peer(a.status(), "b").last_assigned_seq

    def good(key, payload="ok"):
        return api.submission(key, "b", payload)

    def expect(reply, code, field, what):
        check(reply.code == code, "%s: code %s (field %r, %r), expected %s" % (
            what, rbtest.errname(pb, reply.code), reply.field, reply.message, rbtest.errname(pb, code)))
        if field is not None:
            check_eq(reply.field, field, "%s: field" % what)
        check(reply.WhichOneof("result") is None, "%s: a refused reply carries a result" % what)
        log("api: %s -> %s %r" % (what, rbtest.errname(pb, reply.code), reply.field))

    def unchanged(what):
        seq = peer(a.status(), "b").last_assigned_seq
        check_eq(seq, seq0, "a's last_assigned_seq after %s" % what)

    api.send(b"\xff" * 16 + b"garbage")
    reply = api.wait_for(0, 10)
    check(reply is not None, "no reply to garbage on the API")
    expect(reply, pb.MALFORMED, None, "garbage request")

    # A request that decodes but is refused must still echo its request_id.
    for rid, req, code, field, what in (
            (777001, pb.ApiRequest(version=2, request_id=777001, status=pb.StatusRequest()),
             pb.UNSUPPORTED_VERSION, "version", "API version 2"),
            (777002, pb.ApiRequest(version=1, request_id=777002), pb.MISSING_FIELD, "call",
             "request with no call")):
        api.send(req)
        reply = api.recv(10)
        check(reply is not None, "no reply to %s" % what)
        expect(reply, code, field, what)
        env.expect(reply.request_id == rid, "reply to %s carries request_id %d, not the request's %d "
                   "(ApiReply.request_id must echo the request's)" % (what, reply.request_id, rid))

    bad = api.submission("k-dest", "nowhere", "x")
    expect(api.submit([good("g-1"), good("g-2"), bad]), pb.UNKNOWN_PEER, "events[2].destination",
           "unknown destination at index 2")
    unchanged("unknown destination")

    bad = api.submission("k-case", "b", "x", case=CASE.upper())
    expect(api.submit([bad]), pb.INVALID_FIELD, "events[0].case_pseudonym", "uppercase case pseudonym")
    bad = api.submission("k-case2", "b", "x", case=CASE[:63])
    expect(api.submit([good("g-1"), good("g-2"), good("g-3"), bad]), pb.INVALID_FIELD,
           "events[3].case_pseudonym", "63-char case pseudonym at index 3")
    unchanged("bad case pseudonym")

    expect(api.submit([good("g-1"), good("")]), pb.MISSING_FIELD, "events[1].idempotency_key",
           "missing idempotency key")
    expect(api.submit([api.submission("k-kind", "b", "x", kind=0)]), pb.UNKNOWN_KIND, "events[0].kind",
           "kind unspecified")
    expect(api.submit([good("k-big", "p" * (MAX_PAYLOAD + 1))]), pb.TOO_LARGE, "events[0].payload",
           "payload over max_payload_bytes")
    expect(api.submit([good("big-%d" % i) for i in range(MAX_BATCH + 1)]), pb.TOO_LARGE, "events",
           "%d events in one request" % (MAX_BATCH + 1))
    expect(api.submit([]), pb.MISSING_FIELD, "events", "empty submit")
    expect(api.submit([good("g-1"), good("k" * 129)]), pb.TOO_LARGE, "events[1].idempotency_key",
           "idempotency key of 129 bytes")
    bad = good("k-neg")
    bad.occurred_at_ms = -1
    expect(api.submit([bad]), pb.INVALID_FIELD, "events[0].occurred_at_ms", "negative occurred_at_ms")
    bad = good("k-cause")
    bad.causation_id = b"12345"
    expect(api.submit([bad]), pb.INVALID_FIELD, "events[0].causation_id", "causation_id of 5 bytes")
    unchanged("refused submissions")

    reply = api.submit([good("dup-1", "first")])
    check(reply.code == 0 and not reply.submit.accepted[0].duplicate, "first use of key dup-1 refused")
    first = reply.submit.accepted[0]
    seq0 += 1
    expect(api.submit([good("fresh-1"), good("dup-1", "second")]), pb.IDEMPOTENCY_CONFLICT,
           "events[1].idempotency_key", "key dup-1 reused for other content")
    unchanged("idempotency conflict")
    reply = api.submit([good("dup-1", "first")])
    check(reply.code == 0 and reply.submit.accepted[0].duplicate, "retry of dup-1 not answered as duplicate")
    check_eq((reply.submit.accepted[0].event_id, reply.submit.accepted[0].origin_seq),
             (first.event_id, first.origin_seq), "retry of dup-1: id and seq")

    # None of the good events of refused batches was stored.
    reply = api.submit([good("g-1"), good("g-2"), good("g-3"), good("fresh-1")])
    check(reply.code == 0, "good batch refused: %s" % reply.message)
    flags = [acc.duplicate for acc in reply.submit.accepted]
    check_eq(flags, [False] * 4, "duplicate flags of keys that were only in refused batches")
    check_eq([acc.origin_seq for acc in reply.submit.accepted], list(range(seq0 + 1, seq0 + 5)),
             "seqs of the good batch")
    log("api: keys from refused batches were never stored")

    reply = api.list_received("b", 0, 10001)
    expect(reply, pb.TOO_LARGE, "list_received.limit", "list limit 10001")

    events = [good("huge-%d" % i, "h" * MAX_PAYLOAD) for i in range(MAX_FRAME // MAX_PAYLOAD + 16)]
    # Refused before decoding: the reply cannot echo the request_id (like garbage).
    req = api.request(submit=pb.SubmitRequest(events=events))
    check(req.ByteSize() > MAX_FRAME, "the oversized request is only %d bytes" % req.ByteSize())
    api.send(req)
    reply = api.recv(10)
    check(reply is not None, "no reply to a request of %d bytes" % req.ByteSize())
    expect(reply, pb.TOO_LARGE, "request", "request of %d bytes" % req.ByteSize())
    unchanged_from = peer(a.status(), "b").last_assigned_seq
    check_eq(unchanged_from, seq0 + 4, "a's last_assigned_seq after the oversized request")

    reply = api.call(10, advance_clock=pb.AdvanceClockRequest(by_ms=1000))
    expect(reply, pb.FAILED_PRECONDITION, None, "advance_clock on a wall clock")

    after = rbtest.counters(a.status())
    delta = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    log("api: a's counters moved: %s" % delta)
    for name, want in (("api_refused_malformed", 1), ("api_refused_unsupported_version", 1),
                       ("api_refused_missing_field", 3), ("api_refused_unknown_peer", 1),
                       ("api_refused_invalid_field", 4), ("api_refused_unknown_kind", 1),
                       ("api_refused_too_large", 5), ("api_refused_idempotency_conflict", 1),
                       ("api_refused_failed_precondition", 1)):
        check_eq(delta.get(name, 0), want, "increment of a's %s" % name)
    check_eq(delta.get("api_accepted", 0), 5, "increment of a's api_accepted")
    return seq0 + 4


def main(env):
    a, b = env.pair(
        a_settings={"limits__max_frame_bytes": MAX_FRAME, "limits__max_batch_events": MAX_BATCH,
                    "limits__max_payload_bytes": MAX_PAYLOAD},
        b_settings={"limits__max_frame_bytes": MAX_FRAME, "limits__max_batch_events": MAX_BATCH,
                    "limits__max_payload_bytes": MAX_PAYLOAD})
    b.add_peer("c", "tcp://127.0.0.1:%d" % rbtest.free_port(), env.key("c"))
    b.start()
    a.start()

    link_checks(env, a, b)
    sent = api_checks(env, a, b)

    out = a.cli("submit", "--to", "b", "--case", CASE, "--kind", "test", "--payload", "from the cli",
                "--key", "cli-1").stdout
    check(out.startswith("accepted event ") and ("seq %d to b" % (sent + 1)) in out and "duplicate" not in out,
          "regiebus submit printed %r" % out)
    out = a.cli("submit", "--to", "b", "--case", CASE, "--kind", "test", "--payload", "from the cli",
                "--key", "cli-1").stdout
    check("seq %d to b" % (sent + 1) in out and "duplicate" in out, "retry of regiebus submit printed %r" % out)
    res = a.cli("submit", "--to", "b", "--case", CASE, "--kind", "test", "--payload", "other",
                "--key", "cli-1", check_rc=False)
    check(res.returncode == 1 and "idempotency_key" in res.stderr,
          "regiebus submit with a conflicting key: exit %d, stderr %r" % (res.returncode, res.stderr))
    log("cli: submit, its retry (duplicate) and a conflicting reuse (exit 1) behave")
    sent += 1

    replies = a.api.submit_pipelined(rbtest.batches_of(a.api, "b", 1000, 250, key_fn=lambda n: "after-%d" % n))
    check(all(r.code == 0 for r in replies), "normal batch after the bad input failed")
    sent += 1000
    rbtest.wait_delivered(a, b, sent, timeout=60)
    got = b.api.received_all("a")
    check_eq([e.origin_seq for e in got], list(range(1, sent + 1)), "seqs b holds from a")
    check_eq(got[-1].payload, b"999", "last payload from a")
    st = b.cli_status()
    check_eq(st["node"], "b", "b's status --json node")
    log("b received all %d events from a and answers status" % sent)


if __name__ == "__main__":
    rbtest.run("bad_frames", main)
