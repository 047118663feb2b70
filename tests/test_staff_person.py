"""A person's admin page: their volume, backups and recent operations, and
actions on their behalf (mount, add space, delete with typed confirmation)
that run for real, keep the volume rules, and name the admin in the audit
record. Non-admins, missing tokens, wrong confirmations and names that are
no account are refused with nothing changed."""

import datetime
import os

import pytest
from django.urls import reverse
from django.utils import timezone

from backup.discovery import scans
from backup.operations import workers
from backup.operations.models import Operation
from backup.privileged import commands
from backup.privileged.client import Failed
from backup.volumes.models import Quota, Volume
from support.backup_reports import wrapper_report
from support.people import signed_in
from support.volume_traces import NOTHING, mount_point_of, traces

EVERYTHING = dict.fromkeys(NOTHING, True)
GIB = 1024**3


def person_url(name, action=""):
    return reverse(f"staff:person{'-' + action if action else ''}", args=[name])


def post_with_token(client, page_url, url, data=None):
    """POST as a browser does: with the CSRF token of the page showing the form."""
    token = client.get(page_url).context["csrf_token"]
    return client.post(url, {"csrfmiddlewaretoken": str(token), **(data or {})})


@pytest.fixture
def admin(make_employee):
    return make_employee("adm", is_staff=True)


@pytest.fixture
def volume(make_real_volume):
    return make_real_volume()


def only_operation(volume, kind):
    operation = Operation.objects.get(owner_name=volume.account, kind=kind)
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    return operation


# --- The page ------------------------------------------------------------------


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_the_page_shows_the_volume_and_its_recent_operations(portal, admin, volume):
    Quota.objects.create(user=volume.owner, max_size_gib=2)
    response = signed_in(admin).get(person_url(volume.account))
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{volume.account}'s backup volume" in page
    assert response.context["state"].mounted
    assert response.context["quota"] == 2
    assert "1 GiB" in page
    assert 'data-testid="quota">2 GiB' in page
    assert "Mounted" in page
    assert volume.created_at.strftime("%Y-%m-%d") in page
    assert "Create volume" in page  # its recent operations
    assert f'href="/stats/volumes/{volume.account}/"' in page
    assert "Grows the volume to 2 GiB (quota 2 GiB)" in page
    assert person_url(volume.account, "add-space") in page
    assert person_url(volume.account, "delete") in page
    # Mounted: nothing to mount.
    assert person_url(volume.account, "mount") not in page


@pytest.mark.django_db
def test_the_page_lists_last_backups_per_computer_even_without_the_server(
    admin, make_person, make_volume, settings, tmp_path
):
    settings.WRAPPERS_PATH = tmp_path  # no wrapper can answer
    owner = make_person("scanned")
    volume = make_volume(owner)
    when = timezone.now() - datetime.timedelta(hours=3)
    scans.store(
        volume,
        wrapper_report(
            {
                "user": owner.username,
                "scanned_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "truncated": False,
                "sources": [
                    {
                        "machine": "<b>laptop</b>",
                        "format": "time_machine",
                        "path": "laptop.sparsebundle",
                        "last_backup": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "backups": 4,
                        "state": "complete",
                        "size_bytes": None,
                    }
                ],
                "unrecognised": [],
            }
        ),
    )
    response = signed_in(admin).get(person_url(owner.username))
    assert response.status_code == 200
    page = response.content.decode()
    assert "can't report this volume's state" in page.replace("&#x27;", "'")
    assert "Time Machine" in page
    assert "3\xa0hours ago" in page or "3 hours ago" in page
    assert "<b>laptop</b>" not in page
    assert "&lt;b&gt;laptop&lt;/b&gt;" in page


@pytest.mark.django_db
def test_the_old_history_address_leads_to_the_person_page(admin):
    response = signed_in(admin).get("/staff/users/someone/history/")
    assert response.status_code == 301
    assert response["Location"] == "/staff/users/someone/"


@pytest.mark.django_db
@pytest.mark.parametrize("known", [True, False], ids=["signed-in-once", "never-seen"])
def test_a_name_without_a_volume_says_so(admin, django_user_model, known):
    name = "novolume1"
    if known:
        django_user_model.objects.create(username=name)
    response = signed_in(admin).get(person_url(name))
    assert response.status_code == 404
    page = response.content.decode()
    assert f"There is no backup volume for {name}" in page
    assert "Recent operations" not in page
    assert "Act for" not in page


