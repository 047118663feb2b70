"""An admin acting for someone in a real browser (Chromium through
Playwright, real volumes): the person's page, Add space followed to its
outcome and back, deletion with the typed name, and the audit log's date
filter. Screenshots land in test-artifacts/."""

import pytest

from backup.volumes.models import Volume
from support import browser_sso
from support.browser import shot

pytestmark = [pytest.mark.root, pytest.mark.browser]


def test_admin_acts_for_a_person(page, make_employee, portal):
    admin = make_employee("adm", is_staff=True)
    employee = make_employee()
    name = employee.username
    browser_sso.signed_in_user = name
    page.goto("/")
    page.get_by_role("button", name="Create my backup volume").click()
    page.get_by_text("backup volume is ready").wait_for()

    browser_sso.signed_in_user = admin.username
    page.goto(f"/staff/users/{name}/")
    page.get_by_role("heading", name=f"{name}'s backup volume").wait_for()
    assert page.get_by_test_id("mounted").inner_text() == "Mounted"
    shot(page, "20-person")
    page.get_by_role("button", name="Add space").click()
    page.get_by_text("now has 2 GiB").wait_for()
    page.get_by_role("link", name=f"Back to {name}'s page").click()
    assert page.get_by_test_id("size").inner_text().startswith("2 GiB")

    page.get_by_role("link", name="Delete the volume…").click()
    page.get_by_label("To confirm, type the person's user name").fill(admin.username)
    page.get_by_role("button", name=f"Delete {name}'s volume and all backups on it").click()
    page.get_by_text("Nothing was deleted").wait_for()
    assert Volume.objects.filter(owner=employee).exists()
    page.get_by_label("To confirm, type the person's user name").fill(name)
    page.get_by_role("button", name=f"Delete {name}'s volume and all backups on it").click()
    page.get_by_text("were deleted").wait_for()
    page.get_by_role("link", name=f"Back to {name}'s page").click()
    page.get_by_test_id("no-volume").wait_for()
    shot(page, "21-person-gone")

    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Person").fill(name)
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_role("button", name="Filter").click()
    who = page.get_by_test_id("who").all_inner_texts()
    assert who.count(f"by {admin.username} for {name}") == 2  # add space, delete
    assert page.get_by_role("link", name="Export CSV").is_visible()
    shot(page, "22-audit")
