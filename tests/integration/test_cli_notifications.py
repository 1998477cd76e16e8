#!/usr/bin/python3
"""Notifications at a node, as `regiebus notifications` and `regiebus ack` show them.

Two bare nodes: a plays the municipality and submits NOTIFICATION
envelopes (payload Notification) for b's actors; b stores them (the
runtime does, whatever the daemon) and its users read them with the CLI.
Checks:
  - each notification is one block in plain words: local number, NEW or
    acknowledged (by whom, when), received time, from which node and where
    it started, the case (first 12 hex), what happened (a first absence, the
    16-hour threshold, a regie change, a parent's report), why b gets it
    (the role it holds), who else got it, what is expected by when; the
    listing ends with the counts;
  - --new, --case, --after and --limit filter and page; --json parses and
    carries the same facts;
  - `regiebus ack` acknowledges once; a second ack exits 1 naming
    FAILED_PRECONDITION and ack_notification.seq; an unknown number and a
    bad name are refused too; usage errors exit 2;
  - the same notification delivered again (same notification_id and role,
    a new idempotency key, so a new envelope) is stored once;
  - a NOTIFICATION whose payload does not decode is a dead letter
    (link_refused_malformed), one for another node is refused
    (link_refused_invalid_field), and b keeps taking the next ones;
  - the status counters notifications_new / notifications_acked follow.

Then a region of the real daemons (school-a, mun-a, care-a, portal-a),
driven only with the CLI: enrol, parent link, involve, consent give and
show, attendance (one record and a CSV file), parent report, close-day,
case and regie answer in
plain words (and a refusal names its field, a CSV refusal its line); the
notifications that reach each node name the child as that node knows it,
in parentheses after the case.
"""

import datetime
import hashlib
import json
import os

import rbtest
from rbtest import check, check_eq, log
from test_python_client import BSN, school_day

CASE1 = hashlib.sha256(b"cli notifications case one").hexdigest()
CASE2 = hashlib.sha256(b"cli notifications case two").hexdigest()


def notifications(pb):
    """The notifications a sends to b's actors: (case, Notification)."""
    also = [pb.Actor(node="portal-a", role=pb.PARENT), pb.Actor(node="care-a", role=pb.JEUGDHULP)]
    mentor = pb.Actor(node="b", role=pb.SCHOOL_MENTOR)
    first = pb.Notification(
        notification_id=os.urandom(16), subject=pb.ABSENCE_SIGNAL,
        absence=pb.AbsenceSignal(signal=pb.FIRST_ABSENCE, episode=1, date=20261123,
                                 episode_started=20261123, reason=pb.SICK, school_location="12AB00"),
        recipient=mentor, also_sent_to=also, expected=pb.CONTACT_PARENTS, expected_by=20261124,
        from_node="school-a")
    joined = pb.Notification(
        notification_id=os.urandom(16), subject=pb.REGIE_CHANGE,
        regie_change=pb.RegieChange(actor=pb.Actor(node="mun-a", role=pb.LEERPLICHT), joined=True,
                                    since_ms=1795420800000, contact="leerplicht desk",
                                    reason="legal_threshold"),
        recipient=mentor, also_sent_to=also, expected=pb.NO_ACTION, from_node="mun-a")
    report = pb.Notification(
        notification_id=os.urandom(16), subject=pb.PARENT_REPORT,
        parent_report=pb.ParentReport(report=pb.PARENT_SICKNESS, from_date=20261123,
                                      until_date=20261125, code=12),
        recipient=mentor, also_sent_to=[also[1]], expected=pb.CONTACT_PARENTS, expected_by=20261125,
        from_node="portal-a")
    threshold = pb.Notification(
        notification_id=os.urandom(16), subject=pb.ABSENCE_SIGNAL,
        absence=pb.AbsenceSignal(signal=pb.LEGAL_THRESHOLD, episode=1, date=20261204,
                                 episode_started=20261123, reason=pb.UNEXCUSED,
                                 unexcused_minutes_4w=1020, absent_minutes_4w=1200),
        recipient=mentor, expected=pb.NO_ACTION, from_node="school-a")
    return [(CASE1, first), (CASE1, joined), (CASE2, report), (CASE1, threshold)]


