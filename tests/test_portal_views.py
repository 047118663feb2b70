"""The portal's pages through Django's test client: sign-in from the server's
REMOTE_USER, the employee journey, admin pages and their access rules, CSRF,
error pages. Volumes are real (loop-file backend, wrappers as root)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from backup.operations.models import Operation
from backup.volumes.models import Volume
from support.accounts import unix_password_matches

pytestmark = pytest.mark.django_db


def signed_in(username, **extra):
    """A client whose requests carry REMOTE_USER, as the web server sets it."""
    return Client(REMOTE_USER=username, **extra)


# --- Sign-in ------------------------------------------------------------------


def test_without_remote_user_nobody_is_signed_in():
    response = Client().get("/")
    assert response.status_code == 401
    assert b"not signed in" in response.content


@pytest.mark.parametrize("header", ["Remote-User", "X-Remote-User", "Remote_User"])
def test_a_spoofed_remote_user_header_signs_nobody_in(header):
    response = Client().get("/", headers={header: "alice"})
    assert response.status_code == 401
    assert not get_user_model().objects.filter(username="alice").exists()


def test_a_spoofed_header_does_not_change_who_is_signed_in(make_employee):
    bob = make_employee()
    response = signed_in(bob.username).get("/", headers={"Remote-User": "alice"})
    assert response.status_code == 200
    assert response.context["user"].username == bob.username


@pytest.mark.parametrize("name", ["Ünïcode", "has space", "1starts-with-digit", "a" * 40, "-rf"])
def test_names_the_wrappers_would_refuse_get_a_clear_page(name):
    response = signed_in(name).get("/")
    assert response.status_code == 403
    assert b"contact" in response.content
    assert not get_user_model().objects.exclude(username="").exists()


def test_backup_admins_are_made_staff(settings):
    settings.BACKUP_ADMINS = ["boss"]
    signed_in("boss").get("/ping/")
    assert get_user_model().objects.get(username="boss").is_staff


def test_ping_needs_nothing():
    response = Client().get("/ping/")
    assert response.status_code == 200
    assert response.content == b"pong"


# --- Access rules ---------------------------------------------------------


@pytest.mark.parametrize("url", ["/staff/", "/staff/audit/", "/staff/users/someone/history/"])
def test_admin_pages_are_forbidden_to_employees(url, make_employee):
    employee = make_employee()
    response = signed_in(employee.username).get(url)
    assert response.status_code == 403
    assert b"administrators only" in response.content
    assert b"Traceback" not in response.content


def test_django_admin_is_closed_to_employees(make_employee):
    employee = make_employee()
    response = signed_in(employee.username).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_another_users_operation_is_not_found(make_employee):
    owner, other = make_employee(), make_employee()
    operation = Operation.objects.create(
        kind=Operation.Kind.MOUNT,
        owner=owner,
        owner_name=owner.username,
        actor=owner,
        actor_name=owner.username,
        state=Operation.State.SUCCEEDED,
    )
    for url in (f"/operations/{operation.pk}/", f"/operations/{operation.pk}/status/"):
        assert signed_in(other.username).get(url).status_code == 404
        assert signed_in(owner.username).get(url).status_code == 200


def test_unknown_pages_use_the_site_look():
    response = signed_in("dave").get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content
    assert b"Backup storage" in response.content


def test_a_server_error_shows_a_sentence_not_a_traceback(make_employee, monkeypatch):
    employee = make_employee()

    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("backup.dashboard.views.volume_of", explode)
    client = signed_in(employee.username, raise_request_exception=False)
    response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"database on fire" not in response.content
    assert b"Traceback" not in response.content


STATE_CHANGING = [
    "/volume/create/",
    "/volume/add-space/",
    "/volume/mount/",
    "/volume/delete/",
    "/volume/time-machine/delete/",
    "/volume/defragment/",
    "/volume/scrub/",
    "/password/",
]


@pytest.mark.parametrize("url", STATE_CHANGING)
def test_every_state_change_needs_the_csrf_token(url, make_employee, monkeypatch):
    calls = []
    monkeypatch.setattr("backup.privileged.commands.run", lambda *a, **k: calls.append(a))
    employee = make_employee()
    client = signed_in(employee.username, enforce_csrf_checks=True)
    response = client.post(url, {"confirmation": employee.username})
    assert response.status_code == 403
    assert calls == []
    assert not Operation.objects.exists()


@pytest.mark.parametrize("url", ["/volume/create/", "/volume/add-space/", "/volume/mount/"])
def test_actions_refuse_get(url, make_employee):
    employee = make_employee()
    assert signed_in(employee.username).get(url).status_code == 405


# --- The employee journey (real wrappers) ------------------------------------------


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_employee_journey(portal, make_employee):
    employee = make_employee()
    client = signed_in(employee.username, enforce_csrf_checks=True)

    welcome = client.get("/")
    assert welcome.status_code == 200
    assert b"Create my backup volume" in welcome.content
    token = welcome.context["csrf_token"]

    created = client.post("/volume/create/", {"csrfmiddlewaretoken": str(token)}, follow=True)
    assert created.status_code == 200
    operation = Operation.objects.get(owner_name=employee.username, kind="create")
    assert operation.state == "succeeded", operation.detail
    assert b"backup volume is ready" in created.content

    dashboard = client.get("/")
    page = dashboard.content.decode()
    assert "Get my backup password" in page
    assert f"\\\\{dashboard.context['server_hostname']}\\{employee.username}" in page
    assert f"smb://{dashboard.context['server_hostname']}/{employee.username}" in page
    state = dashboard.context["state"]
    assert state.mounted
    assert state.usage.total_bytes > 0

    posted = client.post("/password/", {"csrfmiddlewaretoken": str(token)})
    assert posted.status_code == 302
    shown = client.get(posted["Location"])
    assert shown.status_code == 200
    assert shown["Cache-Control"].startswith("max-age=0")
    assert "no-store" in shown["Cache-Control"]
    password = re.search(r'value="([^"]+)" data-testid="password"', shown.content.decode())
    assert unix_password_matches(employee.username, password.group(1))
    assert b"only time this password is shown" in shown.content
    assert b"Get my backup password" not in client.get("/").content

    grown = client.post("/volume/add-space/", {"csrfmiddlewaretoken": str(token)}, follow=True)
    assert b"now has 2 GiB" in grown.content

    refused = client.post(
        "/volume/delete/", {"csrfmiddlewaretoken": str(token), "confirmation": "wrong"}
    )
    assert refused.status_code == 400
    assert b"type your user name" in refused.content
    assert Volume.objects.filter(owner=employee).exists()

    deleted = client.post(
        "/volume/delete/",
        {"csrfmiddlewaretoken": str(token), "confirmation": employee.username},
        follow=True,
    )
    assert b"were deleted" in deleted.content
    assert not Volume.objects.filter(owner=employee).exists()

    history = client.get("/history/").content.decode()
    for label in ("Create volume", "New backup password", "Add space", "Delete volume"):
        assert label in history


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_double_submitted_create_makes_one_volume(portal, make_employee):
    employee = make_employee()
    client = signed_in(employee.username)
    first = client.post("/volume/create/")
    second = client.post("/volume/create/", follow=True)
    assert first.status_code == 302
    assert b"already have a backup volume" in second.content
    assert Operation.objects.filter(owner_name=employee.username, kind="create").count() == 1
    assert Volume.objects.filter(owner=employee).count() == 1


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_admin_sees_pool_every_volume_and_the_audit_log(portal, make_employee):
    admin = make_employee("adm", is_staff=True)
    employees = [make_employee() for _ in range(2)]
    for employee in employees:
        signed_in(employee.username).post("/volume/create/")
    client = signed_in(admin.username)
    overview = client.get("/staff/?show=all&sort=user&order=desc")
    assert overview.status_code == 200
    rows = [row.account for row in overview.context["rows"]]
    assert rows == sorted([e.username for e in employees], reverse=True)
    pool = overview.context["pool"]
    assert pool.allocated_bytes == 2 * 1024**3
    assert pool.size_bytes == 20 * 1024**3
    audit = client.get(f"/staff/audit/?user={employees[0].username}&kind=create")
    assert [op.owner_name for op in audit.context["page"]] == [employees[0].username]
    history = client.get(reverse("staff:person", args=[employees[1].username]))
    assert employees[1].username in history.content.decode()
