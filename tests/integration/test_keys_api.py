#!/usr/bin/python3
"""Reload on a node whose API is tcp:// with CURVE: clients and the node's key.

Node a serves its API on tcp:// to the clients in api/clients_dir (ops
and dash) and sends to peer b throughout. Checks:
  - dash's certificate is taken out of the clients directory and ops asks
    for a reload: dash's next call on its open connection is refused with
    PERMISSION_DENIED on "key", and a new connection with dash's key gets
    no answer (counted in auth_failures); ops goes on;
  - a switches to a new key of its own (b lists both of a's keys first)
    with a reload asked by ops over the old key: ops gets the reply, then
    the API answers only on the new key, to a new connection and to the
    CLI reading the key from a's config; the old key gets no answer;
  - the events ops submitted to b before, between and after arrive once
    each, in order.
"""

import os
import subprocess

import rbtest
from rbtest import check, check_eq, log

FAST_LINK = {"link__heartbeat_ms": "200", "link__peer_timeout_ms": "1500", "link__retransmit_ms": "1000"}


def api_client(env, endpoint, name, server_key):
    """A tcp:// API client with name's keys, to the node with server_key."""
    public, secret = env.cert_keys(name)
    return rbtest.CurveApiClient(env.pb, endpoint, public, secret, server_key)


def no_answer(client, what):
    req = client.request(status=client.pb.StatusRequest())
    client.send(req)
    check(client.wait_for(req.request_id, 2) is None, "%s got an answer" % what)


def submit(ops, start, count):
    replies = ops.submit_pipelined(rbtest.batches_of(ops, "b", count, 25, start=start))
    check(all(r.code == 0 for r in replies), "ops' submit of events %d.." % start)


def main(env):
    pb = env.pb
    clients = os.path.join(env.dir, "api-clients")
    os.mkdir(clients)
    for name in ("ops", "dash"):
        env.key(name)
        os.link(os.path.join(env.keys_dir, name + ".cert"), os.path.join(clients, name + ".cert"))
    endpoint = "tcp://127.0.0.1:%d" % rbtest.free_port()
    a, b = env.pair(dict(FAST_LINK, api__endpoint=endpoint, api__clients_dir=clients), FAST_LINK)
    b.start()
    a.start(wait=False)
    ops = api_client(env, endpoint, "ops", a.public_key)
    dash = api_client(env, endpoint, "dash", a.public_key)
    a._api = ops
    a.wait_ready()
    check_eq(dash.status().node, "a", "dash's status")
    submit(ops, 0, 100)

    os.unlink(os.path.join(clients, "dash.cert"))
    reply = ops.call(30, reload=pb.ReloadRequest())
    check_eq(reply.code, 0, "reload without dash")
    reply = dash.call(10, status=pb.StatusRequest())
    check(reply.code == pb.PERMISSION_DENIED and reply.field == "key",
          "dash's call after its removal: %s %s" % (rbtest.errname(pb, reply.code), reply.field))
    failures = rbtest.counter(ops.status(), "auth_failures")
    dash.close()
    no_answer(api_client(env, endpoint, "dash", a.public_key), "a new connection with dash's key")
    rbtest.wait_until(lambda: rbtest.counter(ops.status(), "auth_failures") > failures, 10,
                      "a to count dash's new connection as an auth failure")
    log("dash removed by reload: refused on its open connection, no answer on a new one")
    submit(ops, 100, 100)

    old_key, new_key = a.public_key, env.key("a-2")
    b.peer_settings["a"] = {"next_public_key": new_key}
    b.write_config()
    check_eq(b.api.call(30, reload=pb.ReloadRequest()).code, 0, "b's reload listing a's next key")
    a.settings["node"]["cert"] = os.path.join(env.keys_dir, "a-2.cert")
    a.write_config()
    reply = ops.call(30, reload=pb.ReloadRequest())
    check(reply.code == 0 and reply.reload.own_key_changed,
          "ops' reload switching a's key: %s %s" % (reply.message, reply.reload))
    log("a switched to its new key; ops got the reply over the old one")
    a.public_key = new_key
    fresh = api_client(env, endpoint, "ops", new_key)
    rbtest.wait_until(lambda: fresh.status(timeout=1).node == "a", 10, "a's API to answer on its new key")
    res = subprocess.run([env.cli_bin, "-c", a.config_path, "--cert", os.path.join(env.keys_dir, "ops.cert"),
                          "keys", "status"], capture_output=True, text=True, timeout=30, env=rbtest.sanitizer_env())
    env.check_sanitizer_text(res.stderr, "regiebus keys status")
    check(res.returncode == 0 and new_key in res.stdout, "the CLI over the new key: exit %d %s %s" % (
        res.returncode, res.stdout, res.stderr))
    ops.close()
    no_answer(api_client(env, endpoint, "ops", old_key), "a connection to a's old key")
    a._api = fresh
    log("a's API answers on the new key only, the CLI included")

    submit(fresh, 200, 100)
    rbtest.wait_delivered(a, b, 300, timeout=30)
    rbtest.verify_stream(b.api.received_all("a"), 300, "a", "b")
    log("300 events submitted over the API around both reloads reached b, each once, in order")


if __name__ == "__main__":
    rbtest.run("keys_api", main)
