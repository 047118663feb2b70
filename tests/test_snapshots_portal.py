"""The portal's side of protected snapshots against recorded wrapper
outputs (the agreed interface, through the real privileged client): the
scheduled run and what it stores, mass-change alerts, the dashboard and
admin pages, browse and restore, and deferred deletion."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from backup.core.errors import UserFacingError
from backup.core.sizes import binary_size
from backup.core.times import absolute_time, file_name_time
from backup.operations import records
from backup.operations.models import Operation
from backup.snapshots import restore, services
from backup.snapshots.detection import (
    DELETION,
    ENCRYPTION,
    INTERVAL,
    WINDOW,
    Change,
    Thresholds,
    assess,
    judge,
)
from backup.snapshots.models import MassChange, Snapshot, SnapshotRun, SnapshotSpace
from backup.volumes import requests as volumes
from backup.volumes.models import Volume
from support.recorded_wrappers import acknowledged
from support.snapshot_outputs import (
    GIB,
    MIB,
    answer_browse,
    answer_dashboard,
    hours_ago,
    listed,
    measured,
    name_at,
    outcome,
    run_at,
    unsupported,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- The scheduled run -------------------------------------------------------


def test_one_privileged_call_stores_every_volumes_snapshot(recorded, make_volume):
    first, second = make_volume(), make_volume()
    when = hours_ago(1)
    run_at(
        recorded,
        when,
        {
            first.account: outcome(name_at(when), 5 * MIB, 100 * MIB),
            second.account: outcome(name_at(when), None, 20 * MIB),
        },
    )
    # One call takes every snapshot; one more reads the space they hold.
    assert recorded.calls() == [["snapshot-create.py"], ["snapshot-list.py"]]
    stored = Snapshot.objects.get(volume__account=first.account)
    assert (stored.name, stored.taken_at, stored.changed_bytes, stored.used_bytes) == (
        name_at(when),
        when,
        5 * MIB,
        100 * MIB,
    )
    assert Snapshot.objects.get(volume__account=second.account).changed_bytes is None
    run = SnapshotRun.objects.get()
    assert (run.volumes, run.snapshots, run.errors) == (2, 2, {})


def test_the_run_records_the_space_all_snapshots_hold(recorded, make_volume):
    first, second = make_volume(), make_volume()
    when = hours_ago(1)
    recorded.answer(
        "snapshot-list.py",
        {
            "volumes": {
                **listed(first.account, when, snapshot_bytes=30 * MIB)["volumes"],
                **listed(second.account, when, snapshot_bytes=12 * MIB)["volumes"],
            }
        },
    )
    run_at(recorded, when, {first.account: outcome(name_at(when), MIB, 10 * MIB)})
    assert SnapshotRun.objects.get().snapshot_bytes == 42 * MIB
    recorded.answer("snapshot-list.py", failed="busy")
    run_at(recorded, when, {first.account: outcome(name_at(when), MIB, 10 * MIB)})
    assert SnapshotRun.objects.first().snapshot_bytes is None


def test_pruned_snapshots_leave_and_errors_are_reported(recorded, make_volume):
    volume, broken = make_volume(), make_volume()
    old = hours_ago(30)
    run_at(recorded, old, {volume.account: outcome(name_at(old), None, 10 * MIB)})
    now = hours_ago(0)
    with pytest.raises(CommandError, match="1 volume"):
        run_at(
            recorded,
            now,
            {
                volume.account: outcome(name_at(now), MIB, 10 * MIB, pruned=[name_at(old)]),
                broken.account: outcome(None, None, 0, error="read-only filesystem"),
            },
        )
    assert list(Snapshot.objects.values_list("name", flat=True)) == [name_at(now)]
    run = SnapshotRun.objects.first()
    assert run.errors == {broken.account: "read-only filesystem"}
    assert run.pruned == 1


def test_hostile_or_unknown_entries_are_not_stored(recorded, make_volume):
    volume = make_volume()
    when = hours_ago(0)
    run_at(
        recorded,
        when,
        {
            volume.account: outcome(None, None, MIB),
            "nobody-we-know": outcome(name_at(when), MIB, MIB),
        },
    )
    assert not Snapshot.objects.exists()
    assert SnapshotRun.objects.get().volumes == 1
    # A hostile snapshot name fails the whole run where it is parsed, saying
    # which field: nothing of it is stored.
    recorded.answer(
        "snapshot-create.py",
        {"taken_at": "2026-11-30T21:00:00Z",
         "volumes": {volume.account: outcome("../../etc/passwd", MIB, MIB)}},
        malformed=True,
    )  # fmt: skip
    with pytest.raises(CommandError, match=rf"volumes\.{volume.account}\.snapshot: not of the"):
        call_command("take_snapshots")
    assert not Snapshot.objects.exists()
    assert SnapshotRun.objects.count() == 1


def test_a_volumes_rows_go_with_it_and_no_row_is_kept_without_one(recorded, make_volume):
    # Snapshot rows belong to their volume (a foreign key on the account):
    # an account the wrappers report but the portal has no volume for is
    # skipped (and logged), and a volume's rows go when its row goes.
    volume, other = make_volume(), make_volume()
    when = hours_ago(1)
    recorded.answer(
        "snapshot-list.py",
        {
            "volumes": {
                **listed(volume.account, when)["volumes"],
                **listed(other.account, when)["volumes"],
                **listed("nobody-we-know", when)["volumes"],
            }
        },
    )
    run_at(
        recorded,
        when,
        {
            account: outcome(name_at(when), MIB, 10 * MIB)
            for account in (volume.account, other.account, "nobody-we-know")
        },
    )
    both = {volume.account, other.account}
    assert {row.account for row in Snapshot.objects.all()} == both
    assert {row.account for row in SnapshotSpace.objects.all()} == both
    # A row for no volume is refused by the database, and nothing is stored.
    with pytest.raises(IntegrityError), transaction.atomic():
        Snapshot.objects.create(
            volume_id="nobody-we-know",
            name=name_at(when),
            taken_at=when,
            used_bytes=0,
            size_bytes=0,
        )
    assert Snapshot.objects.count() == 2
    Volume.objects.filter(pk=volume.pk).delete()
    assert [row.account for row in Snapshot.objects.all()] == [other.account]
    assert [row.account for row in SnapshotSpace.objects.all()] == [other.account]


def test_a_failing_wrapper_stops_the_run_with_its_reason(recorded, make_volume):
    make_volume()
    recorded.answer("snapshot-create.py", failed="another run holds the lock")
    with pytest.raises(CommandError, match="another run holds the lock"):
        call_command("take_snapshots")
    assert not SnapshotRun.objects.exists()


# --- Mass-change detection ---------------------------------------------------


LOW = Thresholds(min_bytes=0, min_files=0, share=0.0, evidence_share=0.0, note_folders=0)
SMALL = Thresholds(min_bytes=MIB, min_files=10, share=0.5, evidence_share=0.2, note_folders=5)


def _change(held=GIB, **counts):
    return Change.from_report(measured("@GMT-2026.03.02-00.00.00", held, **counts))


@pytest.mark.parametrize(
    "change",
    [
        _change(held=16 * 1024, new_files=4000, new_bytes=400 * MIB),  # first backup
        _change(held=300 * MIB, new_files=4000, new_bytes=400 * MIB),  # a second computer
        _change(held=MIB, new_files=900, new_bytes=2 * GIB, renamed_to_one_extension=0),
        _change(held=None, new_files=10, new_bytes=MIB, note_folders=0),  # unknown size
    ],
)
@pytest.mark.parametrize("thresholds", [LOW, SMALL, Thresholds.from_settings()])
def test_new_files_alone_are_never_a_mass_change(change, thresholds):
    assert assess(change, change, thresholds) is None


@pytest.mark.parametrize(
    ("counts", "kind"),
    [
        ({"overwritten_files": 100, "overwritten_bytes": 600 * MIB}, ENCRYPTION),
        ({"truncated_files": 100, "truncated_bytes": 900 * MIB}, ENCRYPTION),
        ({"deleted_files": 500, "deleted_bytes": 520 * MIB}, DELETION),
        # Encrypted in place and then deleted: only the deletion is seen.
        ({"deleted_files": 500, "deleted_bytes": GIB, "new_files": 3}, DELETION),
        # Less than half, but renamed to one new extension: evidence.
        (
            {
                "overwritten_files": 40,
                "overwritten_bytes": 300 * MIB,
                "renamed_to_one_extension": 40,
            },
            ENCRYPTION,
        ),
        # Deleted, with a ransom-note-like file in many folders: encryption.
        ({"deleted_files": 50, "deleted_bytes": 300 * MIB, "note_folders": 12}, ENCRYPTION),
    ],
)
def test_destroying_much_of_what_existed_is_a_mass_change(counts, kind):
    verdict = judge(_change(**counts), INTERVAL, SMALL)
    assert verdict is not None
    assert verdict.kind == kind


@pytest.mark.parametrize(
    "counts",
    [
        # A disk image or mailbox rewritten: one file, however big.
        {"overwritten_files": 1, "overwritten_bytes": 900 * MIB},
        # A photo library reorganised: renames keep the extension.
        {"renamed_files": 3000},
        # Under half, no evidence.
        {"deleted_files": 300, "deleted_bytes": 300 * MIB},
        # Under the floor of files.
        {"deleted_files": 5, "deleted_bytes": 900 * MIB},
        # Evidence alone, nothing destroyed (a bulk rename .jpeg -> .jpg).
        {"renamed_files": 3000, "renamed_to_one_extension": 3000},
    ],
)
def test_what_is_not_a_mass_change(counts):
    assert judge(_change(**counts), INTERVAL, SMALL) is None


def test_slow_destruction_adds_up_over_the_window():
    interval = _change(overwritten_files=30, overwritten_bytes=250 * MIB)
    window = _change(overwritten_files=120, overwritten_bytes=900 * MIB)
    assert judge(interval, INTERVAL, SMALL) is None
    verdict = assess(interval, window, SMALL)
    assert (verdict.scope, verdict.kind, verdict.share) == (WINDOW, ENCRYPTION, 88)


def _destroy(before, held=500 * MIB, **counts):
    counts = counts or {"overwritten_files": 200, "overwritten_bytes": 480 * MIB}
    return measured(name_at(before), held, **counts)


def test_a_mass_change_emails_the_owner_and_admins_once_naming_the_restore_point(
    recorded, make_volume
):
    volume = make_volume()
    before, after = hours_ago(2), hours_ago(1)
    run_at(recorded, before, {volume.account: outcome(name_at(before), MIB, 500 * MIB)})
    assert mail.outbox == []
    report = outcome(name_at(after), 480 * MIB, 980 * MIB, change=_destroy(before))
    run_at(recorded, after, {volume.account: report})
    change = MassChange.objects.get()
    assert change.restore_point == name_at(before)
    assert change.snapshot.name == name_at(after)
    assert change.facts["rule"] == ENCRYPTION
    assert change.reason.replace("\xa0", " ") == (
        "200 files overwritten, truncated or deleted: 480 MiB, 96% of the 500 MiB the volume held"
    )
    assert sorted(message.to[0] for message in mail.outbox) == [
        "admins@example.com",
        f"{volume.account}@example.com",
    ]
    for message in mail.outbox:
        assert name_at(before) in message.body
        assert "/snapshots/" in message.body
        assert "ransomware" in message.body
    # The same report again (a rerun) neither records nor sends anything new.
    run_at(recorded, after, {volume.account: report})
    assert MassChange.objects.count() == 1
    assert len(mail.outbox) == 2


def test_a_mass_deletion_is_worded_as_one(recorded, make_volume):
    volume = make_volume()
    before, after = hours_ago(2), hours_ago(1)
    run_at(recorded, before, {volume.account: outcome(name_at(before), MIB, 500 * MIB)})
    deleted = _destroy(before, deleted_files=300, deleted_bytes=300 * MIB)
    run_at(recorded, after, {volume.account: outcome(name_at(after), 0, 200 * MIB, change=deleted)})
    assert MassChange.objects.get().facts["rule"] == DELETION
    owner_mail = next(m for m in mail.outbox if m.to[0].startswith(volume.account))
    assert "deleted" in owner_mail.subject
    assert "300 files deleted" in owner_mail.body
    answer_dashboard(recorded, volume, before, after)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert "Many of your files were deleted at once." in page
    assert 'data-kind="deletion"' in page


def test_new_data_raises_nothing_end_to_end(recorded, make_volume):
    volume = make_volume()
    first, second = hours_ago(2), hours_ago(1)
    run_at(recorded, first, {volume.account: outcome(name_at(first), None, MIB, holds=16384)})
    backup = measured(name_at(first), 16384, new_files=4000, new_bytes=400 * MIB)
    report = outcome(name_at(second), 400 * MIB, 400 * MIB, change=backup, window=None)
    run_at(recorded, second, {volume.account: report})
    assert not MassChange.objects.exists()
    assert mail.outbox == []
    assert Snapshot.objects.get(name=name_at(second)).change["new_files"] == 4000


def test_the_restore_point_is_never_an_undone_state(recorded, make_volume):
    """Encrypted, rolled back, re-encrypted before the next run: the state the
    rollback kept and the first encrypted snapshot are both skipped."""
    volume = make_volume()
    good, bad, kept, again = hours_ago(4), hours_ago(3), hours_ago(2), hours_ago(1)
    run_at(recorded, good, {volume.account: outcome(name_at(good), MIB, 500 * MIB)})
    run_at(
        recorded,
        bad,
        {volume.account: outcome(name_at(bad), 480 * MIB, 980 * MIB, change=_destroy(good))},
    )
    assert MassChange.objects.get().restore_point == name_at(good)
    recorded.answer(
        f"snapshot-rollback.py {volume.account} {name_at(good)}",
        {"user": volume.account, "snapshot": name_at(good), "kept_as": name_at(kept)},
    )
    recorded.answer(f"snapshot-list.py {volume.account}", listed(volume.account, good, bad, kept))
    restore.request_rollback(volume.owner, volume.owner, name_at(good), volume.account)
    assert Snapshot.objects.get(name=name_at(kept)).kept_by_rollback
    page = Client(REMOTE_USER=volume.account).get("/snapshots/").content.decode()
    assert page.count('data-testid="kept-by-rollback"') == 1
    assert "200 existing files overwritten or truncated" in page
    # The wrapper measures from the snapshot the rollback copied (good)...
    run_at(
        recorded,
        again,
        {volume.account: outcome(name_at(again), 480 * MIB, 980 * MIB, change=_destroy(good))},
    )
    assert MassChange.objects.get(snapshot__name=name_at(again)).restore_point == name_at(good)
    # ...and had it measured from the kept state, that is still not offered.
    Snapshot.objects.filter(name=name_at(again)).delete()
    run_at(
        recorded,
        again,
        {volume.account: outcome(name_at(again), 480 * MIB, 980 * MIB, change=_destroy(kept))},
    )
    assert MassChange.objects.get(snapshot__name=name_at(again)).restore_point == name_at(good)


def test_slow_encryption_alerts_once_naming_the_snapshot_before_it_began(
    recorded, make_volume, settings
):
    settings.MASS_CHANGE_MIN_BYTES = MIB
    volume = make_volume()
    times = [hours_ago(hours) for hours in (6, 5, 4, 3, 2, 1)]
    quiet = measured(name_at(times[0]), 400 * MIB, overwritten_files=1, overwritten_bytes=MIB)
    run_at(recorded, times[0], {volume.account: outcome(name_at(times[0]), None, 400 * MIB)})
    run_at(
        recorded,
        times[1],
        {volume.account: outcome(name_at(times[1]), MIB, 400 * MIB, change=quiet)},
    )
    alerts = []
    for step, when in enumerate(times[2:], start=1):
        interval = measured(
            name_at(times[step]), 400 * MIB, overwritten_files=25, overwritten_bytes=100 * MIB
        )
        window = measured(
            name_at(times[0]),
            400 * MIB,
            overwritten_files=25 * step + 1,
            overwritten_bytes=min(400, 100 * step + 1) * MIB,
        )
        report = outcome(name_at(when), 100 * MIB, 400 * MIB, change=interval, window=window)
        run_at(recorded, when, {volume.account: report})
        alerts.append(MassChange.objects.count())
    # Half destroyed after the second run: one alert, not one per run.
    assert alerts == [0, 1, 1, 1]
    change = MassChange.objects.get()
    assert change.facts["scope"] == WINDOW
    assert change.restore_point == name_at(times[1])


def test_the_dashboard_warning_ends_when_dismissed_not_after_quiet_snapshots(recorded, make_volume):
    volume = make_volume()
    before, after = hours_ago(7), hours_ago(6)
    run_at(recorded, before, {volume.account: outcome(name_at(before), MIB, 500 * MIB)})
    report = outcome(name_at(after), 480 * MIB, 980 * MIB, change=_destroy(before))
    run_at(recorded, after, {volume.account: report})
    quiet = [hours_ago(hours) for hours in (5, 4, 3, 2)]
    for when in quiet:
        nothing = measured(name_at(after), 980 * MIB)
        run_at(
            recorded, when, {volume.account: outcome(name_at(when), 0, 980 * MIB, change=nothing)}
        )
    answer_dashboard(recorded, volume, before, after, *quiet)
    client = Client(REMOTE_USER=volume.account)
    page = client.get("/").content.decode()
    assert 'data-testid="mass-change"' in page
    change = MassChange.objects.get()
    # Someone else's dismissal does nothing.
    other = make_volume()
    Client(REMOTE_USER=other.account).post(f"/snapshots/mass-change/{change.pk}/dismiss/")
    assert 'data-testid="mass-change"' in client.get("/").content.decode()
    response = client.post(f"/snapshots/mass-change/{change.pk}/dismiss/")
    assert response.status_code == 302
    assert 'data-testid="mass-change"' not in client.get("/").content.decode()
    assert MassChange.objects.get().dismissed_at is not None


def test_the_dashboard_shows_the_same_warning_until_a_restore(recorded, make_volume):
    volume = make_volume()
    before, after = hours_ago(2), hours_ago(1)
    run_at(recorded, before, {volume.account: outcome(name_at(before), MIB, 500 * MIB)})
    report = outcome(name_at(after), 480 * MIB, 980 * MIB, change=_destroy(before))
    run_at(recorded, after, {volume.account: report})
    answer_dashboard(recorded, volume, before, after)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert 'data-testid="mass-change"' in page
    assert name_at(before) in page
    # Once the whole volume was restored, the warning has done its job.
    recorded.answer(
        f"snapshot-rollback.py {volume.account} {name_at(before)}",
        {"user": volume.account, "snapshot": name_at(before), "kept_as": name_at(hours_ago(0))},
    )
    restore.request_rollback(volume.owner, volume.owner, name_at(before), volume.account)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert 'data-testid="mass-change"' not in page


def test_the_restore_confirmation_says_what_the_snapshot_holds(recorded, make_volume):
    volume = make_volume()
    empty, full = hours_ago(2), hours_ago(1)
    run_at(recorded, empty, {volume.account: outcome(name_at(empty), None, MIB, holds=16384)})
    run_at(
        recorded,
        full,
        {volume.account: outcome(name_at(full), 300 * MIB, 300 * MIB, holds=300 * MIB)},
    )
    client = Client(REMOTE_USER=volume.account)
    page = client.get(f"/snapshots/{name_at(empty)}/rollback/").content.decode()
    assert f"This snapshot holds {binary_size(16384)}." in page
    assert "It holds almost nothing" in page
    page = client.get(f"/snapshots/{name_at(full)}/rollback/").content.decode()
    assert f"This snapshot holds {binary_size(300 * MIB)}." in page
    assert "It holds almost nothing" not in page


# --- Dashboard and admin pages -------------------------------------------------


def test_dashboard_lists_snapshots_with_change_and_protection(recorded, make_volume):
    volume = make_volume()
    old, new = hours_ago(20 * 24), hours_ago(1)
    run_at(recorded, new, {volume.account: outcome(name_at(new), 7 * MIB, 100 * MIB)})
    answer_dashboard(recorded, volume, old, new)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert recorded.calls() == [["lvdisplay.py", volume.account]]  # as without snapshots
    table = page[page.index('data-testid="snapshot-table"') :]
    assert table.index(name_at(new)) < table.index(name_at(old))  # newest first
    assert "7\xa0MiB" in table
    assert absolute_time(new + timedelta(days=14)) in table
    assert "kept by the retention policy" in table  # the 20-day-old one
    assert "Snapshots hold 50\xa0MiB of your volume (5%)" in page
    assert 'data-testid="protected-full"' not in page


def test_the_dashboard_splits_used_space_into_live_data_and_snapshots(
    recorded, make_volume, tmp_path
):
    volume = make_volume()
    answer_dashboard(recorded, volume, hours_ago(1), mounted_at=tmp_path)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    used = page[page.index('data-testid="used-split"') :]
    assert "50\xa0MiB held only by snapshots" in used[: used.index("</small>")]
    assert "your files" in used[: used.index("</small>")]


def test_a_full_volume_held_by_protected_snapshots_offers_add_space(recorded, make_volume):
    volume = make_volume()
    answer_dashboard(recorded, volume, hours_ago(1), snapshot_bytes=400 * MIB, used=GIB)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    warning = page[page.index('data-testid="protected-full"') :]
    assert "still protected" in warning
    assert "/volume/add-space/" in warning[: warning.index("</div>\n</div>") + 20]


def test_ext4_volumes_say_snapshots_need_btrfs(recorded, make_volume):
    volume = make_volume(filesystem="ext4")
    answer_dashboard(recorded, volume)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert 'data-testid="snapshots-unsupported"' in page
    assert "need btrfs" in page
    assert not any(call[0] == "snapshot-list.py" for call in recorded.calls())


def test_admin_page_shows_policy_space_and_is_staff_only(recorded, make_volume, settings):
    volume = make_volume()
    recorded.answer("snapshot-list.py", listed(volume.account, hours_ago(1)))
    services.refresh_listing()
    recorded.answer(
        "vgdisplay.py",
        {"backend": "loopfile", "name": "pool", "size_bytes": 20 * GIB, "allocated_bytes": GIB,
         "free_bytes": 19 * GIB, "used_bytes": GIB, "volume_count": 1},
    )  # fmt: skip
    assert Client(REMOTE_USER=volume.account).get("/staff/snapshots/").status_code == 403
    settings.BACKUP_ADMINS = ["snapboss"]
    recorded.forget_calls()
    page = Client(REMOTE_USER="snapboss").get("/staff/snapshots/").content.decode()
    assert recorded.calls() == [["vgdisplay.py"]]  # the snapshots are read as stored
    assert "every 15 minutes" in page
    assert "14 days after each snapshot that is its hour's first" in page
    assert "every 15 minutes for the last 16 snapshots, hourly for 24 hours, daily for 14" in page
    assert "Snapshots hold 50\xa0MiB of the 1\xa0GiB used in the pool" in page
    row = page[page.index(f"<td>{volume.account}</td>") :]
    assert row.split("</tr>")[0].count("<td>1</td>") == 2  # one snapshot, protected


# --- Browse and restore -----------------------------------------------------------


def test_browse_shows_names_escaped_and_addresses_them_by_ref(recorded, make_volume):
    volume = make_volume()
    snapshot = name_at(hours_ago(1))
    answer_browse(recorded, volume, snapshot)
    response = Client(REMOTE_USER=volume.account).get(f"/snapshots/{snapshot}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert f"/snapshots/{snapshot}/?path=RG9jcw" in page
    assert 'name="path" value="PHNjcmlwdD4"' in page
    assert recorded.calls() == [["snapshot-browse.py", volume.account, snapshot, "."]]


def test_a_browse_result_with_an_unusable_ref_shows_nothing_of_it(recorded, make_volume):
    volume = make_volume()
    snapshot = name_at(hours_ago(1))
    answer_browse(recorded, volume, snapshot)
    answer = recorded.answers[f"snapshot-browse.py {volume.account} {snapshot} ."]["stdout"]
    answer["entries"].append({"ref": "../x", "name": "bad ref", "type": "file",
                              "size_bytes": 1, "modified": None})  # fmt: skip
    recorded.answer(f"snapshot-browse.py {volume.account} {snapshot} .", answer, malformed=True)
    with pytest.raises(UserFacingError, match="could not read this snapshot right now") as raised:
        restore.browse(volume.owner, snapshot, ".")
    assert "entries[2].ref: not of the expected form" in str(raised.value.__cause__)


@pytest.mark.parametrize("path", ["..", "RG9jcw/..", "/etc", "a//b", "a b", "-rf", "é"])
def test_browse_refuses_a_path_that_is_not_refs_without_calling_a_wrapper(
    recorded, make_volume, path
):
    volume = make_volume()
    snapshot = name_at(hours_ago(1))
    response = Client(REMOTE_USER=volume.account).get(f"/snapshots/{snapshot}/", {"path": path})
    assert response.status_code == 404
    assert recorded.calls() == []


def restore_folder(taken):
    """The folder the portal names for a restore (language and zone: en, UTC)."""
    return f"Restored {file_name_time(taken)} from snapshot"


def test_restoring_a_file_is_an_operation_with_an_audit_record(recorded, make_volume, settings):
    volume = make_volume()
    taken = hours_ago(1)
    snapshot, folder = name_at(taken), restore_folder(taken)
    recorded.answer(
        f"snapshot-restore.py {volume.account} {snapshot} RG9jcw/PHNjcmlwdD4 {folder}",
        {"user": volume.account, "snapshot": snapshot, "path": "RG9jcw/PHNjcmlwdD4",
         "restored_to": folder, "files": 1, "bytes": 12},
    )  # fmt: skip
    response = Client(REMOTE_USER=volume.account).post(
        f"/snapshots/{snapshot}/restore/", {"path": "RG9jcw/PHNjcmlwdD4"}
    )
    operation = Operation.objects.get()
    assert response.url == f"/operations/{operation.pk}/"
    assert operation.kind == Operation.Kind.RESTORE
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert folder in operation.message
    assert absolute_time(taken) in operation.message  # never the snapshot's name
    assert snapshot not in operation.message
    assert operation.actor_name == volume.account
    # The audit log shows the path restored as names, never as refs.
    assert "/Docs/<script>" in operation.detail
    settings.BACKUP_ADMINS = ["auditor"]
    audit = Client(REMOTE_USER="auditor").get("/staff/audit/").content.decode()
    assert "/Docs/&lt;script&gt;" in audit
    assert "RG9jcw" not in audit


def test_a_refused_restore_says_why_and_nothing_else_happens(recorded, make_volume):
    volume = make_volume()
    taken = hours_ago(1)
    snapshot = name_at(taken)
    recorded.answer(
        f"snapshot-restore.py {volume.account} {snapshot} RG9jcw {restore_folder(taken)}",
        refused="no such file or folder in the snapshot",
    )
    Client(REMOTE_USER=volume.account).post(f"/snapshots/{snapshot}/restore/", {"path": "RG9jcw"})
    operation = Operation.objects.get()
    assert operation.state == Operation.State.FAILED
    assert operation.message == "Nothing was restored: no such file or folder in the snapshot."


def test_restoring_the_whole_volume_needs_the_typed_name(recorded, make_volume):
    volume = make_volume()
    taken, kept = hours_ago(1), hours_ago(0)
    snapshot = name_at(taken)
    recorded.answer(
        f"snapshot-rollback.py {volume.account} {snapshot}",
        {"user": volume.account, "snapshot": snapshot, "kept_as": name_at(kept)},
    )
    client = Client(REMOTE_USER=volume.account)
    response = client.post(f"/snapshots/{snapshot}/rollback/", {"confirmation": "yes"})
    assert response.status_code == 400
    assert b"Nothing was restored" in response.content
    assert recorded.calls() == []
    assert not Operation.objects.exists()
    client.post(f"/snapshots/{snapshot}/rollback/", {"confirmation": volume.account})
    operation = Operation.objects.get()
    assert operation.kind == Operation.Kind.ROLLBACK
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert operation.message == (
        f"Your volume is back to the snapshot of {absolute_time(taken)}. What it held before "
        f"is kept as the snapshot of {absolute_time(kept)}."
    )
    # Then the list is read again, so the state kept shows at once.
    assert recorded.calls() == [
        ["snapshot-rollback.py", volume.account, snapshot],
        ["snapshot-list.py", volume.account],
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/snapshots/@GMT-2026.11.30-10.00.00/restore/",
        "/snapshots/@GMT-2026.11.30-10.00.00/rollback/",
        "/volume/delete/undo/",
    ],
)
def test_snapshot_state_changes_need_the_csrf_token(recorded, make_volume, url):
    volume = make_volume(suspended_at=timezone.now(), destroy_after=timezone.now())
    client = Client(REMOTE_USER=volume.account, enforce_csrf_checks=True)
    response = client.post(url, {"path": ".", "confirmation": volume.account})
    assert response.status_code == 403
    assert recorded.calls() == []
    assert not Operation.objects.exists()


# --- Deferred deletion -------------------------------------------------------------


def test_deleting_a_protected_volume_suspends_it_until_protection_ends(recorded, make_volume):
    volume = make_volume()
    taken = [hours_ago(48), hours_ago(2)]
    run_at(recorded, taken[1], {volume.account: outcome(name_at(taken[1]), MIB, 10 * MIB)})
    recorded.forget_calls()
    recorded.answer(f"snapshot-list.py {volume.account}", listed(volume.account, *taken))
    recorded.answer(f"suspend.py {volume.account}", {"user": volume.account})
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    volume.refresh_from_db()
    assert volume.destroy_after == taken[1] + timedelta(days=14)
    assert volume.pending_destruction
    assert [call[0] for call in recorded.calls()] == ["snapshot-list.py", "suspend.py"]
    assert "undo" in Operation.objects.get().message
    # Nothing but Undo is possible meanwhile.
    with pytest.raises(UserFacingError, match="Undo the deletion"):
        volumes.request_add_space(volume.owner, volume.owner)
    # destroy_due_volumes leaves it alone until its time.
    call_command("destroy_due_volumes")
    assert Volume.objects.filter(pk=volume.pk).exists()


def test_a_deletion_can_be_undone(recorded, make_volume):
    volume = make_volume(suspended_at=timezone.now(), destroy_after=timezone.now() + timedelta(1))
    recorded.answer(
        f"resume.py {volume.account}", {"user": volume.account, "mount_point": "/srv/x"}
    )
    answer_dashboard(recorded, volume)
    page = Client(REMOTE_USER=volume.account).get("/").content.decode()
    assert 'data-testid="pending-destruction"' in page
    Client(REMOTE_USER=volume.account).post("/volume/delete/undo/")
    volume.refresh_from_db()
    assert not volume.pending_destruction
    assert volume.destroy_after is None
    assert Operation.objects.get().kind == Operation.Kind.UNDO_DELETE


def test_a_suspended_volume_is_destroyed_once_due_with_an_audit_record(recorded, make_volume):
    volume = make_volume(suspended_at=hours_ago(400), destroy_after=hours_ago(1))
    taken = hours_ago(15 * 24)
    Snapshot.objects.create(
        volume_id=volume.account, name=name_at(taken), taken_at=taken, used_bytes=0, size_bytes=GIB
    )
    for wrapper in ("lvremove.py", "rmdir.py", "deluser.py"):
        recorded.answer(f"{wrapper} {volume.account}", acknowledged(f"{wrapper} {volume.account}"))
    # The snapshot run destroys nothing (issue 25): destruction is its own command.
    recorded.answer("snapshot-create.py", {"taken_at": "2026-11-30T21:00:00Z", "volumes": {}})
    call_command("take_snapshots")
    assert Volume.objects.filter(pk=volume.pk).exists()
    recorded.forget_calls()
    call_command("destroy_due_volumes")
    assert not Volume.objects.filter(pk=volume.pk).exists()
    assert not Snapshot.objects.filter(volume__account=volume.account).exists()
    operation = Operation.objects.get()
    assert (operation.kind, operation.state, operation.actor_name) == (
        Operation.Kind.DESTROY,
        Operation.State.SUCCEEDED,
        records.SERVER_ACTOR,
    )
    assert [call[0] for call in recorded.calls()] == ["lvremove.py", "rmdir.py", "deluser.py"]


def test_a_refused_early_destruction_keeps_the_volume(recorded, make_volume):
    volume = make_volume(suspended_at=hours_ago(400), destroy_after=hours_ago(1))
    recorded.answer(
        f"lvremove.py {volume.account}", refused="a snapshot is protected until 2026-12-14 10:00"
    )
    with pytest.raises(CommandError, match="1 volume\\(s\\) not destroyed"):
        call_command("destroy_due_volumes")
    assert Volume.objects.filter(pk=volume.pk, suspended_at__isnull=False).exists()
    assert Operation.objects.get().state == Operation.State.FAILED


def test_without_protected_snapshots_deletion_is_immediate(recorded, make_volume):
    volume = make_volume(filesystem="ext4")
    recorded.answer(f"snapshot-list.py {volume.account}", unsupported(volume.account))
    for wrapper in ("umount.py", "lvremove.py", "rmdir.py", "deluser.py"):
        recorded.answer(f"{wrapper} {volume.account}", acknowledged(f"{wrapper} {volume.account}"))
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    assert not Volume.objects.filter(pk=volume.pk).exists()
    assert "suspend.py" not in [call[0] for call in recorded.calls()]


def test_the_admin_page_lists_pending_volumes_with_the_root_only_command(
    recorded, make_volume, settings
):
    volume = make_volume(suspended_at=hours_ago(3), destroy_after=hours_ago(-100))
    recorded.answer("snapshot-list.py", {"volumes": {}})
    recorded.answer("vgdisplay.py", failed="no pool")
    settings.BACKUP_ADMINS = ["snapboss"]
    page = Client(REMOTE_USER="snapboss").get("/staff/snapshots/").content.decode()
    pending = page[page.index('data-testid="pending"') :]
    assert volume.account in pending
    assert f"{settings.WRAPPERS_PATH}/tools/destroy-protected.py {volume.account}" in pending
    assert "can't shorten the protection, by design" in page


def test_taken_at_of_reads_only_snapshot_names():
    assert services.taken_at_of("@GMT-2026.11.30-10.20.30") == datetime(
        2026, 11, 30, 10, 20, 30, tzinfo=UTC
    )
    for name in ("@GMT-2026.13.30-10.20.30", "@GMT-2026.11.30-10.20.30x", "x", ""):
        assert services.taken_at_of(name) is None


def test_deletion_is_refused_when_the_snapshots_cant_be_read(recorded, make_volume):
    volume = make_volume()
    when = hours_ago(1)
    run_at(recorded, when, {volume.account: outcome(name_at(when), MIB, 10 * MIB)})
    recorded.answer(f"snapshot-list.py {volume.account}", failed="btrfs: no such device")
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    operation = Operation.objects.get()
    assert operation.state == Operation.State.FAILED
    assert "not deleted: its snapshots could not be read" in operation.message
    volume.refresh_from_db()
    assert not volume.pending_destruction
    assert recorded.calls()[-1] == ["snapshot-list.py", volume.account]


def test_the_stored_list_follows_the_wrappers_list(recorded, make_volume):
    volume = make_volume()
    gone, kept = hours_ago(5), hours_ago(2)
    run_at(recorded, gone, {volume.account: outcome(name_at(gone), MIB, 10 * MIB)})
    # A snapshot the run did not take (kept by a restore of the whole volume)
    # appears, one that is no longer there goes, protection is the wrapper's.
    listing = listed(volume.account, kept)
    listing["volumes"][volume.account]["snapshots"][0]["protected_until"] = "2027-01-01T00:00:00Z"
    recorded.answer("snapshot-list.py", listing)
    assert services.refresh_listing() == 50 * MIB
    stored = Snapshot.objects.get(volume__account=volume.account)
    assert (stored.name, stored.changed_bytes) == (name_at(kept), None)
    assert stored.protected_until == datetime(2027, 1, 1, tzinfo=UTC)


def test_after_a_dismissed_clean_up_the_restore_point_is_the_cleaned_state(recorded, make_volume):
    """The owner deleted half their files and dismissed the warning: that
    state is theirs, so a later attack names it, not the one before."""
    volume = make_volume()
    full, cleaned, attacked = hours_ago(3), hours_ago(2), hours_ago(1)
    run_at(recorded, full, {volume.account: outcome(name_at(full), MIB, 500 * MIB)})
    deleted = _destroy(full, deleted_files=300, deleted_bytes=300 * MIB)
    run_at(
        recorded, cleaned, {volume.account: outcome(name_at(cleaned), 0, 200 * MIB, change=deleted)}
    )
    clean_up = MassChange.objects.get()
    Client(REMOTE_USER=volume.account).post(f"/snapshots/mass-change/{clean_up.pk}/dismiss/")
    report = outcome(name_at(attacked), 0, 200 * MIB, change=_destroy(cleaned, held=200 * MIB))
    run_at(recorded, attacked, {volume.account: report})
    attack = MassChange.objects.get(snapshot__name=name_at(attacked))
    assert attack.restore_point == name_at(cleaned)
