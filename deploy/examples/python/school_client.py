#!/usr/bin/python3
"""school_client: a school administration system talking to its regiebus node.

What an integrator writes to wire an existing system to a school node, in
plain Python with Debian's python3-zmq and python3-protobuf: enrol one
pupil, record one absence, print what the node answered (the case
pseudonym, the home municipality's node, the signals the attendance rules
raised). Everything else the node does by itself: it sends the ENROLMENT
and the signals to the pupil's home municipality, which notifies every
actor holding regie on the case.

    school_client.py --api ipc:///run/regiebus/school-a.api \\
        --pupil 1001 --bsn 111222333 --born 20150301 --municipality 0363 \\
        --date 20261123 --minutes 50 --reason sick

The API (see README.md here and proto/README.md):
  - one ZeroMQ DEALER connected to the node's api/endpoint; each request
    is ONE frame holding a serialized ApiRequest (version 1, a request_id
    of our choosing, and one call such as `enrol`), and each reply is ONE
    frame holding an ApiReply with the same request_id;
  - code 0 (OK) means the call is committed on the node; any other code is
    a refusal that changed nothing, with the field at fault and a message;
  - a call that gets no answer has an unknown outcome: send it again. The
    attendance record carries an idempotency key and an enrolment of the
    same pupil with the same content is recognised, so a repeat is
    answered with duplicate=true and changes nothing.

The Python code of the contract is generated from proto/*.proto with
protoc into a temporary directory at start, or read from --pb-dir.

Exit codes: 0 done, 1 refused by the node, 2 usage, 3 no answer.
"""

import argparse
import datetime
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_FILES = ("kinds.proto", "case.proto", "agency.proto", "regiebus.proto")
REASONS = {"sick": "SICK", "unexcused": "UNEXCUSED", "excused": "EXCUSED_OTHER", "late": "LATE",
           "suspended": "SUSPENDED", "no-place": "NO_PLACE"}


class Refused(Exception):
    """The node refused a call: nothing of it was applied."""

    def __init__(self, pb, reply):
        self.code = pb.ErrorCode.Name(reply.code) if reply.code in pb.ErrorCode.values() else str(reply.code)
        self.field = reply.field
        super().__init__("%s field=%s: %s" % (self.code, reply.field or "-", reply.message))


class NoAnswer(Exception):
    """The node did not answer: the outcome is unknown, retrying is safe."""


# ---------------------------------------------------------------------------
#  The contract: Python modules generated from proto/*.proto

def load_contract(pb_dir, proto_dir):
    """Import the generated modules (from pb_dir, or made with protoc now)
    and return regiebus_pb2, which holds ApiRequest and, through its
    imports, every message of agency.proto and case.proto."""
    made = None
    if not pb_dir:
        made = pb_dir = tempfile.mkdtemp(prefix="regiebus-pb-")
        subprocess.run(["protoc", "--python_out=" + pb_dir, "-I" + proto_dir]
                       + [os.path.join(proto_dir, f) for f in PROTO_FILES], check=True)
    sys.path.insert(0, pb_dir)
    try:
        modules = [importlib.import_module(f[:-len(".proto")] + "_pb2") for f in PROTO_FILES]
    finally:
        sys.path.remove(pb_dir)
        if made:
            shutil.rmtree(made, ignore_errors=True)     # imported: no longer needed
    return Contract(modules)


class Contract:
    """Every generated message and enum under one name: pb.EnrolRequest, pb.SICK ..."""

    def __init__(self, modules):
        self._modules = modules

    def __getattr__(self, name):
        for m in self._modules:
            if hasattr(m, name):
                return getattr(m, name)
        raise AttributeError(name)


# ---------------------------------------------------------------------------
#  The node's API

def read_cert(path):
    """(public, secret) Z85 keys from a CURVE certificate file (zcert format)."""
    keys = {}
    with open(path) as f:
        for line in f:
            name, _, value = line.strip().partition("=")
            if name.strip() in ("public-key", "secret-key"):
                keys[name.strip()] = value.strip().strip('"').encode()
    return keys.get("public-key"), keys.get("secret-key")


class NodeClient:
    """One DEALER on the node's API; a request and its reply are one frame each."""

    def __init__(self, pb, endpoint, cert=None, server_key=None, timeout=5.0):
        self.pb = pb
        self.timeout = timeout          # seconds to wait for each answer
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if endpoint.startswith("tcp://"):
            # A tcp:// API speaks CURVE and takes only client keys it lists.
            public, secret = read_cert(cert)
            self.sock.curve_publickey = public
            self.sock.curve_secretkey = secret
            self.sock.curve_serverkey = server_key.encode()
        self.sock.connect(endpoint)
        self.next_id = 1

    def close(self):
        self.sock.close(0)

    def call(self, name, message, attempts=3):
        """Make call `name` (an ApiRequest field: "enrol", "record_attendance")
        with message; return the ApiReply's result. Sends the same content
        again when no answer comes, which is safe (see the module comment)."""
        sent = set()
        for _ in range(attempts):
            request = self.pb.ApiRequest(version=1, request_id=self.next_id)
            self.next_id += 1
            getattr(request, name).CopyFrom(message)
            self.sock.send(request.SerializeToString())
            sent.add(request.request_id)
            reply = self._reply(sent, self.timeout)
            if reply is not None:
                if reply.code != self.pb.OK:
                    raise Refused(self.pb, reply)
                if reply.WhichOneof("result") != name:
                    raise NoAnswer("the node answered %s without its result" % name)
                return getattr(reply, name)
        raise NoAnswer("no answer to %s after %d attempts of %.0f s" % (name, attempts, self.timeout))

    def _reply(self, ids, timeout):
        """The reply to any of our attempts (a late one counts), or None.
        request_id 0 with an error: the node could not read the request."""
        deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
        while True:
            left = (deadline - datetime.datetime.now()).total_seconds()
            if left <= 0 or not self.sock.poll(int(left * 1000) + 1, zmq.POLLIN):
                return None
            reply = self.pb.ApiReply()
            reply.ParseFromString(self.sock.recv())
            if reply.request_id in ids or (reply.request_id == 0 and reply.code != 0):
                return reply


