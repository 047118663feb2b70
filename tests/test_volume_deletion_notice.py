"""Deleting a volume tells its owner and the admins at once (issue 19): by
the owner, or by whoever holds their SSO session, or by an admin; with the
date of destruction and the undo link; through the one delivery path
(email and channels, kept for retry when it reaches nobody), each reader in
their language."""

from datetime import timedelta

import pytest
from django.core import mail

from backup.alerts.models import PendingAlert
from backup.core.times import absolute_time
from backup.operations.models import Operation
from backup.pages.models import LanguagePreference
from backup.volumes import requests as volumes
from backup.volumes.models import Volume
from support.recorded_wrappers import acknowledged
from support.snapshot_outputs import hours_ago, listed, unsupported

pytestmark = pytest.mark.django_db(transaction=True)


def suspend_answers(recorded, volume):
    taken = [hours_ago(48), hours_ago(2)]
    recorded.answer(f"snapshot-list.py {volume.account}", listed(volume.account, *taken))
    recorded.answer(f"suspend.py {volume.account}", {"user": volume.account})
    return taken[1] + timedelta(days=14)


def mails_to(address):
    return [message for message in mail.outbox if address in message.to]


def test_the_owner_and_the_admins_are_told_at_once_with_the_date_and_the_undo_link(
    recorded, make_volume
):
    volume = make_volume()
    destroy_after = suspend_answers(recorded, volume)
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    operation = Operation.objects.get()
    assert Volume.objects.get(pk=volume.pk).pending_destruction, operation.detail
    when = absolute_time(destroy_after)

    (to_owner,) = mails_to(volume.owner.email)
    assert to_owner.subject == "Backup alert: your backup volume was deleted"
    assert f"will be destroyed on {when}" in to_owner.body
    assert "If you did not ask for this, undo it now on your page" in to_owner.body
    assert "http://127.0.0.1:8000/\n" in to_owner.body  # the page with Undo
    assert f"from {volume.account}'s own session" in to_owner.body

    (to_admins,) = mails_to("admins@example.com")
    assert to_admins.subject == f"Backup volume {volume.account} was deleted"
    assert f"will be destroyed on {when}" in to_admins.body
    assert f"/staff/users/{volume.account}/" in to_admins.body
    assert not PendingAlert.objects.exists()


def test_a_deletion_by_an_admin_names_the_admin(recorded, make_volume, make_person):
    volume = make_volume()
    suspend_answers(recorded, volume)
    admin = make_person("deladmin", admin=True)
    volumes.request_delete(volume.owner, admin, volume.account)
    (to_owner,) = mails_to(volume.owner.email)
    assert "was deleted at" in to_owner.body
    assert f"by {admin.username}." in to_owner.body


def test_the_owner_reads_it_in_their_language(recorded, make_volume):
    volume = make_volume()
    LanguagePreference.objects.create(user=volume.owner, language="fi")
    suspend_answers(recorded, volume)
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    (to_owner,) = mails_to(volume.owner.email)
    assert to_owner.body.startswith("Hei,")
    (to_admins,) = mails_to("admins@example.com")
    assert not to_admins.body.startswith("Hei,")


def test_an_immediate_deletion_is_announced_too(recorded, make_volume):
    volume = make_volume(filesystem="ext4")
    recorded.answer(f"snapshot-list.py {volume.account}", unsupported(volume.account))
    for wrapper in ("umount.py", "lvremove.py", "rmdir.py", "deluser.py"):
        recorded.answer(f"{wrapper} {volume.account}", acknowledged(f"{wrapper} {volume.account}"))
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    assert not Volume.objects.filter(pk=volume.pk).exists()
    (to_owner,) = mails_to(volume.owner.email)
    assert "destroyed at once" in to_owner.body
    assert len(mails_to("admins@example.com")) == 1


def test_a_refused_deletion_announces_nothing(recorded, make_volume):
    volume = make_volume()
    recorded.answer(f"snapshot-list.py {volume.account}", failed="btrfs: no such device")
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    assert Operation.objects.get().state == Operation.State.FAILED
    assert mail.outbox == []


def test_the_notice_is_kept_when_mail_is_down(recorded, make_volume, monkeypatch):
    volume = make_volume()
    suspend_answers(recorded, volume)

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    volumes.request_delete(volume.owner, volume.owner, volume.account)
    assert Volume.objects.get(pk=volume.pk).pending_destruction
    assert sorted(PendingAlert.objects.values_list("template", flat=True)) == [
        "volumes/email/deleted",
        "volumes/email/deleted",
    ]
