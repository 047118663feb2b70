"""The dashboard in a real browser (Debian's Chromium, Playwright) on the
live portal with a real volume: graphs readable on a 375 px phone, the
password's Copy button (and the page without JavaScript), and a reload of
the password page. Screenshots land in test-artifacts/."""

import time
from contextlib import contextmanager

import pytest

from backup.stats import graphs, rrd
from backup.volumes import requests as volumes
from backup.volumes.models import Volume
from support import browser_sso
from support.accounts import unix_password_matches
from support.browser import shot

pytestmark = [pytest.mark.root, pytest.mark.browser]

GIB = 1 << 30
PHONE = {"width": 375, "height": 812}
# What the brief for phones asks of a graph's text, in CSS pixels.
READABLE_PX = 11


@contextmanager
def browsing(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, **options)
    try:
        yield context.new_page()
    finally:
        context.close()
        browser_sso.signed_in_user = None


@pytest.fixture
def volume(make_employee, settings, tmp_path):
    settings.RRD_DIRECTORY = tmp_path / "rrd"
    employee = make_employee()
    volumes.request_create(employee, employee)
    volume = Volume.objects.get(owner=employee)
    end = int(time.time()) // 60 * 60
    for step, timestamp in enumerate(range(end - 7200, end + 1, 60)):
        rrd.record(
            rrd.space_file(volume.account), rrd.SPACE, timestamp,
            {"used": 24 * 1024 + step * 4096, "inodes": 10, "size": GIB},
        )  # fmt: skip
    browser_sso.signed_in_user = volume.account
    return volume


def text_scale(page, selector):
    """(CSS pixels per image pixel, the image's URL) once the image is loaded."""
    image = page.locator(selector)
    image.wait_for()
    page.wait_for_function(
        "selector => { const i = document.querySelector(selector);"
        " return i.complete && i.naturalWidth > 0; }",
        arg=selector,
    )
    return image.evaluate("i => [i.clientWidth / i.naturalWidth, i.currentSrc]")


def test_graph_text_is_readable_on_a_phone(browser, live_server, transactional_db, volume):
    with browsing(browser, live_server, viewport=PHONE, device_scale_factor=2) as page:
        page.goto("/")
        scale, source = text_scale(page, "[data-testid=space-graph]")
        assert source.endswith("?size=phone")
        font_px = graphs.SIZES["phone"].font_points * graphs.DPI / 72
        assert scale * font_px >= READABLE_PX, (scale, font_px)
        # The graph fits the screen: no sideways scrolling for it.
        # The graph fits the screen (the navigation bar is another matter).
        right = page.locator("[data-testid=space-graph]").evaluate(
            "i => i.getBoundingClientRect().right"
        )
        assert right <= PHONE["width"]
        page.locator("#graphs").scroll_into_view_if_needed()
        shot(page, "20-phone-graphs")


def test_desktop_graphs_are_drawn_at_their_own_size(browser, live_server, transactional_db, volume):
    with browsing(browser, live_server, viewport={"width": 1280, "height": 900}) as page:
        page.goto("/")
        scale, source = text_scale(page, "[data-testid=space-graph]")
        assert "size=phone" not in source
        font_px = graphs.SIZES["wide"].font_points * graphs.DPI / 72
        assert scale * font_px >= READABLE_PX, (scale, font_px)


def test_copy_button_and_password_reload(browser, live_server, transactional_db, volume):
    options = {"viewport": {"width": 1280, "height": 900}}
    with browsing(browser, live_server, **options) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.goto("/")
        page.get_by_role("button", name="Get my backup password").click()
        page.wait_for_url("**/password/shown/")
        password = page.get_by_test_id("password").input_value()
        assert unix_password_matches(volume.account, password)
        status = page.locator("#copy-result")
        assert status.get_attribute("aria-live") == "polite"
        page.get_by_role("button", name="Copy").click()
        page.get_by_text("Copied to the clipboard.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == password
        shot(page, "21-password-copied")
        # The next step is connecting.
        assert page.get_by_test_id("next-connect").get_attribute("href") == "/#connect"

        page.reload()
        page.get_by_test_id("already-shown").wait_for()
        assert password not in page.content()
        assert unix_password_matches(volume.account, password)
        shot(page, "22-password-already-shown")


def test_the_password_can_be_copied_without_javascript(
    browser, live_server, transactional_db, volume
):
    with browsing(browser, live_server, java_script_enabled=False) as page:
        page.goto("/")
        page.get_by_role("button", name="Get my backup password").click()
        field = page.get_by_test_id("password")
        password = field.input_value()
        assert field.get_attribute("readonly") is not None
        # No button that would do nothing; the field is there to select by hand.
        assert page.get_by_role("button", name="Copy").count() == 0
        assert page.get_by_test_id("copy-by-hand").is_visible()
        field.select_text()
        selected = page.evaluate(
            "() => { const f = document.getElementById('password');"
            " return f.value.substring(f.selectionStart, f.selectionEnd); }"
        )
        assert selected == password
