"""The audit log: filters by person, kind, outcome and days, validated by a
form (a bad filter is refused and shows nothing); the CSV export holds
exactly the filtered records, streamed, bounded, with every cell a
spreadsheet would run as a formula neutralised."""

import csv
import datetime
import io

import pytest
from django.test import Client

from backup.operations.models import Operation
from backup.staff import audit_export

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def record(owner_name, *, actor_name=None, kind="mount", state="succeeded", at=None, **fields):
    """An audit record, requested at ``at`` (auto_now_add is overridden after)."""
    operation = Operation.objects.create(
        kind=kind,
        state=state,
        owner_name=owner_name,
        actor_name=actor_name or owner_name,
        **fields,
    )
    if at is not None:
        Operation.objects.filter(pk=operation.pk).update(requested_at=at)
    return operation


def listed(response):
    return sorted(operation.pk for operation in response.context["page"])


def get_audit(admin, **query):
    return Client(REMOTE_USER=admin.username).get("/staff/audit/", query)


def export(admin, **query):
    return Client(REMOTE_USER=admin.username).get("/staff/audit/export.csv", query)


def csv_rows(response):
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def history(admin):
    """Records of two people over three days, some by the admin on their behalf."""
    day = datetime.datetime(2026, 3, 10, 12, tzinfo=UTC)
    return {
        "alice_mount": record("alice", at=day),
        "alice_grow_by_admin": record(
            "alice", actor_name=admin.username, kind="add_space", at=day + datetime.timedelta(1)
        ),
        "bob_failed": record(
            "bob", kind="add_space", state="failed", at=day + datetime.timedelta(1)
        ),
        "bob_delete": record("bob", kind="delete", at=day + datetime.timedelta(2)),
        # Only the same name counts: a longer name containing it is someone else.
        "alice2": record("alice2", at=day),
    }


# --- Filters -------------------------------------------------------------------


def test_no_filter_lists_everything(admin, history):
    response = get_audit(admin)
    assert response.status_code == 200
    assert listed(response) == sorted(op.pk for op in history.values())


def test_filter_by_person_matches_whose_volume_or_who_acted_exactly(admin, history):
    alice = get_audit(admin, user="alice")
    assert listed(alice) == sorted([history["alice_mount"].pk, history["alice_grow_by_admin"].pk])
    assert listed(get_audit(admin, user=" alice ")) == listed(alice)
    by_admin = get_audit(admin, user=admin.username)
    assert listed(by_admin) == [history["alice_grow_by_admin"].pk]


def test_filter_by_kind_and_outcome(admin, history):
    grown = get_audit(admin, kind="add_space")
    assert listed(grown) == sorted([history["alice_grow_by_admin"].pk, history["bob_failed"].pk])
    failed = get_audit(admin, kind="add_space", state="failed")
    assert listed(failed) == [history["bob_failed"].pk]


def test_filter_by_days_includes_both_ends(admin, history):
    second_day = get_audit(admin, since="2026-03-11", until="2026-03-11")
    assert listed(second_day) == sorted(
        [history["alice_grow_by_admin"].pk, history["bob_failed"].pk]
    )
    from_second = get_audit(admin, since="2026-03-11")
    assert history["bob_delete"].pk in listed(from_second)
    assert history["alice_mount"].pk not in listed(from_second)
    until_first = get_audit(admin, until="2026-03-10")
    assert listed(until_first) == sorted([history["alice_mount"].pk, history["alice2"].pk])


def test_days_at_the_ends_of_the_calendar_bound_nothing(admin, history):
    response = get_audit(admin, since="0001-01-01", until="9999-12-31")
    assert response.status_code == 200
    assert len(listed(response)) == len(history)


def test_filters_combine_and_pages_keep_them(admin, history):
    response = get_audit(admin, user="bob", state="succeeded", since="2026-03-12")
    assert listed(response) == [history["bob_delete"].pk]
    assert "user=bob" in response.context["query"]
    assert "since=2026-03-12" in response.context["query"]


