"""Shared helpers for the regiebus integration tests.

Every test is a standalone script that starts real regiebus-node daemons on
loopback with CURVE on, talks to them over their local API (ZeroMQ DEALER,
protobuf frames) and with the regiebus CLI, and exits 0 on success.

    import rbtest
    def main(env):
        a, b = env.pair()
        ...
    rbtest.run("exactly_once", main)

What this module provides:
  - Env: a fresh temporary directory per test, CURVE keys made with the CLI,
    the protobuf module generated from proto/regiebus.proto, and cleanup
    that stops every daemon, checks its log for sanitizer reports and prints
    log tails when the test fails;
  - Node: one regiebus-node process with its config, data dir and log file
    (start, stop with SIGTERM, kill with SIGKILL, restart, wait_ready, rss);
  - ApiClient: the local API (status, submit with pipelining, list_received
    across all pages);
  - wait_until and friends: every wait is bounded in time and in rounds.
"""

import argparse
import hashlib
import importlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
PROTO_DIR = os.path.join(TOP, "proto")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")

#  ASan/UBSan settings for the daemons and the CLI: leaks are reported, a
#  report does not abort (the log is checked instead), UB is fatal. They are
#  appended to whatever the caller's environment sets (tests/run sets some),
#  so these win where both name an option.
ASAN_OPTIONS = "detect_leaks=1:abort_on_error=0"
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"


def sanitizer_env(asan_options=ASAN_OPTIONS):
    """os.environ with our sanitizer options appended to any already set."""
    def merge(name, ours):
        theirs = os.environ.get(name, "")
        return theirs + ":" + ours if theirs else ours
    return dict(os.environ, ASAN_OPTIONS=merge("ASAN_OPTIONS", asan_options),
                UBSAN_OPTIONS=merge("UBSAN_OPTIONS", UBSAN_OPTIONS))


#  The test case pseudonym: 64 lowercase hex characters.
CASE = hashlib.sha256(b"regiebus integration test case").hexdigest()

_T0 = time.monotonic()


