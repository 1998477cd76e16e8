#!/usr/bin/python3
"""The README's first quick-start command, run as a person would.

Runs deploy/demo/run in a temporary region directory and checks what it
prints: both links come up, the three events land at mun-a, the retry is
answered as a duplicate, the three events sent while mun-a was down land
after its restart with school-a's queue back at 0, and the reply lands at
school-a. Then `deploy/demo/run stop` stops the region.
"""

import os
import subprocess
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def main():
    region = tempfile.mkdtemp(prefix="rb-demo-")
    env = dict(os.environ, REGIEBUS_DEMO_DIR=region)
    ok = False
    try:
        res = subprocess.run([os.path.join(TOP, "deploy", "demo", "run")], env=env,
                             capture_output=True, text=True, timeout=240)
        out = res.stdout + res.stderr
        print(out)
        assert res.returncode == 0, "demo exited %d" % res.returncode
        expect = [
            "both links up",
            "at mun-a: school-a#1 ",
            "at mun-a: school-a#3 ",
            "(duplicate of an earlier submission)",
            "mun-a                down           3",
            "at mun-a: school-a#4 ",
            "at mun-a: school-a#6 ",
            "mun-a                up             0",
            "at school-a: mun-a#1 ",
            "stop:",
        ]
        for line in expect:
            assert line in out, "demo output lacks %r" % line
        assert "at mun-a: school-a#7" not in out, "an event landed twice or one too many"
        assert "AddressSanitizer" not in out and "runtime error:" not in out, "sanitizer report"
        ok = True
    finally:
        subprocess.run([os.path.join(TOP, "deploy", "demo", "run"), "stop"], env=env,
                       capture_output=True, timeout=60)
        for name in ("school-a.log", "mun-a.log"):
            path = os.path.join(region, name)
            if os.path.exists(path):
                text = open(path).read()
                if "AddressSanitizer" in text or "runtime error:" in text:
                    print(text)
                    ok = False
        if ok:
            shutil.rmtree(region, ignore_errors=True)
    print("demo: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
