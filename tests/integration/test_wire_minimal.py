#!/usr/bin/python3
"""Minimal data on the wire: no citizen number, name or birth date crosses
a node boundary.

The whole story of test_need_to_know (six real daemons: enrolments, care's
involvement, parents linking and reporting, absences up to the legal
threshold, staff assigning and releasing, a pupil leaving) runs with every
node on a test clock and node/capture_file set: each node appends every
peer frame it receives, as decrypted from CURVE, to a file of its own. So
every frame that crossed a node boundary is in one of the six files, in
the clear. Checks:

  - the captures hold link frames of every kind of traffic (batches with
    ENROLMENT, ABSENCE_SIGNAL, INVOLVEMENT, PARENT_LINK, PARENT_REPORT and
    NOTIFICATION envelopes, acks, pings);
  - none of their bytes holds a citizen number, a pupil's, client's or
    child's name, a parent account or the birth date given to any API, in
    any of the encodings searched: UTF-8 as given, lower and upper case,
    UTF-16 (both byte orders), base64, hex text, the number as a protobuf
    varint and as a 4-byte integer (both byte orders), the date as
    YYYYMMDD, YYYY-MM-DD, DD-MM-YYYY and DD/MM/YYYY;
  - the search works: the same encodings of what may cross (a case
    pseudonym, a school day's date as a varint, the school location) are
    found.
A node refuses node/capture_file unless its clock is a test clock.
"""

import base64
import os
import struct

import rbtest
from rbtest import check, log
from test_need_to_know import Region, scenario
from test_school import use_school_time_zone, varint


def text_forms(text):
    """The encodings of a string searched for."""
    forms = set()
    for t in {text, text.lower(), text.upper()}:
        forms |= {t.encode(), t.encode("utf-16-le"), t.encode("utf-16-be"),
                  base64.b64encode(t.encode()), t.encode().hex().encode()}
    return forms


def number_forms(n):
    """A number as text and as a protobuf varint and 4-byte integers."""
    forms = text_forms(str(n)) | {varint(n)}
    if n < 2 ** 32:
        forms |= {struct.pack("<I", n), struct.pack(">I", n)}
    return forms


def date_forms(ymd):
    y, m, d = ymd // 10000, ymd // 100 % 100, ymd % 100
    forms = number_forms(ymd)
    for t in ("%04d-%02d-%02d" % (y, m, d), "%02d-%02d-%04d" % (d, m, y), "%02d/%02d/%04d" % (d, m, y)):
        forms |= text_forms(t)
    return forms


def read_frames(path):
    frames = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at + 4 <= len(data):
        size = struct.unpack(">I", data[at:at + 4])[0]
        frames.append(data[at + 4:at + 4 + size])
        at += 4 + size
    check(at == len(data), "%s ends inside a record (%d of %d bytes)" % (path, at, len(data)))
    return frames


def census(pb, frames):
    """Link frame bodies and envelope kinds seen in the captured frames."""
    bodies, kinds = {}, {}
    for raw in frames:
        f = pb.LinkFrame()
        f.ParseFromString(raw)
        body = f.WhichOneof("body")
        bodies[body] = bodies.get(body, 0) + 1
        if body == "batch":
            for data in f.batch.envelopes:
                e = pb.Envelope()
                e.ParseFromString(data)
                name = pb.EventKind.Name(e.kind)
                kinds[name] = kinds.get(name, 0) + 1
    return bodies, kinds


def main(env):
    use_school_time_zone()
    pb = env.pb
    r = Region(env)
    captures = {}
    for n in r.all():
        captures[n.name] = os.path.join(env.dir, n.name + ".frames")
        n.settings["node"]["clock"] = "test"
        n.settings["node"]["capture_file"] = captures[n.name]
    probe = r.all()[0]
    probe.settings["node"]["clock"] = "wall"
    rbtest.check_config_refused(env, probe, [], "node/capture_file")
    probe.settings["node"]["clock"] = "test"
    log("node/capture_file on a wall clock: exit 2 naming the key")
    r.start()
    got = scenario(env, r)

    frames = []
    for name, path in captures.items():
        mine = read_frames(path)
        check(mine, "%s captured no frames" % name)
        frames += mine
    bodies, kinds = census(pb, frames)
    log("captured %d frames, %d bytes: %s; envelopes %s" % (
        len(frames), sum(len(f) for f in frames), bodies, kinds))
    for body in ("batch", "ack", "ping"):
        check(bodies.get(body), "no %s frame captured" % body)
    for kind in ("ENROLMENT", "ABSENCE_SIGNAL", "INVOLVEMENT", "PARENT_LINK", "PARENT_REPORT", "NOTIFICATION"):
        check(kinds.get(kind), "no %s envelope captured" % kind)

    forbidden = {}
    for who, number in got["numbers"].items():
        for form in number_forms(int(number)) | text_forms(number):
            forbidden[form] = "%s's citizen number" % who
    for name in got["names"] + ["ouder-1", "ouder-2"]:
        for form in text_forms(name):
            forbidden[form] = "the name or account %r" % name
    for form in date_forms(got["birth_date"]):
        forbidden[form] = "the birth date %d" % got["birth_date"]
    blob = b"\x00".join(frames)
    found = sorted(set("%s (as %r)" % (what, form) for form, what in forbidden.items() if form in blob))
    check(not found, "personal data on the wire: %s" % "; ".join(found[:10]))
    log("%d encodings of citizen numbers, names, accounts and the birth date: none in any frame"
        % len(forbidden))

    allowed = {"a case pseudonym": text_forms(got["cases"]["sanne"]),
               "a school day (varint)": {varint(got["school_day"])},
               "the school location": text_forms("12AB00")}
    for what, forms in allowed.items():
        check(any(form in blob for form in forms), "the search did not find %s" % what)
    log("the same search finds what may cross: %s" % ", ".join(allowed))


if __name__ == "__main__":
    rbtest.run("wire_minimal", main)
