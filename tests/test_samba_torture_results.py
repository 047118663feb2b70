"""Reading smbtorture's subunit output and the known-failures file: a crash
or a malformed entry is never read as a pass."""

import re
import textwrap
from pathlib import Path

import pytest

from support import samba_torture

# Lines as smbtorture 4.17 prints them (--format=subunit), debug output mixed in.
OUTPUT = textwrap.dedent(
    """\
    smbtorture 4.17.12-Debian
    Using seed 1796071019
    time: 2026-11-30 20:36:59.052395
    progress: 3
    test: smb2.rw.rw1
    time: 2026-11-30 20:36:59.133438
    failure: smb2.rw.rw1 [
    ../../source4/torture/smb2/read_write.c:136: close failed (NT_STATUS_INVALID_PARAMETER)
    ]
    test: smb2.rw.rw2
    Checking data integrity over 10 ops
    success: smb2.rw.rw2
    test: vfs.fruit.invalid AFP_AfpInfo
    skip: vfs.fruit.invalid AFP_AfpInfo [
    need second share without fruit
    ]
    test: vfs.fruit.SMB2/CREATE context AAPL
    success: vfs.fruit.SMB2/CREATE context AAPL
    test: vfs.fruit_conversion.convert_xattr_and_empty_rfork_then_delete
    No share for option share2
    INTERNAL ERROR: Signal 11: Segmentation fault in pid 29308 (4.17.12-Debian)
    """
)


def test_each_subtest_gets_its_outcome_and_detail():
    results = samba_torture.parse_subunit(OUTPUT)
    assert results["smb2.rw.rw1"] == samba_torture.Result(
        "failure",
        "../../source4/torture/smb2/read_write.c:136: close failed (NT_STATUS_INVALID_PARAMETER)",
    )
    assert results["smb2.rw.rw2"].passed
    assert results["vfs.fruit.SMB2/CREATE context AAPL"].passed
    skipped = results["vfs.fruit.invalid AFP_AfpInfo"]
    assert (skipped.status, skipped.passed) == ("skip", False)


def test_a_subtest_smbtorture_never_finished_is_an_error():
    crashed = samba_torture.parse_subunit(OUTPUT)[
        "vfs.fruit_conversion.convert_xattr_and_empty_rfork_then_delete"
    ]
    assert crashed.status == "error"
    assert not crashed.passed


def test_the_verdict_names_unlisted_failures_fixed_entries_and_missing_ones():
    results = samba_torture.parse_subunit(OUTPUT)
    known = {"smb2.rw.rw2", "smb2.rw.invalid"}
    problems = samba_torture.verdict(
        "smb2.rw", {k: v for k, v in results.items() if k.startswith("smb2.rw.")}, known
    )
    assert problems == [
        "smb2.rw.rw1: failure: ../../source4/torture/smb2/read_write.c:136: "
        "close failed (NT_STATUS_INVALID_PARAMETER)",
        "smb2.rw.rw2 passes now: remove it from the known failures",
        "smb2.rw.invalid is listed as a known failure but did not run",
    ]
    assert samba_torture.verdict("smb2.rw", {}, set()) == [
        "smb2.rw: smbtorture reported no results"
    ]


def test_the_projects_known_failures_file_loads():
    causes = samba_torture.load_known_failures(
        Path(__file__).with_name("samba_torture_known_failures.toml")
    )
    assert causes
    assert {cause.kind for cause in causes} <= samba_torture.KINDS


REASON = "a reason long enough to say what fails and why it does"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            '[[cause]]\nkind = "needs-setting"\nreason = "R"\ntests = ["a.b.c"]\n',
            "names its setting",
        ),
        (
            '[[cause]]\nkind = "fails-upstream"\nsetting = { global = { x = "y" } }\n'
            'reason = "R"\ntests = ["a.b.c"]\n',
            "names its setting",
        ),
        ('[[cause]]\nkind = "flaky"\nreason = "R"\ntests = ["a.b.c"]\n', "unknown kind"),
        (
            '[[cause]]\nkind = "fails-upstream"\nreason = "too short"\ntests = ["a.b.c"]\n',
            "say why",
        ),
        ('[[cause]]\nkind = "fails-upstream"\nreason = "R"\ntests = []\n', "without tests"),
        ('[[cause]]\nkind = "fails-upstream"\nreason = "R"\n', "has kind, reason, tests"),
        (
            '[[cause]]\nkind = "needs-setting"\nsetting = { x = "y" }\nreason = "R"\n'
            'tests = ["a.b.c"]\n',
            "{section: {parameter: value}}",
        ),
        (
            '[[cause]]\nkind = "fails-upstream"\nreason = "R"\ntests = ["a.b.c"]\n'
            '[[cause]]\nkind = "fails-upstream"\nreason = "R"\ntests = ["a.b.c"]\n',
            "listed twice: a.b.c",
        ),
        (
            '[[cause]]\nkind = "needs-setting"\nsetting = { global = { x = "y" } }\n'
            'reason = "R"\ntests = ["a.b.c"]\nflaky = ["a.b.d"]\n',
            "flaky names some of a needs-setting cause's tests",
        ),
        (
            '[[cause]]\nkind = "fails-upstream"\nreason = "R"\ntests = ["a.b.c"]\n'
            'flaky = ["a.b.c"]\n',
            "flaky names some of a needs-setting cause's tests",
        ),
    ],
)
def test_a_malformed_known_failure_is_refused_saying_why(tmp_path, text, says):
    path = tmp_path / "known.toml"
    path.write_text(text.replace('"R"', f'"{REASON}"'))
    with pytest.raises(ValueError, match=re.escape(says)):
        samba_torture.load_known_failures(path)


def test_suite_of_a_subtest():
    assert samba_torture.suite_of("vfs.fruit.SMB2/CREATE context AAPL") == "vfs.fruit"
    assert samba_torture.suite_of("smb2.durable-open.reopen1a") == "smb2.durable-open"
    assert samba_torture.suite_of("smb2.connect") == "smb2.connect"
