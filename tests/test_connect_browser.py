"""A phone (375 px) walks the connect card's three platforms in Debian's
Chromium: each section is reached by its link, every command is one
unwrapped line that scrolls inside the card, every Copy button puts exactly
the shown command on the clipboard and announces "Copied", the Windows
script downloads, and no AFP address is offered. The volume is a database
row: the card needs no wrappers (tests/test_samba_share.py runs the Linux
steps against a real smbd)."""

import secrets

import pytest

from backup.samba.connection import Connection
from backup.volumes.models import Volume
from support import browser_sso
from support.browser import shot
from support.connect_steps import COMMANDS

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
STEPS = {
    "windows": ["connect-windows-map", "connect-windows"],
    "mac": ["connect-mac", "connect-mac-tmutil"],
    "linux": [
        "connect-linux-install",
        "connect-linux-mkdir",
        "connect-linux-credentials",
        "connect-linux-fstab",
        "connect-linux-mount",
        "connect-restic-init",
        "connect-restic-backup",
        "connect-smbclient",
    ],
}


@pytest.fixture
def person(django_user_model, settings, tmp_path):
    settings.WRAPPERS_PATH = tmp_path
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    settings.SERVER_HOSTNAME = "backup.example.com"
    settings.SAMBA_PORT = 445
    name = f"cb{secrets.token_hex(4)}"
    user = django_user_model.objects.create(username=name)
    # A password already set: the dashboard shows its everyday state.
    Volume.objects.create(owner=user, account=name, size_gib=4, filesystem="btrfs")
    browser_sso.signed_in_user = name
    return user


def test_a_phone_walks_each_platform_and_copies_every_command(page, person):
    page.set_viewport_size(PHONE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/")
    status = page.locator("#connect-copy-result")
    assert status.get_attribute("aria-live") == "polite"
    assert status.get_attribute("role") == "status"
    smb = Connection.for_account(person.username)
    assert page.get_by_test_id("connect-windows-map").text_content() == smb.windows_map
    assert "afp://" not in page.content()

    for platform, steps in STEPS.items():
        page.locator(f'[data-testid=connect-platforms] a[href="#connect-{platform}"]').click()
        page.wait_for_url(f"**/#connect-{platform}")
        section = page.get_by_test_id(f"connect-section-{platform}")
        shown = section.locator("pre[data-copy]").evaluate_all(
            "blocks => blocks.map(b => b.dataset.testid)"
        )
        assert shown == steps
        for testid in steps:
            block = section.get_by_test_id(testid)
            command = block.text_content()
            assert command == getattr(smb, COMMANDS[testid])
            # One line as typed, scrolling inside the card, never off the phone.
            assert "\n" not in command
            assert block.evaluate("b => getComputedStyle(b).whiteSpace") == "pre"
            assert block.evaluate("b => b.getBoundingClientRect().right") <= PHONE["width"]
            block.evaluate("b => b.scrollIntoView()")
            page.evaluate("navigator.clipboard.writeText('')")
            status.evaluate("s => { s.textContent = ''; }")
            button = block.locator("xpath=following-sibling::button[1]")
            assert button.text_content() == "Copy"
            button.click()
            page.wait_for_function(
                "() => document.getElementById('connect-copy-result').textContent === 'Copied'"
            )
            assert page.evaluate("navigator.clipboard.readText()") == command
        shot(page, f"connect-{platform}-phone")

    # The longest command scrolls sideways instead of wrapping.
    credentials = page.get_by_test_id("connect-linux-credentials")
    assert credentials.evaluate("b => b.scrollWidth > b.clientWidth")
    # The page itself is no wider than the phone because of the card.
    card_right = page.locator("#connect").evaluate("c => c.getBoundingClientRect().right")
    assert card_right <= PHONE["width"]

    # The Windows script downloads with its own name and the person's command.
    with page.expect_download() as download:
        page.get_by_test_id("connect-windows-script").click()
    assert download.value.suggested_filename == f"connect-backup-{person.username}.cmd"
    script = download.value.path().read_bytes().decode("ascii")
    assert smb.windows_map in script.split("\r\n")


def test_without_javascript_the_commands_are_there_to_select(browser, live_server, person):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto("/")
        assert page.locator("#connect button").count() == 0
        smb = Connection.for_account(person.username)
        assert page.get_by_test_id("connect-linux-fstab").text_content() == smb.linux_fstab
        page.locator('a[href="#connect-linux"]').click()
        page.wait_for_url("**/#connect-linux")
    finally:
        context.close()
        browser_sso.signed_in_user = None
