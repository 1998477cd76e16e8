#!/usr/bin/python3
"""The README's first quick-start command, run as a person would.

Runs deploy/demo/run with REGIEBUS_DEMO_DIR in a temporary directory and
reads what it prints, step by step, node by node (the watcher's lines
"  [NODE] | ..."). Checks:
  - exit 0, in well under a minute after the build;
  - 1: each school hears of its own pupils' new cases only (the school
    joining as mentor), under the names it gave them;
  - 2: care joining reaches school-a and care-a, the parent joining
    school-a, care-a and portal-a, the parent's consent for JEUGDHULP
    care-a;
  - 3: Sanne's first absence, on the first of the five weekdays before
    today, reaches school-a ("Sanne Jansen", contact the parents by the
    next weekday), portal-a ("Sanne", contact the school by then) and
    care-a (the team's own name, nothing expected), each naming the role
    it holds and who else got it; nothing at school-b or mun-a;
  - 4: the parent's sickness report reaches every holder, the school too;
  - 5: the streak, leerplicht joining and the threshold (1200 min) reach
    school-a, care-a and portal-a; mun-a lists leerplicht's own join and
    the threshold, assess the case within 5 weekdays;
  - 6: Noor's absence lands at school-b only; her case appears at no
    other node in the whole run, Sanne's never at school-b;
  - 7: leerplicht's action plan (owner school-a, a one-week milestone)
    reaches every holder and mun-a;
  - 8: with mun-a's clock 8 days on, the missed milestone reaches every
    holder once as STALLED (stall 1 on the case), and school-a, the
    owner, was reminded before it;
  - 9-11: mun-a's clock at 4, 8 and 12 weeks since Sanne's first absent
    day: escalation level 1 (a casusregisseur must be assigned), the
    doorbraakteam joining (level 2), thuiszitter (level 3), each at every
    holder and mun-a's duty desk; `regiebus case` shows the thuiszitter;
  - every node's notifications are printed once each, numbered 1..N
    without gaps, and N is the count its `regiebus status` gives in the
    summary; the register at mun-a shows Sanne's five holders; the end
    says how to inspect and stop;
  - `deploy/demo/run stop`: every daemon process is gone, the pid files
    too, each log ends with a clean stop and no log holds a sanitizer
    report;
  - the annotated example configs in deploy/examples/ are accepted by
    their daemons (paths, ports and peer keys overridden with --set).
"""

import datetime
import os
import re
import subprocess
import time
from zoneinfo import ZoneInfo

import rbtest
from rbtest import check, check_eq, log
from test_school import weekdays_before

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
RUN = os.path.join(TOP, "deploy", "demo", "run")
NODES = ("mun-a", "school-a", "school-b", "care-a", "portal-a")
HOLDERS = ("school-a", "care-a", "portal-a")
STEPS = range(1, 13)


# ---------------------------------------------------------------------------
#  Reading the demo's output

def weekdays_after(day, count):
    while count:
        day += datetime.timedelta(days=1)
        count -= day.weekday() < 5
    return day


def landings(out):
    """{step: {node: [block text]}} from the watcher's lines; step 0 is
    whatever came before step 1."""
    steps = {0: {}}
    step = 0
    for line in out.splitlines():
        heading = re.match(r"^== (\d+)\. ", line)
        if heading:
            step = int(heading.group(1))
            steps[step] = {}
            continue
        m = re.match(r"^  \[([a-z0-9-]+)\] *\| (.*)$", line)
        if not m:
            continue
        node, text = m.groups()
        blocks = steps[step].setdefault(node, [])
        if text.startswith("#"):
            blocks.append(text)
        else:
            check(blocks, "a watcher line at %s outside a block: %r" % (node, line))
            blocks[-1] += "\n" + text.strip()
    return steps