@pytest.mark.django_db
def test_a_deleted_volume_page_keeps_its_past_operations(admin):
    Operation.objects.create(
        kind="delete", state="succeeded", owner_name="gone1", actor_name="gone1"
    )
    response = signed_in(admin).get(person_url("gone1"))
    assert response.status_code == 404
    page = response.content.decode()
    assert "There is no backup volume for gone1" in page
    assert "Delete volume" in page
    assert "/staff/audit/?user=gone1" in page


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["Alice", "1abc", "a" * 33, "-rf", "x y", "ünï", ".."])
def test_a_name_that_is_no_account_is_refused(admin, name):
    client = signed_in(admin)
    response = client.get(person_url(name))
    assert response.status_code == 400
    assert "can't be the name of a backup account" in response.content.decode()
    for action in ("mount", "add-space", "delete"):
        assert client.post(person_url(name, action)).status_code == 400
    assert not Operation.objects.exists()


# --- Access rules (no storage needed: nothing may reach it) ----------------------


@pytest.fixture
def recorded_volume(make_person, monkeypatch):
    """A volume as the portal records it, and a record of every privileged
    call: refused requests must make none."""
    owner = make_person("recorded")
    volume = Volume.objects.create(
        owner=owner, account=owner.username, size_gib=1, filesystem="btrfs"
    )
    calls = []

    def run(wrapper, *args, **options):
        calls.append((wrapper, *args))
        raise Failed(wrapper, "no wrapper runs in this test")

    monkeypatch.setattr("backup.privileged.commands.run", run)
    return volume, calls


@pytest.mark.django_db
def test_employees_are_refused_every_person_page_and_action(recorded_volume, make_person):
    volume, calls = recorded_volume
    employee = make_person("nosy")
    client = signed_in(employee)
    assert client.get(person_url(volume.account)).status_code == 403
    assert client.get(person_url(volume.account, "delete")).status_code == 403
    for action in ("mount", "add-space", "delete"):
        response = client.post(person_url(volume.account, action), {"confirmation": volume.account})
        assert response.status_code == 403
        assert b"administrators only" in response.content
    assert calls == []
    assert not Operation.objects.exists()
    assert Volume.objects.get(pk=volume.pk).size_gib == 1


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["mount", "add-space", "delete"])
def test_actions_need_the_csrf_token(recorded_volume, make_person, action):
    volume, calls = recorded_volume
    boss = make_person("csrfboss", admin=True)
    client = signed_in(boss, enforce_csrf_checks=True)
    response = client.post(person_url(volume.account, action), {"confirmation": volume.account})
    assert response.status_code == 403
    assert calls == []
    assert not Operation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["mount", "add-space"])
def test_actions_refuse_get(recorded_volume, make_person, action):
    volume, calls = recorded_volume
    boss = make_person("getboss", admin=True)
    assert signed_in(boss).get(person_url(volume.account, action)).status_code == 405
    assert calls == []
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_an_action_while_the_persons_own_operation_runs_is_refused(recorded_volume, make_person):
    volume, calls = recorded_volume
    boss = make_person("busyboss", admin=True)
    now = timezone.now()
    own = Operation.objects.create(
        kind="scrub",
        state="running",
        owner=volume.owner,
        owner_name=volume.account,
        actor=volume.owner,
        actor_name=volume.account,
        started_at=now,
        heartbeat_at=now,
        worker=workers.this_process(),
    )
    client = signed_in(boss)
    page = client.get(person_url(volume.account)).content.decode()
    assert "data-operation-status" in page  # its progress is shown
    assert page.count("disabled") >= 1
    assert calls == [("lvdisplay.py", volume.account)]  # the page's one question
    response = client.post(person_url(volume.account, "mount"), follow=True)
    assert "is still in progress" in response.content.decode()
    assert list(Operation.objects.values_list("pk", flat=True)) == [own.pk]
    assert len(calls) == 2  # only the page shown again after the refusal