def backtraces(pid, timeout=60):
    """Every thread's stack of a live process, from gdb when the machine
    has it: what a hang leaves behind for whoever reads the failure."""
    gdb = shutil.which("gdb")
    if not gdb:
        return "(no gdb on this machine)"
    try:
        out = subprocess.run([gdb, "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return out.stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError) as e:
        return "(gdb failed: %s)" % e


class TestFailure(Exception):
    """A check did not hold; the message says what and with which values."""


def log(msg):
    print("[%7.2fs] %s" % (time.monotonic() - _T0, msg), flush=True)


def check(cond, msg):
    """Fail the test with msg unless cond holds."""
    if not cond:
        raise TestFailure(msg)


def check_eq(actual, expected, what):
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def wait_until(predicate, timeout, what, interval=0.1):
    """Poll predicate() until it returns a truthy value; return that value.

    Bounded both by time (timeout seconds) and by rounds. On timeout raise
    TestFailure naming what was awaited and the last value or error seen.
    """
    deadline = time.monotonic() + timeout
    rounds = int(timeout / interval) + 2
    last = None
    for _ in range(rounds):
        try:
            last = predicate()
            if last:
                return last
        except TestFailure as e:
            last = "check failed: %s" % e
        except (zmq.ZMQError, TimeoutError, OSError) as e:
            last = "error: %r" % e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise TestFailure("timed out after %.0fs waiting for %s (last: %s)" % (timeout, what, last))


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PROTO_FILES = ("kinds.proto", "case.proto", "agency.proto", "regiebus.proto")


class _Proto:
    """Every generated module of the contract behind one name: pb.Envelope,
    pb.Notification, pb.EnrolRequest, pb.ABSENCE_SIGNAL ..."""

    def __init__(self, modules):
        self._modules = modules

    def __getattr__(self, name):
        for m in self._modules:
            if hasattr(m, name):
                return getattr(m, name)
        raise AttributeError(name)


def load_proto(outdir):
    """Generate the Python code of the contract into outdir and import it."""
    subprocess.run(["protoc", "--python_out=" + outdir, "-I" + PROTO_DIR]
                   + [os.path.join(PROTO_DIR, f) for f in PROTO_FILES], check=True)
    if outdir not in sys.path:
        sys.path.insert(0, outdir)
    return _Proto([importlib.import_module(f[:-len(".proto")] + "_pb2") for f in PROTO_FILES])


def read_cert(path):
    """(public, secret) Z85 keys as bytes from a zcert file (secret may be None)."""
    public = secret = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            for name in ("public-key", "secret-key"):
                if line.startswith(name):
                    value = line.split("=", 1)[1].strip().strip('"')
                    if name == "public-key":
                        public = value.encode()
                    else:
                        secret = value.encode()
    return public, secret


def _die_with_parent():
    """In the child before exec: SIGKILL me if the test process dies (a ctest
    timeout kills it), so that no daemon outlives its test."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except Exception:
        pass


def errname(pb, code):
    try:
        return pb.ErrorCode.Name(code)
    except ValueError:
        return str(code)


# ---------------------------------------------------------------------------
#  The local API

class ApiError(TestFailure):
    def __init__(self, pb, reply, what):
        self.reply = reply
        super().__init__("%s refused: %s field=%r message=%r" % (
            what, errname(pb, reply.code), reply.field, reply.message))


class ApiClient:
    """A DEALER on a node's API endpoint, one protobuf per frame."""

    def __init__(self, pb, endpoint):
        self.pb = pb
        self.endpoint = endpoint
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 100000)
        self.sock.setsockopt(zmq.RCVHWM, 100000)
        self.sock.connect(endpoint)
        self.next_id = 1
        self.stash = {}         # replies that arrived while waiting for another

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None

    def request(self, **call):
        req = self.pb.ApiRequest(version=1, request_id=self.next_id)
        self.next_id += 1
        for name, value in call.items():
            getattr(req, name).CopyFrom(value)
        return req

    def send(self, req):
        """Send a request (ApiRequest or raw bytes); return its request_id."""
        data = req if isinstance(req, (bytes, bytearray)) else req.SerializeToString()
        self.sock.send(data, copy=False)
        return None if isinstance(req, (bytes, bytearray)) else req.request_id

    def recv(self, timeout):
        """Next reply on the socket, or None after timeout seconds."""
        if self.sock.poll(int(timeout * 1000), zmq.POLLIN):
            reply = self.pb.ApiReply()
            reply.ParseFromString(self.sock.recv())
            return reply
        return None

    def wait_for(self, request_id, timeout):
        """The reply with this request_id; stash others; None on timeout."""
        if request_id in self.stash:
            return self.stash.pop(request_id)
        deadline = time.monotonic() + timeout
        for _ in range(1000000):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            reply = self.recv(left)
            if reply is None:
                return None
            if reply.request_id == request_id:
                return reply
            self.stash[reply.request_id] = reply
        return None

    def call(self, timeout=30, **call):
        req = self.request(**call)
        self.send(req)
        reply = self.wait_for(req.request_id, timeout)
        if reply is None:
            raise TimeoutError("no reply from %s within %ss" % (self.endpoint, timeout))
        return reply

    # -- status

    def status(self, timeout=10):
        reply = self.call(timeout, status=self.pb.StatusRequest())
        if reply.code != 0:
            raise ApiError(self.pb, reply, "status")
        return reply.status

    # -- submit

    def submission(self, key, destination, payload, case=CASE, kind=None):
        return self.pb.Submission(
            idempotency_key=key, destination=destination, case_pseudonym=case,
            kind=self.pb.TEST if kind is None else kind,
            payload=payload if isinstance(payload, bytes) else payload.encode())

    def submit(self, events, timeout=60):
        """One SubmitRequest; returns the ApiReply (check .code yourself)."""
        return self.call(timeout, submit=self.pb.SubmitRequest(events=events))

    def submit_pipelined(self, batches, window=8, timeout=120, on_reply=None):
        """Submit every batch (a list of Submissions each), up to window in flight.

        Returns the replies in batch order. Raises TestFailure on an error
        code or when a reply does not come within timeout of its request.
        on_reply(index, reply) is called as each reply arrives, in order; it
        may raise to stop early.
        """
        replies = []
        inflight = []       # (index, request_id, sent_at)
        nxt = 0
        while len(replies) < len(batches):
            while nxt < len(batches) and len(inflight) < window:
                req = self.request(submit=self.pb.SubmitRequest(events=batches[nxt]))
                self.send(req)
                inflight.append((nxt, req.request_id, time.monotonic()))
                nxt += 1
            index, rid, sent = inflight.pop(0)
            reply = self.wait_for(rid, timeout)
            if reply is None:
                raise TestFailure("submit of batch %d: no reply within %ss" % (index, timeout))
            if reply.code != 0:
                raise ApiError(self.pb, reply, "submit of batch %d" % index)
            check_eq(len(reply.submit.accepted), len(batches[index]),
                     "accepted count in reply to batch %d" % index)
            replies.append(reply)
            if on_reply:
                on_reply(index, reply)
        return replies

    # -- list received

    def list_received(self, origin="", after_seq=0, limit=0, timeout=30):
        return self.call(timeout, list_received=self.pb.ListReceivedRequest(
            origin=origin, after_seq=after_seq, limit=limit))

    def received_all(self, origin, limit=10000, max_pages=100000, timeout=30):
        """Every envelope received from origin, following `more` page by page."""
        events = []
        after = 0
        for _ in range(max_pages):
            reply = self.list_received(origin, after, limit, timeout)
            if reply.code != 0:
                raise ApiError(self.pb, reply, "list_received")
            page = reply.list_received.events
            events.extend(page)
            if not reply.list_received.more:
                return events
            check(len(page) > 0, "list_received said more=true but returned no events")
            after = page[-1].origin_seq
        raise TestFailure("list_received did not finish within %d pages" % max_pages)


class CurveApiClient(ApiClient):
    """An ApiClient whose DEALER speaks CURVE with the given keys (a tcp:// API)."""

    def __init__(self, pb, endpoint, public, secret, server_key):
        self.pb = pb
        self.endpoint = endpoint
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_publickey = public
        self.sock.curve_secretkey = secret
        self.sock.curve_serverkey = server_key.encode()
        self.sock.connect(endpoint)
        self.next_id = 1
        self.stash = {}


def counter(status, name):
    for c in status.counters:
        if c.name == name:
            return c.value
    raise TestFailure("status has no counter %r (has: %s)" % (
        name, ", ".join(c.name for c in status.counters)))


def counters(status):
    return {c.name: c.value for c in status.counters}


def peer(status, name):
    for p in status.peers:
        if p.name == name:
            return p
    raise TestFailure("status of %s has no peer %r" % (status.node, name))


# ---------------------------------------------------------------------------
#  Nodes

#  The role a bare node plays for its peers when the test does not say:
#  by its name, as the tests name them (mun-a plays a municipality).
PLAYS_BY_NAME = (("mun-", "municipality"), ("school-", "school"), ("care-", "care"),
                 ("portal", "portal"))


def plays_by_name(name):
    return next((role for prefix, role in PLAYS_BY_NAME if name.startswith(prefix)), "node")


class Node:
    """One regiebus-node with its own config, data dir, API socket and log."""

    def __init__(self, env, name, port=None, daemon="node", plays=None, **settings):
        self.env = env
        self.name = name
        self.daemon = daemon            # node, school, municipality, care or portal
        # The role its peers give it in their config (peer/NAME/role), which
        # says what it may send them: its daemon's, or for a bare node the
        # role it plays in the test.
        self.plays = plays or (daemon if daemon != "node" else plays_by_name(name))
        self.bin = env.daemon_bin(daemon)
        self.port = port or free_port()
        self.bind = "tcp://127.0.0.1:%d" % self.port
        self.api_endpoint = "ipc://%s/%s.api" % (env.dir, name)
        self.data_dir = os.path.join(env.dir, name)
        self.cert = os.path.join(env.keys_dir, name + ".cert")
        self.config_path = os.path.join(env.dir, name + ".cfg")
        self.log_path = os.path.join(env.dir, name + ".log")
        self.public_key = env.key(name)
        self.peers = {}                 # name -> (endpoint, public key, role or None)
        self.peer_settings = {}         # name -> {key: value}: next_public_key, revoked
        self.settings = {
            "node": {"name": name, "role": daemon, "data_dir": self.data_dir,
                     "bind": self.bind, "cert": self.cert, "map_size_mb": "1024",
                     "log_level": "info", "clock": "wall"},
            "api": {"endpoint": self.api_endpoint},
            "limits": {"max_frame_bytes": "4194304", "max_batch_events": "10000",
                       "max_payload_bytes": "65536"},
            "link": {"window": "8192", "batch_events": "512", "heartbeat_ms": "500",
                     "peer_timeout_ms": "3000", "retransmit_ms": "2000"},
        }
        for path, value in settings.items():
            section, key = path.split("__", 1)
            self.settings.setdefault(section, {})[key] = str(value)
        self.asan_options = ASAN_OPTIONS
        self.proc = None
        self.starts = 0
        self._api = None

    def add_peer(self, other, endpoint=None, public_key=None, role=None):
        """Configure a peer: another Node (with the role it plays), or a name
        with endpoint, key and role (None: none written, a bare node's)."""
        if isinstance(other, Node):
            self.peers[other.name] = (other.bind, other.public_key, other.plays)
        else:
            self.peers[other] = (endpoint, public_key, role)

    def config_text(self):
        lines = []
        for section, items in self.settings.items():
            lines.append(section)
            for key, value in items.items():
                lines.append("    %s = \"%s\"" % (key, value))
        if self.peers:
            lines.append("peer")
            for name, entry in self.peers.items():
                endpoint, key, role = (tuple(entry) + (None,))[:3]    # a test may set (endpoint, key)
                lines.append("    " + name)
                lines.append("        endpoint = \"%s\"" % endpoint)
                lines.append("        public_key = \"%s\"" % key)
                if role:
                    lines.append("        role = \"%s\"" % role)
                for k, v in self.peer_settings.get(name, {}).items():
                    lines.append("        %s = \"%s\"" % (k, v))
        return "\n".join(lines) + "\n"

    def write_config(self):
        with open(self.config_path, "w") as f:
            f.write(self.config_text())

    # -- process control

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True, timeout=30):
        check(not self.running(), "%s is already running" % self.name)
        self.write_config()
        self.starts += 1
        logf = open(self.log_path, "a")
        logf.write("---- start #%d\n" % self.starts)
        logf.flush()
        envvars = sanitizer_env(self.asan_options)
        self.proc = subprocess.Popen([self.bin, "-c", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     env=envvars, preexec_fn=_die_with_parent)
        logf.close()
        log("started %s (pid %d, start #%d)" % (self.name, self.proc.pid, self.starts))
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        """Poll status on the API until the node answers as itself."""
        def ready():
            if self.proc.poll() is not None:
                raise TestFailure("%s exited with %s while starting" % (self.name, self.proc.returncode))
            st = self.api.status(timeout=0.5)
            return st if st.node == self.name else None
        try:
            return wait_until(ready, timeout, "%s to answer status" % self.name, interval=0.05)
        except TestFailure:
            if self.proc.poll() is not None:
                raise TestFailure("%s exited with code %s while starting" % (self.name, self.proc.returncode))
            raise

    def stop(self, timeout=30, expect_rc=0, sig=signal.SIGTERM):
        """SIGTERM (or sig) and wait; the exit code must be expect_rc (None: any)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stacks = backtraces(self.proc.pid)
            self.proc.kill()
            self.proc.wait(10)
            self._drop_api()
            raise TestFailure("%s did not stop within %ss of %s; where its threads were:\n%s"
                              % (self.name, timeout, sig.name, stacks))
        self._drop_api()
        log("stopped %s with %s (exit %d)" % (self.name, sig.name, rc))
        if expect_rc is not None:
            check(rc == expect_rc, "%s exited with %d after %s, expected %d" % (self.name, rc, sig.name, expect_rc))
        return rc

    def kill(self):
        """SIGKILL and reap."""
        if self.running():
            self.proc.kill()
            self.proc.wait(10)
            log("killed %s (SIGKILL)" % self.name)
        self._drop_api()

    def restart(self, kill=False, timeout=30):
        if kill:
            self.kill()
        else:
            self.stop()
        return self.start(timeout=timeout)

    def rss_anon_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        raise TestFailure("no RssAnon in /proc/%d/status" % self.proc.pid)

    # -- API

    @property
    def api(self):
        if self._api is None:
            self._api = ApiClient(self.env.pb, self.api_endpoint)
        return self._api

    def _drop_api(self):
        if self._api is not None:
            self._api.close()
            self._api = None

    def status(self, timeout=10):
        return self.api.status(timeout)

    def cli(self, *args, timeout=30, check_rc=True):
        """Run the regiebus CLI against this node's API; CompletedProcess."""
        cmd = [self.env.cli_bin, "--api", self.api_endpoint] + list(args)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             env=sanitizer_env())
        self.env.check_sanitizer_text(res.stderr, "regiebus %s" % " ".join(args))
        if check_rc and res.returncode != 0:
            raise TestFailure("`%s` exited %d: %s" % (" ".join(cmd), res.returncode, res.stderr.strip()))
        return res

    def cli_status(self):
        """Status through `regiebus status --json`, as a dict."""
        res = self.cli("status", "--json")
        try:
            return json.loads(res.stdout)
        except ValueError as e:
            raise TestFailure("regiebus status --json printed invalid JSON (%s): %r" % (e, res.stdout[:500]))

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---------------------------------------------------------------------------
#  The test environment

