"""Every user-facing string goes through Django's translation machinery, and
the Finnish catalogue covers them all: templates have no unmarked text, the
catalogue has no untranslated or fuzzy entry for any string the code has, its
compiled .mo says the same as the .po, pages follow the browser's language
and the footer's switch, and emails the recipient's."""

import datetime
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.core import mail
from django.template.base import Lexer, TokenType
from django.test import Client
from django.utils import translation

from backup.discovery import alerts, scans
from backup.operations import registry, runner
from backup.operations.models import Operation
from backup.pages.languages import language_of
from backup.pages.models import LanguagePreference
from backup.snapshots.detection import describe
from backup.snapshots.models import SnapshotRun
from backup.volumes.models import Volume
from support.backup_reports import wrapper_report
from support.snapshot_outputs import answer_dashboard, hours_ago

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
CATALOGUE = REPO / "locale" / "fi" / "LC_MESSAGES"


# Words that are the same in every language (units, time zone).
ALLOWED_WORDS = {"GiB", "MiB", "UTC"}
# Attributes whose text a person reads or hears.
VISIBLE_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")

NEUTRAL = "\x01"  # stands for a template tag or a translated block: no letters


def visible_text(source):
    """The template with everything that is not plain text (tags, variables,
    comments, translate and blocktranslate blocks) replaced by NEUTRAL,
    newlines kept so that offsets still give line numbers."""
    parts = []
    depth = 0  # inside {% blocktranslate %} or {% comment %}
    for token in Lexer(source).tokenize():
        name = token.contents.split()[0] if token.contents.split() else ""
        if token.token_type == TokenType.BLOCK:
            if name in ("blocktranslate", "blocktrans", "comment"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                depth -= 1
            parts.append(NEUTRAL)
        elif token.token_type == TokenType.TEXT and depth == 0:
            parts.append(token.contents)
        else:
            parts.append(NEUTRAL + "\n" * token.contents.count("\n"))
    return "".join(parts)


def unmarked(path):
    """(line, text) of each piece of visible text not marked for translation."""
    text = visible_text(path.read_text())
    found = []
    for match in re.finditer(rf'\b({"|".join(VISIBLE_ATTRIBUTES)})="([^"]*)"', text):
        if _has_words(match.group(2)):
            found.append((text.count("\n", 0, match.start()) + 1, match.group(0)))

    def blank(match):  # keeps the newlines, for line numbers
        return " " + "\n" * match.group(0).count("\n")

    text = re.sub(r"<!--.*?-->", blank, text, flags=re.DOTALL)
    text = re.sub(r"<[^>]*>", blank, text)
    text = re.sub(r"&(#\d+|#x[0-9a-fA-F]+|\w+);", " ", text)
    for number, line in enumerate(text.split("\n"), start=1):
        if _has_words(line):
            found.append((number, " ".join(line.replace(NEUTRAL, " ").split())))
    return found


def _has_words(text):
    words = re.findall(r"[^\W\d_]+", text)
    return any(word not in ALLOWED_WORDS for word in words)


def _template_params():
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        relative = path.relative_to(TEMPLATES)
        yield pytest.param(path, id=str(relative))


@pytest.mark.parametrize("path", list(_template_params()))
def test_template_text_is_marked_for_translation(path):
    found = unmarked(path)
    assert not found, "text not marked for translation:\n" + "\n".join(
        f"templates/{path.relative_to(TEMPLATES)}:{line}: {text}" for line, text in found
    )


def test_the_guard_finds_unmarked_text(tmp_path):
    """The check itself: text, visible attributes and text split by tags are
    found; translated text, tags, comments and entities are not."""
    template = tmp_path / "t.html"
    template.write_text(
        "{% load i18n %}<p>{% translate 'Fine' %}</p>\n"
        "<p>{% blocktranslate %}Also {{ fine }}{% endblocktranslate %} &nbsp; · 3 GiB</p>\n"
        '<a class="x{% if a %} active{% endif %}" href="#">Not marked</a>\n'
        '<nav aria-label="Main">{# a comment #}<!-- and this --></nav>\n'
        "{% comment %}Words here are fine{% endcomment %}\n"
        "{% if a %}Hello{% endif %}\n"
    )
    assert unmarked(template) == [
        (4, 'aria-label="Main"'),
        (3, "Not marked"),
        (6, "Hello"),
    ]


# --- The Finnish catalogue ---------------------------------------------------


def test_the_catalogue_translates_every_string_the_code_has(tmp_path):
    """makemessages into a copy of the catalogue: what the code marks now,
    merged with the translations we have, must leave nothing untranslated
    or fuzzy (a fuzzy entry is a guess gettext made from a changed string)."""
    if not Path("/usr/bin/xgettext").exists():
        pytest.skip("GNU gettext is not installed (Debian package gettext; bin/setup installs it)")
    # A copy of the sources: makemessages writes into the locale directory
    # next to the files it reads, which must not be the checkout's.
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for tree in ("backup", "templates"):
        shutil.copytree(REPO / tree, tmp_path / tree, ignore=ignore)
    shutil.copy(REPO / "manage.py", tmp_path)
    copy = tmp_path / "locale" / "fi" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    shutil.copy(CATALOGUE / "django.po", copy)
    completed = subprocess.run(
        [
            *(sys.executable, "manage.py", "makemessages", "--locale", "fi"),
            *("--extension", "html,txt,py", "--no-obsolete"),
        ],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{tmp_path}:{REPO / 'tests'}",
            "DJANGO_SETTINGS_MODULE": "backup.settings.test",
            "LANG": "C.UTF-8",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    extracted = polib.pofile(str(copy / "django.po"))
    missing = [
        entry.msgid
        for entry in extracted
        if not entry.obsolete and (not entry.translated() or "fuzzy" in entry.flags)
    ]
    assert not missing, (
        "strings without a Finnish translation (run bin/update-translations, translate "
        "them in locale/fi/LC_MESSAGES/django.po, run it again):\n" + "\n".join(missing)
    )


def test_the_catalogue_has_no_untranslated_or_fuzzy_entry():
    catalogue = polib.pofile(str(CATALOGUE / "django.po"))
    assert catalogue.metadata["Language"] == "fi"
    assert not catalogue.untranslated_entries()
    assert not catalogue.fuzzy_entries()
    for entry in catalogue.translated_entries():
        # Placeholders survive translation (a missing one is a crash, or a
        # wrong sentence, at run time).
        for translated in (
            [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values()
        ):
            assert _placeholders(translated) <= _placeholders(entry.msgid + entry.msgid_plural), (
                entry.msgid
            )


def _placeholders(text):
    return set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", text))


def test_the_compiled_catalogue_matches_the_po_file():
    """The .mo is committed (see bin/update-translations): it must say what
    the .po says."""
    source = polib.pofile(str(CATALOGUE / "django.po"))
    compiled = polib.mofile(str(CATALOGUE / "django.mo"))

    def messages(catalogue):
        return {
            (entry.msgid, entry.msgid_plural): (
                entry.msgstr,
                tuple(sorted(entry.msgstr_plural.items())),
            )
            for entry in catalogue
            if entry.msgid and "fuzzy" not in entry.flags
        }

    assert messages(compiled) == messages(source), (
        "locale/fi/LC_MESSAGES/django.mo is out of date: run bin/update-translations"
    )


# --- Pages and the switch -----------------------------------------------------


@pytest.mark.django_db
def test_the_browsers_language_chooses_finnish(person):
    client = Client(REMOTE_USER=person.username)
    page = client.get("/history/", HTTP_ACCEPT_LANGUAGE="fi-FI,fi;q=0.9,en;q=0.5")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="fi">' in html
    assert "Kaikki taltiollasi tehty" in html
    assert "Oma taltio" in html
    assert "Everything done on your volume" not in html
    english = client.get("/history/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert "Everything done on your volume" in english
    # A language the site lacks gets English, the default.
    other = client.get("/history/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<html lang="en">' in other


@pytest.mark.django_db
def test_pages_without_sign_in_follow_the_browser_too():
    page = Client().get("/signed-out/", HTTP_ACCEPT_LANGUAGE="fi")
    assert page.status_code == 401
    assert "Et ole kirjautunut sisään" in page.content.decode()


@pytest.mark.django_db
def test_the_footer_switch_changes_the_language_and_remembers_it(person):
    client = Client(REMOTE_USER=person.username, enforce_csrf_checks=True)
    page = client.get("/history/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert 'data-testid="language-switch"' in html
    assert '<option value="fi" lang="fi">suomi</option>' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

    # Without the form's token nothing changes.
    refused = client.post("/language/", {"language": "fi", "next": "/history/"})
    assert refused.status_code == 403
    assert language_of(person) == "en"

    switched = client.post(
        "/language/",
        {"language": "fi", "next": "/history/", "csrfmiddlewaretoken": token},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert switched.status_code == 302
    assert switched["Location"] == "/history/"
    assert language_of(person) == "fi"
    # The choice outranks the browser's language from now on.
    after = client.get("/history/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Kaikki taltiollasi tehty" in after
    assert '<option value="fi" lang="fi" selected>' in after


@pytest.mark.django_db
def test_the_switch_refuses_what_it_does_not_know(person):
    client = Client(REMOTE_USER=person.username)
    assert client.get("/language/").status_code == 405
    client.post("/language/", {"language": "xx", "next": "/history/"})
    assert language_of(person) == "en"
    assert LanguagePreference.objects.get(user=person).language == "en"
    # An address off the site is not followed.
    response = client.post("/language/", {"language": "fi", "next": "https://evil.test/"})
    assert "evil.test" not in response.get("Location", "")


@pytest.mark.django_db
def test_a_signed_in_persons_language_is_remembered_from_their_browser(person):
    assert language_of(person) == "en"
    Client(REMOTE_USER=person.username).get("/history/", HTTP_ACCEPT_LANGUAGE="fi")
    assert language_of(person) == "fi"
    Client(REMOTE_USER=person.username).get("/history/", HTTP_ACCEPT_LANGUAGE="en")
    assert language_of(person) == "en"
    assert LanguagePreference.objects.filter(user=person).count() == 1


def test_language_of_nobody_is_the_sites():
    assert language_of(None) == "en"


# --- Emails --------------------------------------------------------------------

NOW = datetime.datetime(2026, 3, 10, 8, 30, tzinfo=datetime.UTC)


def _stale_volume(user):
    volume = Volume.objects.create(owner=user, account=user.username, size_gib=1, filesystem="ext4")
    Volume.objects.filter(pk=volume.pk).update(created_at=NOW - datetime.timedelta(days=30))
    last = (NOW - datetime.timedelta(days=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scans.store(
        volume,
        wrapper_report(
            {
                "user": volume.account,
                "scanned_at": (NOW - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "truncated": False,
                "sources": [
                    {
                        "machine": "toimisto-pc",
                        "format": "windows_file_history",
                        "path": "FileHistory/a/pc",
                        "last_backup": last,
                        "backups": 3,
                        "state": "complete",
                        "size_bytes": None,
                    }
                ],
                "unrecognised": [],
            }
        ),
    )


@pytest.mark.django_db
def test_an_alert_to_a_person_who_chose_finnish_is_finnish(make_person):
    finn = make_person("maija", email=True)
    LanguagePreference.objects.create(user=finn, language="fi")
    other = make_person("pat", email=True)
    boss = make_person("boss", admin=True, email=True)
    _stale_volume(finn)
    _stale_volume(other)

    with translation.override("en"):
        alerts.send_alerts(now=NOW)
        # The language of whoever runs the command is left as it was.
        assert translation.get_language() == "en"

    [to_finn] = [message for message in mail.outbox if message.to == [finn.email]]
    assert (
        to_finn.subject
        == "Varmuuskopiohälytys: toimisto-pc varmuuskopioitiin viimeksi 1 viikko sitten"
    )
    assert f"Hei {finn.username}," in to_finn.body
    assert "Tämä viesti lähetetään enintään kerran päivässä" in to_finn.body
    assert "Hello" not in to_finn.body
    [to_other] = [message for message in mail.outbox if message.to == [other.email]]
    assert to_other.subject.startswith("Backup alert: toimisto-pc last backed up")
    [summary] = [message for message in mail.outbox if message.to == [boss.email]]
    assert summary.subject.startswith("Backup summary:")


@pytest.mark.django_db
def test_an_operations_sentence_is_in_the_language_of_who_reads(person, monkeypatch):
    LanguagePreference.objects.create(user=person, language="fi")

    def crash(operation):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(registry, "work_for", lambda kind: crash)
    operation = Operation.objects.create(
        kind=Operation.Kind.MOUNT,
        owner=person,
        owner_name=person.username,
        actor=person,
        actor_name=person.username,
    )
    with translation.override("en"):
        runner.execute(operation.pk)
    operation.refresh_from_db()
    assert operation.state == Operation.State.FAILED
    # Stored as facts, told when read: in Finnish to a Finnish reader...
    with translation.override("fi"):
        finnish = operation.outcome_for(person.username)
    assert finnish.startswith("Palvelimella tapahtui virhe.")
    # ...the default contact in the same language, not left in English...
    assert "your IT helpdesk" not in finnish
    assert "IT-tukesi" in finnish
    # ...and in English to an English one, whoever acted.
    with translation.override("en"):
        assert operation.outcome_for("someone").startswith("Something went wrong on the server.")


def test_a_mass_changes_reason_is_told_in_the_readers_language():
    # A record made by the earlier rule (data written): still told as it was.
    facts = {"rule": "share", "changed": 600 * 1024**2, "held": 1024**3, "share": 59}
    with translation.override("en"):
        assert describe(facts) == "600\xa0MiB changed, 59% of the 1\xa0GiB the volume held"
    with translation.override("fi"):
        finnish = describe(facts)
    assert finnish == "600\xa0MiB muuttunut, 59 % taltion aiemmasta sisällöstä (1\xa0GiB)"


# --- Counts ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("snapshots", "volumes", "english", "finnish"),
    [
        (1, 1, "1 snapshot of 1 volume, 0 pruned.", "1 tilannevedos 1 taltiosta, 0 karsittu."),
        (5, 2, "5 snapshots of 2 volumes, 0 pruned.", "5 tilannevedosta 2 taltiosta, 0 karsittu."),
    ],
)
def test_the_snapshot_runs_counts_agree_with_their_numbers(
    django_user_model, snapshots, volumes, english, finnish
):
    admin = django_user_model.objects.create(username="i18nadm", is_staff=True)
    SnapshotRun.objects.create(
        taken_at=datetime.datetime.now(datetime.UTC), volumes=volumes, snapshots=snapshots, pruned=0
    )
    client = Client(REMOTE_USER=admin.username)
    assert english in client.get("/staff/snapshots/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    LanguagePreference.objects.filter(user=admin).update(language="fi")
    assert finnish in client.get("/staff/snapshots/", HTTP_ACCEPT_LANGUAGE="fi").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("taken", "link"),
    [(0, None), (1, "Browse and restore the snapshot"), (2, "All 2 snapshots, browse and restore")],
)
def test_the_dashboards_snapshot_link_agrees_with_the_count(
    recorded, make_volume, tmp_path, taken, link
):
    volume = make_volume()
    answer_dashboard(
        recorded, volume, *[hours_ago(2 + hours) for hours in range(taken)], mounted_at=tmp_path
    )
    page = Client(REMOTE_USER=volume.owner.username).get("/").content.decode()
    if link is None:
        assert 'href="/snapshots/">All' not in page
        assert "All 0" not in page
    else:
        assert f'href="/snapshots/">{link}</a>' in page


@pytest.mark.django_db
def test_the_space_card_names_space_and_state_apart_in_finnish(recorded, make_volume, tmp_path):
    """ "Tila" is both space and state in Finnish: the card that shows both
    calls the state "Tilanne"."""
    volume = make_volume()
    answer_dashboard(recorded, volume, hours_ago(2), mounted_at=tmp_path)
    LanguagePreference.objects.create(user=volume.owner, language="fi")
    client = Client(REMOTE_USER=volume.owner.username)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="fi").content.decode()
    card = page[
        page.index('id="space-heading"') : page.index(
            "</section>", page.index('id="space-heading"')
        )
    ]
    assert 'aria-label="Käytetty tila"' in card
    assert '<dt class="col-sm-4">Tilanne</dt>' in card
    assert ">Tila<" not in card