class Reader:
    """Checks on what landed, collected so that every miss is reported."""

    def __init__(self, env, steps):
        self.env = env
        self.steps = steps

    def blocks(self, step, node):
        return self.steps.get(step, {}).get(node, [])

    def landed(self, step, node, *texts):
        found = any(all(t in b for t in texts) for b in self.blocks(step, node))
        self.env.expect(found, "step %d: no notification at %s says %r; it got:\n%s" % (
            step, node, texts, "\n\n".join(self.blocks(step, node)) or "(nothing)"))

    def only_at(self, step, nodes):
        for node in NODES:
            if node not in nodes:
                self.env.expect(not self.blocks(step, node), "step %d: %s got what it must not see:\n%s" % (
                    step, node, "\n\n".join(self.blocks(step, node))))

    def never_at(self, case, nodes, unless=()):
        """No block about case at nodes, but those holding a text of unless."""
        for step in self.steps:
            for node in nodes:
                for block in self.blocks(step, node):
                    if any(t in block for t in unless):
                        continue
                    self.env.expect("case %s" % case[:12] not in block,
                                    "step %d: %s got a notification about case %s:\n%s" % (
                                        step, node, case[:12], block))


def case_of(out, local_id):
    m = re.search(r"enrolled %s: case ([0-9a-f]{64}), home municipality node mun-a" % local_id, out)
    check(m, "the demo does not print %s's enrolment" % local_id)
    return m.group(1)


# ---------------------------------------------------------------------------
#  The checks