class Env:
    def __init__(self, name, build_dir):
        self.name = name
        self.build_dir = os.path.abspath(build_dir)
        self.node_bin = os.path.join(self.build_dir, "services", "node", "regiebus-node")
        self.cli_bin = os.path.join(self.build_dir, "services", "cli", "regiebus")
        for b in (self.node_bin, self.cli_bin):
            check(os.access(b, os.X_OK), "binary %s is missing; build first" % b)
        self.dir = tempfile.mkdtemp(prefix="rb-%s-" % name.replace("_", "-"))
        self.keys_dir = os.path.join(self.dir, "keys")
        os.mkdir(self.keys_dir)
        pbdir = os.path.join(self.dir, "pb")
        os.mkdir(pbdir)
        self.pb = load_proto(pbdir)
        self.keys = {}
        self.nodes = []
        self.deferred = []          # failed soft checks, reported at the end
        self.sanitizer_reports = []
        log("test directory %s" % self.dir)

    def daemon_bin(self, daemon):
        """The binary of a daemon: regiebus-node, regiebus-school ..."""
        path = os.path.join(self.build_dir, "services", daemon, "regiebus-" + daemon)
        check(os.access(path, os.X_OK), "binary %s is missing; build first" % path)
        return path

    def key(self, name):
        """Public Z85 key for name, made with `regiebus keys make` on first use."""
        if name not in self.keys:
            res = subprocess.run([self.cli_bin, "keys", "make", name, "--dir", self.keys_dir],
                                 capture_output=True, text=True, timeout=30,
                                 env=sanitizer_env())
            self.check_sanitizer_text(res.stderr, "regiebus keys make")
            check(res.returncode == 0, "regiebus keys make %s exited %d: %s" % (name, res.returncode, res.stderr))
            public = res.stdout.strip()
            check(len(public) == 40 and "\n" not in public,
                  "keys make printed %r, expected one 40-char Z85 key" % res.stdout)
            cert = os.path.join(self.keys_dir, name + ".cert")
            check(os.path.exists(cert) and os.path.exists(cert + "_secret"),
                  "keys make did not write %s and its _secret" % cert)
            file_public, _ = read_cert(cert)
            check_eq(file_public, public.encode(), "public key in %s vs stdout" % cert)
            _, secret = read_cert(cert + "_secret")
            check(secret and len(secret) == 40, "no secret key in %s_secret" % cert)
            self.keys[name] = public
        return self.keys[name]

    def cert_keys(self, name):
        """(public, secret) of name's certificate, as bytes for pyzmq."""
        self.key(name)
        return read_cert(os.path.join(self.keys_dir, name + ".cert_secret"))

    def expect(self, cond, msg):
        """A check that fails the test at the end instead of stopping it here,
        so that the checks after it still run and report."""
        if not cond:
            log("FAIL (reported at the end): %s" % msg)
            self.deferred.append(msg)
        return cond

    def node(self, name, **settings):
        """A node (not started); daemon="school" etc. picks the daemon, and
        settings section__key=value set its config."""
        n = Node(self, name, **settings)
        self.nodes.append(n)
        return n

    def pair(self, a_settings=None, b_settings=None):
        """Nodes a and b, each the other's peer (not started)."""
        a = self.node("a", **(a_settings or {}))
        b = self.node("b", **(b_settings or {}))
        a.add_peer(b)
        b.add_peer(a)
        return a, b

    def curve_dealer(self, name, server):
        """A DEALER with name's certificate, CURVE client of server (a Node)."""
        public, secret = self.cert_keys(name)
        s = zmq.Context.instance().socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_publickey = public
        s.curve_secretkey = secret
        s.curve_serverkey = server.public_key.encode()
        s.connect(server.bind)
        return s

    def check_sanitizer_text(self, text, what):
        for marker in SANITIZER_MARKERS:
            if marker in text:
                self.sanitizer_reports.append("%s: %s" % (what, marker))
                raise TestFailure("sanitizer report (%r) from %s:\n%s" % (marker, what, text[-4000:]))

    def finish(self, ok):
        """Stop daemons, look for sanitizer reports; returns ok after checks."""
        for n in self.nodes:
            if n.running():
                try:
                    n.stop(expect_rc=None if not ok else 0)
                except TestFailure as e:
                    log("FAIL: %s" % e)
                    ok = False
        for n in self.nodes:
            text = n.log_text()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    log("FAIL: %s's log has a sanitizer report (%r)" % (n.name, marker))
                    ok = False
        if not ok:
            for n in self.nodes:
                print("---- tail of %s (%s)" % (n.name, n.log_path))
                print(n.log_tail(60), end="")
            print("---- test directory kept: %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return ok


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(TOP, "build"))
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    return p.parse_args(argv)


