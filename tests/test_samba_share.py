"""The per-user share for real: a private smbd runs the configuration
`manage.py samba_config` generates, the portal creates volumes and passwords
through its services and the real wrappers, and real clients connect:
smbclient (Linux, Windows-like), a client speaking Apple's extension (as a
Mac does, for Time Machine) and restic through rclone's SMB backend."""

import os
import pwd
import re
import shlex
import stat
import subprocess
from html import unescape

import pytest
from conftest import require_tool
from django.template.loader import render_to_string

from backup.operations.models import Operation
from backup.passwords import services as passwords
from backup.samba import connection
from backup.volumes import requests, status
from support import samba_server, samba_share
from support.samba_mac import SERVER_CAPS_UNIX_BASED, VOLUME_CAPS_FULL_SYNC, MacClient

pytestmark = [pytest.mark.root, pytest.mark.django_db(transaction=True)]

MIB = 1024**2


def succeeded(operation):
    operation.refresh_from_db()
    assert operation.state == Operation.State.SUCCEEDED, operation.detail
    return operation


@pytest.fixture
def new_volume(make_real_volume, samba):
    """make() -> (volume, password): a volume created through the portal's
    services, and the backup password the portal would show its owner."""

    def make():
        volume = make_real_volume("smb")
        return volume, passwords.set_new_password(volume, volume.owner)

    return make


def mount_point(portal, volume):
    return os.path.join(portal.settings["DIRECTORIES_ROOT"], volume.account)


def smb(samba, volume, password, command, share=None):
    return samba.smbclient(volume.account, password, share or volume.account, command)


def failure_of(result):
    assert result.returncode != 0, result.stdout
    return result.stdout + result.stderr


def acl_entries(path):
    listing = subprocess.run(
        ["getfacl", "-cpE", path], capture_output=True, text=True, check=True
    ).stdout
    return set(listing.split())


# --- The configuration --------------------------------------------------------


def test_the_running_configuration_is_the_generated_one_and_testparm_accepts_it(samba, portal):
    checked = samba_share.testparm(samba.config)
    assert checked.returncode == 0, checked.stderr
    served = checked.stdout
    root = portal.settings["DIRECTORIES_ROOT"]
    assert f"path = {root}/%S" in served
    assert f"smb ports = {samba.port}" in served
    assert f"passdb backend = tdbsam:{samba.directory}/private/passdb.tdb" in served
    assert "vfs objects = full_audit catia fruit streams_xattr" in served


# --- Files over SMB -------------------------------------------------------------


def test_a_file_written_over_smb_lands_on_the_volume_as_the_owners(
    samba, portal, new_volume, tmp_path
):
    volume, password = new_volume()
    name = volume.account
    before = status.volume_state(name, version=0).usage.used_bytes
    payload = os.urandom(8 * MIB)
    (tmp_path / "upload.bin").write_bytes(payload)

    put = smb(
        samba,
        volume,
        password,
        f"lcd {tmp_path}; mkdir photos; put upload.bin photos/backup.bin; "
        "get photos/backup.bin back.bin",
    )
    assert put.returncode == 0, put.stdout + put.stderr

    assert (tmp_path / "back.bin").read_bytes() == payload
    landed = os.path.join(mount_point(portal, volume), "photos", "backup.bin")
    with open(landed, "rb") as stored:
        assert stored.read() == payload
    account = pwd.getpwnam(name)
    for path in (landed, os.path.dirname(landed)):
        info = os.stat(path)
        assert (info.st_uid, info.st_gid) == (account.pw_uid, account.pw_gid)
        # The volume's default ACL, inherited: the owner and nobody else.
        entries = acl_entries(path)
        assert {f"user:{name}:rwx", "group::---", "other::---"} <= entries, entries
    assert "default:other::---" in acl_entries(os.path.dirname(landed))
    # The owner has full control (rwx, see create mask); nobody else has
    # anything, and nothing on the volume can be run (noexec).
    assert stat.S_IMODE(os.stat(landed).st_mode) == 0o760
    assert os.statvfs(landed).f_flag & os.ST_NOEXEC

    os.sync()  # btrfs (the default) counts the space once its transaction commits
    after = status.volume_state(name, version=0).usage.used_bytes
    assert after - before >= len(payload)

    # Connects and disconnects are in the server's log (full_audit).
    log = samba_share.log_lines(samba)
    assert any(f"{name}|127.0.0.1|{name}|connect|ok|{name}" in line for line in log)
    assert any(f"{name}|127.0.0.1|{name}|disconnect|ok|{name}" in line for line in log)
    # Creating files logged no error (Samba's "inherit acls" pass would).
    assert not [line for line in log if "failed" in line.lower()], log


