"""The volume services with the wrappers running for real on the loop-file
backend: create, add space, mount, delete, Time Machine, passwords, and the
refusals (quota, pool, confirmation, double submit, failure half-way)."""

import os
import pwd
import subprocess
import time

import pytest

from backup.core.errors import UserFacingError
from backup.operations.models import Operation
from backup.passwords import services as passwords
from backup.privileged import client, commands
from backup.stats import collect, pool
from backup.volumes import requests, space, status
from backup.volumes.models import Quota, Volume
from support.accounts import unix_password_matches
from support.volume_traces import NOTHING, mount_point_of, passdb_users, traces
from support.wrapper_install import leftovers

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def employee(make_employee):
    return make_employee()


@pytest.fixture
def volume(make_real_volume):
    return make_real_volume()


def test_create_makes_a_mounted_volume_owned_by_the_account(portal, volume):
    name = volume.account
    assert traces(portal, name) == {**dict.fromkeys(NOTHING, True)}
    root = mount_point_of(portal, name)
    info = os.stat(root)
    assert info.st_uid == pwd.getpwnam(name).pw_uid
    assert info.st_mode & 0o007 == 0
    acl = subprocess.run(["getfacl", "-cp", str(root)], capture_output=True, text=True).stdout
    # With an ACL the mode's group bits show the mask; the group itself gets nothing.
    for entry in (f"user:{name}:rwx", "group::---", "other::---", f"default:user:{name}:rwx"):
        assert entry in acl.splitlines()
    state = status.volume_state(name, version=0)
    assert state.mounted
    assert state.size_gib == volume.size_gib == 1
    assert state.usage.total_bytes > 0.8 * 1024**3


def test_create_is_recorded_in_the_audit_log(volume):
    operation = Operation.objects.get(owner_name=volume.account, kind=Operation.Kind.CREATE)
    assert operation.actor_name == volume.account
    assert operation.state == Operation.State.SUCCEEDED
    assert operation.finished_at >= operation.started_at >= operation.requested_at
    assert "ready" in operation.message


def test_a_second_create_is_refused_and_changes_nothing(volume):
    before = Operation.objects.count()
    with pytest.raises(UserFacingError, match="already have"):
        requests.request_create(volume.owner, volume.owner)
    assert Operation.objects.count() == before
    assert Volume.objects.filter(owner=volume.owner).count() == 1


def test_an_active_operation_blocks_a_second_one(portal, volume):
    Operation.objects.create(
        kind=Operation.Kind.MOUNT,
        owner=volume.owner,
        owner_name=volume.account,
        actor=volume.owner,
        actor_name=volume.account,
    )
    before = Operation.objects.count()
    with pytest.raises(UserFacingError, match="still in progress"):
        requests.request_add_space(volume.owner, volume.owner)
    assert Operation.objects.count() == before
    volume.refresh_from_db()
    assert volume.size_gib == 1


def test_add_space_grows_the_volume_and_its_filesystem(portal, volume):
    before = status.usage_of(mount_point_of(portal, volume.account)).total_bytes
    operation = requests.request_add_space(volume.owner, volume.owner)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    volume.refresh_from_db()
    assert volume.size_gib == 2
    after = status.usage_of(mount_point_of(portal, volume.account)).total_bytes
    assert after > before + 0.8 * 1024**3
    assert commands.volume(volume.account)["size_bytes"] == 2 * 1024**3


def test_add_space_past_the_quota_is_refused_and_changes_nothing(portal, volume):
    Quota.objects.create(user=volume.owner, max_size_gib=1)
    before = Operation.objects.count()
    with pytest.raises(UserFacingError, match="the most you may have"):
        requests.request_add_space(volume.owner, volume.owner)
    assert Operation.objects.count() == before
    assert commands.volume(volume.account)["size_bytes"] == 1024**3


def test_add_space_stops_at_the_quota(portal, volume, settings):
    settings.DEFAULT_ADD_SPACE_AMOUNT = 5
    Quota.objects.create(user=volume.owner, max_size_gib=2)
    requests.request_add_space(volume.owner, volume.owner)
    volume.refresh_from_db()
    assert volume.size_gib == 2