def run(name, body):
    """Run body(env) as test `name`; exit 0 on success, 1 on failure."""
    args = parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    random.seed(seed)
    log("integration test %s (seed %d, build %s)" % (name, seed, args.build_dir))
    env = None
    ok = False

    def on_sigterm(signum, frame):
        raise TestFailure("test process got signal %d" % signum)
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        env = Env(name, args.build_dir)
        body(env)
        if env.deferred:
            raise TestFailure("%d check(s) failed:\n  - %s" % (len(env.deferred), "\n  - ".join(env.deferred)))
        ok = True
    except TestFailure as e:
        log("FAIL: %s" % e)
        traceback.print_exc(limit=3)
    except Exception:
        log("FAIL: unexpected exception")
        traceback.print_exc()
    finally:
        if env is not None:
            try:
                ok = env.finish(ok)
            except Exception:
                traceback.print_exc()
                ok = False
    log("%s: %s" % (name, "PASS" if ok else "FAIL"))
    sys.exit(0 if ok else 1)


# ---------------------------------------------------------------------------
#  Event streams used by several tests

def batches_of(api, destination, count, batch_size, payload_fn=str, key_fn=lambda n: "ev-%d" % n,
               start=0):
    """Submissions for events start..start+count-1 in lists of batch_size."""
    out = []
    for first in range(start, start + count, batch_size):
        out.append([api.submission(key_fn(n), destination, payload_fn(n))
                    for n in range(first, min(first + batch_size, start + count))])
    return out


