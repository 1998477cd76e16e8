#!/usr/bin/python3
"""Key rotation with overlap, and reload without a restart.

Nodes a and b exchange TEST events in both directions the whole time,
from two threads, while:
  - b makes its next key (`regiebus keys make`, secret 0600, refusing to
    overwrite; `regiebus keys show` prints its fingerprint) and holds it
    as node/next_cert: reload through the API, nothing else changes (a
    next_cert that is the node's own key or has no secret is refused, at
    start and on reload);
  - a lists b's two keys (next_public_key) and reloads on SIGHUP;
  - b switches to the new key with `regiebus reload`: its ROUTER and
    links use it, inbound connections drop and come back;
  - a drops b's old key and reloads: a connection with it is refused.
Every event arrives exactly once, in order, both ways. Then:
  - reloads that cannot apply are refused with the key named and the
    node keeps running on its config: a malformed key (INVALID_FIELD
    peer/b/public_key), node/bind changed (FAILED_PRECONDITION), the same
    on SIGHUP (counted reloads_refused, logged);
  - a peer added by reload connects; its role changes live; removed, its link stops and
    submissions to it are refused, its queue stays on disk; added again,
    the queue flows on, exactly once;
  - link/window is a restart-only key: refused by reload, then taken by
    the documented restart (SIGTERM, start) with traffic queued: nothing
    lost, nothing twice.
"""

import os
import signal
import stat
import subprocess
import threading
import time

import rbtest
from rbtest import check, check_eq, log, peer

FAST_LINK = {"link__heartbeat_ms": "200", "link__peer_timeout_ms": "1500", "link__retransmit_ms": "1000"}


class Traffic(threading.Thread):
    """Submits batches from one node to another until stopped, on its own API socket."""

    def __init__(self, env, sender, destination, batch=10, pause=0.05):
        super().__init__(daemon=True)
        self.api = rbtest.ApiClient(env.pb, sender.api_endpoint)
        self.destination = destination
        self.batch = batch
        self.pause = pause
        self.sent = 0
        self.error = None
        self.stopping = threading.Event()

    def run(self):
        try:
            while not self.stopping.is_set():
                events = [self.api.submission("t-%d" % n, self.destination, str(n))
                          for n in range(self.sent, self.sent + self.batch)]
                reply = self.api.submit(events, timeout=20)
                check(reply.code == 0, "submit to %s refused: %s %s" % (
                    self.destination, reply.field, reply.message))
                self.sent += self.batch
                time.sleep(self.pause)
        except Exception as e:          # reported by stop()
            self.error = e
        finally:
            self.api.close()

    def stop(self):
        self.stopping.set()
        self.join(30)
        check(not self.is_alive(), "traffic to %s did not stop" % self.destination)
        check(self.error is None, "traffic to %s failed: %s" % (self.destination, self.error))
        return self.sent


def reload(node, timeout=30):
    return node.api.call(timeout, reload=node.env.pb.ReloadRequest())


def keys(node):
    reply = node.api.call(10, keys=node.env.pb.KeysRequest())
    check_eq(reply.code, 0, "keys call on %s" % node.name)
    return reply.keys


def peer_keys(node, name):
    for p in keys(node).peers:
        if p.name == name:
            return p
    raise rbtest.TestFailure("%s's keys list no peer %s" % (node.name, name))


def sighup_and_wait(node, marker):
    """SIGHUP node and wait for its log to say how the reload went."""
    before = node.log_text().count(marker)
    node.proc.send_signal(signal.SIGHUP)
    rbtest.wait_until(lambda: node.log_text().count(marker) > before, 10, "%s to log %r" % (node.name, marker))


def expect_refused(node, code, field, what):
    reply = reload(node)
    check(reply.code == code and reply.field == field, "%s: reload answered %s field=%r (%s), expected %s %s" % (
        what, rbtest.errname(node.env.pb, reply.code), reply.field, reply.message,
        rbtest.errname(node.env.pb, code), field))
    log("%s: refused %s on %s: %s" % (what, rbtest.errname(node.env.pb, code), field, reply.message))


def make_next_key(env, b):
    """b's next key: made by the CLI, secret 0600, never overwritten, shown with its fingerprint."""
    next_key = env.key("b-next")
    cert = os.path.join(env.keys_dir, "b-next.cert")
    mode = stat.S_IMODE(os.stat(cert + "_secret").st_mode)
    check_eq(mode, 0o600, "mode of b-next.cert_secret")
    again = subprocess.run([env.cli_bin, "keys", "make", "b-next", "--dir", env.keys_dir],
                           capture_output=True, text=True, timeout=30, env=rbtest.sanitizer_env())
    check(again.returncode == 1 and "refusing to overwrite" in again.stderr,
          "a second keys make b-next exited %d: %s" % (again.returncode, again.stderr.strip()))
    shown = subprocess.run([env.cli_bin, "keys", "show", cert], capture_output=True, text=True,
                           timeout=30, env=rbtest.sanitizer_env())
    check(shown.returncode == 0 and next_key in shown.stdout and "mode 0600" in shown.stdout,
          "keys show printed %r" % shown.stdout)
    fingerprint = shown.stdout.split("fingerprint")[1].split()[0]
    log("b's next key %s, fingerprint %s, secret 0600, not overwritten" % (next_key[:8], fingerprint))
    return next_key, cert, fingerprint


