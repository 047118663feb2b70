"""Every page an employee and an admin can open, on a phone (375 px) and a
desktop (1280 px), in Chromium: nothing wider than the screen (tables scroll
inside their card), and no serious or critical accessibility violation as
axe-core finds them. The pages come from the URLconf, so a new page is
covered without touching this file; screenshots land in test-artifacts/.

The portal's side runs against recorded wrapper outputs (a btrfs volume with
snapshots, a backup scan, an operation), as in test_snapshots_browser."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import URLPattern, URLResolver, get_resolver
from playwright.sync_api import Error as PlaywrightError

from backup.discovery import scans
from backup.operations.models import Operation
from support import browser_sso
from support.backup_reports import wrapper_report
from support.browser import shot
from support.snapshot_outputs import (
    GIB,
    answer_browse,
    answer_dashboard,
    hours_ago,
    name_at,
    outcome,
    run_at,
)

pytestmark = pytest.mark.browser

WIDTHS = (375, 1280)
SERIOUS = ("serious", "critical")
# Not the portal's own pages: Django's admin has its own layout.
NOT_OURS = ("admin/",)


# The innermost elements reaching past the right edge, to say what to fix.
WIDEST = """(() => {
  const wide = [...document.body.querySelectorAll("*")].filter(
    (element) => element.getBoundingClientRect().right > window.innerWidth + 1);
  const innermost = wide.filter((element) => !wide.some(
    (other) => other !== element && element.contains(other)));
  return innermost.slice(0, 4).map((element) => element.tagName.toLowerCase() +
    (element.id ? "#" + element.id : "") +
    [...element.classList].map((name) => "." + name).join("") +
    " " + Math.round(element.getBoundingClientRect().right) + "px").join(", ");
})()"""


def routes(patterns=None, prefix=""):
    """(route, view module) of every URL pattern, includes flattened."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback.__module__


# The words of headings that run over more than one line without a soft
# hyphen or a hyphen to break at: the screen's edge cut them
# ("varmuuskopiopalvelimell" / "e").
WORDS_CUT = """(selector) => {
  const cut = [];
  for (const heading of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(heading, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/\\S+/g)) {
        if (/[\\u00ad-]/.test(word[0])) continue;
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) cut.push(word[0]);
      }
    }
  }
  return cut;
}"""


def fill(route, values):
    """A concrete path for ``route``: converters (<int:pk>) and named regex
    groups filled from ``values``, by parameter name."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: str(values[match.group(1)]), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), path)
    return "/" + path.removeprefix("^").removesuffix("$")


@pytest.fixture
def portal_with_data(recorded, make_volume, django_user_model):
    """An employee with a btrfs volume, two snapshots, a backup scan and a
    finished operation; an admin; parameters for every route."""
    volume = make_volume()
    owner = volume.owner
    old, new = hours_ago(3), hours_ago(1)
    run_at(recorded, old, {volume.account: outcome(name_at(old), None, 90 * 1024**2)})
    run_at(recorded, new, {volume.account: outcome(name_at(new), 3 * 1024**2, 90 * 1024**2)})
    answer_dashboard(recorded, volume, old, new)
    answer_browse(recorded, volume, name_at(new))
    recorded.answer(
        "vgdisplay.py",
        {"backend": "loopfile", "name": "pool", "size_bytes": 20 * GIB, "allocated_bytes": GIB,
         "free_bytes": 19 * GIB, "used_bytes": GIB, "volume_count": 1},
    )  # fmt: skip
    scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": hours_ago(2).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "truncated": False,
                "sources": [
                    {
                        "machine": "a-computer-with-a-rather-long-name-that-must-wrap",
                        "format": "windows_file_history",
                        "path": "FileHistory/someone/a-computer-with-a-rather-long-name",
                        "last_backup": hours_ago(30).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "backups": 12,
                        "state": "complete",
                        "size_bytes": 5 * 1024**3,
                    }
                ],
                "unrecognised": [],
            }
        ),
    )
    operation = Operation.objects.create(
        kind=Operation.Kind.CREATE,
        state=Operation.State.SUCCEEDED,
        owner=owner,
        owner_name=owner.username,
        actor=owner,
        actor_name=owner.username,
        message="Your 1 GiB backup volume is ready.",
    )
    admin = django_user_model.objects.create(username=f"adm{volume.account}", is_staff=True)
    values = {
        "pk": operation.pk,
        "username": owner.username,
        "account": volume.account,
        "snapshot": name_at(new),
        "graph": "usage",
        "period": "day",
        "platform": "windows",
        "channel_id": 1,
        # Check-in addresses answer text/plain (a token nobody has: 404).
        "token": "x" * 32,
        "signal": "start",
    }
    return owner, admin, values


def _outcome(snapshot, changed):
    return {
        "snapshot": snapshot,
        "changed_bytes": changed,
        "changed_files": 3 if changed is not None else None,
        "used_bytes": 90 * 1024**2,
        "size_bytes": 1024**3,
        "pruned": [],
        "error": None,
    }


def check_every_page(
    page, who, values, widths=WIDTHS, accessibility=True, name=None, words_cut=False
):
    """Visits every GET page as ``who``; returns {(route, view module):
    [problem, ...]} and the (route, width) pairs visited. ``words_cut``:
    a heading's word cut at the screen's edge is a problem too."""
    browser_sso.signed_in_user = who
    name = name or ("admin" if "adm" in who else "employee")
    axe = Axe()
    problems, visited = {}, []
    for route, module in routes():
        if route.startswith(NOT_OURS):
            continue
        path = fill(route, values)
        for width in widths:
            page.set_viewport_size({"width": width, "height": 800})
            try:
                response = page.goto(path)
            except PlaywrightError as error:
                if "Download is starting" in str(error):
                    break  # a file to save (the audit log's CSV), not a page
                raise
            content_type = response.headers.get("content-type", "")
            if page.url.removeprefix(live_url(page)) != path:
                break  # redirected: the page it leads to is checked under its own route
            # POST-only actions (405 page) and non-pages (images, JSON, ping).
            if response.status == 405 or not content_type.startswith("text/html"):
                break
            visited.append((route, width))
            found = problems.setdefault((route, module), [])
            if response.status >= 500:
                found.append(f"{width}px: answered {response.status}")
            overflow = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            if overflow[0] > overflow[1]:
                found.append(f"{width}px: page is {overflow[0]}px wide ({page.evaluate(WIDEST)})")
            if words_cut:
                cut = page.evaluate(WORDS_CUT, "h1, h2, h3")
                found += [f"{width}px: heading word cut mid-word: {word}" for word in cut]
            slug = re.sub(r"\W+", "-", path).strip("-") or "home"
            shot(page, f"layout-{name}-{width}-{slug}")
            if not accessibility:
                continue
            # axe-core is injected with page.evaluate, which the page's
            # Content-Security-Policy does not govern (no bypass needed).
            for violation in axe.run(page).response["violations"]:
                if violation["impact"] in SERIOUS:
                    targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
                    found.append(
                        f"{width}px: {violation['impact']} {violation['id']}: "
                        f"{violation['help']} ({targets})"
                    )
    return {key: found for key, found in problems.items() if found}, visited


def live_url(page):
    return re.match(r"https?://[^/]+", page.url).group(0)


def assert_no_problems(problems):
    def listing(items):
        return "\n".join(f"{route}: {problem}" for (route, _), found in items for problem in found)

    assert not problems, "layout or accessibility problems:\n" + listing(problems.items())


def test_every_employee_page_fits_a_phone_and_passes_axe(page, portal_with_data):
    owner, _, values = portal_with_data
    problems, visited = check_every_page(page, owner.username, values)
    assert ("", 375) in visited
    assert ("history/", 375) in visited
    assert any(route.startswith("^snapshots/") for route, _ in visited)
    assert_no_problems(problems)


def test_every_admin_page_fits_a_phone_and_passes_axe(page, portal_with_data):
    _, admin, values = portal_with_data
    problems, visited = check_every_page(page, admin.username, values)
    assert ("staff/", 375) in visited
    assert ("staff/audit/", 1280) in visited
    assert_no_problems(problems)


def test_finnish_pages_fit_a_phone_too(page, portal_with_data, live_server):
    """Finnish words are long: the same pages in Finnish on a phone, their
    headings' words broken only where they may be hyphenated."""
    owner, admin, values = portal_with_data
    page.context.add_cookies([{"name": "django_language", "value": "fi", "url": live_server.url}])
    problems = {}
    for who, name in ((owner.username, "employee-fi"), (admin.username, "admin-fi")):
        found, _ = check_every_page(
            page, who, values, (375,), accessibility=False, name=name, words_cut=True
        )
        problems.update(found)
    assert_no_problems(problems)


