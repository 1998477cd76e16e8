#!/usr/bin/python3
"""The Python example client (deploy/examples/python/school_client.py)
against a real regiebus-school.

regiebus-school "school-a" (location 12AB00, home 0363 -> mun-a) and a bare
regiebus-node "mun-a" standing in for the municipality. The example runs
with /usr/bin/python3 as an integrator would run it. Checks:
  - it enrols a pupil and records an absence, printing the case pseudonym
    (the keyed BLAKE2b-256 of the citizen number) and the signals raised
    (FIRST_ABSENCE); it generates the contract's Python code itself;
  - mun-a received, from school-a, an ENROLMENT and an ABSENCE_SIGNAL
    FIRST_ABSENCE for exactly that pseudonym, with the absence's date;
  - run again with the same arguments (and the generated code from
    --pb-dir), both calls come back with the first outcome and
    duplicate=yes, and nothing more reaches mun-a: retrying is safe;
  - a citizen number failing the 11-check is refused: exit 1, the code and
    the field pupils[0].citizen_number on stderr, nothing sent.
"""

import datetime
import os
import subprocess
import time

import rbtest
from rbtest import check, check_eq, log

CLIENT = os.path.join(rbtest.TOP, "deploy", "examples", "python", "school_client.py")
BSN = "111222333"
TZ = "Europe/Amsterdam"


def school_day():
    """The latest weekday up to today: a school day that is not in the future."""
    day = datetime.date.today()
    while day.weekday() >= 5:
        day -= datetime.timedelta(days=1)
    return day


def ymd(day):
    return int(day.strftime("%Y%m%d"))


def run_client(env, school, *extra, pupil="1001", bsn=BSN):
    day = school_day()
    args = ["/usr/bin/python3", CLIENT, "--api", school.api_endpoint, "--pupil", pupil, "--bsn", bsn,
            "--born", "20150301", "--municipality", "0363", "--name", "Sanne Bakker",
            "--since", str(ymd(day - datetime.timedelta(days=14))), "--date", str(ymd(day)),
            "--minutes", "50", "--reason", "sick"] + list(extra)
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise rbtest.TestFailure("school_client.py did not finish within 60 s")
    log("school_client.py %s -> exit %d\n%s%s" % (" ".join(extra), res.returncode, res.stdout, res.stderr))
    return res


def field(line, name):
    """The value of name=value in a printed line."""
    for word in line.split():
        if word.startswith(name + "="):
            return word[len(name) + 1:]
    raise rbtest.TestFailure("no %s= in %r" % (name, line))


def main(env):
    pb = env.pb
    os.environ["TZ"] = TZ           # the daemons' today is the test's today
    time.tzset()
    key_path, key = rbtest.region_key(env)
    mun = env.node("mun-a")
    school = env.node("school-a", daemon="school", school__location="12AB00", homes__0363="mun-a",
                      region__key_file=key_path)
    school.add_peer(mun)
    mun.add_peer(school)
    mun.start()
    school.start()

    res = run_client(env, school)
    check_eq(res.returncode, 0, "school_client.py exit code (stderr %r)" % res.stderr)
    lines = res.stdout.splitlines()
    check_eq(len(lines), 2, "lines printed")
    case = field(lines[0], "case_pseudonym")
    check_eq(case, rbtest.pseudonym(key, BSN), "printed pseudonym vs keyed BLAKE2b of the citizen number")
    check_eq((field(lines[0], "municipality_node"), field(lines[0], "duplicate")), ("mun-a", "no"),
             "enrolment reply")
    check_eq((field(lines[1], "signals"), field(lines[1], "duplicate")), ("FIRST_ABSENCE", "no"),
             "attendance reply")
    log("the client enrolled the pupil (case %s...) and raised FIRST_ABSENCE" % case[:12])

    def arrived():
        events = mun.api.received_all("school-a")
        return events if len(events) >= 2 else None
    events = rbtest.wait_until(arrived, 20, "ENROLMENT and ABSENCE_SIGNAL at mun-a")
    check_eq([(e.kind, e.case_pseudonym) for e in events], [(pb.ENROLMENT, case), (pb.ABSENCE_SIGNAL, case)],
             "kinds and cases at mun-a")
    signal = pb.AbsenceSignal()
    signal.ParseFromString(events[1].payload)
    check_eq((signal.signal, signal.date, signal.reason, signal.school_location),
             (pb.FIRST_ABSENCE, ymd(school_day()), pb.SICK, "12AB00"), "AbsenceSignal at mun-a")
    for e in events:
        check(BSN.encode() not in e.SerializeToString() and b"Sanne" not in e.SerializeToString(),
              "the citizen number or the name is on the wire")
    log("mun-a holds the ENROLMENT and the FIRST_ABSENCE signal for that pseudonym, and no personal data")

    res = run_client(env, school, "--pb-dir", os.path.join(env.dir, "pb"))
    check_eq(res.returncode, 0, "second run exit code (stderr %r)" % res.stderr)
    lines = res.stdout.splitlines()
    check_eq((field(lines[0], "case_pseudonym"), field(lines[0], "duplicate")), (case, "yes"),
             "enrolment repeated")
    check_eq((field(lines[1], "signals"), field(lines[1], "duplicate")), ("FIRST_ABSENCE", "yes"),
             "absence repeated: the first outcome again")
    res = run_client(env, school, pupil="1002", bsn=BSN[:-1] + "4")
    check(res.returncode == 1 and "INVALID_FIELD" in res.stderr and "pupils[0].citizen_number" in res.stderr,
          "a bad citizen number: exit %d, stderr %r" % (res.returncode, res.stderr))
    st = school.status()
    check_eq(rbtest.peer(st, "mun-a").last_assigned_seq, 2, "envelopes school-a assigned to mun-a")
    rbtest.wait_delivered(school, mun, 2, timeout=20)
    check_eq(len(mun.api.received_all("school-a")), 2, "envelopes at mun-a after the repeat and the refusal")
    log("a repeat is answered duplicate=yes and sends nothing; a bad citizen number is refused (exit 1)")


if __name__ == "__main__":
    rbtest.run("python_client", main)
