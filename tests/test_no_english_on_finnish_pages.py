"""No English reaches a Finnish page: every page an employee and an admin can
reach (the URL patterns walked, each given the state it needs) is rendered
with Finnish chosen, and no visible text (text nodes, and the title,
aria-label, placeholder and alt a person reads or hears) is an English
message of the catalogue whose Finnish differs."""

import re
import secrets
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone, translation

from backup.alerts.models import Channel
from backup.checkins.models import CheckIn
from backup.discovery import scans
from backup.operations import records, results
from backup.operations.models import Operation
from backup.pages.models import LanguagePreference
from backup.snapshots.models import MassChange, Snapshot
from backup.volumes.models import Volume
from backup.volumes.views import RESTORE_PLATFORMS
from support.backup_reports import wrapper_report
from support.snapshot_outputs import (
    GIB,
    MIB,
    answer_browse,
    answer_dashboard,
    hours_ago,
    name_at,
)

pytestmark = pytest.mark.django_db

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "fi" / "LC_MESSAGES" / "django.po"
VISIBLE_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")

# Patterns that answer with no page a person reads (images, a CSV, JSON,
# the Windows script, the metrics, the check-ins' ping): nothing to translate
# there, or it is checked where it is made (operation outcomes: the JSON
# status in tests/test_operation_results.py).
NOT_PAGES = {
    "volumes:connect-windows-script",
    "staff:audit-export",
    "operations:status",
    "stats:volume-graph",
    "stats:server-graph",
    "stats:pool-graph",
    "pages:ping",
    "metrics:metrics",
    "checkins:ping",
    "checkins:ping-signal",
    "pages:set-language",  # POST only; its GET is the 405 page rendered below
    "snapshots:download",  # a file of the person's, sent as an attachment
}


# --- What is English ----------------------------------------------------------------


def _english_messages():
    """(exact texts, patterns of texts with placeholders) of every English
    message whose Finnish differs."""
    exact, patterns = set(), {}
    for entry in polib.pofile(str(CATALOGUE)):
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            finnish = entry.msgstr_plural
            pairs = [(entry.msgid, finnish.get(0, "")), (entry.msgid_plural, finnish.get(1, ""))]
        for english, translated in pairs:
            if not translated or translated == english or "<" in english:
                continue
            text = " ".join(english.split())
            if not PLACEHOLDER.search(text):
                exact.add(text)
            elif re.search(r"[^\W\d_]{2,}", PLACEHOLDER.sub("", text)):
                parts = PLACEHOLDER.split(text)
                patterns[text] = ".+?".join(re.escape(part) for part in parts)
    return exact, patterns


ENGLISH, _PATTERNS = _english_messages()
# A whole text node that is a message, with or without its figures.
WHOLE = [(message, re.compile(pattern + r"\Z")) for message, pattern in _PATTERNS.items()]


def _words(text):
    return len(re.findall(r"[^\W\d_]{2,}", text))


# English of three words or more inside a Finnish text (a stored English
# sentence put into a translated one).
INSIDE = re.compile(
    "|".join(
        sorted(
            [re.escape(m) for m in ENGLISH if _words(m) >= 3]
            + [p for m, p in _PATTERNS.items() if _words(PLACEHOLDER.sub("", m)) >= 3],
            key=len,
            reverse=True,
        )
    )
)