def check_steps(env, out, days):
    d1, d2, d3, d4, d5 = (d.strftime("%Y-%m-%d") for d in days)
    sanne, daan, noor = case_of(out, "a-1001"), case_of(out, "a-1002"), case_of(out, "b-2001")
    r = Reader(env, landings(out))
    check_eq(sorted(r.steps), [0] + list(STEPS), "the steps the demo printed")
    r.only_at(0, ())

    r.landed(1, "school-a", "case %s (Sanne Jansen)" % sanne[:12],
             "school mentor (school-a, SCHOOL_MENTOR) joined the case: enrolment")
    r.landed(1, "school-a", "case %s (Daan de Boer)" % daan[:12], "joined the case: enrolment")
    r.landed(1, "school-b", "case %s (Noor Bakker)" % noor[:12],
             "school mentor (school-b, SCHOOL_MENTOR) joined the case: enrolment")
    r.only_at(1, ("school-a", "school-b"))
    log("1: each school heard of its own pupils' cases, under its own names")

    for node in ("school-a", "care-a"):
        r.landed(2, node, "case %s" % sanne[:12], "jeugdhulp (care-a, JEUGDHULP) joined the case: involvement")
    for node in HOLDERS:
        r.landed(2, node, "case %s" % sanne[:12], "parent (portal-a, PARENT) joined the case: parent_link")
    r.landed(2, "care-a", "case %s (S. Jansen (dossier J-4471))" % sanne[:12])
    r.landed(2, "care-a", "case %s" % sanne[:12], "The parents consent to sharing this case with JEUGDHULP")
    r.landed(2, "portal-a", "case %s (Sanne)" % sanne[:12])
    r.only_at(2, HOLDERS)
    log("2: care's and the parent's joins reached the holders of Sanne's case, the consent care-a")

    first = "First absence on %s (sick), episode 1" % d1
    by = weekdays_after(days[0], 1).strftime("%Y-%m-%d")
    r.landed(3, "school-a", "case %s (Sanne Jansen)" % sanne[:12], first, "you hold regie as SCHOOL_MENTOR",
             "also sent to: care-a (JEUGDHULP), portal-a (PARENT)", "expected: contact the parents by %s" % by)
    r.landed(3, "portal-a", "case %s (Sanne)" % sanne[:12], first, "you hold regie as PARENT",
             "also sent to: care-a (JEUGDHULP), school-a (SCHOOL_MENTOR)",
             "expected: contact the school by %s" % by)
    r.landed(3, "care-a", "case %s (S. Jansen (dossier J-4471))" % sanne[:12], first,
             "you hold regie as JEUGDHULP", "also sent to: portal-a (PARENT), school-a (SCHOOL_MENTOR)",
             "expected: nothing, for your information")
    r.only_at(3, HOLDERS)
    log("3: the first absence on %s reached school-a, portal-a and care-a, each with its role and deadline" % d1)

    report = "Parent reports sickness from %s until %s" % (d1, d1)
    for node, role in (("school-a", "SCHOOL_MENTOR"), ("care-a", "JEUGDHULP"), ("portal-a", "PARENT")):
        r.landed(4, node, "case %s" % sanne[:12], report, "you hold regie as %s" % role)
    r.only_at(4, HOLDERS)
    log("4: the parent's report reached every holder, the school included")

    streak = "Absent 3 school days in a row up to %s" % d3
    threshold = "Over 16 hours of unexcused absence in 4 weeks: 1200 min (on %s, episode 1)" % d5
    joined = "leerplicht (mun-a, LEERPLICHT) joined the case: legal_threshold"
    for node in HOLDERS:
        for text in (streak, joined, threshold, "Absent again on %s" % d2, "Absent again on %s" % d4):
            r.landed(5, node, "case %s" % sanne[:12], text)
    assess = "expected: assess the case by %s" % weekdays_after(days[4], 5).strftime("%Y-%m-%d")
    r.landed(5, "mun-a", "case %s\n" % sanne[:12], threshold, "you hold regie as LEERPLICHT", assess)
    r.landed(5, "mun-a", "case %s\n" % sanne[:12], joined, "you hold regie as LEERPLICHT",
             "expected: assess the case by ")
    r.only_at(5, HOLDERS + ("mun-a",))
    log("5: streak, leerplicht's join and the 16-hour threshold reached every holder and leerplicht at mun-a")

    r.landed(6, "school-b", "case %s (Noor Bakker)" % noor[:12], "First absence on %s (unexcused)" % d5,
             "you hold regie as SCHOOL_MENTOR", "also sent to: nobody else")
    check_eq(len(r.blocks(6, "school-b")), 1, "notifications at school-b in step 6")
    r.only_at(6, ("school-b",))
    #  Noor stays absent too: her case climbs the ladder, so the duty desk
    #  (and from 8 weeks the doorbraakteam) at mun-a hear of it, as they must.
    r.never_at(noor, ("mun-a", "school-a", "care-a", "portal-a"),
               unless=("you hold regie as DUTY_DESK", "you hold regie as DOORBRAAKTEAM"))
    r.never_at(sanne, ("school-b",))
    r.never_at(daan, ("mun-a", "school-b", "care-a", "portal-a"))
    check("nothing about Noor landed at school-a, care-a, portal-a or mun-a" in out,
          "the demo does not state the need-to-know check")
    log("6: Noor's absence landed at school-b only; no other node ever heard of her case")

    registered = "Plan 1 (action plan) registered by leerplicht (mun-a, LEERPLICHT)"
    for node in HOLDERS + ("mun-a",):
        r.landed(7, node, "case %s" % sanne[:12], registered, "owner school mentor (school-a, SCHOOL_MENTOR)")
    r.only_at(7, HOLDERS + ("mun-a",))
    log("7: the plan's registration reached every holder")

    week = (datetime.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
            + datetime.timedelta(days=7)).strftime("%Y-%m-%d")
    stalled = "Plan 1 (action plan) STALLED: milestone 1 'education plan from the school' (due %s)" % week
    for node in HOLDERS + ("mun-a",):
        r.landed(8, node, "case %s" % sanne[:12], stalled, "stall 1 on this case")
        check_eq(sum(stalled in b for b in r.blocks(8, node)), 1, "stalled notifications at %s" % node)
    r.landed(8, "school-a", "Reminder: Plan 1 (action plan), milestone 1", "expected: assess the case by ")
    r.only_at(8, HOLDERS + ("mun-a", "school-b"))    # school-b: a reminder about Noor
    log("8: the missed one-week milestone reached every holder once, the owner reminded before it")

    ladder = {9: ("Escalation level 1: absent", "a casusregisseur must be assigned"),
              10: ("Escalation level 2: absent 8 weeks", "the doorbraakteam joins the case"),
              11: ("Escalation level 3: absent 12 weeks", "registered as thuiszitter")}
    for step, texts in ladder.items():
        for node in HOLDERS + ("mun-a",):
            r.landed(step, node, "case %s" % sanne[:12], *texts)
        r.landed(step, "mun-a", texts[0], "you hold regie as DUTY_DESK")
        r.only_at(step, HOLDERS + ("mun-a", "school-b"))    # school-b: Noor's own ladder
    for node in HOLDERS + ("mun-a",):
        r.landed(10, node, "doorbraakteam (mun-a, DOORBRAAKTEAM) joined the case: doorbraakteam")
    check("THUISZITTER since" in out, "mun-a's case shows the thuiszitter")
    log("9-11: 4, 8 and 12 weeks: level 1, the doorbraakteam joining, thuiszitter, at every holder and the duty desk")
    return r, sanne


