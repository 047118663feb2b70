"""The refusal middleware (backup.core.refusals): a UserFacingError a view
raises reaches the person once, as the view's mark says (its sentence as an
error message on the page the view names) or, unmarked, on a page of its own
with the refusal's status; anything else stays a server error. Then the
actions that used to catch by hand, through the real site: the same message
on the same page as before, and nothing recorded."""

import uuid

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import path
from django.utils import timezone

from backup import urls as site_urls
from backup.core.errors import UserFacingError
from backup.core.refusals import refused_back_to
from backup.operations.errors import OperationInProgress
from backup.operations.models import Operation
from backup.volumes.models import Quota, Volume

pytestmark = pytest.mark.django_db


def refuses(request):
    raise UserFacingError("Refused for a reason. Do this instead.", "the detail")


def busy(request):
    raise OperationInProgress(None)


@refused_back_to("staff:person", "username")
def refuses_back(request, username):
    raise UserFacingError("Not for this person.")


def fails(request):
    raise RuntimeError("secret internals")


# The real site plus views that refuse (this module is the test URLconf).
urlpatterns = [
    path("test-refusal/plain/", refuses),
    path("test-refusal/busy/", busy),
    path("test-refusal/<str:username>/back/", refuses_back),
    path("test-refusal/fails/", fails),
    *site_urls.urlpatterns,
]


def sent_messages(response):
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def person(django_user_model):
    return django_user_model.objects.create(username=f"ref{uuid.uuid4().hex[:8]}")


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create(username=f"adm{uuid.uuid4().hex[:8]}", is_staff=True)


@pytest.mark.urls(__name__)
def test_an_unmarked_view_shows_the_sentence_on_a_page_with_its_status(person):
    response = Client(REMOTE_USER=person.username).get("/test-refusal/plain/")
    assert response.status_code == 400
    assert response.templates[0].name == "core/refused.html"
    page = response.content.decode()
    assert "Refused for a reason. Do this instead." in page
    assert "the detail" not in page  # for the log, never the page
    assert 'href="/"' in page


@pytest.mark.urls(__name__)
def test_another_operation_running_answers_conflict(person):
    response = Client(REMOTE_USER=person.username).get("/test-refusal/busy/")
    assert response.status_code == 409
    assert "Another operation is in progress for your volume." in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_marked_view_sends_the_person_to_the_page_it_names(person):
    response = Client(REMOTE_USER=person.username).post("/test-refusal/someone/back/")
    assert response.status_code == 302
    assert response.url == "/staff/users/someone/"
    assert sent_messages(response) == [("error", "Not for this person.")]


@pytest.mark.urls(__name__)
def test_anything_else_stays_a_server_error(person):
    client = Client(REMOTE_USER=person.username, raise_request_exception=False)
    response = client.get("/test-refusal/fails/")
    assert response.status_code == 500
    assert b"secret internals" not in response.content
    with pytest.raises(RuntimeError):
        Client(REMOTE_USER=person.username).get("/test-refusal/fails/")


# --- The actions that caught by hand, through the real site -----------------


def test_an_action_refused_says_why_on_the_employees_page(person):
    response = Client(REMOTE_USER=person.username).post("/volume/add-space/")
    assert response.status_code == 302
    assert response.url == "/"
    assert sent_messages(response) == [("error", "You don't have a backup volume yet.")]
    assert not Operation.objects.exists()


def test_an_action_refused_shows_the_message_on_the_page_it_lands_on(person):
    Volume.objects.create(owner=person, account=person.username, size_gib=4, filesystem="btrfs")
    Quota.objects.create(user=person, max_size_gib=4)  # at its quota: no more space
    page = Client(REMOTE_USER=person.username).post("/volume/add-space/", follow=True)
    assert page.redirect_chain == [("/", 302)]
    assert not Operation.objects.exists()
    [message] = sent_messages(page)
    assert message[0] == "error"
    assert message[1] in page.content.decode()


def test_browsing_a_snapshot_refused_goes_back_to_the_snapshot_list(person):
    response = Client(REMOTE_USER=person.username).get("/snapshots/@GMT-2026.01.02-03.04.05/")
    assert response.status_code == 302
    assert response.url == "/snapshots/"
    assert sent_messages(response) == [("error", "You don't have a backup volume yet.")]


def test_a_restore_of_a_bad_path_is_refused_back_to_the_snapshot_list(person):
    Volume.objects.create(owner=person, account=person.username, size_gib=4, filesystem="btrfs")
    response = Client(REMOTE_USER=person.username).post(
        "/snapshots/@GMT-2026.01.02-03.04.05/restore/", {"path": "../etc"}
    )
    assert response.status_code == 302
    assert response.url == "/snapshots/"
    assert sent_messages(response) == [("error", "That folder does not exist in this snapshot.")]
    assert not Operation.objects.exists()


def test_an_admin_action_refused_goes_back_to_the_persons_page(person, admin):
    Volume.objects.create(
        owner=person,
        account=person.username,
        size_gib=4,
        filesystem="btrfs",
        suspended_at=timezone.now(),  # deleted, waiting for its snapshots
    )
    response = Client(REMOTE_USER=admin.username).post(f"/staff/users/{person.username}/add-space/")
    assert response.status_code == 302
    assert response.url == f"/staff/users/{person.username}/"
    [(level, text)] = sent_messages(response)
    assert (level, text.startswith("Your volume is deleted")) == ("error", True)
    assert not Operation.objects.exists()