def test_a_full_pool_refuses_creation_before_anything_is_attempted(portal, employee):
    portal.write_local_settings(LOOPFILE_POOL_SIZE_GIB=0)
    try:
        assert "contact" in requests.can_create(employee)
        with pytest.raises(UserFacingError, match="not have enough free space"):
            requests.request_create(employee, employee)
    finally:
        portal.write_local_settings()
    # Only the refusal is recorded (for the admins' audit log): nothing started.
    (refusal,) = Operation.objects.filter(owner_name=employee.username)
    assert (refusal.kind, refusal.state) == (Operation.Kind.CREATE, Operation.State.FAILED)
    assert refusal.parameters["refused"] == "pool_full"
    assert "not have enough free space" in refusal.message
    assert refusal.started_at is None
    assert "refused before starting" in refusal.detail
    assert traces(portal, employee.username) == NOTHING


def test_a_full_pool_refuses_more_space(portal, volume, settings, tmp_path):
    # The dashboard decides from the pool's figures the stats job recorded
    # (update_df_stats every five minutes); the request asks the pool itself.
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    portal.write_local_settings(LOOPFILE_POOL_SIZE_GIB=1)
    try:
        collect.collect_space(now=time.time())
        # The dashboard no longer offers it, and a request anyway is refused.
        recorded = pool.recorded_free_gib()
        assert "not have enough free space" in requests.add_space_refusal(volume, None, recorded)
        with pytest.raises(UserFacingError, match="not have enough free space"):
            requests.request_add_space(volume.owner, volume.owner)
    finally:
        portal.write_local_settings()
    volume.refresh_from_db()
    assert volume.size_gib == 1
    refusal = Operation.objects.filter(owner_name=volume.account).first()
    assert (refusal.kind, refusal.state) == (Operation.Kind.ADD_SPACE, Operation.State.FAILED)
    assert refusal.parameters == {"refused": "pool_full", "needed_gib": 1, "free_gib": 0}
    collect.collect_space(now=time.time() + 60)
    assert requests.add_space_refusal(volume, None, pool.recorded_free_gib()) is None  # room again


def test_a_failure_half_way_through_create_leaves_nothing_behind(portal, employee, monkeypatch):
    real_run = client.run

    def fail_at_ownership(name, *args, **kwargs):
        if name == "chown.py":
            raise client.Failed(name, "injected failure")
        return real_run(name, *args, **kwargs)

    monkeypatch.setattr("backup.privileged.commands.run", fail_at_ownership)
    operation = requests.request_create(employee, employee)
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    assert "nothing was kept" in operation.message
    assert "injected failure" in operation.detail
    assert traces(portal, employee.username) == NOTHING
    assert not Volume.objects.filter(owner=employee).exists()
    assert leftovers(portal)["mounts"] == []


def test_an_account_name_taken_on_the_server_is_explained(portal, make_employee):
    # "daemon" exists on every Debian system and is not a backup account.
    user = make_employee()
    user.username = "daemon"
    user.save()
    operation = requests.request_create(user, user)
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    assert "already exists" in operation.message
    assert pwd.getpwnam("daemon").pw_uid < 1000


def test_delete_needs_the_typed_user_name(portal, volume):
    for typed in ("", "yes", volume.account.upper(), "root"):
        with pytest.raises(UserFacingError, match="type your user name"):
            requests.request_delete(volume.owner, volume.owner, typed)
    assert traces(portal, volume.account) == dict.fromkeys(NOTHING, True)


def test_delete_removes_volume_account_share_and_mount_point(portal, volume):
    operation = requests.request_delete(volume.owner, volume.owner, volume.account)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert traces(portal, volume.account) == NOTHING
    assert not Volume.objects.filter(pk=volume.pk).exists()
    # The audit log keeps the history of a deleted volume.
    assert Operation.objects.filter(owner_name=volume.account).count() == 2