def check_summary(env, out, reader, sanne, region):
    counts = {}
    for m in re.finditer(r"^  (\S+) +(\S+) +(\d+) notifications \((\d+) new, (\d+) acknowledged\), "
                         r"(\d+) of (\d+) peers up$", out, re.M):
        node, _, total, new, _, up, peers = m.groups()
        counts[node] = int(total)
        env.expect(int(new) == int(total), "%s: all its notifications should be new" % node)
        env.expect(up == peers, "%s: %s of %s peers up at the end" % (node, up, peers))
    check_eq(sorted(counts), sorted(NODES), "nodes in the summary")
    for node in NODES:
        numbers = [int(b.split()[0][1:]) for step in reader.steps for b in reader.blocks(step, node)]
        env.expect(numbers == list(range(1, counts[node] + 1)),
                   "%s: the watcher printed %s, status counts %d" % (node, numbers, counts[node]))
    log("every notification was printed once, as `regiebus status` counts them: %s" % counts)
    register = out[out.index("the regie register of Sanne's case"):]
    for role, node in (("JEUGDHULP", "care-a"), ("LEERPLICHT", "mun-a"), ("PARENT", "portal-a"),
                       ("SCHOOL_MENTOR", "school-a"), ("DOORBRAAKTEAM", "mun-a")):
        env.expect(re.search(r"^ +%s +%s " % (role, node), register, re.M),
                   "the register lacks %s at %s:\n%s" % (role, node, register))
    check("case %s, opened " % sanne in register, "the register names the case")
    for text in ("notifications:  regiebus -c ", "logs:", "stop:           REGIEBUS_DEMO_DIR=%s %s stop" % (
            region, RUN)):
        check(text in out, "the end of the demo lacks %r" % text)
    log("the summary, Sanne's register and how to inspect and stop are printed")