def verify_stream(events, count, origin, destination, payload_fn=str, first_seq=1):
    """The received list is exactly origin_seq first_seq.. in order, once each.

    Checks seqs are contiguous, payloads are payload_fn(0..count-1) in
    order, event ids are unique 16-byte values, and origin/destination.
    """
    check(len(events) == count, "received %d events from %s, expected %d%s" % (
        len(events), origin, count, _stream_hint(events, first_seq)))
    ids = set()
    for i, e in enumerate(events):
        seq = first_seq + i
        if e.origin_seq != seq:
            raise TestFailure("event %d has origin_seq %d, expected %d" % (i, e.origin_seq, seq))
        want = payload_fn(i)
        want = want if isinstance(want, bytes) else want.encode()
        if e.payload != want:
            raise TestFailure("origin_seq %d carries payload %r, expected %r (out of order or duplicated)"
                              % (seq, e.payload[:40], want[:40]))
        if e.origin != origin or e.destination != destination:
            raise TestFailure("origin_seq %d: origin %r destination %r, expected %r %r"
                              % (seq, e.origin, e.destination, origin, destination))
        if len(e.event_id) != 16:
            raise TestFailure("origin_seq %d: event_id of %d bytes" % (seq, len(e.event_id)))
        ids.add(e.event_id)
    check(len(ids) == count, "%d distinct event ids among %d events" % (len(ids), count))