def test_delete_of_a_busy_volume_is_refused_and_keeps_everything(portal, volume):
    root = mount_point_of(portal, volume.account)
    with open(root / "open-file", "w"):
        operation = requests.request_delete(volume.owner, volume.owner, volume.account)
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    assert "not deleted" in operation.message
    assert traces(portal, volume.account) == dict.fromkeys(NOTHING, True)
    assert Volume.objects.filter(pk=volume.pk).exists()


def test_mount_after_an_unmount(portal, volume):
    commands.unmount(volume.account)
    assert not status.volume_state(volume.account, version="unmounted").mounted
    operation = requests.request_mount(volume.owner, volume.owner)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert os.path.ismount(mount_point_of(portal, volume.account))


def test_delete_time_machine_backups_keeps_everything_else(portal, volume):
    root = mount_point_of(portal, volume.account)
    uid = pwd.getpwnam(volume.account).pw_uid
    for relative in ("Mac.sparsebundle/bands/0", "Old.backupbundle/Info.plist", "Windows/file"):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("data")
    subprocess.run(["chown", "-R", str(uid), str(root)], check=True)
    with pytest.raises(UserFacingError, match="type your user name"):
        requests.request_delete_time_machine(volume.owner, volume.owner, "nope")
    assert (root / "Mac.sparsebundle").exists()
    operation = requests.request_delete_time_machine(volume.owner, volume.owner, volume.account)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert "Mac.sparsebundle" in operation.message
    assert sorted(p.name for p in root.iterdir() if p.name != "lost+found") == ["Windows"]


def test_defragment_and_scrub_are_for_btrfs_only(portal, make_employee, settings):
    settings.VOLUME_FILESYSTEM = "ext4"
    user = make_employee()
    operation = requests.request_create(user, user)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    volume = Volume.objects.get(owner=user)
    with pytest.raises(UserFacingError, match="only available on btrfs"):
        requests.request_defragment(volume.owner, volume.owner)
    with pytest.raises(UserFacingError, match="only available on btrfs"):
        requests.request_scrub(volume.owner, volume.owner)


def test_btrfs_volume_defragment_and_scrub(portal, make_employee, settings):
    settings.VOLUME_FILESYSTEM = "btrfs"
    user = make_employee()
    operation = requests.request_create(user, user)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    for request in (requests.request_defragment, requests.request_scrub):
        operation = request(user, user)
        operation.refresh_from_db()
        assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert "no errors" in operation.message


def test_new_password_sets_unix_and_samba_and_is_kept_nowhere(portal, volume, caplog):
    caplog.set_level("DEBUG")
    first = passwords.set_new_password(volume, volume.owner)
    second = passwords.set_new_password(volume, volume.owner)
    assert first != second
    assert len(second) >= 20
    assert unix_password_matches(volume.account, second)
    assert not unix_password_matches(volume.account, first)
    assert volume.account in passdb_users(portal)
    volume.refresh_from_db()
    assert volume.password_changed_at is not None
    audit = Operation.objects.filter(kind=Operation.Kind.NEW_PASSWORD, owner_name=volume.account)
    assert audit.count() == 2
    assert all(op.state == Operation.State.SUCCEEDED for op in audit)
    # Never stored or logged: not in any log line, operation or database row.
    assert second not in caplog.text
    dump = "".join(
        str(row) for row in Operation.objects.values_list("message", "detail", "parameters")
    )
    assert second not in dump
    with open(settings_db_path(), "rb") as database:
        assert second.encode() not in database.read()


def settings_db_path():
    from django.db import connection

    return connection.settings_dict["NAME"]


def test_wrapper_refusals_reach_the_user_as_a_sentence(portal, volume, monkeypatch):
    portal.write_local_settings(LOOPFILE_POOL_SIZE_GIB=1)
    try:
        # Between the up-front check and the worker, the pool filled up.
        monkeypatch.setattr(space, "pool_free_gib", lambda: 100)
        operation = requests.request_add_space(volume.owner, volume.owner)
    finally:
        portal.write_local_settings()
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    assert operation.message.startswith("No space was added: ")
    assert "Traceback" not in operation.message
    volume.refresh_from_db()
    assert volume.size_gib == 1
