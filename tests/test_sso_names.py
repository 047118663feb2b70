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


# --- Names from outside ASCII (issue 19) ------------------------------------
# Python's lower()/casefold() and Django's NFKC normalisation fold these onto
# ASCII letters; each must be refused before any comparison or folding.
LOOK_ALIKES = [
    "rt\u212aim",  # KELVIN SIGN: lower() gives "rtkim"
    "RT\u212aIM",
    "\u017fam",  # LONG S: casefold() gives "sam"
    "d\u0131ana",  # DOTLESS I
    "\u0130van",  # CAPITAL I WITH DOT ABOVE: lower() gives "i̇van"
    "\uff52\uff54\uff4b\uff49\uff4d",  # fullwidth "rtkim": NFKC gives "rtkim"
    "rt\uff4bim",
    "o\ufb00ice",  # LATIN SMALL LIGATURE FF: casefold() gives "ff"
]


@pytest.fixture
def rtkim():
    return User.objects.create(username="rtkim")


@pytest.mark.parametrize("remote_user", LOOK_ALIKES)
def test_a_look_alike_name_is_refused_even_when_case_is_folded(settings, rtkim, remote_user):
    settings.SSO_CASE_INSENSITIVE = True
    settings.SSO_REALMS = ["EXAMPLE.COM"]
    for given in (remote_user, f"{remote_user}@EXAMPLE.COM"):
        response = visit(given)
        assert response.status_code == 403
        assert "could stand for another person" in response.content.decode()
        assert response.context["user"].is_anonymous
    assert accounts() == ["rtkim"]


def test_the_kelvin_sign_does_not_take_over_a_signed_in_session(settings, rtkim):
    settings.SSO_CASE_INSENSITIVE = True
    client = Client(REMOTE_USER="rtkim")
    assert client.get("/").context["user"] == rtkim
    response = client.get("/", REMOTE_USER="rt\u212aim")
    assert response.status_code == 403
    assert response.context["user"].is_anonymous


@pytest.mark.parametrize("remote_user", LOOK_ALIKES)
def test_an_admins_look_alike_is_not_the_admin(settings, remote_user):
    settings.SSO_CASE_INSENSITIVE = True
    settings.BACKUP_ADMINS = ["rtkim"]
    User.objects.create(username="rtkim", is_staff=True, is_superuser=True)
    response = visit(remote_user, "/staff/")
    assert response.status_code == 403
    assert accounts() == ["rtkim"]


@pytest.fixture
def admin_client(settings):
    settings.BACKUP_ADMINS = ["boss"]
    User.objects.create(username="boss", is_staff=True, is_superuser=True)
    return Client(REMOTE_USER="boss")


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_the_admin_pages_refuse_look_alike_names(admin_client, rtkim, name):
    """The staff search, the audit filter and a person's page compare names
    from the address bar: refused, never folded onto rtkim."""
    from backup.staff.table import VolumeTableQuery

    search = VolumeTableQuery({"q": name})
    assert not search.is_valid()
    assert "could stand for another person" in search.errors["q"][0]
    audit = admin_client.get("/staff/audit/", {"user": name})
    assert "could stand for another person" in audit.content.decode()
    person = admin_client.get(f"/staff/users/{name}/")
    assert person.status_code == 400
    assert accounts() == ["boss", "rtkim"]


def test_one_validator_for_every_name_from_outside():
    from backup.sso import names

    for name in LOOK_ALIKES:
        with pytest.raises(names.UnacceptableName):
            names.require_ascii(name)
        assert not names.is_account_name(name)
        assert not names.typed_matches(name, "rtkim")
    assert names.typed_matches(" rtkim ", "rtkim")
    assert names.is_account_name("rtkim")


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_the_django_admin_search_finds_no_account_by_a_look_alike(rtkim, name):
    from backup.volumes.models import Quota, Volume

    User.objects.create(username="djadmin", is_staff=True, is_superuser=True)
    Volume.objects.create(owner=rtkim, account="rtkim", size_gib=1, filesystem="btrfs")
    Quota.objects.create(user=rtkim, max_size_gib=5)
    client = Client(REMOTE_USER="djadmin")
    for page in ("/admin/volumes/volume/", "/admin/volumes/quota/"):
        found = client.get(page, {"q": name}).context["cl"].result_count
        assert found == 0
        assert client.get(page, {"q": "rtkim"}).context["cl"].result_count == 1