def _stream_hint(events, first_seq):
    if not events:
        return ""
    seqs = [e.origin_seq for e in events]
    missing = []
    expect = first_seq
    for s in seqs:
        while expect < s and len(missing) < 10:
            missing.append(expect)
            expect += 1
        expect = max(expect, s + 1)
    dups = len(seqs) - len(set(seqs))
    return " (seqs %d..%d, %d duplicated, first missing: %s)" % (seqs[0], seqs[-1], dups, missing)


def wait_delivered(sender, receiver, count, timeout=120):
    """Wait until receiver has committed count from sender and sender's queue is empty."""
    def done():
        st = receiver.status(timeout=5)
        got = peer(st, sender.name).received_seq
        if got < count:
            return None
        sst = sender.status(timeout=5)
        p = peer(sst, receiver.name)
        return (p.acked_seq >= count and p.queue_depth == 0) and (got, p)
    t0 = time.monotonic()
    last = [None]

    def progress():
        try:
            r = done()
        except (TestFailure, zmq.ZMQError, TimeoutError) as e:
            last[0] = str(e)
            raise
        if not r:
            try:
                st = receiver.status(timeout=5)
                sst = sender.status(timeout=5)
                last[0] = "received_seq=%d acked_seq=%d queue_depth=%d" % (
                    peer(st, sender.name).received_seq, peer(sst, receiver.name).acked_seq,
                    peer(sst, receiver.name).queue_depth)
            except Exception as e:      # the node may be restarting
                last[0] = repr(e)
        return r
    try:
        wait_until(progress, timeout, "%d events %s->%s delivered and acknowledged" % (
            count, sender.name, receiver.name), interval=0.25)
    except TestFailure as e:
        raise TestFailure("%s; last progress: %s" % (e, last[0]))
    log("delivered %d events %s->%s in %.1fs after waiting began" % (
        count, sender.name, receiver.name, time.monotonic() - t0))


# ---------------------------------------------------------------------------
#  Raw peer-link frames, for tests that play a peer from Python

def envelope(pb, origin, destination, seq, payload=b"x", version=1, case=CASE, event_id=None):
    now = int(time.time() * 1000)
    return pb.Envelope(version=version, event_id=event_id or os.urandom(16), origin=origin,
                       origin_seq=seq, destination=destination, case_pseudonym=case, kind=pb.TEST,
                       occurred_at_ms=now, recorded_at_ms=now,
                       payload=payload if isinstance(payload, bytes) else payload.encode())


def batch_frame(pb, first_seq, envelopes, version=1):
    """A serialized LinkFrame carrying a Batch of envelopes (Envelope or bytes)."""
    items = [e if isinstance(e, bytes) else e.SerializeToString() for e in envelopes]
    return pb.LinkFrame(version=version, batch=pb.Batch(first_seq=first_seq, envelopes=items)).SerializeToString()


def ping_frame(pb, sent_at_ms=None, version=1):
    return pb.LinkFrame(version=version, ping=pb.Ping(
        sent_at_ms=sent_at_ms or int(time.monotonic() * 1000))).SerializeToString()


