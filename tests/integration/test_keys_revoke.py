#!/usr/bin/python3
"""Revoking a peer's key: it is out at once, and nothing queued is lost.

Node a has peers b and c; a sends to both, c sends to a. c's key is
taken to be stolen:
  - a marks c revoked and reloads on SIGHUP: c's existing connection
    drops at once (c hears nothing more from a and cannot deliver), a
    connection with c's key is refused and counted in auth_failures,
    a's keys call shows c revoked with no key in use;
  - while c is revoked a keeps accepting events for c (they wait in its
    outbox) and traffic to b flows on;
  - a is SIGKILLed with that queue and restarted: the queue is still there,
    c still revoked;
  - c makes a new key and switches to it (reload); a configures the new
    key and reloads: everything queued both ways arrives, each event
    exactly once, in order, and b's stream is whole; c's old key still
    gets no answer.
"""

import os
import signal
import time

import rbtest
from rbtest import check, check_eq, log, peer

FAST_LINK = {"link__heartbeat_ms": "200", "link__peer_timeout_ms": "1500", "link__retransmit_ms": "1000"}


def submit(src, dst, start, count, prefix="ev"):
    replies = src.api.submit_pipelined(rbtest.batches_of(src.api, dst, count, 50, start=start,
                                                         key_fn=lambda n: "%s-%s-%d" % (prefix, dst, n)))
    check(all(r.code == 0 for r in replies), "submit %s->%s" % (src.name, dst))


def keys_of(node, name):
    reply = node.api.call(10, keys=node.env.pb.KeysRequest())
    check_eq(reply.code, 0, "keys call on %s" % node.name)
    for p in reply.keys.peers:
        if p.name == name:
            return p
    raise rbtest.TestFailure("%s's keys list no peer %s" % (node.name, name))


def stolen_key_refused(env, a, what):
    """A connection with c's original key: no answer, one more auth failure at a."""
    before = rbtest.counter(a.status(), "auth_failures")
    sock = env.curve_dealer("c", a)
    sock.send(rbtest.ping_frame(env.pb))
    got = rbtest.recv_link_frames(env.pb, sock, 2)
    sock.close(0)
    check(not got, "%s: c's old key got an answer: %s" % (what, rbtest.describe_frames(env.pb, got)))
    rbtest.wait_until(lambda: rbtest.counter(a.status(), "auth_failures") > before, 10,
                      "a to count c's old key as an auth failure (%s)" % what)
    log("%s: c's old key gets no answer, counted in auth_failures" % what)


def revoke(env, a, c):
    marker = "msg=\"reloaded\" source=sighup"
    before = a.log_text().count(marker)
    a.peer_settings["c"] = {"revoked": "true"}
    a.write_config()
    a.proc.send_signal(signal.SIGHUP)
    rbtest.wait_until(lambda: a.log_text().count(marker) > before, 10, "a to reload on SIGHUP")
    check("msg=\"peer revoked: no key of it gets in, its queue waits\" peer=c" in a.log_text(),
          "a did not log c's revocation")
    k = keys_of(a, "c")
    check(k.revoked and k.server_key == "", "a's keys for c after revocation: %s" % k)
    rbtest.wait_until(lambda: not peer(c.status(), "a").up, 10, "c to lose a (its connection dropped)")
    log("c revoked at a: c's connection dropped, c sees a down")


def main(env):
    a = env.node("a", **FAST_LINK)
    b = env.node("b", **FAST_LINK)
    c = env.node("c", **FAST_LINK)
    for x, y in ((a, b), (a, c)):
        x.add_peer(y)
        y.add_peer(x)
    for n in (a, b, c):
        n.start()

    submit(a, "b", 0, 200)
    submit(a, "c", 0, 200)
    submit(c, "a", 0, 200)
    rbtest.wait_delivered(a, b, 200, timeout=30)
    rbtest.wait_delivered(a, c, 200, timeout=30)
    rbtest.wait_delivered(c, a, 200, timeout=30)
    log("before revocation: 200 events each way delivered")

    revoke(env, a, c)
    failures = rbtest.counter(a.status(), "auth_failures")
    submit(a, "c", 200, 100)
    submit(c, "a", 200, 100)
    submit(a, "b", 200, 100)
    rbtest.wait_delivered(a, b, 300, timeout=30)
    time.sleep(2)
    check_eq(peer(a.status(), "c").queue_depth, 100, "a's queue to revoked c")
    check_eq(peer(c.status(), "a").queue_depth, 100, "c's queue to a, which refuses it")
    check_eq(peer(a.status(), "c").received_seq, 200, "a's received_seq from c while revoked")
    check_eq(len(c.api.received_all("a")), 200, "events c holds from a while revoked")
    rbtest.wait_until(lambda: rbtest.counter(a.status(), "auth_failures") > failures, 10,
                      "a to count c's reconnection attempts as auth failures")
    log("while revoked: 100 queued each way between a and c, b got its 100; c's retries counted")
    stolen_key_refused(env, a, "revoked")

    a.kill()
    a.start()
    check_eq(peer(a.status(), "c").queue_depth, 100, "a's queue to c after SIGKILL and restart")
    check(keys_of(a, "c").revoked, "c is not revoked after a's restart")
    stolen_key_refused(env, a, "revoked, after a's restart")
    submit(a, "b", 300, 100)
    rbtest.wait_delivered(a, b, 400, timeout=30)
    log("a SIGKILLed and restarted: its queue to c kept, b served")

    new_key = env.key("c-2")
    c.settings["node"]["cert"] = os.path.join(env.keys_dir, "c-2.cert")
    c.write_config()
    reply = c.api.call(30, reload=env.pb.ReloadRequest())
    check(reply.code == 0 and reply.reload.own_key_changed, "c's reload onto its new key: %s %s" % (
        reply.message, reply.reload))
    c.public_key = new_key
    a.peers["c"] = (c.bind, new_key)
    del a.peer_settings["c"]
    a.write_config()
    reply = a.api.call(30, reload=env.pb.ReloadRequest())
    check(reply.code == 0 and list(reply.reload.changed) == ["c"], "a's reload with c's new key: %s %s" % (
        reply.message, reply.reload))
    log("c switched to a new key; a admits it")

    rbtest.wait_delivered(a, c, 300, timeout=30)
    rbtest.wait_delivered(c, a, 300, timeout=30)
    rbtest.verify_stream(c.api.received_all("a"), 300, "a", "c")
    rbtest.verify_stream(a.api.received_all("c"), 300, "c", "a")
    rbtest.verify_stream(b.api.received_all("a"), 400, "a", "b")
    log("queues flowed on c's new key: 300 each way between a and c, 400 to b, each exactly once, in order")
    stolen_key_refused(env, a, "replaced")


if __name__ == "__main__":
    rbtest.run("keys_revoke", main)
