"""The dashboard's snapshot list and a restore in a real browser (Chromium
through Playwright), against recorded snapshot wrapper outputs."""

import pytest
from django.core.cache import cache

from backup.core.times import file_name_time
from backup.operations.models import Operation
from support import browser_sso
from support.browser import shot
from support.snapshot_outputs import (
    MIB,
    answer_browse,
    answer_dashboard,
    hours_ago,
    name_at,
    outcome,
    run_at,
)

pytestmark = pytest.mark.browser


def test_snapshot_list_and_a_file_restore(page, recorded, make_volume):
    volume = make_volume()
    old, new = hours_ago(3), hours_ago(1)
    run_at(recorded, old, {volume.account: outcome(name_at(old), None, 90 * MIB)})
    run_at(recorded, new, {volume.account: outcome(name_at(new), 3 * MIB, 93 * MIB, files=12)})
    answer_dashboard(recorded, volume, old, new)
    answer_browse(recorded, volume, name_at(new))
    # The folder the portal names (in the owner's language and zone: en, UTC).
    folder = f"Restored {file_name_time(new)} from snapshot"
    recorded.answer(
        f"snapshot-restore.py {volume.account} {name_at(new)} PHNjcmlwdD4 {folder}",
        {"user": volume.account, "snapshot": name_at(new), "path": "PHNjcmlwdD4",
         "restored_to": folder, "files": 1, "bytes": 12},
    )  # fmt: skip
    cache.clear()
    browser_sso.signed_in_user = volume.account

    page.goto("/")
    table = page.get_by_test_id("snapshot-table")
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-snapshot") == name_at(new)
    assert "3\xa0MiB, 12 files" in rows.nth(0).inner_text()
    assert "protected" in rows.nth(0).inner_text()
    shot(page, "snapshots-01-dashboard")

    page.get_by_role("link", name="All 2 snapshots, browse and restore").click()
    page.locator(f'tr[data-snapshot="{name_at(new)}"]').get_by_role(
        "link", name="Browse and restore"
    ).click()
    folder = page.get_by_test_id("snapshot-folder")
    # The hostile name is shown as text, never run as markup.
    assert '<script>alert("x")</script>' in folder.inner_text()
    shot(page, "snapshots-02-browse")
    folder.locator("tr", has_text="<script>").get_by_role("button", name="Restore").click()
    page.get_by_text("Restored 1 file from the snapshot of").wait_for()
    shot(page, "snapshots-03-restored")
    operation = Operation.objects.get(kind=Operation.Kind.RESTORE)
    assert operation.state == Operation.State.SUCCEEDED
    assert operation.parameters == {"snapshot": name_at(new), "path": "PHNjcmlwdD4"}