@pytest.mark.parametrize(
    ("query", "field", "sentence"),
    [
        ({"since": "yesterday"}, "since", "Enter the first day as a date"),
        ({"until": "2026-02-30"}, "until", "Enter the last day as a date"),
        ({"since": "2026-03-12", "until": "2026-03-11"}, "until", "is before the first day"),
        ({"kind": "format_disk"}, "kind", "Select a valid choice"),
        ({"state": "exploded"}, "state", "Select a valid choice"),
    ],
)
def test_a_bad_filter_is_refused_saying_why_and_shows_nothing(
    admin, history, query, field, sentence
):
    response = get_audit(admin, user="alice", **query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    page = response.content.decode()
    assert sentence in page
    assert "The filter was not applied" in page
    assert "page" not in response.context
    assert 'value="alice"' in page  # what was typed stays
    assert Operation.objects.count() == len(history)


def test_the_audit_log_says_who_acted_for_whom(admin, history):
    page = get_audit(admin, user="alice").content.decode()
    assert f"by {admin.username} for alice" in page
    own = get_audit(admin, user="bob").content.decode()
    assert "for bob" not in own
    assert '<a href="/staff/users/alice/">alice</a>' in page


@pytest.mark.parametrize("url", ["/staff/audit/", "/staff/audit/export.csv"])
def test_the_audit_log_is_for_admins_only(url, person, history):
    response = Client(REMOTE_USER=person.username).get(url)
    assert response.status_code == 403
    assert b"alice" not in response.content


# --- CSV -------------------------------------------------------------------


def test_export_holds_exactly_the_filtered_records(admin, history):
    response = export(admin, user="alice", kind="add_space")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = csv_rows(response)
    grown = history["alice_grow_by_admin"]
    assert [row["id"] for row in rows] == [str(grown.pk)]
    row = rows[0]
    assert row["by"] == admin.username
    assert row["for"] == "alice"
    assert row["kind"] == "add_space"
    assert row["operation"] == "Add space"
    assert row["outcome"] == "succeeded"
    assert row["requested_at"] == "2026-03-11T12:00:00+00:00"
    assert row["finished_at"] == ""
    assert list(row) == [name for name, _ in audit_export.COLUMNS]


def test_export_of_everything_lists_newest_first(admin, history):
    rows = csv_rows(export(admin))
    assert len(rows) == len(history)
    times = [row["requested_at"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_export_link_carries_the_filter(admin, history):
    page = get_audit(admin, user="bob", state="failed").content.decode()
    assert 'href="/staff/audit/export.csv?user=bob&amp;state=failed"' in page


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_cells_a_spreadsheet_would_run_get_an_apostrophe(admin, start):
    hostile = f'{start}HYPERLINK("http://evil.example/","click")'
    record(
        "carol",
        actor_name=f"{start}actor",
        message=hostile,
        detail=f"{start}cmd|' /C calc'!A0",
        parameters={"note": "=1+1"},
    )
    row = csv_rows(export(admin, user="carol"))[0]
    assert row["message"] == "'" + hostile
    assert row["detail"] == f"'{start}cmd|' /C calc'!A0"
    assert row["by"] == f"'{start}actor"
    # The JSON starts with "{": left as it is.
    assert row["parameters"] == '{"note": "=1+1"}'


def test_harmless_cells_are_left_alone(admin):
    record("dave", message="Your volume now has 2 GiB. -- done", detail="grown 1")
    row = csv_rows(export(admin, user="dave"))[0]
    assert row["message"] == "Your volume now has 2 GiB. -- done"
    assert row["detail"] == "grown 1"


def test_a_bad_filter_exports_nothing(admin, history):
    response = export(admin, since="31.12.2026")
    assert response.status_code == 400
    assert not response.streaming
    assert "Enter the first day as a date" in response.content.decode()


def test_an_export_beyond_the_limit_is_refused_saying_how_to_narrow_it(admin, history, monkeypatch):
    monkeypatch.setattr(audit_export, "EXPORT_LIMIT", 2)
    response = export(admin)
    assert response.status_code == 400
    assert not response.streaming
    assert "5 records match, more than the 2 one export may hold" in response.content.decode()
    assert len(csv_rows(export(admin, user="alice"))) == 2


def test_export_streams_records_beyond_one_chunk(admin):
    Operation.objects.bulk_create(
        Operation(kind="mount", state="failed", owner_name=f"bulk{n}", actor_name="x")
        for n in range(2500)
    )
    response = export(admin, state="failed")
    lines = list(response.streaming_content)
    assert len(lines) == 2501  # the header, then one line per record
    assert len(csv_rows(export(admin, state="failed"))) == 2500
