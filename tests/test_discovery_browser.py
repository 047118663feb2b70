"""'Your backups' in a real browser (Debian's Chromium, Playwright) on the
live portal with a real volume: badges, the exact time on hover, the
threshold form and Check now, all without JavaScript. Screenshots land in
test-artifacts/."""

import datetime
import plistlib
from pathlib import Path

import pytest
from django.utils import timezone

from backup.core.times import absolute_time
from backup.discovery import thresholds
from backup.discovery.models import BackupScan
from backup.volumes import requests as volumes
from backup.volumes.models import Volume
from support import backup_tools, browser_sso
from support.browser import shot

pytestmark = [pytest.mark.root, pytest.mark.browser]


def test_your_backups_in_a_browser(page, make_employee, portal):
    employee = make_employee()
    volumes.request_create(employee, employee)
    volume = Volume.objects.get(owner=employee)
    root = Path(portal.settings["DIRECTORIES_ROOT"]) / volume.account
    completed = (timezone.now() - datetime.timedelta(days=10)).replace(microsecond=0)
    bundle = root / "Studio Mac.sparsebundle"
    (bundle / "bands").mkdir(parents=True)
    (bundle / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
    (bundle / "com.apple.TimeMachine.MachineID.plist").write_bytes(
        plistlib.dumps({"VerificationState": 1})
    )
    history = {
        "Snapshots": [{"com.apple.backupd.SnapshotCompletionDate": completed.replace(tzinfo=None)}]
    }
    (bundle / "com.apple.TimeMachine.SnapshotHistory.plist").write_bytes(plistlib.dumps(history))
    backup_tools.give_to(bundle, volume.account)
    browser_sso.signed_in_user = employee.username
    page.goto("/")
    section = page.locator("#your-backups")
    # Scanned when it was created, before the Mac's first backup.
    section.get_by_text("No backups yet.").wait_for()
    shot(page, "10-your-backups-none-yet")
    first = BackupScan.objects.get(volume=volume).scanned_at

    # The tests' task backend runs the check at once; the worker would later.
    section.get_by_role("button", name="Check now").click()
    page.get_by_text("Your volume is being checked for backups").wait_for()
    assert BackupScan.objects.get(volume=volume).scanned_at >= first
    row = section.get_by_test_id("backup-source")
    assert "Studio Mac" in row.inner_text()
    assert row.locator("[data-status]").inner_text() == "Stale"
    time = row.locator("time")
    assert time.inner_text() == "1 week ago"
    assert time.get_attribute("title") == absolute_time(completed)
    shot(page, "11-your-backups-stale")

    section.get_by_label("Warn me by email when a computer has not backed up for").fill("30")
    section.get_by_role("button", name="Save").click()
    page.get_by_text("now counts as stale after 30 days").wait_for()
    assert section.get_by_test_id("backup-source").locator("[data-status]").inner_text() == "OK"
    assert thresholds.stale_after_days(employee) == 30
    shot(page, "12-your-backups-threshold")