def recv_link_frames(pb, sock, timeout, until=None):
    """LinkFrames arriving on sock within timeout seconds.

    Stops early when until(frames) is true. Frames that do not decode are
    returned as raw bytes so the caller can report them.
    """
    frames = []
    deadline = time.monotonic() + timeout
    for _ in range(100000):
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(int(left * 1000) + 1, zmq.POLLIN):
            break
        parts = sock.recv_multipart()
        f = pb.LinkFrame()
        try:
            f.ParseFromString(parts[-1])
            frames.append(f)
        except Exception:
            frames.append(parts[-1])
        if until and until(frames):
            break
    return frames


def describe_frames(pb, frames):
    out = []
    for f in frames:
        if isinstance(f, bytes):
            out.append("undecodable %d bytes" % len(f))
        elif f.WhichOneof("body") == "refusal":
            r = f.refusal
            out.append("Refusal{%s field=%r seq=%d msg=%r}" % (errname(pb, r.code), r.field, r.seq, r.message))
        elif f.WhichOneof("body") == "ack":
            out.append("Ack{committed_seq=%d gap=%s}" % (f.ack.committed_seq, f.ack.gap))
        else:
            out.append(str(f.WhichOneof("body")))
    return "[" + ", ".join(out) + "]"


def expect_refusal(pb, sock, code, field=None, seq=None, timeout=5):
    """Read frames until a Refusal comes; check its code, field and seq."""
    def has_refusal(frames):
        return any(not isinstance(f, bytes) and f.WhichOneof("body") == "refusal" for f in frames)
    frames = recv_link_frames(pb, sock, timeout, until=has_refusal)
    refusals = [f.refusal for f in frames if not isinstance(f, bytes) and f.WhichOneof("body") == "refusal"]
    check(refusals, "no Refusal within %ss; got %s" % (timeout, describe_frames(pb, frames)))
    r = refusals[0]
    check(r.code == code, "Refusal code %s, expected %s (field=%r msg=%r)" % (
        errname(pb, r.code), errname(pb, code), r.field, r.message))
    if field is not None:
        check_eq(r.field, field, "Refusal field")
    if seq is not None:
        check_eq(r.seq, seq, "Refusal seq")
    log("  refused as expected: %s" % describe_frames(pb, frames))
    return r, frames


def expect_ack(pb, sock, committed_seq, timeout=5, frames=None):
    """An Ack with committed_seq must arrive (or be among frames already read)."""
    def acked(fs):
        return any(not isinstance(f, bytes) and f.WhichOneof("body") == "ack"
                   and f.ack.committed_seq == committed_seq for f in fs)
    seen = list(frames or [])
    if not acked(seen):
        seen += recv_link_frames(pb, sock, timeout, until=acked)
    check(acked(seen), "no Ack{committed_seq=%d} within %ss; got %s" % (
        committed_seq, timeout, describe_frames(pb, seen)))
    return seen


# ---------------------------------------------------------------------------
#  Agency daemons: region keys, calls and their refusals, notifications

def region_key(env, name="region.key"):
    """A region key file made with `regiebus keys region`: (path, key bytes)."""
    path = os.path.join(env.dir, name)
    if not os.path.exists(path):
        res = subprocess.run([env.cli_bin, "keys", "region", path], capture_output=True, text=True,
                             timeout=30, env=sanitizer_env())
        env.check_sanitizer_text(res.stderr, "regiebus keys region")
        check(res.returncode == 0, "regiebus keys region exited %d: %s" % (res.returncode, res.stderr))
    with open(path) as f:
        return path, bytes.fromhex(f.read().strip())


def pseudonym(key, bsn):
    """The case pseudonym of a citizen number: keyed BLAKE2b-256 in hex."""
    return hashlib.blake2b(bsn.encode(), digest_size=32, key=key).hexdigest()


def check_ok(pb, reply, what):
    if reply.code != 0:
        raise ApiError(pb, reply, what)
    return reply


def check_refusals(pb, node, cases):
    """Each (what, call, code name, field) is refused with that code and
    field; status counts each in api_refused_<code>, and no peer's outbound
    stream moved (nothing was emitted)."""
    before = node.status()
    assigned = {p.name: p.last_assigned_seq for p in before.peers}
    for what, call, code, field in cases:
        reply = node.api.call(**call)
        check(reply.code == pb.ErrorCode.Value(code), "%s: %s field=%r (%s), expected %s %s" % (
            what, errname(pb, reply.code), reply.field, reply.message, code, field))
        check_eq(reply.field, field, "%s: refusal field" % what)
    after = node.status()
    for code in set(c[2] for c in cases):
        name = "api_refused_" + code.lower()
        check_eq(counter(after, name) - counter(before, name), sum(1 for c in cases if c[2] == code),
                 "%s increment" % name)
    for p in after.peers:
        check_eq(p.last_assigned_seq, assigned[p.name], "last seq assigned to %s after refusals" % p.name)


