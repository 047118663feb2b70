"""Quotas are quotas: creation respects them (a smaller volume, or a
refusal below the minimum, saying which), the admin form refuses a quota
below the volume's size, and every change is in the audit log."""

import pytest
from django.test import Client

from backup.core.errors import UserFacingError
from backup.operations.models import Operation
from backup.volumes import requests
from backup.volumes.models import Quota, Volume
from support.volume_traces import image_of, traces

GIB = 1 << 30


def quota_records(user):
    return list(
        Operation.objects.filter(kind=Operation.Kind.SET_QUOTA, owner_name=user.username)
        .order_by("id")
        .values_list("actor_name", "parameters")
    )


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_a_quota_below_the_default_size_makes_a_volume_of_the_quota(
    portal, make_employee, settings
):
    settings.DEFAULT_DISK_SIZE = 2
    employee = make_employee()
    Quota.objects.create(user=employee, max_size_gib=1)
    page = Client(REMOTE_USER=employee.username).get("/").content.decode()
    assert "<strong>1 GiB</strong>, your quota" in page

    operation = requests.request_create(employee, employee)
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    assert operation.parameters["size_gib"] == 1
    assert "Your 1 GiB backup volume is ready" in operation.message
    assert Volume.objects.get(owner=employee).size_gib == 1
    assert image_of(portal, employee.username).stat().st_size == GIB


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_a_quota_below_the_minimum_refuses_creation_and_says_so(portal, make_employee, settings):
    settings.MIN_VOLUME_GIB = 1
    employee = make_employee()
    Quota.objects.create(user=employee, max_size_gib=0)
    with pytest.raises(UserFacingError, match="Your quota is 0 GiB, less than the smallest"):
        requests.request_create(employee, employee)
    assert not Operation.objects.filter(owner_name=employee.username).exists()
    assert not any(traces(portal, employee.username).values())

    client = Client(REMOTE_USER=employee.username)
    page = client.get("/").content.decode()
    assert "Your quota is 0 GiB" in page
    assert "Create my backup volume</button>" not in page
    refused = client.post("/volume/create/", follow=True).content.decode()
    assert "Your quota is 0 GiB" in refused
    assert not Operation.objects.filter(owner_name=employee.username).exists()


@pytest.mark.django_db
def test_the_admin_form_refuses_a_quota_below_the_volume_size(admin, make_person):
    owner = make_person("quotaowner")
    Volume.objects.create(owner=owner, account=owner.username, size_gib=5, filesystem="btrfs")
    client = Client(REMOTE_USER=admin.username)
    response = client.post(
        "/admin/volumes/quota/add/", {"user": owner.pk, "max_size_gib": 4}, follow=True
    )
    page = response.content.decode()
    assert "already has 5 GiB, and volumes never shrink" in page
    assert "Set at least 5 GiB" in page
    assert not Quota.objects.filter(user=owner).exists()
    assert quota_records(owner) == []

    quota = Quota.objects.create(user=owner, max_size_gib=6)
    client.post(f"/admin/volumes/quota/{quota.pk}/change/", {"max_size_gib": 2})
    quota.refresh_from_db()
    assert quota.max_size_gib == 6
    assert quota_records(owner) == []


@pytest.mark.django_db
def test_every_quota_change_is_in_the_audit_log(admin, make_person, settings):
    settings.DEFAULT_QUOTA = 3
    owner = make_person("quotaowner")
    client = Client(REMOTE_USER=admin.username)

    client.post("/admin/volumes/quota/add/", {"user": owner.pk, "max_size_gib": 0})
    quota = Quota.objects.get(user=owner)
    assert quota.max_size_gib == 0
    client.post(f"/admin/volumes/quota/{quota.pk}/change/", {"max_size_gib": 8})
    assert Quota.objects.get(user=owner).max_size_gib == 8
    client.post(f"/admin/volumes/quota/{quota.pk}/delete/", {"post": "yes"})
    assert not Quota.objects.filter(user=owner).exists()

    assert quota_records(owner) == [
        (admin.username, {"old_gib": 3, "new_gib": 0}),
        (admin.username, {"old_gib": 0, "new_gib": 8}),
        (admin.username, {"old_gib": 8, "new_gib": 3}),
    ]
    audit = client.get("/staff/audit/?kind=set_quota").content.decode()
    assert "Quota changed from 0 GiB to 8 GiB." in audit
    assert "Change quota" in audit
