"""The replica's key on the primary, checked by check_prerequisities: every
line of root's authorized_keys that forces tools/snapshot-send.py (or
carries the replica's key comment) must have restrict and that command
alone. replica-status.py reads the file (the service account can't), the
check turns what it found into one line."""

import pytest

from backup.deployment.checks.base import Context
from backup.deployment.checks.replica import (
    primary_cannot_log_in_to_replica,
    replica_key_and_reports,
)
from backup.replica.checks import replica_settings
from support import snapshots as snap
from support import sshd
from support.storage import ok

pytestmark = pytest.mark.root
T0 = "2026-03-02T00:00:00Z"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxtBB5LwNAFJ/aDTPAyn1k1RGGIMd18Tt+254vr9hnk"
FORCED = 'command="/opt/backupmanagement/wrappers/tools/snapshot-send.py"'
COMMENT = "backupmanagement-replica@replica"


def key_check(wrappers, path):
    with snap.clock(wrappers, T0, REPLICA_AUTHORIZED_KEYS=str(path)):
        return ok(wrappers, "replica-status.py")["key"]


@pytest.mark.parametrize(
    ("text", "forced", "problem"),
    [
        (f"restrict,{FORCED} {KEY} {COMMENT}\n", 1, None),
        (f'# admins\nrestrict,{FORCED},from="10.0.0.1,10.0.0.2" {KEY} {COMMENT}\n', 1, None),
        (f"{FORCED},no-pty {KEY} {COMMENT}\n", 1, "lacks restrict"),
        (f"{KEY} {COMMENT}\n", 0, "has no forced command"),
        (f'restrict,command="/x/tools/snapshot-send.py list" {KEY}\n', 1, "has arguments"),
        (f"restrict {KEY} admin@laptop\n", 0, "no line of"),
    ],
)
def test_the_replica_key_line_is_checked(wrappers, tmp_path, text, forced, problem):
    path = tmp_path / "authorized_keys"
    path.write_text(text)
    found = key_check(wrappers, path)
    assert found["forced"] == forced
    if problem is None:
        assert found["problems"] == []
    else:
        assert any(problem in why for why in found["problems"]), found


def test_a_missing_or_linked_file_is_a_problem_not_followed(wrappers, tmp_path):
    assert "does not exist" in key_check(wrappers, tmp_path / "none")["problems"][0]
    target = tmp_path / "elsewhere"
    target.write_text(f"restrict,{FORCED} {KEY}\n")
    link = tmp_path / "authorized_keys"
    link.symlink_to(target)
    assert "can't be read" in key_check(wrappers, link)["problems"][0]


@pytest.mark.django_db
def test_check_prerequisities_fails_an_unrestricted_key_and_passes_a_restricted_one(
    portal, settings, tmp_path
):
    settings.REPLICA_ENABLED = True
    path = tmp_path / "authorized_keys"
    context = Context.for_user("root")
    path.write_text(f"{FORCED} {KEY} {COMMENT}\n")
    with snap.clock(portal, T0, REPLICA_AUTHORIZED_KEYS=str(path)):
        failed = replica_key_and_reports(context)
        path.write_text(f"restrict,{FORCED} {KEY} {COMMENT}\n")
        passed = replica_key_and_reports(context)
    assert failed.is_serious()
    assert "lacks restrict" in failed.msg
    assert not passed.is_serious()
    settings.REPLICA_ENABLED = False
    assert replica_key_and_reports(context).msg.startswith("no second server configured")


@pytest.mark.django_db
def test_check_prerequisities_fails_when_a_primary_key_logs_in_to_the_replica(settings, tmp_path):
    """The tests' loopback sshd stands for the replica: once it accepts a key
    the primary holds (the check fails, naming it), once it refuses every key
    (the check passes); an unreachable replica proves nothing and fails."""
    key = tmp_path / "id_ed25519"
    public = sshd.keypair(key)
    context = Context.for_user("root")
    settings.REPLICA_HOST = ""
    assert primary_cannot_log_in_to_replica(context).msg.startswith("no replica_host")
    with sshd.running(tmp_path / "replica-sshd") as server:
        settings.REPLICA_HOST = "127.0.0.1"
        settings.REPLICA_SSH_PORT = server.port
        settings.REPLICA_PRIMARY_IDENTITIES = [str(key), str(tmp_path / "absent")]
        server.authorized_keys.write_text(f'command="/bin/true" {public}\n')
        accepted = primary_cannot_log_in_to_replica(context)
        server.authorized_keys.write_text("")
        refused = primary_cannot_log_in_to_replica(context)
    assert accepted.is_serious()
    assert f"root@127.0.0.1 accepted {key}" in accepted.msg
    assert not refused.is_serious(), refused.msg
    assert "refused every key" in refused.msg
    unreachable = primary_cannot_log_in_to_replica(context)
    assert unreachable.is_serious()
    assert "could not prove" in unreachable.msg


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [
        ("REPLICA_HOST", "-oProxyCommand=touch", "backup.replica.E003"),
        ("REPLICA_HOST", 42, "backup.replica.E003"),
        ("REPLICA_SSH_PORT", "22", "backup.replica.E004"),
        ("REPLICA_SSH_PORT", 0, "backup.replica.E004"),
        ("REPLICA_PRIMARY_IDENTITIES", "/root/.ssh/id_rsa", "backup.replica.E005"),
        ("REPLICA_PRIMARY_IDENTITIES", ["id_rsa"], "backup.replica.E005"),
    ],
)
def test_the_login_check_settings_are_refused_when_mistyped(settings, setting, value, error):
    """They go into ssh's argv: a host that reads as an option never gets there."""
    assert not replica_settings(None)
    setattr(settings, setting, value)
    assert [message.id for message in replica_settings(None)] == [error]
