"""Browsing a snapshot on a real btrfs volume (issue 24): one file
downloaded through snapshot-read.py (read as the user, O_NOFOLLOW at every
level, regular files only, size-capped, refused before a byte is written),
the portal streaming it as an attachment, breadcrumbs whose every part is a
link, and restored paths readable, hostile names escaped and bounded."""

import base64
import json
import os
import pwd
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client

from backup.operations.models import Operation
from backup.pages.models import TimeZonePreference
from backup.snapshots import paths
from backup.snapshots.models import Snapshot
from backup.volumes import requests as services
from backup.volumes.models import Volume
from support import snapshots as snap
from support.storage import mount_point, ok, refused

TAKEN = "2026-03-02T08:30:00Z"
TOKEN = "@GMT-2026.03.02-08.30.00"


def ref(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- Readable paths (no volume needed) ------------------------------------------------


def test_paths_are_shown_as_names_escaped_and_bounded():
    assert paths.readable(".") == "/"
    assert paths.readable(f"{ref(b'Docs')}/{ref('Käyttö.txt'.encode())}") == "/Docs/Käyttö.txt"
    # Not UTF-8, a terminal escape, a bidi override: escaped, never raw.
    hostile = paths.readable(ref(b"bad\xff\x1b[31m\xe2\x80\xaetxt.exe"))
    assert hostile == "/bad\\xff\\x1b[31m\\u202etxt.exe"
    long = paths.readable("/".join([ref(b"x" * 255)] * 60))
    assert len(long) == paths.MAX_PATH_CHARS
    assert long.endswith("…")
    assert [(c.name, c.path) for c in paths.crumbs(f"{ref(b'a')}/{ref(b'b')}")] == [
        ("a", ref(b"a")),
        ("b", f"{ref(b'a')}/{ref(b'b')}"),
    ]


# --- The wrapper ---------------------------------------------------------------------


@pytest.fixture
def shot(wrappers):
    """A volume with Docs/Sub/b.bin, a FIFO and a link; snapshotted at TAKEN,
    then Docs deleted from the live volume."""
    with snap.volume(wrappers) as entry:
        data = mount_point(wrappers, entry.pw_name)
        snap.as_user(entry, ["/usr/bin/mkdir", "-p", str(data / "Docs" / "Sub")])
        snap.write_as(entry, data / "Docs" / "Sub" / "b.bin", os.urandom(300_000))
        snap.as_user(entry, ["/usr/bin/mkfifo", str(data / "pipe")])
        snap.as_user(entry, ["/usr/bin/ln", "-s", "/etc/shadow", str(data / "link")])
        original = (data / "Docs" / "Sub" / "b.bin").read_bytes()
        with snap.clock(wrappers, TAKEN):
            ok(wrappers, "snapshot-create.py", entry.pw_name)
        snap.as_user(entry, ["/usr/bin/rm", "-rf", str(data / "Docs")])
        yield entry, original


@pytest.mark.root
def test_a_file_one_level_down_in_a_deleted_folder_is_read_whole(wrappers, shot):
    entry, original = shot
    path = f"{ref(b'Docs')}/{ref(b'Sub')}/{ref(b'b.bin')}"
    # Bytes, not text: the file's content follows the header line.
    result = subprocess.run(
        [str(wrappers.path / "snapshot-read.py"), entry.pw_name, TOKEN, path],
        capture_output=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    header, _, body = result.stdout.partition(b"\n")
    assert json.loads(header) == {"name": "b.bin", "size_bytes": 300_000}
    assert body == original


@pytest.mark.root
@pytest.mark.parametrize(
    ("path", "why"),
    [
        (".", "invalid path"),
        (ref(b"Docs"), "that is a folder, not a file"),
        (ref(b"pipe"), "that is a special file, not a file"),
        (ref(b"link"), "that is a link, not a file"),
        (f"{ref(b'link')}/{ref(b'shadow')}", "that folder is not in the snapshot"),
        (ref(b"missing"), "that file is not in the snapshot"),
        ("../etc", "invalid path"),
    ],
)
def test_anything_but_a_regular_file_is_refused_before_a_byte(wrappers, shot, path, why):
    entry, _ = shot
    assert why in refused(wrappers, "snapshot-read.py", entry.pw_name, TOKEN, path)


@pytest.mark.root
def test_a_file_over_the_cap_is_refused(wrappers, shot):
    entry, _ = shot
    path = f"{ref(b'Docs')}/{ref(b'Sub')}/{ref(b'b.bin')}"
    with snap.clock(wrappers, TAKEN, SNAPSHOT_DOWNLOAD_MAX_BYTES=1000):
        line = refused(wrappers, "snapshot-read.py", entry.pw_name, TOKEN, path)
    assert "over the 1000 that can be downloaded: restore it instead" in line


# --- The portal, end to end ------------------------------------------------------------


@pytest.fixture
def portal_volume(portal, make_employee, settings):
    employee = make_employee()
    operation = services.request_create(employee, employee)
    operation.refresh_from_db()
    try:
        assert operation.state == Operation.State.SUCCEEDED, operation.detail
        yield Volume.objects.get(owner=employee)
    finally:
        snap.clean_snapshot_volume(portal, employee.username)


@pytest.mark.root
@pytest.mark.django_db(transaction=True)
def test_browse_download_and_restore_a_file_inside_a_deleted_folder(portal, portal_volume):
    account = portal_volume.account
    entry = pwd.getpwnam(account)
    data = mount_point(portal, account)
    snap.as_user(entry, ["/usr/bin/mkdir", "-p", str(data / "Taxes" / "2025")])
    content = os.urandom(70_000)
    snap.write_as(entry, data / "Taxes" / "2025" / "<b>return<b>.pdf", content)
    taken = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=5, second=0, microsecond=0)
    with snap.clock(portal, taken.strftime("%Y-%m-%dT%H:%M:%SZ")):
        call_command("take_snapshots")
    snapshot = Snapshot.objects.get(volume__account=account).name
    snap.as_user(entry, ["/usr/bin/rm", "-rf", str(data / "Taxes")])
    client = Client(REMOTE_USER=account)

    # Breadcrumbs: every part above the current folder is a link.
    folder = f"{ref(b'Taxes')}/{ref(b'2025')}"
    page = client.get(f"/snapshots/{snapshot}/", {"path": folder}).content.decode()
    crumbs = page[page.index('data-testid="breadcrumbs"') :].split("</nav>")[0]
    assert f'href="/snapshots/{snapshot}/">Top folder</a>' in crumbs
    assert f'href="/snapshots/{snapshot}/?path={ref(b"Taxes")}">Taxes</a>' in crumbs
    assert '<li class="breadcrumb-item active text-break" aria-current="page">2025</li>' in crumbs
    assert "&lt;b&gt;return&lt;b&gt;.pdf" in page

    # Download: streamed, as an attachment, exactly the file.
    file_path = f"{folder}/{ref(b'<b>return<b>.pdf')}"
    response = client.get(f"/snapshots/{snapshot}/download/", {"path": file_path})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == "70000"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == content
    # A folder is refused with a sentence, back on its parent's page.
    response = client.get(f"/snapshots/{snapshot}/download/", {"path": folder})
    assert response.status_code == 302
    assert f"path={ref(b'Taxes')}" in response.url
    page = client.get(response.url).content.decode()
    assert "This file can&#x27;t be downloaded: that is a folder, not a file" in page

    # Restore: it comes back under its folders, in a folder named in the
    # person's zone, and the audit log says what was restored in words.
    TimeZonePreference.objects.create(user=portal_volume.owner, zone="Europe/Helsinki")
    client.post(f"/snapshots/{snapshot}/restore/", {"path": file_path})
    operation = Operation.objects.filter(kind=Operation.Kind.RESTORE).get()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    [restored] = [p for p in data.iterdir() if p.name.startswith("Restored ")]
    local = taken.astimezone(ZoneInfo("Europe/Helsinki"))
    assert restored.name == f"Restored {local:%Y-%m-%d %H.%M} {local.tzname()} from snapshot"
    assert (restored / "Taxes" / "2025" / "<b>return<b>.pdf").read_bytes() == content
    assert "/Taxes/2025/<b>return<b>.pdf" in operation.detail
    assert ref(b"Taxes") not in operation.detail