class _Visible(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts = []
        self._hidden = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.texts.append(data)


def english_in(html: str) -> list[str]:
    """The English messages of the catalogue among the page's visible texts."""
    parser = _Visible()
    parser.feed(html)
    found = []
    for raw in parser.texts:
        text = " ".join(raw.split())
        if not text:
            continue
        if text in ENGLISH:
            found.append(text)
            continue
        whole = [message for message, pattern in WHOLE if pattern.match(text)]
        if whole:
            found.append(f"{text}  (message: {whole[0]})")
            continue
        inside = INSIDE.search(text)
        if inside:
            found.append(f"{text}  (English inside: {inside.group(0)})")
    return found


def test_the_check_finds_a_planted_english_string():
    """It can fail: English planted in a Finnish page, as text or as a
    visible attribute, with or without figures, is found; Finnish is not."""
    page = Client().get("/signed-out/", HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    assert english_in(page) == []
    planted = page.replace(
        "</main>",
        "<p>Your volume was defragmented.</p>"
        '<button aria-label="Add space">+</button>'
        "<p>Your volume now has 8 GiB.</p>"
        "<p>Epäonnistui: the service refused the message (HTTP 500)</p></main>",
    )
    assert english_in(planted) == [
        "Your volume was defragmented.",
        "Add space",
        "Your volume now has 8 GiB.  (message: Your volume now has %(size)d GiB.)",
        "Epäonnistui: the service refused the message (HTTP 500)  "
        "(English inside: the service refused the message (HTTP 500))",
    ]


# --- The pages ------------------------------------------------------------------------


def _pattern_names(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue  # Django's admin: its own pages, checked below
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _pattern_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def _finnish(user):
    LanguagePreference.objects.update_or_create(user=user, defaults={"language": "fi"})
    return Client(REMOTE_USER=user.username, HTTP_ACCEPT_LANGUAGE="fi")


@pytest.fixture
def people(recorded, make_volume, tmp_path, django_user_model):
    """An employee with a volume that has everything a page can show, one
    without a volume, one whose volume is deleted, and an admin."""
    volume = make_volume()
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    taken = [hours_ago(50), hours_ago(26), hours_ago(2)]
    answer_dashboard(recorded, volume, *taken, mounted_at=mounted)
    answer_browse(recorded, volume, name_at(taken[-1]))
    owner = volume.owner
    admin = django_user_model.objects.create(username=f"adm{secrets.token_hex(4)}", is_staff=True)
    _history(owner, admin)
    _backups_found(volume)
    _mass_change(volume)
    CheckIn.objects.create(
        owner=owner,
        name="laptop",
        token_hash=secrets.token_hex(32),
        period_hours=24,
        last_failure_at=hours_ago(3),
        last_exit_status=1,
        failure_log="rsync: error",
    )
    # A channel whose last attempt failed, recorded by the hourly job (English).
    channel = Channel.objects.create(user=owner, url="json://hooks.example.com/backup")
    Channel.objects.filter(pk=channel.pk).update(
        last_failed_at=timezone.now() + timedelta(seconds=1),
        last_error="the service refused the message (HTTP 500)",
        last_error_facts={"code": "channel_refused", "status": 500},
    )
    empty = django_user_model.objects.create(username=f"none{secrets.token_hex(4)}")
    deleted = make_volume(
        suspended_at=timezone.now(), destroy_after=timezone.now() + timedelta(days=10)
    )
    return {
        "volume": volume,
        "owner": owner,
        "snapshot": name_at(taken[-1]),
        "empty": empty,
        "deleted": deleted.owner,
        "admin": admin,
    }


def _history(owner, admin):
    """Finished operations of every kind of outcome: facts, as the owner and
    an admin did them, a failure, and one interrupted."""
    with translation.override("en"):
        for actor, kind, facts, succeeded in (
            (owner, Operation.Kind.ADD_SPACE, results.result("grown", size=2), True),
            (admin, Operation.Kind.DEFRAGMENT, results.result("defragmented"), True),
            (owner, Operation.Kind.CHECK_BACKUPS, results.result("checked", count=1), True),
            (owner, Operation.Kind.SCRUB, results.result("server_error"), False),
        ):
            operation = records.open_operation(
                owner=owner, actor=actor, kind=kind, worker="test:1:1"
            )
            records.finish(operation, succeeded=succeeded, message=facts)
    silent = timezone.now() - timedelta(hours=1)
    Operation.objects.create(
        kind=Operation.Kind.MOUNT,
        state=Operation.State.RUNNING,
        owner=owner,
        owner_name=owner.username,
        actor=owner,
        actor_name=owner.username,
        started_at=silent,
        heartbeat_at=silent,
        worker="another-host:4242:1",
    )


def _backups_found(volume):
    last = hours_ago(24 * 9).strftime("%Y-%m-%dT%H:%M:%SZ")
    scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": hours_ago(1).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "truncated": False,
                "sources": [
                    {
                        "machine": "toimisto-pc",
                        "format": "windows_file_history",
                        "path": "FileHistory/a/pc",
                        "last_backup": last,
                        "backups": 3,
                        "state": "complete",
                        "size_bytes": 3 * GIB,
                    }
                ],
                "unrecognised": [],
            }
        ),
    )


