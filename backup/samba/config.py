"""The Samba configuration this installation serves, built from its settings.

One place decides every parameter: ``manage.py samba_config`` prints it for
/etc/samba/smb.conf (and a private instance's for the demo and the tests),
and the portal's connection instructions (``connection.py``) describe the
same share on the same port. INSTALL.samba.txt explains each choice.
"""

import ipaddress
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# A [homes] share: a client asking for share NAME gets NAME's volume
# (<DIRECTORIES_ROOT>/NAME, %S below), and asking for "homes" gets its own.
SHARE_SECTION = "homes"
# Every snapshot of the logged-on account's volume as ordinary read-only
# folders, \\server\previous-versions$\@GMT-…\. "$" can't be in an account
# name (the wrappers' USERNAME_PATTERN), so no volume's share is hidden by it,
# and Windows leaves "$" shares out of its browse lists.
PREVIOUS_VERSIONS_SECTION = "previous-versions$"
# In that share '@' (0x40) is shown as U+FF20, which no client reads as the
# start of a timewarp token (see _previous_versions_section).
AT_SHOWN_AS = "0x40:0xff20"


def previous_versions_folder(snapshot: str) -> str:
    """The folder a snapshot (@GMT-…) is in the previous-versions$ share."""
    return snapshot.replace("@", "\uff20")


PROTOCOLS = ("SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11")
ENCRYPTION = ("off", "if_required", "desired", "required")
# The parts of a private instance (the demo's, a test's) and where they go
# under its directory. The passdb sits in the private dir, as Samba's does.
INSTANCE_LAYOUT = {
    "private": "private",
    "state": "state",
    "lock": "lock",
    "pid": "pid",
    "cache": "cache",
    "log": "log",
}
_NETBIOS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,14}")
_INTERFACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:/_-]{0,63}")
_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9,._-]{0,63}")
_SIZE = re.compile(r"[1-9][0-9]{0,12}[KMGTP]?")
_WORKGROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,14}")


class ConfigurationError(ValueError):
    """A setting or option that would make a broken or unsafe smb.conf."""


@dataclass(frozen=True)
class Private:
    """Where a private smbd keeps its state; None means Samba's default.

    ``passdb`` is the tdbsam file; the wrappers' smbpasswd.py must write to
    the same one (its SAMBA_CONFIG names this configuration).
    """

    private: Path | None = None
    state: Path | None = None
    lock: Path | None = None
    pid: Path | None = None
    cache: Path | None = None
    log: Path | None = None
    passdb: Path | None = None

    @classmethod
    def under(cls, directory, **overrides):
        directory = Path(directory)
        paths = {part: directory / sub for part, sub in INSTANCE_LAYOUT.items()}
        paths["passdb"] = paths["private"] / "passdb.tdb"
        paths.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**paths)

    def directories(self):
        """The directories smbd needs to exist (its log's too)."""
        return [
            path
            for path in (self.private, self.state, self.lock, self.pid, self.cache, self.log)
            if path is not None
        ]


@dataclass(frozen=True)
class Options:
    """What differs between the production server and a private instance."""

    port: int | None = None  # None: settings.SAMBA_PORT
    interfaces: tuple[str, ...] = ()  # empty: every interface
    private: Private = field(default_factory=Private)
    audit_to_syslog: bool = True


def _text(name, value):
    """A value that can't end its line or start a substitution."""
    value = str(value)
    if not value.strip() or any(char in value for char in "\n\r\0%") or value != value.strip():
        raise ConfigurationError(
            f"{name} must be non-empty, without line breaks, '%' or surrounding spaces: {value!r}"
        )
    return value


def _path(name, value):
    path = Path(_text(name, value))
    if not path.is_absolute():
        raise ConfigurationError(f"{name} must be an absolute path: {value}")
    return path


def _choice(name, value, allowed):
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}: {value!r}")
    return value


def _match(name, value, pattern, what):
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigurationError(f"{name} must be {what}: {value!r}")
    return value


def port(options=None):
    value = options.port if options and options.port is not None else settings.SAMBA_PORT
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ConfigurationError(f"the SMB port must be 1 to 65535: {value!r}")
    return value


def netbios_name(hostname):
    """The first label of a DNS host name, when it can be a NetBIOS name.

    For an IP address (the demo's 127.0.0.1) there is none, and smbd uses
    the machine's own host name.
    """
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        label = hostname.split(".", 1)[0]
        if _NETBIOS_NAME.fullmatch(label) and not label.isdigit():
            return label.upper()
    return None


def fruit_model():
    return _match(
        "SAMBA_FRUIT_MODEL",
        settings.SAMBA_FRUIT_MODEL,
        _MODEL,
        "an Apple model identifier such as RackMac",
    )


def directories_root():
    return _path("DIRECTORIES_ROOT", settings.DIRECTORIES_ROOT)


def snapshots_root():
    return _path("SNAPSHOTS_ROOT", settings.SNAPSHOTS_ROOT)


def _checked(private):
    for name in ("private", "state", "lock", "pid", "cache", "log", "passdb"):
        value = getattr(private, name)
        if value is not None:
            _path(f"the {name} path", value)
    return private