def blocks(text):
    """The blocks of a listing, keyed by local number, and its last line."""
    out = {}
    current = None
    for line in text.splitlines():
        if line.startswith("#"):
            current = int(line[1:].split()[0])
            out[current] = []
        if current is not None and line.strip():
            out[current].append(line.strip())
        if not line.strip():
            current = None
    return out, text.strip().splitlines()[-1]


def expect_in(env, block, wanted, what):
    text = "\n".join(block)
    env.expect(wanted in text, "%s: %r not in\n%s" % (what, wanted, text))


class Sender:
    """a's submissions of notifications to b, each under a fresh key."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.sent = 0

    def send(self, case, payload):
        data = payload if isinstance(payload, bytes) else payload.SerializeToString()
        reply = self.a.api.submit([self.a.api.submission("n-%d" % self.sent, "b", data, case=case,
                                                          kind=self.a.env.pb.NOTIFICATION)])
        check_eq(reply.code, 0, "submit of notification %d (%s)" % (self.sent, reply.message))
        self.sent += 1
        rbtest.wait_delivered(self.a, self.b, self.sent, timeout=30)


def check_listing(env, b, sent):
    out = b.cli("notifications").stdout
    got, last = blocks(out)
    check_eq(sorted(got), [1, 2, 3, 4], "notification numbers listed")
    first, joined, report, threshold = got[1], got[2], got[3], got[4]
    check(first[0].startswith("#1  NEW  received ") and first[0].endswith("from a (started at school-a)"),
          "first line of #1: %r" % first[0])
    expect_in(env, first, "case %s\n" % CASE1[:12], "#1 case")
    expect_in(env, first, "First absence on 2026-11-23 (sick), episode 1", "#1 what")
    expect_in(env, first, "you hold regie as SCHOOL_MENTOR", "#1 why")
    expect_in(env, first, "also sent to: portal-a (PARENT), care-a (JEUGDHULP)", "#1 who else")
    expect_in(env, first, "expected: contact the parents by 2026-11-24", "#1 expected")
    expect_in(env, joined, "leerplicht (mun-a, LEERPLICHT) joined the case: legal_threshold "
              "(contact: leerplicht desk)", "#2 what")
    expect_in(env, joined, "expected: nothing, for your information", "#2 expected")
    check(joined[0].endswith("from a (started at mun-a)"), "first line of #2: %r" % joined[0])
    expect_in(env, report, "case %s" % CASE2[:12], "#3 case")
    expect_in(env, report, "Parent reports sickness from 2026-11-23 until 2026-11-25 (code 12)", "#3 what")
    expect_in(env, report, "also sent to: care-a (JEUGDHULP)", "#3 who else")
    expect_in(env, report, "expected: contact the parents by 2026-11-25", "#3 expected")
    expect_in(env, threshold, "Over 16 hours of unexcused absence in 4 weeks: 1020 min", "#4 what")
    expect_in(env, threshold, "also sent to: nobody else", "#4 who else")
    check_eq(last, "on this node: 4 new, 0 acknowledged", "last line of the listing")
    log("regiebus notifications shows the four in plain words:\n" + out)

    data = json.loads(b.cli("notifications", "--json").stdout)
    check_eq([i["seq"] for i in data["items"]], [1, 2, 3, 4], "seqs in --json")
    n = data["items"][0]["notification"]
    check_eq(n["notification_id"], sent[0][1].notification_id.hex(), "notification_id in --json")
    check_eq((n["subject"], n["absence"]["signal"], n["absence"]["reason"]),
             ("ABSENCE_SIGNAL", "FIRST_ABSENCE", "SICK"), "subject, signal and reason in --json")
    check_eq(n["recipient"], {"node": "b", "role": "SCHOOL_MENTOR"}, "recipient in --json")
    check_eq([x["node"] for x in n["also_sent_to"]], ["portal-a", "care-a"], "also_sent_to in --json")
    check_eq((data["items"][0]["origin"], data["items"][0]["case_pseudonym"], data["items"][0]["acknowledged"]),
             ("a", CASE1, False), "origin, case and state in --json")
    check_eq((data["new_count"], data["acked_count"], data["more"]), (4, 0, False), "counts in --json")
    log("--json carries the same facts")

    got, _ = blocks(b.cli("notifications", "--case", CASE2).stdout)
    check_eq(sorted(got), [3], "--case filter")
    out = b.cli("notifications", "--limit", "2").stdout
    got, _ = blocks(out)
    check_eq(sorted(got), [1, 2], "--limit 2")
    check("(more: continue with --after 2)" in out, "--limit 2 says how to go on: %r" % out)
    got, _ = blocks(b.cli("notifications", "--after", "2").stdout)
    check_eq(sorted(got), [3, 4], "--after 2")
    res = b.cli("notifications", "--case", "not-a-case", check_rc=False)
    check(res.returncode == 1 and "INVALID_FIELD" in res.stderr
          and "list_notifications.case_pseudonym" in res.stderr,
          "a bad --case: exit %d, %r" % (res.returncode, res.stderr))
    log("--case, --limit and --after filter and page; a bad pseudonym is refused")


def check_ack(env, b):
    res = b.cli("ack", "1", "--by", "jan.devries")
    check(res.stdout.startswith("notification 1 acknowledged by jan.devries at "), "ack printed %r" % res.stdout)
    res = b.cli("ack", "1", "--by", "piet", check_rc=False)
    check(res.returncode == 1 and "FAILED_PRECONDITION" in res.stderr and "ack_notification.seq" in res.stderr
          and len(res.stderr.strip().splitlines()) == 1,
          "second ack: exit %d, %r" % (res.returncode, res.stderr))
    check("jan.devries" in res.stderr, "the second ack's refusal names who acknowledged: %r" % res.stderr)
    res = b.cli("ack", "99", "--by", "piet", check_rc=False)
    check(res.returncode == 1 and "NOT_FOUND" in res.stderr and "ack_notification.seq" in res.stderr,
          "ack of an unknown number: exit %d, %r" % (res.returncode, res.stderr))
    res = b.cli("ack", "2", "--by", "piet de vries", check_rc=False)
    check(res.returncode == 1 and "INVALID_FIELD" in res.stderr and "ack_notification.by" in res.stderr,
          "ack with a bad name: exit %d, %r" % (res.returncode, res.stderr))
    for args in (["ack", "2"], ["ack", "two", "--by", "piet"], ["notifications", "--limit"],
                 ["notifications", "--bogus"]):
        res = b.cli(*args, check_rc=False)
        check(res.returncode == 2 and res.stderr.startswith("regiebus "),
              "`regiebus %s`: exit %d, %r" % (" ".join(args), res.returncode, res.stderr))
    log("ack: once; again FAILED_PRECONDITION, unknown NOT_FOUND, bad name INVALID_FIELD (exit 1); usage exit 2")

    got, last = blocks(b.cli("notifications").stdout)
    check(got[1][0].startswith("#1  acknowledged by jan.devries at "), "#1 after ack: %r" % got[1][0])
    check_eq(last, "on this node: 3 new, 1 acknowledged", "counts after the ack")
    got, _ = blocks(b.cli("notifications", "--new").stdout)
    check_eq(sorted(got), [2, 3, 4], "--new after acknowledging #1")
    counts = b.cli_status()["counters"]
    check_eq((counts["notifications_new"], counts["notifications_acked"]), (3, 1), "status counters after the ack")
    log("#1 shows who acknowledged it; --new leaves it out; status counts 3 new, 1 acknowledged")


def check_bad_input(env, a, b, sender, sent):
    pb = env.pb
    before = b.cli_status()["counters"]
    sender.send(CASE1, sent[0][1])     # the same notification again, under a new key
    after = b.cli_status()["counters"]
    check_eq(after["notifications_received"], before["notifications_received"],
             "notifications_received after a repeat")
    got, last = blocks(b.cli("notifications").stdout)
    check_eq(sorted(got), [1, 2, 3, 4], "notices after a repeat")
    check_eq(last, "on this node: 3 new, 1 acknowledged", "counts after a repeat")
    log("a repeat of #1 (same id and role, new envelope) is stored once")

    sender.send(CASE1, b"\xff\xff\xff not a Notification")
    elsewhere = pb.Notification()
    elsewhere.CopyFrom(sent[0][1])
    elsewhere.notification_id = os.urandom(16)
    elsewhere.recipient.node = "c"
    sender.send(CASE1, elsewhere)
    fine = pb.Notification()
    fine.CopyFrom(sent[3][1])
    fine.notification_id = os.urandom(16)
    sender.send(CASE2, fine)
    after = b.cli_status()["counters"]
    check_eq(after["link_refused_malformed"] - before["link_refused_malformed"], 1,
             "link_refused_malformed after an undecodable Notification")
    check_eq(after["link_refused_invalid_field"] - before["link_refused_invalid_field"], 1,
             "link_refused_invalid_field after a Notification for node c")
    check_eq((after["notifications_new"], after["notifications_acked"]), (4, 1), "status counters at the end")
    got, last = blocks(b.cli("notifications", "--new", "--case", CASE2).stdout)
    check_eq(sorted(got), [3, 5], "CASE2's new notifications at the end")
    check_eq(last, "on this node: 4 new, 1 acknowledged", "counts at the end")
    check(b.running(), "b stopped")
    log("undecodable and misaddressed notifications are dead letters; b stores the next one as #5")


SCHOOL_NAME = "Sanne Bakker"


def region(env):
    """school-a, care-a and portal-a, each a peer of mun-a, all started."""
    key_path, key = rbtest.region_key(env)
    mun = env.node("mun-a", daemon="municipality", municipality__leerplicht_contact="Leerplicht 020-5550000")
    school = env.node("school-a", daemon="school", school__location="12AB00", homes__0363="mun-a",
                      region__key_file=key_path)
    care = env.node("care-a", daemon="care", care__municipality="mun-a", region__key_file=key_path)
    portal = env.node("portal-a", daemon="portal", portal__municipality="mun-a", region__key_file=key_path)
    for n in (school, care, portal):
        n.add_peer(mun)
        mun.add_peer(n)
    for n in (mun, school, care, portal):
        n.start()
    return key, mun, school, care, portal


def said(node, args, wanted):
    """`regiebus ARGS` at node exits 0 and prints every text of wanted."""
    out = node.cli(*args).stdout
    for text in wanted:
        check(text in out, "`regiebus %s` at %s printed %r, without %r" % (" ".join(args), node.name, out, text))
    return out


def refused(node, args, code, field):
    res = node.cli(*args, check_rc=False)
    check(res.returncode == 1 and code in res.stderr and ("field=%s:" % field) in res.stderr,
          "`regiebus %s` at %s: exit %d, %r; expected %s on %s" % (
              " ".join(args), node.name, res.returncode, res.stderr, code, field))
    return res.stderr


def notices_at(node, case, count, *filters):
    """node's notifications about case, once there are count of them."""
    def enough():
        data = json.loads(node.cli("notifications", "--case", case, "--json", *filters).stdout)
        return data["items"] if len(data["items"]) >= count else None
    rbtest.wait_until(enough, 20, "%d notifications at %s" % (count, node.name), interval=0.25)
    return node.cli("notifications", "--case", case, *filters).stdout


