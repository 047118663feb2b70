"""Samba's own test suite (smbtorture) against the share production uses.

A private smbd serves the configuration ``manage.py samba_config`` generates;
the portal creates a volume and its password through its services and the
real wrappers, and smbtorture runs each suite on that person's share with
that person's backup account. Every subtest passes, or is listed in
samba_torture_known_failures.toml under its cause, and each cause is
checked: a listed subtest that passes (or no longer runs) fails the suite's
test; a needs-setting cause's subtests must pass once its setting is added;
a fails-upstream cause's subtests must fail on the shares Samba's own
selftest runs these suites against too.
"""

import contextlib
from pathlib import Path

import pytest
from conftest import require_tool

from backup.passwords import services as passwords
from support import samba_server, samba_share, samba_torture

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True), pytest.mark.slow]

KNOWN_FAILURES = Path(__file__).with_name("samba_torture_known_failures.toml")
CAUSES = samba_torture.load_known_failures(KNOWN_FAILURES)
SUITES = (
    "vfs.fruit",
    "vfs.fruit_file_id",
    "vfs.fruit_conversion",
    "vfs.fruit_timemachine",
    "smb2.connect",
    "smb2.rw",
    "smb2.durable-open",
    "smb2.durable-v2-open",
)
# What the harness adds to the generated configuration. fruit:model only
# names the icon Finder shows, but smbtorture checks the length of the AAPL
# reply against Samba's default model, MacSamba. Some fruit subtests write
# what a Mac never could through a second share on the same files without
# fruit (torture:share2); the [homes] share under test is unchanged.
HARNESS_GLOBAL = {"fruit:model": "MacSamba"}
NO_FRUIT_SHARE = "nofruit"


def harness(root, setting=None):
    """The harness's sections, then a cause's setting ({section: {parameter:
    value}}; a repeated section overrides what the generated one says)."""
    sections = {
        "global": dict(HARNESS_GLOBAL),
        NO_FRUIT_SHARE: {
            "path": f"{root}/%U",
            "valid users": "%U",
            "read only": "no",
            "vfs objects": "streams_xattr",
        },
    }
    for section, parameters in (setting or {}).items():
        sections[section] = sections.get(section, {}) | parameters
    return sections


# Samba's reference: the shares Samba 4.17's own selftest runs these suites
# against (selftest/target/Samba3.pm): [tmp] for smb2, with nothing but the
# defaults; [vfs_fruit_metadata_stream] for the fruit suites, with its
# second share without fruit; and its global fruit:copyfile = yes.
REFERENCE_GLOBAL = {"fruit:copyfile": "yes"}
REFERENCE_SHARE = "reference"
REFERENCE_FRUIT_SHARE = "referencefruit"


def reference_shares(path):
    plain = {"path": path, "read only": "no"}
    return {
        REFERENCE_SHARE: plain,
        REFERENCE_FRUIT_SHARE: plain
        | {
            "vfs objects": "fruit streams_xattr acl_xattr xattr_tdb",
            "fruit:resource": "file",
            "fruit:metadata": "stream",
            "fruit:veto_appledouble": "no",
        },
        NO_FRUIT_SHARE: plain | {"vfs objects": "streams_xattr acl_xattr xattr_tdb"},
    }


def reference_share_for(suite):
    return REFERENCE_FRUIT_SHARE if suite.startswith("vfs.") else REFERENCE_SHARE


@pytest.fixture(autouse=True)
def tools():
    require_tool("smbd")
    require_tool("smbtorture")


@pytest.fixture
def volume(portal, make_real_volume, settings):
    """make() -> (account, password, mount point): a volume made through the
    portal's services, its password set in the passdb the wrappers name now."""
    # ext4, the production default: some known failures depend on what the
    # filesystem allocates, and ext4 is where named streams hit their limit.
    settings.VOLUME_FILESYSTEM = "ext4"

    def make():
        made = make_real_volume("tor")
        password = passwords.set_new_password(made, made.owner)
        return made.account, password, Path(portal.settings["DIRECTORIES_ROOT"]) / made.account

    return make


def torture_options(suite, share, mount_point):
    """smbtorture's own settings for a suite on a share."""
    # localdir: where the share's files are on this machine, for the tests
    # that prepare a file directly on disk and then read it over SMB.
    options = [f"torture:localdir={mount_point}"]
    if suite == "vfs.fruit":
        options.append(f"torture:share2={NO_FRUIT_SHARE}")
    if suite == "vfs.fruit_conversion":
        # Converts ._ files through a second share with fruit; ours is the
        # only one, and it deletes empty ._ files (delete_empty_adfiles).
        options += [f"torture:share2={share}", "torture:delete_empty_adfiles=true"]
    return options


