#!/usr/bin/python3
"""Peer authentication: only configured keys get in, and only as themselves.

Node b has two peers: a (a real node) and c (played by this script with
c's certificate). Checks:
  - c, a configured key, sends a Ping and gets an Ack: the CURVE path works;
  - x, a key made with `regiebus keys make` but on no allowlist, connects
    and sends a Ping and a valid-looking Batch: nothing comes back, b counts
    auth_failures, nothing is received;
  - a client without CURVE gets nothing back either;
  - c sends a Batch whose envelope claims origin "a": refused with
    PERMISSION_DENIED on envelopes[0].origin, counted, nothing received as
    a or as c;
  - b keeps serving: events from a still arrive.
"""

import zmq

import rbtest
from rbtest import check, check_eq, log, peer


def main(env):
    pb = env.pb
    a, b = env.pair()
    b.add_peer("c", "tcp://127.0.0.1:%d" % rbtest.free_port(), env.key("c"))
    stranger_key = env.key("x")
    b.start()
    a.start()
    before = rbtest.counters(b.status())

    # A configured key is answered.
    c = env.curve_dealer("c", b)
    c.send(rbtest.ping_frame(pb))
    frames = rbtest.recv_link_frames(pb, c, 10, until=lambda fs: fs)
    check(frames and not isinstance(frames[0], bytes) and frames[0].WhichOneof("body") == "ack",
          "c's Ping got %s, expected an Ack" % rbtest.describe_frames(pb, frames))
    check_eq(frames[0].ack.committed_seq, 0, "Ack to c's first Ping")
    log("configured peer c: Ping answered with %s" % rbtest.describe_frames(pb, frames))

    # A key on no allowlist is not.
    x = env.curve_dealer("x", b)
    x.send(rbtest.ping_frame(pb))
    x.send(rbtest.batch_frame(pb, 1, [rbtest.envelope(pb, "x", "b", 1)]))
    x.send(rbtest.batch_frame(pb, 1, [rbtest.envelope(pb, "c", "b", 1)]))
    got = rbtest.recv_link_frames(pb, x, 3)
    check(not got, "stranger x (key %s) got an answer: %s" % (stranger_key, rbtest.describe_frames(pb, got)))
    st = rbtest.wait_until(lambda: (lambda s: s if rbtest.counter(s, "auth_failures") > before["auth_failures"]
                                    else None)(b.status()), 10, "b to count an auth failure")
    log("stranger x: no answer in 3s; b's auth_failures %d -> %d" % (
        before["auth_failures"], rbtest.counter(st, "auth_failures")))

    # Nor is a client without CURVE.
    plain = zmq.Context.instance().socket(zmq.DEALER)
    plain.setsockopt(zmq.LINGER, 0)
    plain.connect(b.bind)
    plain.send(rbtest.ping_frame(pb))
    got = rbtest.recv_link_frames(pb, plain, 2)
    check(not got, "a client without CURVE got an answer: %s" % rbtest.describe_frames(pb, got))
    plain.close(0)
    x.close(0)
    log("client without CURVE: no answer in 2s")

    # A configured key may not speak for another peer.
    before = rbtest.counters(b.status())
    c.send(rbtest.batch_frame(pb, 1, [rbtest.envelope(pb, "a", "b", 1)]))
    r, frames = rbtest.expect_refusal(pb, c, pb.PERMISSION_DENIED, "envelopes[0].origin", 1)
    rbtest.expect_ack(pb, c, 1, frames=frames)
    st = b.status()
    check_eq(rbtest.counter(st, "link_refused_permission_denied") - before["link_refused_permission_denied"], 1,
             "link_refused_permission_denied increment")
    check_eq(rbtest.counter(st, "link_received"), before["link_received"], "b's link_received")
    check(peer(st, "c").refused >= 1, "b's peer c refused count is %d" % peer(st, "c").refused)
    for origin in ("a", "c", "x"):
        got = b.api.received_all(origin)
        check(not got, "b received %d events listed under origin %s" % (len(got), origin))
    log("c posing as a: refused PERMISSION_DENIED, nothing received")
    c.close(0)

    # b still serves its real peer.
    replies = a.api.submit_pipelined(rbtest.batches_of(a.api, "b", 100, 50))
    check(all(r.code == 0 for r in replies), "submission to a failed")
    rbtest.wait_delivered(a, b, 100, timeout=60)
    rbtest.verify_stream(b.api.received_all("a"), 100, "a", "b")
    everything = b.api.received_all("")
    check_eq(len(everything), 100, "events b holds from every origin")
    log("a's 100 events arrived at b; b holds nothing else")


if __name__ == "__main__":
    rbtest.run("auth", main)
