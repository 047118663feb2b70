"""An operation's outcome is stored as facts and told when a page shows it:
in the reader's language, to the owner as "your volume", to anyone else
(an admin who acted for them) naming whose volume. Rows from before keep
showing their stored sentence."""

import secrets

import pytest
from django.test import Client
from django.utils import translation

from backup.operations import records, results
from backup.operations.models import Operation

pytestmark = pytest.mark.django_db

# A value for every parameter any sentence uses.
PARAMETERS = {
    "size": 8,
    "date": "2026-12-24T10:00:00+00:00",
    "tool": "tools/destroy-protected.py",
    "names": ["Mac.sparsebundle"],
    "count": 2,
    "name": "Old Mac",
    "files": 3,
    "snapshot": "@GMT-2026.11.30-21.00.00",
    "folder": "Restored",
    "kept_as": "@GMT-2026.12.01-08.00.00",
    "kind": Operation.Kind.DEFRAGMENT,
    "then": {"code": "then_retry"},
    "admin": "boss",
    "id": 7,
    "state": Operation.State.RUNNING,
    "errors": 1,
    "host": "hooks.example.com",
    "address": "10.0.0.1",
    "error": "[Errno 111] Connection refused",
    "status": 500,
    "old": 2,
    "new": 4,
}


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create(username=f"res{secrets.token_hex(4)}")


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create(username=f"adm{secrets.token_hex(4)}", is_staff=True)


def finished(owner, actor, message, kind=Operation.Kind.ADD_SPACE):
    operation = records.open_operation(owner=owner, actor=actor, kind=kind, worker="test:1:1")
    records.finish(operation, succeeded=True, message=message)
    operation.refresh_from_db()
    return operation


def test_the_facts_are_stored_and_told_in_the_readers_language(owner, admin):
    with translation.override("fi"):  # the admin who acted reads Finnish
        operation = finished(owner, admin, results.result("grown", size=8))
    assert operation.result == {"code": "grown", "size": 8}
    # The copy for the log and the export is in the site's language.
    assert operation.message == "Your volume now has 8 GiB."
    with translation.override("en"):
        assert operation.outcome_for(owner.username) == "Your volume now has 8 GiB."
        assert operation.outcome_for(admin.username) == (
            f"The volume of {owner.username} now has 8 GiB."
        )
    with translation.override("fi"):
        assert operation.outcome_for(owner.username) == "Taltiollasi on nyt 8 GiB."
        assert operation.outcome_for(admin.username) == (
            f"Käyttäjän {owner.username} taltiolla on nyt 8 GiB."
        )


def test_a_row_from_before_shows_its_sentence(owner):
    operation = finished(owner, owner, "Your volume was defragmented.")
    assert operation.result == {}
    with translation.override("fi"):
        assert operation.outcome_for(owner.username) == "Your volume was defragmented."


def test_an_unknown_code_is_refused_and_an_old_one_says_nothing(owner):
    with pytest.raises(LookupError):
        results.result("no-such-code")
    assert results.render({"code": "removed-since"}, owner_name=owner.username) == ""


@pytest.mark.parametrize("code", sorted(results.SENTENCES))
def test_every_sentence_is_told_in_finnish_to_owner_and_others(code):
    facts = {"code": code, **PARAMETERS}
    for reader in ("owner1", "admin1"):
        with translation.override("en"):
            english = results.render(facts, owner_name="owner1", reader_name=reader)
        with translation.override("fi"):
            finnish = results.render(facts, owner_name="owner1", reader_name=reader)
        assert english
        assert finnish != english, (code, reader, finnish)
        assert "%(" not in finnish
        if reader == "admin1":
            assert "your volume" not in english.lower(), english


def test_the_pages_tell_each_reader_in_their_language(owner, admin):
    operation = finished(owner, admin, results.result("defragmented"), Operation.Kind.DEFRAGMENT)
    mine = Client(REMOTE_USER=owner.username).get("/history/", HTTP_ACCEPT_LANGUAGE="fi")
    assert "Taltiosi eheytettiin." in mine.content.decode()
    theirs = Client(REMOTE_USER=admin.username).get(
        f"/operations/{operation.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert f"The volume of {owner.username} was defragmented." in theirs.content.decode()
    status = Client(REMOTE_USER=owner.username).get(
        f"/operations/{operation.pk}/status/", HTTP_ACCEPT_LANGUAGE="fi"
    )
    assert status.json()["message"] == "Taltiosi eheytettiin."


def test_facts_that_no_longer_fit_their_sentence_leave_the_page_open(owner):
    # Stored before the sentence gained a figure: nothing is told, nothing breaks.
    assert results.render({"code": "grown"}, owner_name=owner.username) == ""