def check_region(env):
    key, mun, school, care, portal = region(env)
    day = school_day()
    date = day.strftime("%Y%m%d")
    text_date = day.strftime("%Y-%m-%d")
    since = (day - datetime.timedelta(days=14)).strftime("%Y%m%d")
    case = rbtest.pseudonym(key, BSN)
    said(school, ["enrol", "--id", "1001", "--bsn", BSN, "--born", "20150301", "--municipality", "0363",
                  "--since", since, "--name", SCHOOL_NAME],
         ["enrolled 1001: case %s, home municipality node mun-a" % case])
    refused(school, ["enrol", "--id", "1002", "--bsn", BSN[:-1] + "4", "--born", "20150301",
                     "--municipality", "0363"], "INVALID_FIELD", "pupils[0].citizen_number")
    said(portal, ["parent", "link", "--account", "ouder.1", "--bsn", BSN, "--child", "Sanne"],
         ["linked account ouder.1 to case %s" % case])
    said(care, ["involve", "--bsn", BSN, "--role", "jeugdhulp", "--contact", "Jeugdhulp Noord",
                "--name", "S. Bakker"], ["involvement as JEUGDHULP registered on case %s" % case])
    refused(care, ["involve", "--case", case, "--role", "parent"], "INVALID_FIELD", "involvement.role")
    log("CLI: enrol, parent link and involve answered; refusals name pupils[0].citizen_number, involvement.role")

    # The case needs the school, the parents and care on it before the absence fans out.
    rbtest.wait_until(lambda: len(json.loads(mun.cli("case", case, "--json").stdout)["holders"]) == 3
                      or None, 20, "three holders on the case at mun-a", interval=0.25)
    # Care hears of the absence only with the parents' consent, applied at mun-a first.
    said(portal, ["consent", "give", "--account", "ouder.1", "--bsn", BSN, "--type", "jeugdhulp"],
         ["consent for JEUGDHULP given on case %s" % case])
    rbtest.wait_until(lambda: json.loads(mun.cli("consent", "show", "--case", case, "--json").stdout)
                      ["consents"][0]["given"] or None, 20, "the consent applied at mun-a", interval=0.25)
    said(school, ["attendance", "--key", "k1", "--pupil", "1001", "--date", date, "--minutes", "50",
                  "--reason", "sick"], ["k1 (pupil 1001, %s): recorded; signals raised: FIRST_ABSENCE" % text_date])
    records = os.path.join(env.dir, "records.csv")
    with open(records, "w") as f:
        f.write("key,pupil,date,minutes,lessons,present,reason\nk2,1001,%s,10,,,late\nk3,1009,%s,,1,,sick\n"
                % (date, date))
    err = refused(school, ["attendance", "--file", records], "NOT_FOUND", "records[1].local_id")
    check("records[1] is line 3 of %s" % records in err, "the CSV refusal names the line: %r" % err)
    said(portal, ["parent", "report", "--key", "r1", "--account", "ouder.1", "--bsn", BSN, "--kind", "sickness",
                  "--from", date], ["report sent on case %s" % case])
    said(school, ["close-day", date], ["closed %s: " % text_date])
    out = said(mun, ["case", case], ["case %s, opened " % case, "SCHOOL_MENTOR", "PARENT", "JEUGDHULP"])
    said(mun, ["regie", "--case", case, "--node", "care-a", "--role", "casusregisseur", "--contact", "desk 7"],
         ["care-a holds CASUSREGISSEUR on case %s; the holders are told" % case])
    refused(mun, ["regie", "--case", case, "--node", "elsewhere", "--role", "wijkteam"],
            "UNKNOWN_PEER", "regie.actor.node")
    log("CLI: attendance (FIRST_ABSENCE; a CSV refusal names its line), parent report, close-day, case, regie:\n"
        + out)

    # Joins of school, portal, care and the casusregisseur, the absence, the report.
    out = notices_at(school, case, 6)
    for text in ("case %s (%s)" % (case[:12], SCHOOL_NAME), "First absence on %s (sick), episode 1" % text_date,
                 "you hold regie as SCHOOL_MENTOR", "portal-a (PARENT)", "care-a (JEUGDHULP)",
                 "expected: contact the parents by ", "Parent reports sickness from %s" % text_date,
                 "casusregisseur (care-a, CASUSREGISSEUR) joined the case: staff (contact: desk 7)"):
        env.expect(text in out, "school-a's notifications lack %r:\n%s" % (text, out))
    log("at school-a:\n" + out)
    out = notices_at(care, case, 4, "--new")
    env.expect("case %s (S. Bakker)" % case[:12] in out and "you hold regie as JEUGDHULP" in out,
               "care-a's notifications: %s" % out)
    out = notices_at(portal, case, 3, "--account", "ouder.1")
    env.expect("case %s (Sanne)" % case[:12] in out and "you hold regie as PARENT" in out,
               "portal-a's notifications for ouder.1: %s" % out)
    log("care-a and portal-a name the child as they know it: (S. Bakker), (Sanne)")


def main(env):
    a, b = env.pair(a_settings={"plays": "municipality"})
    b.start()
    a.start()
    sent = notifications(env.pb)
    sender = Sender(a, b)
    for case, n in sent:
        sender.send(case, n)
    counts = b.cli_status()["counters"]
    check_eq((counts["notifications_new"], counts["notifications_acked"], counts["notifications_received"]),
             (4, 0, 4), "b's notification counters after four")
    check_listing(env, b, sent)
    check_ack(env, b)
    check_bad_input(env, a, b, sender, sent)
    check_region(env)


if __name__ == "__main__":
    rbtest.run("cli_notifications", main)
