#!/usr/bin/python3
"""The local API over tcp:// with CURVE: only the configured clients get in.

Node a serves its API on tcp://127.0.0.1 with api/clients_dir holding the
certificate of client "ops". Checks:
  - ops (CURVE, on the client list) gets status and submits events that
    reach b: the tcp API works like the ipc one;
  - the CLI with --cert talks to it too;
  - b's key is on a's allowlist (b is a peer) but is no API client: refused
    with PERMISSION_DENIED on field "key", counted;
  - x, a key on no list, gets no answer and a counts an auth failure;
  - a client without CURVE gets no answer;
  - nothing refused was applied: a's last_assigned_seq is unchanged.
"""

import os
import shutil

import rbtest
from rbtest import check, check_eq, log, peer


def main(env):
    pb = env.pb
    clients_dir = os.path.join(env.dir, "api-clients")
    os.mkdir(clients_dir)
    env.key("ops")
    shutil.copy(os.path.join(env.keys_dir, "ops.cert"), clients_dir)
    api_port = rbtest.free_port()
    endpoint = "tcp://127.0.0.1:%d" % api_port
    a, b = env.pair(a_settings={"api__endpoint": endpoint, "api__clients_dir": clients_dir})
    b.start()
    a.start(wait=False)

    def client(name):
        public, secret = env.cert_keys(name)
        return rbtest.CurveApiClient(pb, endpoint, public, secret, a.public_key)

    ops = client("ops")
    a._api = ops
    a.wait_ready()
    log("a answers status over tcp:// for client ops")

    replies = ops.submit_pipelined(rbtest.batches_of(ops, "b", 200, 50))
    check(all(r.code == 0 for r in replies), "ops could not submit over the tcp API")
    rbtest.wait_delivered(a, b, 200, timeout=60)
    rbtest.verify_stream(b.api.received_all("a"), 200, "a", "b")
    log("200 events submitted over the tcp API reached b in order")

    res = subprocess_cli(env, a, "--cert", os.path.join(env.keys_dir, "ops.cert"), "-c", a.config_path,
                         "status", "--json")
    check(res.returncode == 0 and '"node":"a"' in res.stdout,
          "CLI over tcp with --cert: exit %d, %s %s" % (res.returncode, res.stdout, res.stderr))
    log("the CLI with --cert reads a's status over tcp")

    before = rbtest.counters(a.status())
    assigned = peer(a.status(), "b").last_assigned_seq

    # A peer's key passes CURVE but is no API client.
    as_peer = client("b")
    reply = as_peer.call(timeout=10, status=pb.StatusRequest())
    check_eq(rbtest.errname(pb, reply.code), "PERMISSION_DENIED", "API call with peer b's key")
    check_eq(reply.field, "key", "field of the refusal")
    reply = as_peer.call(timeout=10, submit=pb.SubmitRequest(events=[as_peer.submission("peer-1", "b", "x")]))
    check_eq(rbtest.errname(pb, reply.code), "PERMISSION_DENIED", "submit with peer b's key")
    as_peer.close()
    log("peer b's key on the API: PERMISSION_DENIED, field key")

    # A key on no list does not get through the handshake.
    stranger = client("x")
    stranger.send(stranger.request(status=pb.StatusRequest()))
    check(stranger.recv(3) is None, "a client with an unlisted key got an answer")
    stranger.close()
    plain = rbtest.ApiClient(pb, endpoint)
    plain.send(plain.request(status=pb.StatusRequest()))
    check(plain.recv(2) is None, "a client without CURVE got an answer")
    plain.close()

    after = rbtest.wait_until(
        lambda: (lambda s: s if rbtest.counter(s, "auth_failures") > before["auth_failures"] else None)(a.status()),
        10, "a to count the refused handshake")
    counts = rbtest.counters(after)
    check_eq(counts["api_refused_permission_denied"] - before["api_refused_permission_denied"], 2,
             "api_refused_permission_denied increase")
    check_eq(peer(after, "b").last_assigned_seq, assigned, "a's last_assigned_seq after the refusals")
    log("auth_failures %d -> %d; nothing refused was applied" % (
        before["auth_failures"], counts["auth_failures"]))


def subprocess_cli(env, node, *args):
    import subprocess
    res = subprocess.run([env.cli_bin] + list(args), capture_output=True, text=True, timeout=30,
                         env=rbtest.sanitizer_env())
    env.check_sanitizer_text(res.stderr, "regiebus " + " ".join(args))
    return res


if __name__ == "__main__":
    rbtest.run("api_tcp", main)