def test_a_new_password_replaces_the_old_one_and_a_wrong_one_is_refused(samba, new_volume):
    volume, first = new_volume()
    assert samba.authenticates(volume.account, first, volume.account)

    second = passwords.set_new_password(volume, volume.owner)
    assert second != first
    assert samba.authenticates(volume.account, second, volume.account)
    assert not samba.authenticates(volume.account, first, volume.account)
    assert not samba.authenticates(volume.account, second + "x", volume.account)
    assert not samba.authenticates(volume.account, second.upper(), volume.account)
    # Failed logons are logged, with the account's name (auth_audit).
    assert any(
        "NT_STATUS_WRONG_PASSWORD" in line and f"[{volume.account}]" in line
        for line in samba_share.log_lines(samba)
    )


def test_nobody_opens_another_persons_share(samba, portal, new_volume, tmp_path):
    alice, alice_password = new_volume()
    bob, _ = new_volume()
    (tmp_path / "note.txt").write_text("from alice\n")

    refused = smb(samba, alice, alice_password, f"lcd {tmp_path}; put note.txt", share=bob.account)
    # Refused at the door (valid users), not only by the volume's permissions.
    assert "tree connect failed: NT_STATUS_ACCESS_DENIED" in failure_of(refused)
    assert [name for name in os.listdir(mount_point(portal, bob)) if name != "lost+found"] == []
    for share in ("root", "homes-nobody", "IPC$"):
        assert smb(samba, alice, alice_password, "ls", share=share).returncode != 0

    # "homes" is each person's own volume (what the Avahi record advertises).
    own = smb(samba, alice, alice_password, f"lcd {tmp_path}; put note.txt", share="homes")
    assert own.returncode == 0, own.stdout + own.stderr
    assert os.path.exists(os.path.join(mount_point(portal, alice), "note.txt"))
    assert not os.path.exists(os.path.join(mount_point(portal, bob), "note.txt"))


def test_a_deleted_volumes_share_refuses_the_old_credentials(samba, portal, new_volume):
    volume, password = new_volume()
    assert samba.authenticates(volume.account, password, volume.account)

    succeeded(requests.request_delete(volume.owner, volume.owner, volume.account))

    assert not samba.authenticates(volume.account, password, volume.account)
    assert not os.path.exists(mount_point(portal, volume))


# --- Protocol -------------------------------------------------------------------


