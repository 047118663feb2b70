"""Samba's own test suite, smbtorture (Debian's samba-testsuite), against a share.

    results = samba_torture.run(server, account, password, ["vfs.fruit"], workdir)
    results["vfs.fruit.copyfile"].status  # "success", "failure", "error", "skip"...

smbtorture reports in subunit (version 1, a line protocol): ``test: NAME``
opens a test, ``success:``/``failure:``/``error:``/``skip:``/``xfail:`` with
the same name closes it, optionally followed by ``[`` and a detail block
ending with a lone ``]``. A test opened and never closed (smbtorture died or
timed out) is reported as an error, so a crash can't pass for a success.

The credentials go in an authentication file readable by root only (argv is
world-readable in /proc).
"""

import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from . import samba_server

# A whole suite must finish in this time; the slowest (durable-open) takes
# well under a minute here.
SUITE_TIMEOUT_SECONDS = 240
OUTCOMES = {"success", "successful", "failure", "fail", "error", "skip", "xfail", "uxsuccess"}
PASSED = {"success", "successful"}
KINDS = {
    # A setting production must not have (the entry says which and why).
    "needs-setting",
    # Samba 4.17 fails it on its own reference share too (the entry says how
    # that was shown).
    "fails-upstream",
}
_OUTCOME_LINE = re.compile(r"(?P<outcome>[a-z]+): (?P<name>.+?)(?P<detail> \[)?")


@dataclass(frozen=True)
class Result:
    status: str
    detail: str = ""

    @property
    def passed(self):
        return self.status in PASSED


@dataclass(frozen=True)
class Cause:
    """Why some subtests fail on the generated share (one entry of the
    known-failures file): a kind, a sentence, the subtests, and for
    needs-setting the setting under which they pass ({section: {parameter:
    value}}) and those of them that race even with it (flaky: they fail on
    the generated share for the listed reason, but with the setting pass only
    some of the time, so the check doesn't require them to)."""

    kind: str
    reason: str
    tests: tuple
    setting: dict
    flaky: tuple = ()


def parse_subunit(text):
    """{test name: Result} from smbtorture's subunit output."""
    results = {}
    opened = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("test: "):
            opened.append(line[len("test: ") :])
            continue
        found = _OUTCOME_LINE.fullmatch(line)
        if not found or found["outcome"] not in OUTCOMES:
            continue
        detail = []
        if found["detail"]:
            for more in lines:
                if more == "]":
                    break
                detail.append(more)
        name = found["name"]
        results[name] = Result(found["outcome"], "\n".join(detail).strip())
        if name in opened:
            opened.remove(name)
    for name in opened:
        results[name] = Result("error", "smbtorture never finished this test")
    return results


def _client_config(workdir, server):
    """A client configuration of its own: nothing from the host's smb.conf."""
    path = workdir / "client.conf"
    path.write_text(
        "[global]\n"
        "  client min protocol = SMB3_00\n"
        "  client signing = required\n"
        f"  workgroup = {_workgroup(server)}\n"
    )
    return path


def _workgroup(server):
    for line in server.config.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "workgroup":
            return value.strip()
    return "WORKGROUP"


def _credentials(workdir, account, password):
    path = workdir / "credentials"
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(f"username = {account}\npassword = {password}\n")
    return path


def run(server, account, password, tests, workdir, options=(), share=None):
    """Run smbtorture tests (suites or single subtests) as account on share
    (its own by default); {subtest: Result}. The raw output is kept in
    workdir/smbtorture.out for a failing test's report."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        "smbtorture",
        f"//127.0.0.1/{share or account}",
        "--smb-ports",
        str(server.port),
        "--configfile",
        str(_client_config(workdir, server)),
        "--authentication-file",
        str(_credentials(workdir, account, password)),
        "--format",
        "subunit",
        "--fullname",
        # As Samba's selftest runs it against smbd: the tests that expect
        # Samba's documented behaviour where Windows differs choose Samba's.
        "--target=samba3",
        "--option=torture:progress=no",
        *(f"--option={option}" for option in options),
        *tests,
    ]
    try:
        completed = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            env=samba_server.CLIENT_ENV,
            timeout=SUITE_TIMEOUT_SECONDS,
            check=False,
        )
        output = completed.stdout + completed.stderr
    except subprocess.TimeoutExpired as expired:
        output = _text(expired.stdout) + _text(expired.stderr)
        output += f"\nsmbtorture timed out after {SUITE_TIMEOUT_SECONDS} s\n"
    finally:
        (workdir / "credentials").unlink(missing_ok=True)
    with (workdir / "smbtorture.out").open("a") as kept:
        kept.write(output)
    return parse_subunit(output)


def _text(data):
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def suite_of(test):
    """The suite a subtest belongs to: vfs.fruit.copyfile -> vfs.fruit."""
    return ".".join(test.split(".", 2)[:2])


def load_known_failures(path):
    """[Cause] from the TOML file; a malformed entry raises ValueError."""
    with open(path, "rb") as handle:
        entries = tomllib.load(handle).get("cause", [])
    causes = []
    seen = set()
    for entry in entries:
        allowed = {"kind", "reason", "tests", "setting", "flaky"}
        if not {"kind", "reason", "tests"} <= set(entry) <= allowed:
            raise ValueError(f"a cause has kind, reason, tests (and setting, flaky): {entry}")
        if not set(entry.get("flaky", ())) <= set(entry["tests"]) or (
            entry.get("flaky") and entry["kind"] != "needs-setting"
        ):
            raise ValueError(f"flaky names some of a needs-setting cause's tests: {entry}")
        if entry["kind"] not in KINDS:
            raise ValueError(f"unknown kind {entry['kind']!r} (one of {sorted(KINDS)}): {entry}")
        if (entry["kind"] == "needs-setting") != bool(entry.get("setting")):
            raise ValueError(f"a needs-setting cause, and only it, names its setting: {entry}")
        if not all(isinstance(values, dict) for values in entry.get("setting", {}).values()):
            raise ValueError(f"a setting is {{section: {{parameter: value}}}}: {entry}")
        if len(entry["reason"].split()) < 8:
            raise ValueError(f"say why they fail, in a sentence: {entry}")
        if not entry["tests"]:
            raise ValueError(f"a cause without tests: {entry}")
        for test in entry["tests"]:
            if test in seen:
                raise ValueError(f"listed twice: {test}")
            seen.add(test)
        causes.append(
            Cause(
                entry["kind"],
                entry["reason"],
                tuple(entry["tests"]),
                entry.get("setting", {}),
                tuple(entry.get("flaky", ())),
            )
        )
    return causes


def listed(causes):
    """Every subtest the causes list."""
    return {test for cause in causes for test in cause.tests}


def verdict(suite, results, known):
    """What is wrong with a suite's results given the known failures (a set
    of subtest names): a list of sentences, empty when every subtest passed
    or failed as listed."""
    problems = []
    if not results:
        problems.append(f"{suite}: smbtorture reported no results")
    for name, result in sorted(results.items()):
        if result.passed and name in known:
            problems.append(f"{name} passes now: remove it from the known failures")
        elif not result.passed and name not in known:
            first = result.detail.splitlines()[0] if result.detail else "no detail"
            problems.append(f"{name}: {result.status}: {first}")
    for name in sorted(known):
        if suite_of(name) == suite and name not in results:
            problems.append(f"{name} is listed as a known failure but did not run")
    return problems
