"""`manage.py samba_config`: the smb.conf and Avahi record it generates from
the settings, checked by Samba's own testparm, its refusals, and the
connection instructions that must name the same share and port."""

import io
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import require_tool
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template.loader import render_to_string

from backup.deployment import checks
from backup.samba import config
from backup.samba.connection import Connection
from support import samba_share

REPO = Path(__file__).resolve().parent.parent
SHIPPED_AVAHI = REPO / "deploy" / "avahi" / "backupmanagement-smb.service"


@pytest.fixture
def production(settings):
    """The settings a production server would have (base.py's Samba ones)."""
    settings.DIRECTORIES_ROOT = Path("/srv/userbackup")
    settings.SNAPSHOTS_ROOT = Path("/srv/userbackup-snapshots")
    settings.SERVER_HOSTNAME = "backup.example.com"
    settings.SAMBA_PORT = 445
    return settings


def generate(*args):
    out = io.StringIO()
    call_command("samba_config", *args, stdout=out)
    return out.getvalue()


def served_by_testparm(text, tmp_path):
    """testparm's reading of the configuration: {section: {parameter: value}}."""
    require_tool("testparm")
    path = tmp_path / "smb.conf"
    path.write_text(text)
    checked = samba_share.testparm(path)
    assert checked.returncode == 0, checked.stderr
    sections, current = {}, None
    for line in checked.stdout.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
        elif current is not None and " = " in line:
            key, value = line.split(" = ", 1)
            current[key] = value
    return sections


def test_the_servers_configuration_passes_testparm_with_what_the_share_needs(production, tmp_path):
    text = generate()
    served = served_by_testparm(text, tmp_path)
    server, share = served["global"], served["homes"]
    assert server["server min protocol"] == "SMB3_00"
    assert server["server signing"] == "required"
    assert server["server smb encrypt"] == "desired"
    assert server["restrict anonymous"] == "2"
    assert server["disable netbios"] == "Yes"
    assert server["smb ports"] == "445"
    assert server["netbios name"] == "BACKUP"
    assert server["server string"] == "Backup storage"
    assert server.get("passdb backend", "tdbsam") == "tdbsam"  # (testparm hides defaults)
    assert server["fruit:model"] == "RackMac"
    assert server["invalid users"] == "root"
    assert "bind interfaces only" not in server  # every interface
    assert share["path"] == "/srv/userbackup/%S"
    assert share["valid users"] == "%S"
    assert share["read only"] == "No"
    assert share["browseable"] == "No"
    assert share["vfs objects"] == "full_audit catia fruit streams_xattr shadow_copy2"
    # testparm expands %U (to nothing, with no one logged on): check the text.
    assert "   include = /srv/userbackup-snapshots/%U.conf\n" in text
    assert share["shadow:format"] == "@GMT-%Y.%m.%d-%H.%M.%S"
    assert share["fruit:metadata"] == "stream"
    assert share["fruit:time machine"] == "yes"
    assert share["full_audit:success"] == "connect disconnect"
    assert share["full_audit:syslog"] == "yes"
    assert "fruit:time machine max size" not in share
    versions = served["previous-versions$"]
    assert versions["path"] == "/srv/userbackup-snapshots/%u/snapshots"
    assert versions.get("read only", "Yes") == "Yes"  # (testparm hides defaults)
    assert "writeable" not in versions
    assert "write list" not in versions
    assert versions["browseable"] == "No"
    assert "shadow_copy2" not in versions["vfs objects"]
    assert versions["catia:mappings"] == "0x40:0xff20"


def test_the_install_check_finds_the_share_in_the_generated_file(production, tmp_path):
    require_tool("testparm")
    target = tmp_path / "smb.conf"
    call_command("samba_config", "--output", str(target))
    production.SAMBA_CONFIG = target
    result = checks.samba_share(None)
    assert not result.is_serious(), result.msg
    assert "/srv/userbackup/%S" in result.msg


