"""People the portal's tests sign in as, and their volume records: one set
for every test module (conftest registers this plugin).

Names are generated, never fixed: a fixed name such as ``alice`` may be an
account a running demo uses on the same machine. These fixtures make
database rows only; conftest's ``make_employee`` makes people whose real
volumes and backup accounts the wrappers remove afterwards.

    make_person()                         an employee (no e-mail address)
    make_person("boss", admin=True)       staff; superuser=True for Django's admin
    make_person(email=True)               with <name>@corp.test
    person, admin                         one of each (admin: staff and superuser)
    make_volume()                         a Volume row and its new owner
    make_volume(owner, size_gib=4, filesystem="ext4")
    signed_in(user)                       a client as the web server's SSO sends it
"""

import secrets

import pytest
from django.test import Client

from backup.volumes.models import Volume


def generated_name(prefix: str = "emp") -> str:
    """A name no other test or demo account has: prefix and random hex."""
    return f"{prefix}{secrets.token_hex(4)}"


def signed_in(user, **extra) -> Client:
    """A client whose requests carry REMOTE_USER, as the web server sets it
    after single sign-on; extra goes to Client (enforce_csrf_checks=True)."""
    return Client(REMOTE_USER=user.username, **extra)


@pytest.fixture
def make_person(django_user_model):
    """make(prefix="emp", *, admin=False, superuser=False, email=False,
    domain="corp.test", **fields) -> a user with a generated name. email:
    False for none, True for <name>@<domain>, or the address itself."""

    def make(
        prefix="emp", *, admin=False, superuser=False, email=False, domain="corp.test", **fields
    ):
        name = generated_name(prefix)
        if email is True:
            email = f"{name}@{domain}"
        return django_user_model.objects.create(
            username=name,
            email=email or "",
            is_staff=admin or superuser,
            is_superuser=superuser,
            **fields,
        )

    return make


@pytest.fixture
def person(make_person):
    """An employee, with an e-mail address, without a volume."""
    return make_person("person", email=True)


@pytest.fixture
def admin(make_person):
    """An admin: staff (the portal's admin pages) and a superuser (Django's
    admin, which only the audit's superusers use), with an e-mail address."""
    return make_person("admin", superuser=True, email=True)


@pytest.fixture
def make_volume(make_person):
    """make(owner=None, *, filesystem="btrfs", size_gib=1, **fields) -> a
    Volume row (no real volume) whose account is its owner's name; a new
    owner, with <name>@example.com, unless one is given."""

    def make(owner=None, *, filesystem="btrfs", size_gib=1, **fields):
        if owner is None:
            owner = make_person("snap", email=True, domain="example.com")
        return Volume.objects.create(
            owner=owner,
            account=owner.username,
            size_gib=size_gib,
            filesystem=filesystem,
            **fields,
        )

    return make