def _mass_change(volume):
    snapshots = list(Snapshot.objects.filter(volume__account=volume.account).order_by("taken_at"))
    if len(snapshots) < 2:
        return
    MassChange.objects.create(
        snapshot=snapshots[-1],
        restore_point=snapshots[-2].name,
        restore_point_taken_at=snapshots[-2].taken_at,
        reason="deletion",
        facts={"rule": "share", "changed": 600 * MIB, "held": GIB, "share": 59},
    )


def _pages(people):
    """(pattern name, who, address) of every page, in each state it has."""
    owner, empty, deleted, admin = (
        people["owner"],
        people["empty"],
        people["deleted"],
        people["admin"],
    )
    account, snapshot = people["volume"].account, people["snapshot"]
    operation = Operation.objects.filter(owner_name=account).order_by("id").first()
    source = "format=windows_file_history&path=FileHistory/a/pc"
    pages = [
        ("dashboard:home", owner, "/"),
        ("dashboard:home", empty, "/"),
        ("dashboard:home", deleted, "/"),
        ("volumes:delete", owner, "/volume/delete/"),
        ("volumes:delete", deleted, "/volume/delete/"),
        ("volumes:delete-time-machine", owner, "/volume/time-machine/delete/"),
        ("volumes:restore", owner, "/restore/"),
        ("volumes:restore", empty, "/restore/"),
        *(("volumes:restore-platform", owner, f"/restore/{p}/") for p in RESTORE_PLATFORMS),
        ("passwords:new", owner, "/password/"),
        ("passwords:new", empty, "/password/"),
        ("passwords:shown", owner, "/password/shown/"),
        ("operations:detail", owner, f"/operations/{operation.pk}/"),
        ("operations:detail", admin, f"/operations/{operation.pk}/"),
        ("operations:history", owner, "/history/"),
        ("operations:history", empty, "/history/"),
        ("staff:overview", admin, "/staff/"),
        ("staff:audit", admin, "/staff/audit/"),
        ("staff:operations", admin, "/staff/operations/"),
        ("staff:person", admin, f"/staff/users/{account}/"),
        ("staff:person", admin, f"/staff/users/{deleted.username}/"),
        ("staff:person", admin, f"/staff/users/{empty.username}/"),
        ("staff:person", admin, "/staff/users/nobody-here/"),
        ("staff:person-delete", admin, f"/staff/users/{account}/delete/"),
        ("staff:user-history", admin, f"/staff/users/{account}/history/"),
        ("stats:volume-lookup", admin, f"/stats/volumes/?account={account}"),
        ("stats:volume", owner, f"/stats/volumes/{account}/"),
        ("stats:volume", admin, f"/stats/volumes/{account}/"),
        ("discovery:delete", owner, f"/backups/delete/?{source}"),
        ("snapshots:list", owner, "/snapshots/"),
        ("snapshots:list", empty, "/snapshots/"),
        ("snapshots:browse", owner, f"/snapshots/{snapshot}/"),
        ("snapshots:rollback", owner, f"/snapshots/{snapshot}/rollback/"),
        ("snapshots:staff", admin, "/staff/snapshots/"),
        ("pages:signed-out", None, "/signed-out/"),
        ("pages:time-zone", owner, "/time-zone/"),
        ("alerts:channels", owner, "/alerts/"),
        ("checkins:shown", owner, "/checkins/shown/"),
        ("checkins:setup", owner, "/checkins/setup/"),
        # Error pages: missing (404), not allowed (403), GET on an action (405).
        ("404", owner, "/no-such-page/"),
        ("403", owner, "/staff/"),
        ("404", owner, "/operations/999999/"),
    ]
    # Every action answers a GET with the site's 405 page.
    for name, address in (
        ("volumes:create", "/volume/create/"),
        ("volumes:add-space", "/volume/add-space/"),
        ("volumes:mount", "/volume/mount/"),
        ("volumes:undo-delete", "/volume/delete/undo/"),
        ("volumes:defragment", "/volume/defragment/"),
        ("volumes:scrub", "/volume/scrub/"),
        ("staff:end-operation", f"/staff/operations/{operation.pk}/end/"),
        ("staff:person-mount", f"/staff/users/{account}/mount/"),
        ("staff:person-add-space", f"/staff/users/{account}/add-space/"),
        ("discovery:check", "/backups/check/"),
        ("discovery:threshold", "/backups/threshold/"),
        ("snapshots:restore", f"/snapshots/{snapshot}/restore/"),
        ("snapshots:dismiss_mass_change", "/snapshots/mass-change/1/dismiss/"),
        ("alerts:add", "/alerts/add/"),
        ("alerts:remove", "/alerts/1/remove/"),
        ("alerts:email", "/alerts/email/"),
        ("alerts:test", "/alerts/test/"),
        ("checkins:create", "/checkins/create/"),
        ("checkins:new-address", "/checkins/1/new-address/"),
        ("checkins:remove", "/checkins/1/remove/"),
    ):
        pages.append((name, admin if name.startswith("staff:") else owner, address))
    return pages


