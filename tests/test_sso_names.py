"""Identities never merge: a realm is stripped only when listed, other
realms are refused with a page, capitals are refused unless the identity
provider is declared case-insensitive, and nothing is rewritten into
someone else's account (including an admin's)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

User = get_user_model()


def visit(remote_user, path="/"):
    return Client(REMOTE_USER=remote_user).get(path)


def accounts():
    return sorted(User.objects.values_list("username", flat=True))


@pytest.fixture
def bob():
    return User.objects.create(username="bob")


@pytest.fixture
def boss(settings):
    settings.BACKUP_ADMINS = ["boss"]
    return User.objects.create(username="boss", is_staff=True, is_superuser=True)


@pytest.mark.parametrize("remote_user", ["bob@evil.example", "bob@", "bob@EXAMPLE.COM.evil"])
def test_a_realm_not_listed_is_refused_with_a_page(settings, bob, remote_user):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    response = visit(remote_user)
    assert response.status_code == 403
    page = response.content.decode()
    assert "does not accept accounts from" in page
    assert "Nothing was created or changed" in page
    assert response.context["user"].is_anonymous
    assert accounts() == ["bob"]


def test_with_no_realm_listed_every_name_with_a_realm_is_refused(settings, bob):
    settings.SSO_REALMS = []
    response = visit("bob@EXAMPLE.COM")
    assert response.status_code == 403
    assert accounts() == ["bob"]


def test_a_listed_realm_is_stripped(settings, bob):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    response = visit("bob@EXAMPLE.COM")
    assert response.status_code == 200
    assert response.context["user"] == bob


def test_realms_are_compared_exactly(settings, bob):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    assert visit("bob@example.com").status_code == 403
    assert accounts() == ["bob"]


def test_a_name_holding_a_second_at_sign_is_refused(settings):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    assert visit("bob@evil.example@EXAMPLE.COM").status_code == 403
    assert accounts() == []


@pytest.mark.parametrize("remote_user", ["BOB", "Bob", "bOb"])
def test_capitals_are_not_another_persons_name(bob, remote_user):
    response = visit(remote_user)
    assert response.status_code == 403
    assert "lowercase letters" in response.content.decode()
    assert response.context["user"].is_anonymous
    assert accounts() == ["bob"]


def test_a_case_insensitive_identity_provider_may_say_they_are_one(settings, bob):
    settings.SSO_CASE_INSENSITIVE = True
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    assert visit("BOB").context["user"] == bob
    assert visit("Bob@EXAMPLE.COM").context["user"] == bob
    assert accounts() == ["bob"]


@pytest.mark.parametrize("remote_user", [" bob", "bob ", "bob\n"])
def test_whitespace_is_not_trimmed_into_another_name(bob, remote_user):
    assert visit(remote_user).status_code == 403
    assert accounts() == ["bob"]


@pytest.mark.parametrize("remote_user", ["boss@evil.example", "BOSS", "Boss@EXAMPLE.COM"])
def test_nobody_reaches_the_admin_pages_through_an_admins_name(settings, boss, remote_user):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    response = visit(remote_user, "/staff/")
    assert response.status_code == 403
    assert response.context["user"].is_anonymous
    assert accounts() == ["boss"]
    assert list(User.objects.filter(is_staff=True).values_list("username", flat=True)) == ["boss"]


def test_the_admin_in_a_listed_realm_is_the_admin(settings, boss):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    response = visit("boss@EXAMPLE.COM", "/staff/audit/")
    assert response.status_code == 200
    assert response.context["user"] == boss


def test_a_signed_in_session_does_not_survive_a_refused_name(settings, bob):
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    client = Client(REMOTE_USER="bob")
    assert client.get("/").context["user"] == bob
    response = client.get("/", REMOTE_USER="bob@evil.example")
    assert response.status_code == 403
    assert response.context["user"].is_anonymous