def _global_section(options):
    _checked(options.private)
    for interface in options.interfaces:
        _match("an interface", interface, _INTERFACE, "an interface name or address such as lo")
    hostname = _text("SERVER_HOSTNAME", settings.SERVER_HOSTNAME)
    blocks = [
        (
            "A standalone server: its own accounts (the portal's backup accounts), no domain.",
            [
                ("server role", "standalone server"),
                (
                    "workgroup",
                    _match(
                        "SAMBA_WORKGROUP",
                        settings.SAMBA_WORKGROUP,
                        _WORKGROUP,
                        "a NetBIOS workgroup name",
                    ),
                ),
                ("netbios name", netbios_name(hostname)),
                ("server string", _text("SAMBA_SERVER_STRING", settings.SAMBA_SERVER_STRING)),
                ("security", "user"),
                (
                    "passdb backend",
                    f"tdbsam:{options.private.passdb}" if options.private.passdb else "tdbsam",
                ),
            ],
        ),
        (
            "Network: SMB over TCP only (no NetBIOS, no port 139).",
            [
                ("smb ports", port(options)),
                ("disable netbios", "yes"),
                ("interfaces", " ".join(options.interfaces) or None),
                ("bind interfaces only", "yes" if options.interfaces else None),
                # The Avahi service file (samba_config --avahi) advertises the
                # server; smbd's own announcement would name the share "homes".
                ("multicast dns register", "no"),
            ],
        ),
        (
            "Hardening: SMB3 with signing and encryption; no guests, no anonymous "
            "listing, no NTLMv1, no printers, no user-defined shares.",
            [
                (
                    "server min protocol",
                    _choice("SAMBA_MIN_PROTOCOL", settings.SAMBA_MIN_PROTOCOL, PROTOCOLS),
                ),
                ("server signing", "mandatory"),
                (
                    "server smb encrypt",
                    _choice("SAMBA_ENCRYPTION", settings.SAMBA_ENCRYPTION, ENCRYPTION),
                ),
                ("ntlm auth", "ntlmv2-only"),
                ("map to guest", "never"),
                ("restrict anonymous", "2"),
                ("invalid users", "root"),
                ("usershare max shares", "0"),
                ("load printers", "no"),
                ("printing", "bsd"),
                ("printcap name", "/dev/null"),
                ("disable spoolss", "yes"),
                # The portal sets Unix and Samba passwords itself (chpasswd.py,
                # smbpasswd.py); Samba must not try to change either.
                ("unix password sync", "no"),
                ("obey pam restrictions", "no"),
            ],
        ),
        (
            "Macs: Apple's SMB extension (AAPL) and the icon Finder shows.",
            [
                ("fruit:aapl", "yes"),
                ("fruit:model", fruit_model()),
                # Macs would otherwise rewrite modes through NFS ACEs, and with
                # them the mask of the volume's inherited ACL.
                ("fruit:nfs_aces", "no"),
            ],
        ),
        (
            "Logs: failed logons (auth_audit), and each connect/disconnect to a "
            "share (full_audit in the share).",
            [
                (
                    "log file",
                    f"{options.private.log}/log.%m"
                    if options.private.log
                    else "/var/log/samba/log.%m",
                ),
                ("max log size", "10000"),
                ("log level", "1 auth_audit:2"),
            ],
        ),
    ]
    if options.private != Private():
        blocks.append(
            (
                "A private instance: its own state, passdb and logs; samba-dcerpcd is "
                "not started (file shares and logons don't need it).",
                [
                    ("private dir", options.private.private),
                    ("state directory", options.private.state),
                    ("lock directory", options.private.lock),
                    ("pid directory", options.private.pid),
                    ("cache directory", options.private.cache),
                    (
                        "ncalrpc dir",
                        options.private.state / "ncalrpc" if options.private.state else None,
                    ),
                    ("rpc start on demand helpers", "no"),
                ],
            )
        )
    return blocks


