"""Argument validators: full-match allowlists, nothing else gets through.

Every wrapper that takes a USER refuses protected accounts here, so no
wrapper can be pointed at root's or an administrator's files.
"""

import grp
import pwd
import re
import sys

from .config import settings
from .errors import Refusal

# Lowercase ASCII, starting with a letter: can't be an option, a path
# component like "..", or differ from another name only by case.
USERNAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")
SIZE_PATTERN = re.compile(r"[1-9][0-9]{0,6}")
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 256


# Names of system and service accounts, refused even where no such account
# exists yet: a backup account called sshd or postgres would be mistaken for
# (or block the later install of) the real one. Debian's base-passwd list,
# then the accounts common daemons create. RESERVED_NAMES in the settings
# adds a site's own.
# fmt: off
WELL_KNOWN_ACCOUNTS = frozenset({
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp",
    "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "nogroup", "_apt",
    "systemd-network", "systemd-resolve", "systemd-timesync", "systemd-journal",
    "systemd-coredump", "systemd-oom", "messagebus", "sshd", "avahi", "avahi-autoipd",
    "polkitd", "rtkit", "colord", "saned", "pulse", "usbmux", "tss", "uuidd", "tcpdump",
    "dnsmasq", "statd", "_rpc", "ntp", "ntpsec", "_chrony", "chrony", "postfix", "exim",
    "debian-exim", "dovecot", "dovenull", "opendkim", "mysql", "mariadb", "postgres",
    "redis", "memcache", "mongodb", "rabbitmq", "nginx", "apache", "apache2", "httpd",
    "bind", "named", "unbound", "openldap", "slapd", "nslcd", "sssd", "_sssd", "krb5",
    "kadmin", "samba", "winbind", "nm-openvpn", "openvpn", "haproxy", "squid", "clamav",
    "amavis", "spamd", "debian-spamd", "ftp", "tftp", "vsftpd", "proftpd", "git", "gitlab",
    "jenkins", "docker", "lxd", "libvirt-qemu", "libvirt-dnsmasq", "landscape", "pollinate",
    "syslog", "cups", "lightdm", "gdm", "sddm", "geoclue", "fwupd-refresh", "dhcpcd",
    "_flatpak", "flatpak", "speech-dispatcher", "hplip", "kernoops", "whoopsie", "operator",
    "adm", "wheel", "sudo", "staff", "users", "shadow", "utmp", "tty", "disk", "kmem",
    "dialout", "backupmanagement",
})
# fmt: on


def username(text):
    """A well-formed account name that is not protected or reserved."""
    if not isinstance(text, str) or not USERNAME_PATTERN.fullmatch(text):
        raise Refusal(
            f"invalid user name {text!r}: use 1-32 lowercase letters, digits, '.', '_' or '-',"
            " starting with a letter"
        )
    config = settings()
    if text in config.PROTECTED_USERS:
        raise Refusal(f"{text} is a protected account")
    if text in WELL_KNOWN_ACCOUNTS or text in config.RESERVED_NAMES:
        raise Refusal(f"{text} is reserved for a system or service account")
    return text


def size_gib(text):
    """A whole number of GiB between 1 and MAX_VOLUME_GIB."""
    if not isinstance(text, str) or not SIZE_PATTERN.fullmatch(text):
        raise Refusal(f"invalid size {text!r}: give a whole number of GiB, at least 1")
    value = int(text)
    maximum = settings().MAX_VOLUME_GIB
    if value > maximum:
        raise Refusal(f"size {value} GiB is over the maximum of {maximum} GiB per volume")
    return value


def managed_group():
    name = settings().MANAGED_GROUP
    try:
        return grp.getgrnam(name)
    except KeyError:
        raise Refusal(f"the managed group {name} does not exist") from None


class Accounts:
    """The account database and the managed group, read once.

    The all-volumes wrappers look up hundreds of accounts per run: getpwnam
    reads /etc/passwd from the top each time (0.4 ms at 10,000 accounts),
    so the cost per volume would grow with the company. One getpwall and
    one getgrnam per run instead; every rule stays in managed_account."""

    __slots__ = ("by_name", "group")

    def __init__(self):
        self.group = managed_group()
        self.by_name = {}
        for entry in pwd.getpwall():
            # getpwnam answers the first entry of a name: so does this.
            self.by_name.setdefault(entry.pw_name, entry)

    def lookup(self, name):
        entry = self.by_name.get(name)
        if entry is None:
            raise KeyError(name)
        return entry

    def members(self):
        """Entries whose primary group is the managed group (still to be
        validated with managed_account)."""
        gid = self.group.gr_gid
        return [entry for entry in self.by_name.values() if entry.pw_gid == gid]


def managed_account(text, accounts=None):
    """The passwd entry of an existing backup account created by useradd.py.

    System accounts, accounts outside the managed group or outside the
    configured uid range are refused, whatever their name. With accounts
    (an Accounts read once per run) the same rules are checked against it
    instead of asking the system for each name.
    """
    name = username(text)
    try:
        entry = accounts.lookup(name) if accounts is not None else pwd.getpwnam(name)
    except KeyError:
        raise Refusal(f"no backup account named {name}") from None
    config = settings()
    if not config.ACCOUNT_UID_MIN <= entry.pw_uid <= config.ACCOUNT_UID_MAX:
        raise Refusal(f"{name} is not a backup account (uid {entry.pw_uid} out of range)")
    group = accounts.group if accounts is not None else managed_group()
    if entry.pw_gid != group.gr_gid:
        raise Refusal(f"{name} is not a backup account (not in group {config.MANAGED_GROUP})")
    return entry


def password_from_stdin(stream=None):
    """One password, read from stdin (never argv), without control characters.

    A newline or NUL would let a crafted password smuggle a second line into
    chpasswd or smbpasswd; such passwords are refused, not cleaned.
    """
    import unicodedata  # only the two password wrappers need it

    stream = stream if stream is not None else sys.stdin.buffer
    raw = stream.read(PASSWORD_MAX_LENGTH * 4 + 2)
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal("the password must be UTF-8 text") from None
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in text):
        raise Refusal("the password contains a newline or another control character")
    if not PASSWORD_MIN_LENGTH <= len(text) <= PASSWORD_MAX_LENGTH:
        raise Refusal(
            f"the password must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long"
        )
    return text


def arguments(args, *names):
    """Exactly len(names) positional arguments; no options, nothing extra."""
    if len(args) != len(names):
        usage = " ".join(names) if names else "(no arguments)"
        raise Refusal(f"expected {usage}; got {len(args)} argument(s)")
    return args