def test_the_navbar_collapses_on_a_phone_and_opens_with_its_button(page, portal_with_data):
    _, admin, _ = portal_with_data
    browser_sso.signed_in_user = admin.username
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto("/history/")
    audit = page.get_by_role("link", name="Audit log")
    assert not audit.is_visible()
    page.get_by_role("button", name="Menu").click()
    audit.wait_for(state="visible")
    page.locator("#main-menu.collapse.show").wait_for()  # opening animation over
    shot(page, "layout-navbar-open-375")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/history/")
    assert page.get_by_role("link", name="Audit log").is_visible()
    assert not page.get_by_role("button", name="Menu").is_visible()


def test_the_language_switch_works_in_the_browser(page, portal_with_data):
    owner, _, _ = portal_with_data
    browser_sso.signed_in_user = owner.username
    page.goto("/history/")
    page.get_by_role("heading", name="Everything done on your volume").wait_for()
    page.get_by_label("Language").select_option("fi")
    page.get_by_role("button", name="Change").click()
    page.get_by_role("heading", name="Kaikki taltiollasi tehty").wait_for()
    assert page.url.endswith("/history/")
    assert page.locator("html").get_attribute("lang") == "fi"
    shot(page, "layout-finnish")
    page.get_by_label("Kieli").select_option("en")
    page.get_by_role("button", name="Vaihda").click()
    page.get_by_role("heading", name="Everything done on your volume").wait_for()


def test_finnish_headings_break_between_words_on_a_phone(
    page, portal_with_data, live_server, django_user_model
):
    """A long Finnish compound breaks where it may be hyphenated, never
    mid-syllable at the screen's edge."""
    owner, _, _ = portal_with_data
    newcomer = django_user_model.objects.create(username=f"new{owner.username}")
    page.context.add_cookies([{"name": "django_language", "value": "fi", "url": live_server.url}])
    page.set_viewport_size({"width": 375, "height": 800})
    cut = []
    for who in (newcomer.username, owner.username):
        browser_sso.signed_in_user = who
        page.goto("/")
        assert page.locator("html").get_attribute("lang") == "fi"
        cut += page.evaluate(WORDS_CUT, "h1, h2, h3")
    shot(page, "layout-finnish-headings-375")
    assert not cut, "headings cut mid-word on a phone:\n" + "\n".join(cut)