def rotate(env, a, b):
    next_key, cert, fingerprint = make_next_key(env, b)
    res = subprocess.run([b.bin, "-c", b.config_path, "--set", "node/next_cert=" + b.cert, "--set",
                          "node/data_dir=" + os.path.join(env.dir, "b-check")], capture_output=True,
                         text=True, timeout=30, env=rbtest.sanitizer_env())
    env.check_sanitizer_text(res.stderr, "regiebus-node with next_cert = cert")
    check(res.returncode == 1 and "(node/next_cert)" in res.stderr,
          "a node whose next_cert is its cert exited %d: %s" % (res.returncode, res.stderr.strip()))
    b.settings["node"]["next_cert"] = b.cert
    b.write_config()
    expect_refused(b, env.pb.INVALID_FIELD, "node/next_cert", "next_cert the same as cert")
    b.settings["node"]["next_cert"] = os.path.join(env.keys_dir, "nobody.cert")
    b.write_config()
    expect_refused(b, env.pb.INVALID_FIELD, "node/next_cert", "next_cert without its secret")
    b.settings["node"]["next_cert"] = cert
    b.write_config()
    reply = reload(b)
    check(reply.code == 0 and not reply.reload.own_key_changed and not reply.reload.connections_dropped,
          "b's reload with next_cert: %s %s %s" % (reply.code, reply.message, reply.reload))
    k = keys(b)
    check(k.next_key.public_key == next_key and k.next_key.fingerprint == fingerprint,
          "b's keys show next key %r" % k.next_key)

    a.peer_settings["b"] = {"next_public_key": next_key}
    a.write_config()
    sighup_and_wait(a, "msg=\"reloaded\" source=sighup")
    check_eq([k.public_key for k in peer_keys(a, "b").keys], [b.public_key, next_key], "a's keys for b")
    log("a admits both of b's keys (SIGHUP)")

    old_key = b.public_key
    b.settings["node"]["cert"] = cert
    del b.settings["node"]["next_cert"]
    b.write_config()
    res = subprocess.run([env.cli_bin, "-c", b.config_path, "reload"], capture_output=True, text=True,
                         timeout=30, env=rbtest.sanitizer_env())
    env.check_sanitizer_text(res.stderr, "regiebus reload")
    check(res.returncode == 0 and "now uses its new key" in res.stdout,
          "regiebus reload at b exited %d: %s %s" % (res.returncode, res.stdout, res.stderr))
    b.public_key = next_key
    check_eq(keys(b).node_key.public_key, next_key, "b's node key after the switch")
    rbtest.wait_until(lambda: peer_keys(a, "b").up and peer_keys(a, "b").server_key == next_key, 20,
                      "a's link to b to come up on b's new key")
    rbtest.wait_until(lambda: peer(b.status(), "a").up, 20, "b's link to a to come up with b's new key")
    log("b switched keys; both links up again")

    a.peers["b"] = (b.bind, next_key)
    del a.peer_settings["b"]
    a.write_config()
    reply = reload(a)
    check(reply.code == 0 and list(reply.reload.changed) == ["b"] and reply.reload.connections_dropped,
          "a's reload dropping b's old key: %s %s %s" % (reply.code, reply.message, reply.reload))
    return old_key


def old_key_refused(env, a, b, old_key):
    """A connection with b's old key gets nothing from a any more."""
    before = rbtest.counter(a.status(), "auth_failures")
    public, secret = rbtest.read_cert(os.path.join(env.keys_dir, "b.cert_secret"))
    check_eq(public.decode(), old_key, "b's old certificate")
    sock = env.curve_dealer("b", a)
    sock.send(rbtest.ping_frame(env.pb))
    got = rbtest.recv_link_frames(env.pb, sock, 2)
    sock.close(0)
    check(not got, "b's old key got an answer from a: %s" % rbtest.describe_frames(env.pb, got))
    rbtest.wait_until(lambda: rbtest.counter(a.status(), "auth_failures") > before, 10,
                      "a to count the old key's auth failure")
    log("b's old key: no answer, counted as an auth failure")