def test_only_smb3_is_spoken_and_sessions_are_encrypted_and_signed(samba, new_volume):
    volume, password = new_volume()
    assert smb(samba, volume, password, "ls").returncode == 0
    for dialect in ("NT1", "SMB2_02", "SMB2_10"):
        result = subprocess.run(
            [
                "smbclient",
                "--configfile",
                str(samba.config),
                "--port",
                str(samba.port),
                "--user",
                volume.account,
                "--option",
                f"client min protocol={dialect}",
                "--max-protocol",
                dialect,
                f"//127.0.0.1/{volume.account}",
                "--command",
                "ls",
            ],
            env={**samba_share.CLIENT_ENV, "PASSWD": password},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "protocol negotiation failed" in failure_of(result), dialect

    with MacClient(samba.port, volume.account, password, volume.account) as mac:
        assert mac.connection.dialect >= 0x0300
        assert mac.session.encrypt_data
        listing = subprocess.run(
            ["smbstatus", "--configfile", str(samba.config), "--brief"],
            capture_output=True,
            text=True,
            env=samba_share.CLIENT_ENV,
            check=True,
        ).stdout
    row = next(line for line in listing.splitlines() if f" {volume.account} " in line)
    assert re.search(r"SMB3_\d\d\s+AES-\S+\s+AES-\S+", row), row


# --- Time Machine -----------------------------------------------------------------


def test_time_machine_writes_a_sparsebundle_over_smb_with_apples_extension(
    samba, portal, new_volume, settings
):
    volume, password = new_volume()
    name = volume.account
    info_plist = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>'
        b"<key>band-size</key><integer>8388608</integer>"
        b"<key>diskimage-bundle-type</key><string>com.apple.diskimage.sparsebundle</string>"
        b"</dict></plist>\n"
    )
    band = os.urandom(2 * MIB)
    with MacClient(samba.port, name, password, name) as mac:
        assert mac.aapl is not None, "the server did not answer Apple's AAPL query"
        assert mac.aapl.server_caps & SERVER_CAPS_UNIX_BASED
        assert mac.aapl.volume_caps & VOLUME_CAPS_FULL_SYNC  # fruit:time machine
        assert mac.aapl.model == settings.SAMBA_FRUIT_MODEL
        bundle = "Office-Mac.sparsebundle"
        mac.mkdir(bundle)
        mac.mkdir(f"{bundle}/bands")
        mac.write(f"{bundle}/Info.plist", info_plist)
        mac.write(f"{bundle}/Info.bckup", info_plist)
        mac.write(f"{bundle}/token", b"")
        for number in range(3):
            mac.write(f"{bundle}/bands/{number:x}", band)
        # Time Machine tags its bundle with extended attributes: named streams.
        mac.write(bundle + "/Info.plist", b"Office-Mac", stream="com.apple.backupd.ComputerName")
        assert mac.read(f"{bundle}/bands/2") == band
        assert mac.read(f"{bundle}/Info.plist", stream="com.apple.backupd.ComputerName") == (
            b"Office-Mac"
        )

    on_volume = os.path.join(mount_point(portal, volume), bundle)
    assert sorted(os.listdir(os.path.join(on_volume, "bands"))) == ["0", "1", "2"]
    with open(os.path.join(on_volume, "Info.plist"), "rb") as stored:
        assert stored.read() == info_plist
    assert os.stat(on_volume).st_uid == pwd.getpwnam(name).pw_uid
    # streams_xattr keeps the stream in an extended attribute on the volume.
    assert (
        os.getxattr(
            os.path.join(on_volume, "Info.plist"),
            "user.DosStream.com.apple.backupd.ComputerName:$DATA",
        ).rstrip(b"\0")
        == b"Office-Mac"
    )

    # The portal's "Delete Time Machine backups" finds and removes it.
    done = succeeded(requests.request_delete_time_machine(volume.owner, volume.owner, name))
    assert bundle in done.message
    assert not os.path.exists(on_volume)


# --- A real backup tool -------------------------------------------------------------


# Access masks Windows programs ask for (MS-SMB2 2.2.13.1.1).
FILE_ALL_ACCESS = 0x001F01FF
GENERIC_ALL = 0x10000000


def test_the_owner_reopens_their_own_file_with_full_control(samba, new_volume):
    volume, password = new_volume()
    with MacClient(samba.port, volume.account, password, volume.account) as client:
        client.write("report.docx", b"draft\n")
        # Refused (ACCESS_DENIED) while new files got no execute bit for
        # their owner: Samba grants full control only for rwx.
        client.reopen("report.docx", FILE_ALL_ACCESS)
        client.reopen("report.docx", GENERIC_ALL)
        assert client.read("report.docx") == b"draft\n"