def check_stop(env, region):
    pids = {}
    for node in NODES:
        with open(os.path.join(region, node + ".pid")) as f:
            pids[node] = int(f.read())
    res = subprocess.run([RUN, "stop"], env=dict(os.environ, REGIEBUS_DEMO_DIR=region),
                         capture_output=True, text=True, timeout=120)
    check(res.returncode == 0 and "stopped" in res.stdout, "demo stop: exit %d, %r %r" % (
        res.returncode, res.stdout, res.stderr))

    def gone(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True
    rbtest.wait_until(lambda: all(gone(p) for p in pids.values()), 15, "every daemon of the demo to exit")
    for node in NODES:
        check(not os.path.exists(os.path.join(region, node + ".pid")), "%s.pid left behind" % node)
        with open(os.path.join(region, node + ".log")) as f:
            text = f.read()
        env.check_sanitizer_text(text, node + ".log")
        env.expect('msg="node stopped"' in text.splitlines()[-1], "%s did not stop cleanly: %r" % (
            node, text.splitlines()[-3:]))
    log("demo stop: every daemon exited cleanly, no sanitizer report in any log")


def check_examples(env):
    """Each annotated example config runs its daemon, with only what is
    machine-specific overridden."""
    keys = {name: env.key(name) for name in ("node-x", "mun-a", "school-a", "school-b", "care-a", "portal-a")}
    key_path, _ = rbtest.region_key(env)
    examples = (("node", "school-a", ["mun-a"]), ("school", "school-a", ["mun-a"]),
                ("municipality", "mun-a", ["school-a", "school-b", "care-a", "portal-a"]),
                ("care", "care-a", ["mun-a"]), ("portal", "portal-a", ["mun-a"]))
    for daemon, name, peers in examples:
        api = "ipc://%s/example-%s.api" % (env.dir, daemon)
        sets = ["node/data_dir=%s/example-%s" % (env.dir, daemon),
                "node/bind=tcp://127.0.0.1:%d" % rbtest.free_port(),
                "node/cert=%s/%s.cert" % (env.keys_dir, name), "api/endpoint=" + api]
        sets += ["peer/%s/public_key=%s" % (p, keys[p]) for p in peers]
        if daemon != "node" and daemon != "municipality":
            sets.append("region/key_file=" + key_path)
        args = [env.daemon_bin(daemon), "-c", os.path.join(TOP, "deploy", "examples", daemon + ".cfg")]
        for s in sets:
            args += ["--set", s]
        log_path = os.path.join(env.dir, "example-%s.log" % daemon)
        with open(log_path, "w") as logf:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                    env=rbtest.sanitizer_env())
        try:
            def answers():
                check(proc.poll() is None, "regiebus-%s exited %s with deploy/examples/%s.cfg: %s" % (
                    daemon, proc.returncode, daemon, open(log_path).read()))
                res = subprocess.run([env.cli_bin, "--api", api, "status"], capture_output=True, text=True,
                                     timeout=10, env=rbtest.sanitizer_env())
                return res.returncode == 0 and res.stdout.startswith("node %s (%s)" % (name, daemon))
            rbtest.wait_until(answers, 20, "regiebus-%s to run deploy/examples/%s.cfg" % (daemon, daemon))
        finally:
            proc.terminate()
            rc = proc.wait(30)
        check_eq(rc, 0, "regiebus-%s's exit code after SIGTERM" % daemon)
        env.check_sanitizer_text(open(log_path).read(), "example-%s.log" % daemon)
    log("deploy/examples/{node,school,municipality,care,portal}.cfg run their daemons")


def stop_quietly(region):
    """After a failure: stop what the demo started, checking nothing."""
    subprocess.run([RUN, "stop"], env=dict(os.environ, REGIEBUS_DEMO_DIR=region),
                   capture_output=True, timeout=120)


def main(env):
    region = os.path.join(env.dir, "region")
    zone = ZoneInfo("Europe/Amsterdam")
    before = weekdays_before(datetime.datetime.now(zone).date(), 5)
    started = time.monotonic()
    checked = False
    try:
        res = subprocess.run([RUN], env=dict(os.environ, REGIEBUS_DEMO_DIR=region),
                             capture_output=True, text=True, timeout=420)
        out = res.stdout + res.stderr
        print(out, flush=True)
        log("deploy/demo/run exited %d after %.1fs (with the build)" % (res.returncode, time.monotonic() - started))
        check_eq(res.returncode, 0, "the demo's exit code")
        env.check_sanitizer_text(out, "the demo's output")
        after = weekdays_before(datetime.datetime.now(zone).date(), 5)
        days = before if "First absence on %s" % before[0].strftime("%Y-%m-%d") in out else after
        reader, sanne = check_steps(env, out, days)
        check_summary(env, out, reader, sanne, region)
        checked = True
    finally:
        if not checked:
            stop_quietly(region)
    check_stop(env, region)
    check_examples(env)


if __name__ == "__main__":
    rbtest.run("demo", main)