def test_a_private_instance_keeps_everything_under_its_directory(production, tmp_path):
    instance = tmp_path / "instance"
    text = generate(
        "--instance-dir",
        str(instance),
        "--port",
        "4450",
        "--interfaces",
        "lo",
        "--audit-log",
        "file",
    )
    for path in config.Private.under(instance).directories():
        path.mkdir(parents=True)
    served = served_by_testparm(text, tmp_path)
    server = served["global"]
    assert server["smb ports"] == "4450"
    assert server["interfaces"] == "lo"
    assert server["bind interfaces only"] == "Yes"
    assert server["passdb backend"] == f"tdbsam:{instance}/private/passdb.tdb"
    assert server["log file"] == f"{instance}/log/log.%m"
    for key, sub in (
        ("private dir", "private"),
        ("state directory", "state"),
        ("lock directory", "lock"),
        ("pid directory", "pid"),
        ("cache directory", "cache"),
        ("ncalrpc dir", "state/ncalrpc"),
    ):
        assert server[key] == f"{instance}/{sub}", key
    assert server["rpc start on demand helpers"] == "No"
    assert served["homes"]["full_audit:syslog"] == "no"


def test_single_paths_override_the_layout_and_relative_ones_are_made_absolute(
    production, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    text = generate("--instance-dir", "samba", "--passdb", "/var/lib/other/passdb.tdb")
    assert f"private dir = {tmp_path}/samba/private\n" in text
    assert "passdb backend = tdbsam:/var/lib/other/passdb.tdb\n" in text


def test_a_time_machine_size_limit_is_passed_on(production, tmp_path):
    production.SAMBA_TIME_MACHINE_MAX_SIZE = "500G"
    served = served_by_testparm(generate(), tmp_path)
    assert served["homes"]["fruit:time machine max size"] == "500G"


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("backup.example.com", "BACKUP"),
        ("backup-02", "BACKUP-02"),
        ("127.0.0.1", None),
        ("::1", None),
        ("a-host-name-longer-than-15.example.com", None),
        ("2024.example.com", None),
    ],
)
def test_the_netbios_name_comes_from_the_host_name_when_it_can(hostname, expected):
    assert config.netbios_name(hostname) == expected


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SAMBA_SERVER_STRING", "Backups\n[evil]\npath = /", "line breaks"),
        ("SAMBA_SERVER_STRING", "Backups of %U", "'%'"),
        ("DIRECTORIES_ROOT", "/srv/%U", "'%'"),
        ("DIRECTORIES_ROOT", "srv/userbackup", "absolute path"),
        ("SAMBA_MIN_PROTOCOL", "NT1", "SMB2_02"),
        ("SAMBA_ENCRYPTION", "maybe", "desired"),
        ("SAMBA_FRUIT_MODEL", "Rack Mac", "model identifier"),
        ("SAMBA_TIME_MACHINE_MAX_SIZE", "lots", "500G"),
        ("SAMBA_WORKGROUP", "WORK GROUP", "workgroup"),
        ("SAMBA_PORT", 0, "1 to 65535"),
        ("SAMBA_PORT", "445", "1 to 65535"),
        ("SERVER_HOSTNAME", "evil\nhost", "line breaks"),
    ],
)
def test_a_bad_setting_is_refused_and_nothing_is_written(
    production, tmp_path, setting, value, message
):
    target = tmp_path / "smb.conf"
    target.write_text("previous\n")
    setattr(production, setting, value)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("samba_config", "--output", str(target))
    assert target.read_text() == "previous\n"
    assert os.listdir(tmp_path) == ["smb.conf"]


@pytest.mark.parametrize(
    ("setting", "value"), [("SAMBA_FRUIT_MODEL", "Rack</txt-record>"), ("SAMBA_PORT", -1)]
)
def test_a_bad_setting_makes_no_avahi_record_either(production, tmp_path, setting, value):
    target = tmp_path / "backupmanagement-smb.service"
    setattr(production, setting, value)
    with pytest.raises(CommandError):
        call_command("samba_config", "--avahi", "--output", str(target))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "70000"], "1 to 65535"),
        (["--interfaces", "lo;reboot"], "interface"),
        (["--instance-dir", "/tmp/a%b"], "'%'"),
        (["--log-dir", "/tmp/log\nx"], "line breaks"),
    ],
)
def test_bad_options_are_refused_before_anything_is_printed(production, args, message):
    out = io.StringIO()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("samba_config", *args, stdout=out)
    assert out.getvalue() == ""