def test_a_large_named_stream_round_trips_on_an_ext4_volume(samba, portal, new_volume, settings):
    settings.VOLUME_FILESYSTEM = "ext4"
    volume, password = new_volume()
    path = mount_point(portal, volume)
    device = subprocess.run(
        ["findmnt", "--noheadings", "--output", "SOURCE,FSTYPE", "--mountpoint", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert device[1] == "ext4", device
    features = subprocess.run(
        ["dumpe2fs", "-h", device[0]], capture_output=True, text=True, check=True
    ).stdout
    assert "ea_inode" in re.search(r"Filesystem features:(.*)", features).group(1)

    # Without ea_inode, ext4 refuses an attribute over about 4 KiB (DISK_FULL).
    # A Mac sends the ':' of an attribute's name as U+F022 (fruit keeps it so).
    name = "com.apple.metadata\uf022_kMDItemUserTags"
    tags = os.urandom(60 * 1024)
    with MacClient(samba.port, volume.account, password, volume.account) as mac:
        mac.write("photo.jpg", b"jpeg")
        mac.write("photo.jpg", tags, stream=name)
        assert mac.read("photo.jpg", stream=name) == tags
    stored = os.listxattr(os.path.join(path, "photo.jpg"))
    assert f"user.DosStream.{name}:$DATA" in stored, stored
    kept = os.getxattr(os.path.join(path, "photo.jpg"), f"user.DosStream.{name}:$DATA")
    assert kept.startswith(tags)


def test_restic_backs_up_through_rclones_smb_backend_onto_the_volume(
    samba, portal, new_volume, tmp_path
):
    require_tool("restic")
    require_tool("rclone")
    volume, password = new_volume()
    source = tmp_path / "home"
    (source / "documents").mkdir(parents=True)
    (source / "documents" / "letter.txt").write_text("Dear backup,\n")
    (source / "photo.raw").write_bytes(os.urandom(3 * MIB))

    obscured = subprocess.run(
        ["rclone", "obscure", "-"], input=password, capture_output=True, text=True, check=True
    ).stdout.strip()
    rclone_config = tmp_path / "rclone.conf"
    rclone_config.write_text(
        "[backupserver]\ntype = smb\nhost = 127.0.0.1\n"
        f"port = {samba.port}\nuser = {volume.account}\npass = {obscured}\n"
    )
    (tmp_path / "restic-password").write_text("repository secret\n")
    env = {
        "PATH": samba_share.CLIENT_ENV["PATH"],
        "HOME": str(tmp_path),
        "RCLONE_CONFIG": str(rclone_config),
        "RESTIC_PASSWORD_FILE": str(tmp_path / "restic-password"),
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
        "RESTIC_REPOSITORY": f"rclone:backupserver:{volume.account}/restic",
    }

    def restic(*args):
        result = subprocess.run(
            ["restic", *args], env=env, capture_output=True, text=True, timeout=240, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    restic("init")
    restic("backup", "--host", "laptop", str(source))
    restic("restore", "latest", "--target", str(tmp_path / "restored"))

    restored = tmp_path / "restored" / source.relative_to("/")
    assert (restored / "documents" / "letter.txt").read_text() == "Dear backup,\n"
    assert (restored / "photo.raw").read_bytes() == (source / "photo.raw").read_bytes()
    repository = os.path.join(mount_point(portal, volume), "restic")
    assert sorted(os.listdir(repository)) == [
        "config",
        "data",
        "index",
        "keys",
        "locks",
        "snapshots",
    ]
    assert os.stat(os.path.join(repository, "config")).st_uid == pwd.getpwnam(volume.account).pw_uid
    assert status.volume_state(volume.account, version=0).usage.used_bytes > 3 * MIB


# --- What the portal tells people -----------------------------------------------


def connect_card(volume, settings, samba):
    """shown(testid) -> the command the connect card shows, as typed."""
    settings.SERVER_HOSTNAME = "127.0.0.1"
    settings.SAMBA_PORT = samba.port
    page = render_to_string("volumes/_connect.html", {"volume": volume})

    def shown(testid):
        found = re.search(rf'data-testid="{testid}">([^<]+)</pre>', page)
        assert found, testid
        return unescape(found.group(1))

    return page, shown


def in_scratch(command, scratch):
    """A Linux step as shown with its system paths moved into a scratch
    folder: this machine's /etc/fstab and /root are not the test's to change."""
    for path, moved in SCRATCH_PATHS.items():
        command = command.replace(path, str(scratch / moved))
    return command


def run_shown(command, scratch, stdin=None, env=None):
    """A Linux step exactly as shown (but for in_scratch's paths), in sh as a
    terminal would run it."""
    return subprocess.run(
        ["sh", "-c", in_scratch(command, scratch)],
        input=stdin,
        env=env or samba_share.CLIENT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SCRATCH_PATHS = {
    connection.LINUX_CREDENTIALS: "credentials",
    connection.FSTAB: "fstab",
    connection.LINUX_MOUNT_POINT: "mnt/backup",
}


def test_the_connection_instructions_name_what_the_server_serves(samba, new_volume, settings):
    volume, password = new_volume()
    page, shown = connect_card(volume, settings, samba)

    assert shown("connect-mac") == f"smb://127.0.0.1:{samba.port}/{volume.account}"
    assert f"port={samba.port}" in shown("connect-linux-fstab")
    assert "port 445" in page  # Windows can't be pointed at the demo's port
    # The smbclient command, exactly as shown, with the portal's password.
    command = [*shlex.split(shown("connect-smbclient")), "--command", "ls"]
    result = subprocess.run(
        command,
        env={**samba_share.CLIENT_ENV, "PASSWD": password},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linux_steps_as_shown_make_a_root_only_login_the_server_takes(
    samba, new_volume, settings, tmp_path
):
    volume, password = new_volume()
    _, shown = connect_card(volume, settings, samba)
    mount_point = tmp_path / "mnt/backup"
    credentials = tmp_path / "credentials"
    fstab = tmp_path / "fstab"

    made = run_shown(shown("connect-linux-mkdir"), tmp_path)
    assert made.returncode == 0, made.stderr
    assert mount_point.is_dir()

    # The password is typed in, not on the command line, and not echoed.
    written = run_shown(shown("connect-linux-credentials"), tmp_path, stdin=password + "\n")
    assert written.returncode == 0, written.stderr
    assert password not in written.stdout + written.stderr
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert credentials.stat().st_uid == 0
    assert credentials.read_text() == f"username={volume.account}\npassword={password}\n"

    # smbclient reads the same file (-A): the server takes that login.
    def smbclient_with(file):
        return subprocess.run(
            [*shlex.split(shown("connect-smbclient")), "-A", str(file), "--command", "ls"],
            env=samba_share.CLIENT_ENV,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    listed = smbclient_with(credentials)
    assert listed.returncode == 0, listed.stdout + listed.stderr

    appended = run_shown(shown("connect-linux-fstab"), tmp_path)
    assert appended.returncode == 0, appended.stderr
    parsed = subprocess.run(
        [
            "findmnt",
            "--fstab",
            "--tab-file",
            str(fstab),
            "-n",
            "-o",
            "SOURCE,TARGET,FSTYPE,OPTIONS",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert parsed[:3] == [f"//127.0.0.1/{volume.account}", str(mount_point), "cifs"]
    assert parsed[3].split(",") == [
        f"credentials={credentials}",
        "uid=0",  # $(id -u) of whoever ran it: root here
        "gid=0",
        f"port={samba.port}",
        "_netdev",
        "nofail",
    ]


def test_a_wrong_password_in_the_credentials_file_is_refused(samba, new_volume, settings, tmp_path):
    volume, _ = new_volume()
    _, shown = connect_card(volume, settings, samba)
    written = run_shown(shown("connect-linux-credentials"), tmp_path, stdin="not-the-password\n")
    assert written.returncode == 0, written.stderr
    refused = subprocess.run(
        [*shlex.split(shown("connect-smbclient")), "-A", str(tmp_path / "credentials"), "-c", "ls"],
        env=samba_share.CLIENT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert samba_server.LOGON_FAILURE in failure_of(refused)


def cifs_in_kernel():
    with open("/proc/filesystems") as filesystems:
        return any(line.split()[-1] == "cifs" for line in filesystems if line.strip())


def test_the_fstab_mount_and_restic_as_shown(samba, new_volume, settings, tmp_path):
    if not cifs_in_kernel():
        pytest.skip(
            "this kernel has no cifs file system (not in /proc/filesystems, no modules to "
            "load): the fstab line is checked by findmnt and the login by smbclient instead"
        )
    require_tool("mount.cifs")
    volume, password = new_volume()
    _, shown = connect_card(volume, settings, samba)
    for step in ("connect-linux-mkdir", "connect-linux-credentials", "connect-linux-fstab"):
        result = run_shown(shown(step), tmp_path, stdin=password + "\n")
        assert result.returncode == 0, result.stderr
    mount_point = tmp_path / "mnt/backup"
    # sudo mount <folder> reads /etc/fstab; the scratch one is named with -T.
    mounted = subprocess.run(
        ["mount", "-T", str(tmp_path / "fstab"), str(mount_point)], capture_output=True, text=True
    )
    assert mounted.returncode == 0, mounted.stderr
    try:
        home = tmp_path / "home"
        (home / "documents").mkdir(parents=True)
        (home / "documents" / "letter.txt").write_text("Dear backup,\n")
        env = {**samba_share.CLIENT_ENV, "HOME": str(home), "RESTIC_PASSWORD": "repository pw"}
        for step in ("connect-restic-init", "connect-restic-backup"):
            result = run_shown(shown(step), tmp_path, env=env)
            assert result.returncode == 0, result.stderr
        assert (mount_point / "restic" / "config").exists()
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