def run_by_suite(server, account, password, mount_point, tests, workdir, share_for=None):
    """Run tests (suites or subtests), each with its suite's options, on
    share_for(suite) (the account's own share by default)."""
    results = {}
    for suite in sorted({samba_torture.suite_of(test) for test in tests}):
        chosen = [test for test in tests if samba_torture.suite_of(test) == suite]
        share = share_for(suite) if share_for else None
        options = torture_options(suite, share or account, mount_point)
        results |= samba_torture.run(
            server, account, password, chosen, workdir / suite, options, share
        )
    return results


RETRIES = 2


@contextlib.contextmanager
def fresh_server(wrappers, sections, account, password):
    """Another smbd with the same sections; each instance has its own passdb,
    so the account's password is set in this one's too."""
    with samba_share.running(wrappers, sections) as server:
        done = wrappers.run("smbpasswd.py", account, input_text=password + "\n")
        assert done.returncode == 0, done.stderr
        yield server


def run_retrying(server, account, password, mount_point, tests, workdir, expected=(), fresh=None):
    """run_by_suite, then up to RETRIES more times for each subtest that
    failed unexpectedly, each time on a fresh smbd from ``fresh()`` when
    given.

    A few durable-handle subtests race against smbd's own cleanup of a
    disconnected session and fail now and then on two cores (Samba's CI
    reruns such "flapping" tests too). Once one has failed, the same smbd
    still holds what the failed run left, and it failed three times in a
    row there; a new smbd starts clean. A real failure fails every time.
    """
    results = run_by_suite(server, account, password, mount_point, tests, workdir)
    for attempt in range(RETRIES):
        again = [name for name, result in results.items() if not result.passed]
        again = [name for name in again if name not in expected]
        if not again:
            break
        with fresh() if fresh else contextlib.nullcontext(server) as retry_server:
            retried = run_by_suite(
                retry_server, account, password, mount_point, again, workdir / f"again-{attempt}"
            )
        results |= {name: retried.get(name, results[name]) for name in again}
    return results


def report(problems, workdir):
    output = "".join(path.read_text() for path in sorted(workdir.rglob("smbtorture.out")))
    return "\n".join(problems) + f"\n--- smbtorture's last lines ---\n{output[-3000:]}"


@pytest.mark.parametrize("suite", SUITES)
def test_smbtorture_suite_passes_on_the_generated_share(suite, wrappers, volume, tmp_path):
    root = wrappers.settings["DIRECTORIES_ROOT"]
    sections = harness(root)
    with samba_share.running(wrappers, sections) as server:
        account, password, mount_point = volume()
        known = samba_torture.listed(CAUSES)
        results = run_retrying(
            server, account, password, mount_point, [suite], tmp_path, known,
            fresh=lambda: fresh_server(wrappers, sections, account, password),
        )  # fmt: skip
    problems = samba_torture.verdict(suite, results, known)
    if problems:
        pytest.fail(report(problems, tmp_path))


NEEDS_SETTING = [cause for cause in CAUSES if cause.kind == "needs-setting"]
FAILS_UPSTREAM = [test for c in CAUSES if c.kind == "fails-upstream" for test in c.tests]


@pytest.mark.parametrize(
    "cause",
    NEEDS_SETTING,
    ids=[
        ",".join(f"{section}:{key}" for section, values in c.setting.items() for key in values)
        for c in NEEDS_SETTING
    ],
)
def test_subtests_listed_for_a_setting_pass_with_that_setting(cause, wrappers, volume, tmp_path):
    root = wrappers.settings["DIRECTORIES_ROOT"]
    sections = harness(root, cause.setting)
    with samba_share.running(wrappers, sections) as server:
        account, password, mount_point = volume()
        results = run_retrying(
            server, account, password, mount_point, cause.tests, tmp_path,
            fresh=lambda: fresh_server(wrappers, sections, account, password),
        )  # fmt: skip
    problems = [
        f"{test}: {results[test].status if test in results else 'did not run'} with {cause.setting}"
        for test in cause.tests
        if test not in cause.flaky and (test not in results or not results[test].passed)
    ]
    if problems:
        pytest.fail(report(problems, tmp_path))


@pytest.mark.skipif(not FAILS_UPSTREAM, reason="no subtest is listed as failing upstream")
def test_subtests_listed_as_failing_upstream_fail_on_sambas_reference_share(
    wrappers, volume, tmp_path
):
    # No private instance runs: the password goes to the session's passdb,
    # which the plain smbd below reads.
    account, password, mount_point = volume()
    shares = reference_shares(mount_point)
    with samba_server.running(wrappers, shares, REFERENCE_GLOBAL) as server:
        results = run_by_suite(
            server, account, password, mount_point, FAILS_UPSTREAM, tmp_path, reference_share_for
        )
    problems = [
        f"{test} passes on Samba's reference share: it is not an upstream failure"
        for test in FAILS_UPSTREAM
        if test not in results or results[test].passed
    ]
    if problems:
        pytest.fail(report(problems, tmp_path))
