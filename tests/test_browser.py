"""The whole employee journey and the admin view in a real browser: Debian's
Chromium driven by Playwright against the live portal, with real volumes.
Screenshots land in test-artifacts/."""

import subprocess
from pathlib import Path

import pytest

from backup.volumes.models import Volume
from support import browser_sso
from support.browser import shot

pytestmark = [pytest.mark.root, pytest.mark.browser]


def test_employee_journey(page, make_employee, portal):
    employee = make_employee()
    browser_sso.signed_in_user = employee.username

    page.goto("/")
    page.get_by_role("heading", name="Back up your computer").wait_for()
    shot(page, "01-welcome")
    page.get_by_role("button", name="Create my backup volume").click()
    page.get_by_text("backup volume is ready").wait_for()
    shot(page, "02-created")

    page.goto("/")
    page.get_by_role("button", name="Get my backup password").click()
    password = page.get_by_test_id("password").input_value()
    assert len(password) >= 20
    page.get_by_role("button", name="Copy").click()
    page.get_by_text("Copied to the clipboard", exact=False).or_(
        page.get_by_text("copy it by hand", exact=False)
    ).wait_for()
    shot(page, "03-password")
    page.get_by_role("link", name="I have saved it").click()
    assert page.url.endswith("/#connect")

    assert page.get_by_test_id("used").is_visible()
    assert "%" in page.get_by_test_id("used").inner_text()
    shot(page, "04-dashboard")

    page.get_by_role("button", name="Add space").click()
    page.get_by_text("now has 2 GiB").wait_for()
    assert Volume.objects.get(owner=employee).size_gib == 2

    # A Mac's Time Machine bundle, written as the user, then deleted from the portal.
    root = Path(portal.settings["DIRECTORIES_ROOT"]) / employee.username
    subprocess.run(
        [
            "runuser",
            "-u",
            employee.username,
            "--",
            "mkdir",
            "-p",
            str(root / "Mac.sparsebundle/bands"),
        ],
        check=True,
    )
    page.goto("/")
    # Offered once a check has seen a Time Machine bundle.
    assert page.get_by_role("link", name="Delete Time Machine backups").count() == 0
    page.get_by_role("button", name="Check now").click()
    page.goto("/")
    page.get_by_role("link", name="Delete Time Machine backups").click()
    page.get_by_label("To confirm, type your user name").fill(employee.username)
    shot(page, "05-delete-time-machine")
    page.get_by_role("button", name="Delete all Time Machine backups").click()
    page.get_by_text("Deleted Time Machine backups: Mac.sparsebundle").wait_for()
    assert not (root / "Mac.sparsebundle").exists()

    page.goto("/")
    page.get_by_role("link", name="Delete my volume").click()
    page.get_by_label("To confirm, type your user name").fill("not-me")
    page.get_by_role("button", name="Delete my volume and all backups on it").click()
    page.get_by_text("type your user name").first.wait_for()
    assert Volume.objects.filter(owner=employee).exists()
    page.get_by_label("To confirm, type your user name").fill(employee.username)
    page.get_by_role("button", name="Delete my volume and all backups on it").click()
    page.get_by_text("were deleted").wait_for()
    shot(page, "06-deleted")
    assert not Volume.objects.filter(owner=employee).exists()

    page.get_by_role("link", name="Operations", exact=True).click()
    for label in ("Create volume", "New backup password", "Add space", "Delete volume"):
        assert page.get_by_role("link", name=label).count() >= 1
    shot(page, "07-history")


def test_admin_view(page, make_employee, portal):
    admin = make_employee("adm", is_staff=True)
    employee = make_employee()
    browser_sso.signed_in_user = employee.username
    page.goto("/")
    page.get_by_role("button", name="Create my backup volume").click()
    page.get_by_text("backup volume is ready").wait_for()

    browser_sso.signed_in_user = admin.username
    page.goto("/staff/")
    page.get_by_role("heading", name="Backup pool and volumes").wait_for()
    # A healthy volume needs no attention: it is listed under All.
    page.get_by_role("link", name="All (").click()
    row = page.get_by_role("row").filter(has_text=employee.username)
    assert row.count() == 1
    assert "1\xa0GiB" in row.inner_text()
    page.get_by_role("link", name="Used %").click()
    assert "sort=percent" in page.url
    shot(page, "08-admin")
    row.get_by_role("link", name="History").click()
    page.get_by_role("heading", name=f"{employee.username}'s backup volume").wait_for()
    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Person").fill(employee.username)
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("row").filter(has_text="Create volume").count() == 1
    shot(page, "09-audit")

    browser_sso.signed_in_user = employee.username
    response = page.goto("/staff/")
    assert response.status == 403
