"""The connect card's steps, through Django's test client (no wrappers): every
command is built for this person and this server, shown as typed in its own
copyable block, AFP only where it is offered, and the Windows script is a
safe download of the person's own net use command. The Linux steps run for
real in tests/test_connect_linux.py; a phone walks them in
tests/test_connect_browser.py."""

import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from backup.samba.connection import Connection
from support.connect_steps import COMMANDS
from support.people import generated_name

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_wrappers(settings, tmp_path):
    settings.WRAPPERS_PATH = tmp_path
    settings.RRD_DIRECTORY = tmp_path / "rrd"


@pytest.fixture
def owner(make_person, make_volume):
    """make(**fields) -> a person (generated name) with the portal's record
    of a 4 GiB btrfs volume (fields for the Volume)."""

    def make(**fields):
        user = make_person("cn")
        make_volume(user, size_gib=4, **fields)
        return user

    return make


def blocks(page):
    """{data-testid: text} of every copyable command block on the page."""
    found = re.findall(
        r'<pre class="command[^"]*"[^>]*data-copy data-testid="([^"]+)">([^<]*)</pre>', page
    )
    return {testid: unescape(text) for testid, text in found}


def dashboard(user):
    response = Client(REMOTE_USER=user.username).get("/")
    assert response.status_code == 200
    return response.content.decode()


# --- The commands, built for the person and the server -------------------------------


def test_commands_on_the_standard_port_name_the_person_and_the_server():
    name = generated_name("cn")
    smb = Connection("backup.example.com", 445, name)
    assert smb.windows_map == (
        f"net use B: \\\\backup.example.com\\{name} * /user:{name} /persistent:yes"
    )
    assert smb.mac_tmutil == (
        f"sudo tmutil setdestination -ap smb://{name}@backup.example.com/{name}"
    )
    assert smb.linux_mkdir == "sudo mkdir -p /mnt/backup"
    assert smb.linux_fstab == (
        f'echo "//backup.example.com/{name} /mnt/backup cifs '
        "credentials=/root/.backup-credentials,uid=$(id -u),gid=$(id -g),_netdev,nofail 0 0"
        '" | sudo tee -a /etc/fstab'
    )
    assert f" {name} " in smb.linux_credentials
    assert smb.linux_credentials.endswith("> /root/.backup-credentials'")
    assert smb.restic_init == "restic -r /mnt/backup/restic init"


def test_commands_on_another_port_carry_it_where_the_client_takes_one():
    name = generated_name("cn")
    smb = Connection("127.0.0.1", 4450, name)
    assert smb.mac_tmutil.endswith(f"smb://{name}@127.0.0.1:4450/{name}")
    assert ",port=4450," in smb.linux_fstab
    assert "-p 4450" in smb.smbclient
    # Windows has no way to name a port: its command stays as it is.
    assert "4450" not in smb.windows_map


def test_no_command_carries_a_password():
    smb = Connection("127.0.0.1", 445, generated_name("cn"))
    # net use asks (*), tmutil asks (-p), the credentials file is typed in.
    assert " * " in smb.windows_map
    assert "-ap " in smb.mac_tmutil
    assert "read -r p" in smb.linux_credentials
    assert "umask 077" in smb.linux_credentials


# --- The card ------------------------------------------------------------------------


@pytest.mark.parametrize("port", [445, 4450])
def test_every_step_is_a_copyable_block_built_for_this_person(owner, settings, port):
    settings.SERVER_HOSTNAME = "backup.example.com"
    settings.SAMBA_PORT = port
    user = owner()
    page = dashboard(user)
    shown = blocks(page)
    smb = Connection("backup.example.com", port, user.username)
    assert shown == {testid: getattr(smb, name) for testid, name in COMMANDS.items()}
    assert ("Windows can only connect to port 445" in page) == (port != 445)
    # Numbered steps in three sections with anchors that work without JavaScript.
    for platform in ("windows", "mac", "linux"):
        assert f'href="#connect-{platform}"' in page
        assert f'id="connect-{platform}"' in page
    assert page.count("<ol>") >= 3
    assert 'role="status" aria-live="polite"' in page
    assert "js/copy-command.js" in page


def test_no_afp_unless_the_server_offers_it(owner, settings):
    settings.SERVER_HOSTNAME = "backup.example.com"
    user = owner()
    assert "afp://" not in dashboard(user)
    settings.AFP_OFFERED = True
    page = dashboard(user)
    assert blocks(page)["connect-afp-url"] == f"afp://backup.example.com/{user.username}"


def test_a_deleted_volume_is_offered_no_connect_steps(owner):
    user = owner(suspended_at=timezone.now())
    page = dashboard(user)
    assert 'id="connect-heading"' not in page
    assert blocks(page) == {}
    assert "copy-command.js" not in page


# --- The Windows script -----------------------------------------------------------


def test_the_windows_script_maps_the_share_and_asks_for_the_password(owner, settings):
    settings.SERVER_HOSTNAME = "backup.example.com"
    user = owner()
    page = dashboard(user)
    link = re.search(r'<a href="([^"]+)" download data-testid="connect-windows-script">', page)
    assert link, "no download link"
    response = Client(REMOTE_USER=user.username).get(link.group(1))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == (
        f'attachment; filename="connect-backup-{user.username}.cmd"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    script = response.content.decode("ascii")
    lines = script.split("\r\n")
    # cmd.exe's own line ends throughout.
    assert lines[-1] == ""
    assert "\n" not in script.replace("\r\n", "")
    smb = Connection("backup.example.com", 445, user.username)
    assert smb.windows_map in lines
    assert "password" not in script.replace("backup password", "").lower()


def test_the_windows_script_is_only_for_someone_with_a_volume(owner, make_person):
    nobody = make_person("cn")
    assert Client(REMOTE_USER=nobody.username).get("/volume/connect/windows.cmd").status_code == 404
    deleted = owner(suspended_at=timezone.now())
    response = Client(REMOTE_USER=deleted.username).get("/volume/connect/windows.cmd")
    assert response.status_code == 404
    # Not signed in: no script at all.
    assert Client().get("/volume/connect/windows.cmd").status_code == 401


def test_the_windows_script_is_only_fetched(owner):
    user = owner()
    response = Client(REMOTE_USER=user.username).post("/volume/connect/windows.cmd")
    assert response.status_code == 405