def test_every_page_is_rendered(people):
    """The walk covers every named URL pattern (a new page must be added)."""
    covered = {name for name, _who, _address in _pages(people)} | NOT_PAGES
    missing = sorted(set(_pattern_names()) - covered)
    assert not missing, "pages this test does not render: " + ", ".join(missing)


def test_no_english_on_a_finnish_page(people, settings):
    found = []
    pages = _pages(people)
    # The connect steps and restore pages again, for a server on another
    # port (Windows can't connect there) that offers AFP to older Macs.
    other_port = [(n, w, a) for n, w, a in pages if n.startswith("volumes:restore") or a == "/"]
    for name, who, address in [*pages, ("other port", None, None), *other_port]:
        if name == "other port":
            settings.SAMBA_PORT, settings.AFP_OFFERED = 4450, True
            continue
        client = _finnish(who) if who is not None else Client(HTTP_ACCEPT_LANGUAGE="fi")
        response = client.get(address, follow=True)
        assert response.status_code in (200, 400, 401, 403, 404, 405), (
            address,
            response.status_code,
        )
        if "text/html" not in response["Content-Type"]:
            continue
        html = response.content.decode()
        assert '<html lang="fi">' in html, address
        if settings.AFP_OFFERED and name == "dashboard:home" and who == people["owner"]:
            assert "afp://" in html  # the state asked for is the one rendered
        found += [f"{address} ({name}): {text}" for text in english_in(html)]
    # A form's refusal, shown on the page it came from.
    client = _finnish(people["owner"])
    refused = client.post("/volume/delete/", {"confirmation": "wrong"})
    found += [f"POST /volume/delete/: {text}" for text in english_in(refused.content.decode())]
    assert not found, "English on Finnish pages:\n" + "\n".join(sorted(set(found)))


# The task queue's own admin (django-tasks): its words are its package's,
# which has no Finnish and marks none for translation.
THIRD_PARTY_ADMIN = {"django_tasks_database"}
# A permission's name ("app | model | Can add model") is written into the
# database in English when Django creates it, so no catalogue reaches it.
DJANGO_PERMISSION = re.compile(r"\| Can (add|change|delete|view) ")


def test_no_english_on_finnish_admin_pages(people):
    """Django's admin in Finnish: its own words come from Django's catalogue;
    our models' and fields' names must be ours, translated."""
    client = _finnish(people["admin"])
    people["admin"].is_superuser = True
    people["admin"].save(update_fields=["is_superuser"])
    found = []
    addresses = ["/admin/"]
    for model in django_admin.site._registry:
        meta = model._meta
        if meta.app_label in THIRD_PARTY_ADMIN:
            continue
        addresses += [
            f"/admin/{meta.app_label}/{meta.model_name}/",
            f"/admin/{meta.app_label}/{meta.model_name}/add/",
        ]
        if not meta.app_label.startswith(("auth", "contenttypes", "sessions")):
            with translation.override("fi"):
                for label in [meta.verbose_name, meta.verbose_name_plural] + [
                    field.verbose_name
                    for field in meta.get_fields()
                    if hasattr(field, "verbose_name")
                ]:
                    with translation.override("en"):
                        english = str(label)
                    if str(label) == english and re.search(r"[^\W\d_]{3,}", english):
                        found.append(f"{meta.label}: {english}")
    for address in addresses:
        response = client.get(address)
        assert response.status_code in (200, 403), (address, response.status_code)
        found += [
            f"{address}: {text}"
            for text in english_in(response.content.decode())
            if not DJANGO_PERMISSION.search(text)
        ]
    assert not found, "English on Finnish admin pages:\n" + "\n".join(sorted(set(found)))


def test_the_fixture_gives_the_pages_their_states(people):
    assert Volume.objects.get(owner=people["deleted"]).pending_destruction
    assert MassChange.objects.filter(snapshot__volume__account=people["volume"].account).exists()
    assert Channel.objects.get(user=people["owner"]).last_error_facts