def next_arrival(receiver, origin, seen, timeout=20):
    """The next envelope from origin at receiver after those in seen, which
    must then be the only new one; it is appended to seen."""
    def more():
        events = receiver.api.received_all(origin)
        return events if len(events) > len(seen) else None
    events = wait_until(more, timeout, "a new envelope from %s at %s" % (origin, receiver.name))
    check_eq(len(events), len(seen) + 1, "envelopes from %s at %s" % (origin, receiver.name))
    seen.append(events[-1])
    return events[-1]


def notification(pb, node, role, from_node="school-a", **fields):
    """A Notification for actor (node, role) with a fresh 16-byte id."""
    return pb.Notification(notification_id=os.urandom(16), recipient=pb.Actor(node=node, role=role),
                           from_node=from_node, **fields)


def deliver_notifications(pb, sender, receiver, items, timeout=20):
    """sender (a bare node playing the municipality) submits one
    NOTIFICATION envelope per (case, Notification, idempotency key) to
    receiver, and waits until receiver has processed them all."""
    start = peer(receiver.status(), sender.name).received_seq
    reply = sender.api.submit([pb.Submission(idempotency_key=key, destination=receiver.name,
                                             case_pseudonym=case, kind=pb.NOTIFICATION,
                                             payload=n.SerializeToString()) for case, n, key in items])
    check_ok(pb, reply, "submit of notifications")
    wait_until(lambda: peer(receiver.status(), sender.name).received_seq >= start + len(items), timeout,
               "%d notifications from %s processed at %s" % (len(items), sender.name, receiver.name))


def list_notifications(pb, node, **filters):
    reply = check_ok(pb, node.api.call(list_notifications=pb.ListNotificationsRequest(**filters)),
                     "list_notifications")
    return list(reply.list_notifications.items)


def check_ack_once(pb, node, seq, by):
    """Acknowledging notice seq works once; the second is FAILED_PRECONDITION."""
    reply = check_ok(pb, node.api.call(ack_notification=pb.AckNotificationRequest(seq=seq, by=by)),
                     "ack_notification")
    check(reply.ack_notification.acked_at_ms > 0, "acked_at_ms is %d" % reply.ack_notification.acked_at_ms)
    again = node.api.call(ack_notification=pb.AckNotificationRequest(seq=seq, by=by))
    check_eq((errname(pb, again.code), again.field), ("FAILED_PRECONDITION", "ack_notification.seq"),
             "second acknowledgement")
    item = [i for i in list_notifications(pb, node) if i.seq == seq]
    check(item and item[0].acknowledged and item[0].acked_by == by,
          "notice %d after the acknowledgement: %s" % (seq, item))


def check_kind_refused(pb, receiver, sender, case, kind, payload):
    """An envelope of a kind receiver does not take, from sender, becomes a
    dead letter refused with PERMISSION_DENIED; receiver keeps running."""
    name = "link_refused_permission_denied"
    before = counter(receiver.status(), name)
    reply = sender.api.submit([pb.Submission(idempotency_key="kind-%d" % kind, destination=receiver.name,
                                             case_pseudonym=case, kind=kind, payload=payload)])
    check_ok(pb, reply, "submit of kind %d" % kind)
    wait_until(lambda: counter(receiver.status(), name) > before, 20,
               "%s to refuse kind %d from %s" % (receiver.name, kind, sender.name))
    seq = reply.submit.accepted[0].origin_seq
    wait_until(lambda: peer(sender.status(), receiver.name).acked_seq >= seq, 20,
               "%s to acknowledge the refused envelope (the stream moves on)" % receiver.name)
    check(receiver.running(), "%s stopped after refusing kind %d" % (receiver.name, kind))


def check_config_refused(env, node, args, key, text=None, timeout=20):
    """node's daemon, started with its config (or text) and args, exits 2
    within timeout and names key on stderr."""
    path = os.path.join(env.dir, "%s-refused.cfg" % node.name)
    with open(path, "w") as f:
        f.write(text if text is not None else node.config_text())
    try:
        res = subprocess.run([node.bin, "-c", path] + list(args), capture_output=True, text=True,
                             timeout=timeout, env=sanitizer_env())
    except subprocess.TimeoutExpired:
        raise TestFailure("%s %s did not exit within %ds" % (node.bin, " ".join(args), timeout))
    env.check_sanitizer_text(res.stderr, "%s %s" % (os.path.basename(node.bin), " ".join(args)))
    check(res.returncode == 2 and key in res.stderr, "%s with %s: exit %d, stderr %r; expected 2 naming %s" % (
        os.path.basename(node.bin), " ".join(args) or "its config text", res.returncode, res.stderr, key))
