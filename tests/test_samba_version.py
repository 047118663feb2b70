"""check_prerequisities names the installed Samba and refuses the releases
that broke Time Machine on recent macOS (Samba bug 15926)."""

import re
import subprocess

import pytest
from conftest import require_tool
from django.core import checks as django_checks

from backup.deployment import checks
from backup.deployment.checks import samba as samba_checks


@pytest.mark.parametrize(
    "version",
    [
        "Version 4.22.0",
        "Version 4.22.5-Debian",
        "Version 4.23.0",
        "Version 4.23.2-Ubuntu",
    ],
)
def test_releases_that_broke_time_machine_fail_and_say_what_to_do(version):
    problem = checks.samba_version_problem(version)
    assert problem is not None
    assert "bug 15926" in problem
    number = version.split()[1].split("-")[0]
    assert f"Samba {number} breaks Time Machine" in problem
    fixed = "4.22.6" if number.startswith("4.22.") else "4.23.3"
    assert f"upgrade to {fixed} or later" in problem


@pytest.mark.parametrize(
    "version",
    [
        "Version 4.17.12-Debian",
        "Version 4.21.9",
        "Version 4.22.6",
        "Version 4.23.3-Debian",
        "Version 4.24.0",
        "Version 5.22.3",
    ],
)
def test_other_releases_pass(version):
    assert checks.samba_version_problem(version) is None


@pytest.mark.parametrize("line", ["", "Version", "Version 4.22", "samba 4.22.1", "4.22.1"])
def test_a_line_that_is_not_a_version_is_reported_not_passed(line):
    assert checks.samba_version_problem(line).startswith("unrecognised version line")


def test_the_check_names_the_installed_samba():
    require_tool("smbd")
    installed = subprocess.run(
        ["smbd", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    number = re.fullmatch(r"Version (\S+)", installed).group(1)

    result = samba_checks.samba_version(context=None)

    assert result.obj == "Samba version"
    assert number in result.msg
    passed = checks.samba_version_problem(installed) is None
    assert result.level == (django_checks.INFO if passed else django_checks.ERROR)
    assert checks.line(result).startswith(
        "OK   Samba version: " if passed else "FAIL Samba version: "
    )


def test_the_check_fails_on_a_release_that_broke_time_machine(tmp_path, monkeypatch):
    # An smbd that reports a broken release, found where the check looks.
    fake = tmp_path / "smbd"
    fake.write_text("#!/bin/sh\necho 'Version 4.22.3-Debian'\n")
    fake.chmod(0o755)
    monkeypatch.setattr(samba_checks, "_which", lambda name: str(fake) if name == "smbd" else None)

    result = samba_checks.samba_version(context=None)

    assert checks.line(result) == (
        "FAIL Samba version: Samba 4.22.3 breaks Time Machine on recent macOS "
        "(Samba bug 15926): upgrade to 4.22.6 or later"
    )
