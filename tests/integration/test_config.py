#!/usr/bin/python3
"""Config errors: regiebus-node exits 2 and names the key at fault.

Starting from a valid config (which must start, and stop with exit code 0
on SIGTERM and on SIGINT), each case
breaks one thing, in the file or with --set, and expects exit code 2 within
a few seconds with the offending key named on stderr, and no sanitizer
report. A daemon's own section is checked before the node binds: a bad key
there is exit 2 even while another process holds the daemon's port.
"""
import os
import signal
import subprocess

import rbtest
from rbtest import check, log


def run_node(env, config_path, *extra, timeout=20):
    cmd = [env.node_bin, "-c", config_path] + list(extra)
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             env=rbtest.sanitizer_env())
    except subprocess.TimeoutExpired:
        raise rbtest.TestFailure("regiebus-node %s did not exit within %ds (did it start?)" % (
            " ".join(extra) or os.path.basename(config_path), timeout))
    env.check_sanitizer_text(res.stderr, "regiebus-node -c %s" % os.path.basename(config_path))
    return res


def main(env):
    a, b = env.pair()
    a.write_config()
    valid = a.config_text()

    # The valid config works, and both SIGTERM and SIGINT stop the node cleanly.
    a.start()
    a.stop(sig=signal.SIGTERM)
    a.start()
    a.stop(sig=signal.SIGINT)

    def variant(name, text):
        path = os.path.join(env.dir, "bad-%s.cfg" % name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def insert_after(text, line, new_line):
        check(line in text, "base config has no line %r" % line)
        return text.replace(line, line + "\n" + new_line, 1)

    def drop_line(text, start):
        lines = text.splitlines()
        kept = [x for x in lines if not x.startswith(start)]
        check(len(kept) == len(lines) - 1, "base config has no single line starting %r" % start)
        return "\n".join(kept) + "\n"

    def set_line(text, start, new_line):
        lines = text.splitlines()
        idx = [i for i, x in enumerate(lines) if x.startswith(start)]
        check(len(idx) == 1, "base config has no single line starting %r" % start)
        lines[idx[0]] = new_line
        return "\n".join(lines) + "\n"

    base = a.config_path
    cases = [
        ("unknown key node/colour", variant("unknown", insert_after(valid, "node", "    colour = blue")), [],
         "node/colour"),
        ("unknown key link/speed", variant("unknown2", insert_after(valid, "link", "    speed = 9")), [],
         "link/speed"),
        ("unknown section", variant("section", valid + "colours\n    sky = blue\n"), [], "colours"),
        ("unknown peer key", variant("peerkey", valid.replace('        public_key', '        colour = "red"\n'
                                                              '        public_key', 1)), [], "peer/b/colour"),
        ("missing node/name", variant("noname", drop_line(valid, "    name =")), [], "node/name"),
        ("missing node/data_dir", variant("nodata", drop_line(valid, "    data_dir =")), [], "node/data_dir"),
        ("missing peer endpoint", variant("noendpoint", drop_line(valid, "        endpoint =")), [],
         "peer/b/endpoint"),
        ("bad number limits/max_frame_bytes", variant("num", set_line(valid, "    max_frame_bytes",
                                                                      "    max_frame_bytes = 12abc")), [],
         "limits/max_frame_bytes"),
        ("negative number link/window", variant("neg", set_line(valid, "    window", "    window = -5")), [],
         "link/window"),
        ("number out of range link/heartbeat_ms", variant("range", set_line(valid, "    heartbeat_ms",
                                                                            "    heartbeat_ms = 0")), [],
         "link/heartbeat_ms"),
        ("bad node/name", variant("badname", set_line(valid, "    name =", "    name = Not_Valid")), [],
         "node/name"),
        ("bad peer public_key", variant("badkey", set_line(valid, "        public_key",
                                                           '        public_key = "tooshort"')), [],
         "peer/b/public_key"),
        ("--set bad number", base, ["--set", "link/window=lots"], "link/window"),
        ("--set unknown key", base, ["--set", "node/colour=red"], "node/colour"),
        ("--set without =", base, ["--set", "link/window"], "link/window"),
    ]
    failures = []
    for what, path, extra, key in cases:
        res = run_node(env, path, *extra)
        err = res.stderr.strip()
        ok = res.returncode == 2 and key in err
        log("%-40s exit %d  stderr: %s" % (what, res.returncode, err.splitlines()[-1] if err else "(empty)"))
        if not ok:
            failures.append("%s: exit %d (expected 2), stderr %r (expected to name %r)" % (
                what, res.returncode, err, key))
    res = run_node(env, os.path.join(env.dir, "does-not-exist.cfg"))
    log("%-40s exit %d  stderr: %s" % ("missing config file", res.returncode, res.stderr.strip()))
    if res.returncode != 2 or "does-not-exist.cfg" not in res.stderr:
        failures.append("missing config file: exit %d, stderr %r" % (res.returncode, res.stderr))
    check(not failures, "%d config case(s) wrong:\n  - %s" % (len(failures), "\n  - ".join(failures)))

    # A daemon checks its own sections before it binds: with its port held
    # by a running node, a bad key in its section is still reported as the
    # configuration error it is (exit 2), not as a port in use (exit 1).
    a.start()
    key_path, _ = rbtest.region_key(env)
    care = env.node("care-bad", daemon="care", port=a.port, care__municipality="b",
                    care__colour="red", region__key_file=key_path)
    care.add_peer(b)
    rbtest.check_config_refused(env, care, [], "care/colour")
    a.stop()


if __name__ == "__main__":
    rbtest.run("config", main)