# --- On their behalf, for real -------------------------------------------------


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_add_space_on_behalf_grows_the_volume_and_names_the_admin(portal, admin, volume):
    client = signed_in(admin, enforce_csrf_checks=True)
    page = person_url(volume.account)
    response = post_with_token(client, page, person_url(volume.account, "add-space"))
    operation = only_operation(volume, "add_space")
    assert response.status_code == 302
    assert response["Location"] == reverse("operations:detail", args=[operation.pk])
    assert (operation.actor, operation.actor_name) == (admin, admin.username)
    assert (operation.owner, operation.owner_name) == (volume.owner, volume.account)
    volume.refresh_from_db()
    assert volume.size_gib == 2
    detail = client.get(response["Location"]).content.decode()
    assert "now has 2 GiB" in detail
    assert f'href="{page}"' in detail
    assert "Back to your volume" not in detail
    audit = client.get("/staff/audit/", {"user": volume.account}).content.decode()
    assert f"by {admin.username} for {volume.account}" in audit


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_mount_on_behalf_mounts_the_volume(portal, admin, volume):
    portal.run("umount.py", volume.account)
    client = signed_in(admin, enforce_csrf_checks=True)
    page = client.get(person_url(volume.account)).content.decode()
    assert "Not mounted" in page
    assert person_url(volume.account, "mount") in page
    post_with_token(client, person_url(volume.account), person_url(volume.account, "mount"))
    operation = only_operation(volume, "mount")
    assert operation.actor_name == admin.username
    assert os.path.ismount(mount_point_of(portal, volume.account))


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_add_space_beyond_the_quota_is_refused_and_changes_nothing(portal, admin, volume):
    Quota.objects.create(user=volume.owner, max_size_gib=1)
    client = signed_in(admin)
    page = client.get(person_url(volume.account)).content.decode()
    assert "all of the person's quota" in page
    response = client.post(person_url(volume.account, "add-space"), follow=True)
    assert response.redirect_chain == [(person_url(volume.account), 302)]
    assert "the most you may have" in response.content.decode()
    assert not Operation.objects.filter(kind="add_space").exists()
    volume.refresh_from_db()
    assert volume.size_gib == 1
    assert commands.volume(volume.account)["size_bytes"] == GIB


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_add_space_beyond_the_pool_is_refused_and_changes_nothing(portal, admin, volume):
    Quota.objects.create(user=volume.owner, max_size_gib=5)
    portal.write_local_settings(LOOPFILE_POOL_SIZE_GIB=1)
    try:
        response = signed_in(admin).post(person_url(volume.account, "add-space"), follow=True)
    finally:
        portal.write_local_settings()
    assert "does not have enough free space" in response.content.decode()
    # Nothing was started: the only record is the refusal, in the audit log
    # under the admin who asked.
    (refusal,) = Operation.objects.filter(kind="add_space")
    assert refusal.started_at is None
    assert refusal.parameters["refused"] == "pool_full"
    assert refusal.actor_name == admin.username
    volume.refresh_from_db()
    assert volume.size_gib == 1
    assert commands.volume(volume.account)["size_bytes"] == GIB


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_delete_on_behalf_needs_the_typed_name_then_deletes(portal, admin, volume):
    client = signed_in(admin, enforce_csrf_checks=True)
    delete_page = person_url(volume.account, "delete")
    form = client.get(delete_page)
    assert form.status_code == 200
    text = form.content.decode()
    assert "type the person's user name" in text
    assert f'href="{person_url(volume.account)}"' in text  # "Keep the volume"

    for typed in ("", "yes", volume.account.upper(), admin.username):
        refused = post_with_token(client, delete_page, delete_page, {"confirmation": typed})
        assert refused.status_code == 400
        assert "Nothing was deleted" in refused.content.decode()
    assert not Operation.objects.filter(kind="delete").exists()
    assert Volume.objects.filter(pk=volume.pk).exists()
    assert traces(portal, volume.account) == EVERYTHING

    done = post_with_token(client, delete_page, delete_page, {"confirmation": volume.account})
    assert done.status_code == 302
    operation = only_operation(volume, "delete")
    assert operation.actor_name == admin.username
    assert not Volume.objects.filter(pk=volume.pk).exists()
    assert traces(portal, volume.account) == NOTHING
    gone = client.get(person_url(volume.account))
    assert gone.status_code == 404
    assert "Delete volume" in gone.content.decode()


# --- The operation page's way back ------------------------------------------------


@pytest.mark.django_db
def test_the_operation_page_leads_back_to_the_owner_or_the_persons_page(make_person):
    owner = make_person("opowner")
    boss = make_person("opboss", admin=True)
    operation = Operation.objects.create(
        kind="mount",
        state="succeeded",
        owner=owner,
        owner_name=owner.username,
        actor=owner,
        actor_name=owner.username,
    )
    url = reverse("operations:detail", args=[operation.pk])
    own = signed_in(owner).get(url).content.decode()
    assert "Back to your volume" in own
    assert "/staff/users/" not in own
    theirs = signed_in(boss).get(url).content.decode()
    assert "Back to your volume" not in theirs
    assert f'href="/staff/users/{owner.username}/"' in theirs
    assert f"Back to {owner.username}'s page" in theirs
