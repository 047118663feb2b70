"""The scheduled run writes what changed, not what exists (issue 25): a
volume keeps hundreds of snapshots and a run adds one and prunes one or two,
so storing the wrappers' list again writes nothing for the snapshots that
are as they were, and exactly the rows added, pruned or changed otherwise."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backup.snapshots import services
from backup.snapshots.models import MassChange, Snapshot, SnapshotSpace
from support.queries import writes
from support.snapshot_outputs import MIB, hours_ago, listed, measured, name_at, outcome, run_at

pytestmark = pytest.mark.django_db(transaction=True)

SNAPSHOTS = Snapshot._meta.db_table
SPACES = SnapshotSpace._meta.db_table
MASS_CHANGES = MassChange._meta.db_table
STORED = ("volume_id", "name", "taken_at", "protected_until", "exclusive_bytes", "changed_bytes")


def listing(*volumes):
    """One snapshot-list.py answer for several volumes: (account, [times])."""
    return {
        "volumes": {
            account: entry
            for account, times in volumes
            for account, entry in listed(account, *times)["volumes"].items()
        }
    }


def stored():
    """{(account, name): (pk, *STORED)} of every stored snapshot."""
    return {row[1:3]: row for row in Snapshot.objects.values_list("pk", *STORED)}


def test_the_same_listing_again_writes_no_snapshot_row(recorded, make_volume):
    first, second = make_volume(), make_volume()
    times = [hours_ago(hours) for hours in (30, 5, 2)]
    now = hours_ago(0)
    recorded.answer(
        "snapshot-list.py", listing((first.account, [*times, now]), (second.account, times))
    )
    # A run takes a snapshot and stores the list with its protection...
    run_at(recorded, now, {first.account: outcome(name_at(now), MIB, 10 * MIB)})
    before = stored()
    assert len(before) == 7
    assert Snapshot.objects.get(name=name_at(now)).changed_bytes == MIB
    # ...and the same list read again changes no snapshot's row.
    with CaptureQueriesContext(connection) as captured:
        assert services.refresh_listing() == 100 * MIB
    assert writes(captured, SNAPSHOTS) == []
    assert writes(captured, MASS_CHANGES) == []
    # Only each volume's space and its "as of" time, one statement for all.
    assert len(writes(captured, SPACES)) == 1
    assert stored() == before


def test_a_listing_with_one_added_one_pruned_one_changed_writes_exactly_those(
    recorded, make_volume
):
    volume, other = make_volume(), make_volume()
    pruned, kept, changed, newest, new = (hours_ago(hours) for hours in (40, 30, 20, 2, 1))
    recorded.answer(
        "snapshot-list.py",
        listing((volume.account, [pruned, kept, changed, newest]), (other.account, [kept])),
    )
    services.refresh_listing()
    rows = {row.name: row for row in Snapshot.objects.filter(volume__account=volume.account)}
    # The pruned snapshot once raised a mass change: it goes with it.
    MassChange.objects.create(
        snapshot=rows[name_at(pruned)],
        restore_point=name_at(kept),
        restore_point_taken_at=kept,
        reason="deleted",
    )
    before = stored()

    after = listing((volume.account, [kept, changed, newest, new]), (other.account, [kept]))
    entries = after["volumes"][volume.account]["snapshots"]
    entries[1]["protected_until"] = "2027-01-01T00:00:00Z"
    # A name of the right form that is no real time is never stored (one
    # of the wrong form is refused with the whole listing by the client's
    # parser: tests/test_wrapper_results.py).
    entries += [{**entries[0], "name": "@GMT-2026.13.01-00.00.00"}]
    recorded.answer("snapshot-list.py", after)
    with CaptureQueriesContext(connection) as captured:
        services.refresh_listing()

    written = writes(captured, SNAPSHOTS)
    assert [statement.split()[0] for statement in written] == ["DELETE", "UPDATE", "INSERT"]
    assert written[0].endswith(f"IN ({rows[name_at(pruned)].pk})")
    assert written[1].endswith(f"IN ({rows[name_at(changed)].pk})")
    assert [statement.split()[0] for statement in writes(captured, MASS_CHANGES)] == ["DELETE"]
    assert not MassChange.objects.exists()

    now = stored()
    assert set(now) == set(before) - {(volume.account, name_at(pruned))} | {
        (volume.account, name_at(new))
    }
    assert now[(volume.account, name_at(changed))][4] == datetime(2027, 1, 1, tzinfo=UTC)
    assert now[(volume.account, name_at(new))][3:6] == (
        new,
        datetime.fromisoformat(entries[3]["protected_until"]),
        5 * MIB,
    )
    untouched = set(before) - {
        (volume.account, name_at(pruned)),
        (volume.account, name_at(changed)),
    }
    assert {key: now[key] for key in untouched} == {key: before[key] for key in untouched}


def test_each_volume_loses_exactly_the_snapshots_it_pruned(recorded, make_volume):
    """Deleted by (volume, name) pairs, grouped by name in one statement:
    a name one volume pruned stays on another that still holds it."""
    first, second, third = make_volume(), make_volume(), make_volume()
    x, y, z = (hours_ago(hours) for hours in (50, 40, 30))
    accounts = (first.account, second.account, third.account)
    recorded.answer("snapshot-list.py", listing(*((account, [x, y, z]) for account in accounts)))
    services.refresh_listing()
    # The run's own list says nothing new, so only its pruning deletes.
    recorded.answer("snapshot-list.py", {"volumes": {}})
    now = hours_ago(0)
    pruning = {first.account: [x], second.account: [y], third.account: [x]}
    with CaptureQueriesContext(connection) as captured:
        run_at(
            recorded,
            now,
            {
                account: outcome(name_at(now), MIB, MIB, pruned=[name_at(at) for at in names])
                for account, names in pruning.items()
            },
        )
    assert [statement.split()[0] for statement in writes(captured, SNAPSHOTS)] == [
        "DELETE",
        "INSERT",
    ]
    left = set(Snapshot.objects.values_list("volume_id", "name"))
    assert left == {
        (account, name_at(at))
        for account, held in (
            (first.account, [y, z, now]),
            (second.account, [x, z, now]),
            (third.account, [y, z, now]),
        )
        for at in held
    }


def test_a_run_reads_past_snapshots_only_of_a_volume_whose_change_is_suspect(recorded, make_volume):
    """Restore points need a volume's past snapshots; a volume whose change
    is ordinary needs none, so the run reads no stored list for it."""
    quiet, attacked = make_volume(), make_volume()
    before, after = hours_ago(2), hours_ago(1)
    recorded.answer(
        "snapshot-list.py", listing((quiet.account, [before]), (attacked.account, [before]))
    )
    services.refresh_listing()
    recorded.answer("snapshot-list.py", {"volumes": {}})
    destroyed = measured(
        name_at(before), 500 * MIB, overwritten_files=200, overwritten_bytes=480 * MIB
    )
    with CaptureQueriesContext(connection) as captured:
        run_at(
            recorded,
            after,
            {
                quiet.account: outcome(name_at(after), MIB, MIB),
                attacked.account: outcome(name_at(after), 0, 500 * MIB, change=destroyed),
            },
        )
    assert MassChange.objects.get().restore_point == name_at(before)
    # Stored lists are read by volume (account IN ...): the attacked one's only.
    lists_read = [
        query["sql"]
        for query in captured.captured_queries
        if f'FROM "{SNAPSHOTS}"' in query["sql"] and '"account" IN (' in query["sql"]
    ]
    assert len(lists_read) == 1
    assert f"\"account\" IN ('{attacked.account}')" in lists_read[0]