def test_the_output_file_is_replaced_whole(production, tmp_path):
    target = tmp_path / "smb.conf"
    target.write_text("previous\n")
    call_command("samba_config", "--output", str(target))
    assert target.read_text() == generate()
    assert target.stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path) == ["smb.conf"]


# --- Avahi ----------------------------------------------------------------------


def avahi_services(text):
    group = ET.fromstring(text)  # noqa: S314 - the command's own output
    assert group.tag == "service-group"
    return {
        service.findtext("type"): (
            int(service.findtext("port")),
            [record.text for record in service.findall("txt-record")],
        )
        for service in group.findall("service")
    }


def test_the_avahi_record_advertises_the_share_port_and_model_of_the_config(production):
    production.SAMBA_PORT = 4450
    production.SAMBA_FRUIT_MODEL = "TimeCapsule8,119"
    services = avahi_services(generate("--avahi"))
    assert services["_smb._tcp"] == (4450, [])
    adisk_port, adisk = services["_adisk._tcp"]
    assert adisk_port == 9  # by convention: Time Machine reads only the TXT records
    assert "sys=waMa=0,adVF=0x100" in adisk
    # The Time Machine disk is the share the configuration serves.
    share = re.search(
        r"^\[(\w+)\]\n(?:(?!\[).*\n)*?   path = /srv/userbackup/%S$", generate(), re.M
    )
    assert f"dk0=adVN={share.group(1)},adVF=0x82" in adisk
    assert services["_device-info._tcp"][1] == ["model=TimeCapsule8,119"]
    assert "fruit:model = TimeCapsule8,119" in generate()
    assert generate("--avahi", "--port", "4451").count("<port>4451</port>") == 1


def test_the_shipped_avahi_file_is_what_the_command_generates(production):
    assert SHIPPED_AVAHI.read_text() == generate("--avahi")


# --- What the portal shows ----------------------------------------------------------


def test_addresses_on_the_standard_port_name_no_port():
    smb = Connection("backup.example.com", 445, "alice")
    assert smb.windows == r"\\backup.example.com\alice"
    assert smb.smb_url == "smb://backup.example.com/alice"
    assert smb.smbclient == "smbclient //backup.example.com/alice -U alice"
    assert smb.linux_mount == (
        "sudo mount -t cifs //backup.example.com/alice /mnt/backup -o username=alice,uid=$(id -u)"
    )


def test_addresses_on_another_port_name_it_where_clients_take_one():
    smb = Connection("127.0.0.1", 4450, "alice")
    assert smb.smb_url == "smb://127.0.0.1:4450/alice"
    assert smb.smbclient == "smbclient //127.0.0.1/alice -p 4450 -U alice"
    assert smb.linux_mount.endswith(",port=4450")


@pytest.mark.parametrize(("port", "shown"), [(445, False), (4450, True)])
def test_the_instructions_show_the_port_the_server_listens_on(settings, port, shown):
    settings.SERVER_HOSTNAME = "127.0.0.1"
    settings.SAMBA_PORT = port

    class Volume:
        account = "alice"

    page = render_to_string(
        "volumes/_connect.html", {"volume": Volume(), "server_hostname": "127.0.0.1"}
    )
    assert "\\\\127.0.0.1\\alice" in page
    assert ("smb://127.0.0.1:4450/alice" in page) == shown
    assert ("smb://127.0.0.1/alice" in page) != shown
    assert ("-p 4450" in page) == shown
    assert ("Windows can only connect to port 445" in page) == shown


# --- INSTALL.samba.txt --------------------------------------------------------------


def quoted(document, name):
    found = re.search(
        rf"^=== begin {re.escape(name)} ===\n(.*?)^=== end {re.escape(name)} ===$",
        document,
        re.S | re.M,
    )
    assert found, name
    return found.group(1)


def test_install_samba_quotes_exactly_what_the_command_generates(production):
    document = (REPO / "INSTALL.samba.txt").read_text()
    assert quoted(document, "generated smb.conf") == generate()
    assert quoted(document, "deploy/avahi/backupmanagement-smb.service") == generate("--avahi")