def _share_section(options):
    max_size = settings.SAMBA_TIME_MACHINE_MAX_SIZE
    if max_size is not None:
        _match("SAMBA_TIME_MACHINE_MAX_SIZE", max_size, _SIZE, "a size such as 500G")
    return [
        (
            "Each person's volume, to that person only: \\\\server\\<user>.",
            [
                ("comment", "Backup volume"),
                ("path", f"{directories_root()}/%S"),
                ("valid users", "%S"),
                ("read only", "no"),
                ("browseable", "no"),
                ("guest ok", "no"),
                # New files and folders inherit the volume's default ACL (set
                # by setfacl.py: the owner, nobody else) from the kernel. The
                # owner gets rwx on files too: Samba grants full control only
                # for rwx, and without it reopening one's own file with
                # FILE_ALL_ACCESS or GENERIC_ALL (as many Windows programs do)
                # is refused. The group bits (the ACL mask) stay rw-, and the
                # volume is mounted noexec, so nothing on it can be run.
                # Samba's own "inherit acls = yes" pass would redo it through
                # a Windows ACL, which fails on a standalone server (the
                # account's primary group SID maps to no Unix group) and logs
                # an error for every file created.
                ("inherit acls", "no"),
                ("create mask", "0760"),
                ("directory mask", "0770"),
                ("strict sync", "yes"),
            ],
        ),
        (
            "Macs and Time Machine: streams in extended attributes (the volume's "
            "filesystem must support them), Mac metadata as a stream, and the "
            "FULLSYNC capability Time Machine looks for. full_audit logs connects.",
            [
                ("vfs objects", "full_audit catia fruit streams_xattr shadow_copy2"),
                ("fruit:metadata", "stream"),
                ("fruit:time machine", "yes"),
                ("fruit:time machine max size", max_size),
                ("fruit:veto_appledouble", "no"),
                ("fruit:delete_empty_adfiles", "yes"),
                ("fruit:wipe_intentionally_left_blank_rfork", "yes"),
                ("full_audit:prefix", "%u|%I|%S"),
                ("full_audit:success", "connect disconnect"),
                ("full_audit:failure", "connect"),
                ("full_audit:priority", "NOTICE"),
                ("full_audit:syslog", "yes" if options.audit_to_syslog else "no"),
            ],
        ),
        (
            "Windows Previous Versions: the volume's read-only btrfs snapshots "
            "(@GMT-YYYY.MM.DD-HH.MM.SS, UTC), which root mounts outside the share. "
            "shadow_copy2 expands no %S in its own parameters, so mount.py writes "
            "<SNAPSHOTS_ROOT>/<user>.conf naming the volume's snapshot folder "
            "(shadow:snapdir), included here by %U, the share's only valid user. "
            "shadow_copy2 comes last so the modules above it read snapshots too; "
            "volumes without snapshots (ext4, xfs) list none.",
            [
                ("include", f"{snapshots_root()}/%U.conf"),
                ("shadow:format", "@GMT-%Y.%m.%d-%H.%M.%S"),
                ("shadow:localtime", "no"),
                ("shadow:sort", "desc"),
            ],
        ),
    ]


def _previous_versions_section(options):
    return [
        (
            "Previous Versions of folders the live share no longer has. smbd 4.17 "
            "opens the parent folders of a timewarp (@GMT) request in the live "
            "share before any VFS module sees the timestamp (its "
            "filename_convert_dirfsp passes no twrp for the directory part; later "
            "Samba passes it), so a file below a deleted folder is not found "
            "through the volume's share. Here every snapshot is a plain read-only "
            "folder, at any depth. Clients (smbclient, Windows) turn any path "
            "component starting with @GMT- into a timewarp request, so here "
            "'@' is shown as the full-width U+FF20, so the folders' names are "
            "plain names (a file whose name has '@' shows it full-width here "
            "too). %u is the authenticated account, so each sees its own "
            "snapshots only (the folder's ACL allows no one else either).",
            [
                ("comment", "Previous versions of your backup volume (read-only)"),
                ("path", f"{snapshots_root()}/%u/snapshots"),
                ("read only", "yes"),
                ("browseable", "no"),
                ("guest ok", "no"),
                # The same name and stream translation as the volume's share,
                # so a Mac's files read back as they were written.
                ("vfs objects", "full_audit catia fruit streams_xattr"),
                ("catia:mappings", AT_SHOWN_AS),
                ("fruit:metadata", "stream"),
                ("full_audit:prefix", "%u|%I|%S"),
                ("full_audit:success", "connect disconnect"),
                ("full_audit:failure", "connect"),
                ("full_audit:priority", "NOTICE"),
                ("full_audit:syslog", "yes" if options.audit_to_syslog else "no"),
            ],
        ),
    ]


def sections(options=None):
    """[(section, [(comment, [(parameter, value)])])]; None values are left out."""
    options = options or Options()
    return [
        ("global", _global_section(options)),
        (SHARE_SECTION, _share_section(options)),
        (PREVIOUS_VERSIONS_SECTION, _previous_versions_section(options)),
    ]


def vfs_modules(options=None):
    """The VFS modules the shares name, in order, each once (each must be installed)."""
    modules = []
    for _, blocks in sections(options):
        for _, parameters in blocks:
            modules += [
                module
                for key, value in parameters
                if key == "vfs objects" and value
                for module in value.split()
                if module not in modules
            ]
    return modules


def render(options=None, header=()):
    """smb.conf text for these options, with a comment before each group."""
    lines = [f"# {line}" if line else "#" for line in header]
    for name, blocks in sections(options):
        lines.append(f"[{name}]")
        for comment, parameters in blocks:
            lines.extend(
                textwrap.wrap(comment, 76, initial_indent="   # ", subsequent_indent="   # ")
            )
            for key, value in parameters:
                if value is None:
                    continue
                # Settings were checked above; this guards the fixed values too.
                if any(char in str(value) for char in "\n\r\0"):
                    raise ConfigurationError(f"{key} would span lines: {value!r}")
                lines.append(f"   {key} = {value}")
        lines.append("")
    return "\n".join(lines)