def refusals(env, a, b):
    good = a.config_text()
    a.peers["b"] = (b.bind, "not-a-key")
    a.write_config()
    expect_refused(a, env.pb.INVALID_FIELD, "peer/b/public_key", "a malformed key")
    a.peers["b"] = (b.bind, b.public_key)
    a.settings["node"]["bind"] = "tcp://127.0.0.1:%d" % rbtest.free_port()
    a.write_config()
    expect_refused(a, env.pb.FAILED_PRECONDITION, "node/bind", "node/bind changed")
    before = rbtest.counter(a.status(), "reloads_refused")
    sighup_and_wait(a, "msg=\"reload refused: the running config stays\" source=sighup")
    check_eq(rbtest.counter(a.status(), "reloads_refused"), before + 1, "a's reloads_refused after SIGHUP")
    a.settings["node"]["bind"] = a.bind
    a.write_config()
    check_eq(a.config_text(), good, "a's config put back")
    check(a.running() and peer(a.status(), "b").up, "a is not running with b up after refused reloads")
    log("refused reloads left a running on its config; b still up")


def add_and_remove(env, a):
    c = env.node("c", **FAST_LINK)
    c.add_peer(a)
    c.start()
    a.add_peer(c)
    a.write_config()
    reply = reload(a)
    check(reply.code == 0 and list(reply.reload.added) == ["c"], "adding c: %s %s" % (reply.message, reply.reload))
    replies = a.api.submit_pipelined(rbtest.batches_of(a.api, "c", 50, 25))
    check(all(r.code == 0 for r in replies), "submit to c")
    rbtest.wait_delivered(a, c, 50, timeout=30)
    log("c added by reload: 50 events delivered")
    for role in ("care", c.plays):
        a.peers["c"] = (c.bind, c.public_key, role)
        a.write_config()
        reply = reload(a)
        check(reply.code == 0 and list(reply.reload.changed) == ["c"] and not reply.reload.connections_dropped,
              "c's role set to %s: %s %s" % (role, reply.message, reply.reload))
    log("c's role changed by reload and back: reported, no connection dropped")

    c.kill()
    a.api.submit_pipelined(rbtest.batches_of(a.api, "c", 30, 30, start=50))
    del a.peers["c"]
    a.write_config()
    reply = reload(a)
    check(reply.code == 0 and list(reply.reload.removed) == ["c"], "removing c: %s %s" % (reply.message, reply.reload))
    check("c" not in [p.name for p in a.status().peers], "a's status still lists c")
    refused = a.api.submit([a.api.submission("after-removal", "c", "x")])
    check(refused.code == env.pb.UNKNOWN_PEER and refused.field == "events[0].destination",
          "submit to removed c answered %s %s" % (rbtest.errname(env.pb, refused.code), refused.field))
    log("c removed: link stopped, submissions refused UNKNOWN_PEER, 30 queued on disk")

    a.add_peer(c)
    a.write_config()
    check(reload(a).code == 0, "adding c again")
    check_eq(peer(a.status(), "c").queue_depth, 30, "a's queue to c when c is configured again")
    c.start()
    rbtest.wait_delivered(a, c, 80, timeout=30)
    rbtest.verify_stream(c.api.received_all("a"), 80, "a", "c")
    log("c configured again: its 30 queued events followed the first 50, exactly once")


def restart_only(env, a, b):
    a.settings["link"]["window"] = "4096"
    a.write_config()
    expect_refused(a, env.pb.FAILED_PRECONDITION, "link/window", "link/window changed")
    b.stop()
    replies = a.api.submit_pipelined(rbtest.batches_of(a.api, "b", 200, 50, key_fn=lambda n: "r-%d" % n))
    check(all(r.code == 0 for r in replies), "submit before the restart")
    a.stop()
    a.start()
    b.start()


def main(env):
    a, b = env.pair(FAST_LINK, FAST_LINK)
    a.start()
    b.start()
    to_b, to_a = Traffic(env, a, "b"), Traffic(env, b, "a")
    to_b.start()
    to_a.start()
    time.sleep(1)
    old_key = rotate(env, a, b)
    time.sleep(1)
    sent_b, sent_a = to_b.stop(), to_a.stop()
    check(sent_b > 50 and sent_a > 50, "traffic during the rotation: %d to b, %d to a" % (sent_b, sent_a))
    rbtest.wait_delivered(a, b, sent_b, timeout=30)
    rbtest.wait_delivered(b, a, sent_a, timeout=30)
    rbtest.verify_stream(b.api.received_all("a"), sent_b, "a", "b")
    rbtest.verify_stream(a.api.received_all("b"), sent_a, "b", "a")
    log("rotation under traffic: %d events a->b and %d b->a, each exactly once, in order" % (sent_b, sent_a))
    old_key_refused(env, a, b, old_key)
    refusals(env, a, b)
    add_and_remove(env, a)
    restart_only(env, a, b)
    rbtest.wait_delivered(a, b, sent_b + 200, timeout=30)
    rbtest.verify_stream(b.api.received_all("a"), sent_b + 200, "a", "b",
                         payload_fn=lambda n: str(n) if n < sent_b else str(n - sent_b))
    log("restart with link/window changed: 200 queued events arrived, exactly once")


if __name__ == "__main__":
    rbtest.run("keys_rotate", main)
