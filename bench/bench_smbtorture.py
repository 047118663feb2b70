"""How long Samba's own test suite (tests/test_samba_torture.py) takes in
the suite: each smbtorture suite on the generated share, and the checks of
the known failures (their settings, Samba's reference shares). Target: the
whole smbtorture part under 3 minutes on two cores.

    sudo .venv/bin/python bench/bench_smbtorture.py

Runs that test module with pytest (a private wrapper installation, real
smbd, real volumes; all removed afterwards) and prints each test's time
from pytest's JUnit report, then the total.
"""

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 180


def main():
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        started = time.monotonic()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                f"--junitxml={report}",
                "tests/test_samba_torture.py",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
        # The report is the one pytest just wrote here, not outside data.
        cases = ElementTree.parse(report).getroot().iter("testcase")  # noqa: S314
        for case in cases:
            outcome = "ok" if len(case) == 0 else case[0].tag
            print(f"{float(case.get('time')):7.1f} s  {outcome:8} {case.get('name')}")
    print(f"{elapsed:7.1f} s  total, pytest included (target: under {TARGET_SECONDS} s)")
    if completed.returncode != 0:
        print(completed.stdout[-2000:])
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