# ---------------------------------------------------------------------------
#  What the school's system does

def enrol(node, pb, args):
    pupil = pb.Pupil(local_id=args.pupil, citizen_number=args.bsn, birth_date=args.born,
                     home_municipality=args.municipality, enrolled_on=args.since,
                     display_name=args.name)
    result = node.call("enrol", pb.EnrolRequest(pupils=[pupil])).results[0]
    print("enrolled pupil %s: case_pseudonym=%s municipality_node=%s duplicate=%s" % (
        args.pupil, result.case_pseudonym, result.municipality_node, "yes" if result.duplicate else "no"))
    return result


def record_absence(node, pb, args):
    key = args.key or "absence-%s-%d" % (args.pupil, args.date)
    record = pb.AttendanceRecord(idempotency_key=key, local_id=args.pupil, date=args.date,
                                 minutes=args.minutes, lessons=args.lessons,
                                 reason=pb.AbsenceReason.Value(REASONS[args.reason]))
    result = node.call("record_attendance", pb.RecordAttendanceRequest(records=[record])).results[0]
    signals = [pb.AbsenceSignalKind.Name(s) for s in result.signals]
    print("absence recorded for pupil %s on %d (key %s): signals=%s duplicate=%s" % (
        args.pupil, args.date, key, ",".join(signals) or "none", "yes" if result.duplicate else "no"))
    return result


def date_arg(text):
    try:
        return int(datetime.datetime.strptime(text.replace("-", ""), "%Y%m%d").strftime("%Y%m%d"))
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a date YYYYMMDD" % text)


def parse_args():
    p = argparse.ArgumentParser(description="Enrol a pupil and record an absence at a regiebus school node.")
    p.add_argument("--api", required=True, help="the node's api/endpoint, e.g. ipc:///run/regiebus/school-a.api")
    p.add_argument("--cert", help="tcp:// API: this client's certificate (the NAME.cert_secret file)")
    p.add_argument("--server-key", help="tcp:// API: the node's public key (Z85)")
    p.add_argument("--pb-dir", help="generated *_pb2.py modules to use instead of running protoc")
    p.add_argument("--proto-dir", default=os.path.normpath(os.path.join(HERE, "..", "..", "..", "proto")),
                   help="where proto/*.proto are (default: this checkout's)")
    p.add_argument("--pupil", required=True, help="the school system's pupil id")
    p.add_argument("--bsn", required=True, help="citizen number (stays on the school's node)")
    p.add_argument("--born", required=True, type=date_arg, help="birth date YYYYMMDD (stays on the node)")
    p.add_argument("--municipality", required=True, help="CBS code of the home municipality, e.g. 0363")
    p.add_argument("--since", type=date_arg, default=0, help="enrolled on YYYYMMDD (default: today)")
    p.add_argument("--name", default="", help="the pupil's name as the school's users know it")
    p.add_argument("--date", type=date_arg, default=int(datetime.date.today().strftime("%Y%m%d")),
                   help="the school day of the absence (default: today)")
    p.add_argument("--minutes", type=int, default=0, help="absent minutes")
    p.add_argument("--lessons", type=int, default=0, help="absent lesson hours (when --minutes is 0)")
    p.add_argument("--reason", choices=sorted(REASONS), default="sick")
    p.add_argument("--key", help="the record's idempotency key (default: absence-PUPIL-DATE)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for each answer")
    args = p.parse_args()
    if args.minutes == 0 and args.lessons == 0:
        args.lessons = 1
    if args.api.startswith("tcp://") and not (args.cert and args.server_key):
        p.error("a tcp:// API needs --cert and --server-key")
    return args


def main():
    args = parse_args()
    pb = load_contract(args.pb_dir, args.proto_dir)
    node = NodeClient(pb, args.api, args.cert, args.server_key, args.timeout)
    try:
        enrol(node, pb, args)
        record_absence(node, pb, args)
    except Refused as e:
        print("school_client: refused: %s" % e, file=sys.stderr)
        return 1
    except NoAnswer as e:
        print("school_client: %s" % e, file=sys.stderr)
        return 3
    finally:
        node.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
