"""Backup accounts: create one, set its Unix and Samba passwords, delete it.

Callers validate first (validate.username / validate.managed_account,
validate.password_from_stdin). A validated password has no control
character, so the one ``user:password`` line given to chpasswd and the two
lines given to smbpasswd can't carry a second record for another account.
"""

import os
import pwd

from . import commands, locks, storage, validate
from .config import settings
from .errors import Failure, Refusal

# smbpasswd -s reads each password line into a 255-byte buffer: a longer one
# is split across its two reads and set truncated (or refused as a mismatch).
# PAM (chpasswd) takes at most 511. One limit for both: it is one password.
PASSWORD_MAX_BYTES = 254
LOGIN_DEFS = "/etc/login.defs"
DEFAULT_UID_MIN = 1000


def _exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _in_range(entry, config):
    return config.ACCOUNT_UID_MIN <= entry.pw_uid <= config.ACCOUNT_UID_MAX


def _system_uid_min():
    """UID_MIN of login.defs: every uid below it belongs to a system account."""
    try:
        with open(LOGIN_DEFS, encoding="utf-8") as defs:
            for line in defs:
                fields = line.split()
                if len(fields) == 2 and fields[0] == "UID_MIN" and fields[1].isdigit():
                    return int(fields[1])
    except FileNotFoundError:
        pass
    return DEFAULT_UID_MIN


def check_new(name):
    """The managed group, once NAME (already validated) is known to be free.

    Any existing account of that name is refused, whatever its group: a
    backup account is always a new one, never an adopted system account.
    """
    config = settings()
    group = validate.managed_group()
    if _system_uid_min() > config.ACCOUNT_UID_MIN:
        raise Refusal(
            f"ACCOUNT_UID_MIN {config.ACCOUNT_UID_MIN} is in the system accounts' uid range:"
            " fix the wrapper settings"
        )
    if _exists(name):
        raise Refusal(f"an account named {name} already exists")
    return group


def create(name):
    """Create backup account NAME (already validated); return its passwd entry."""
    config = settings()
    group = check_new(name)
    commands.run(
        [
            "useradd",
            "-M",  # no home directory: the mount point comes from mkdir.py
            "-N",  # no per-user group: the primary group is the managed one
            "-l",  # never logs in: keep it out of lastlog/faillog
            "-g",
            str(group.gr_gid),
            "-s",
            config.ACCOUNT_SHELL,
            "-d",
            os.path.join(config.DIRECTORIES_ROOT, name),
            "-K",
            f"UID_MIN={config.ACCOUNT_UID_MIN}",
            "-K",
            f"UID_MAX={config.ACCOUNT_UID_MAX}",
            # No subordinate uid/gid ranges: they would let the account map
            # ids in user namespaces (newuidmap), which a backup never needs.
            "-K",
            "SUB_UID_COUNT=0",
            "-K",
            "SUB_GID_COUNT=0",
            "--",
            name,
        ]
    )
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise Failure(f"useradd reported success but {name} does not exist") from None
    if not _in_range(entry, config) or entry.pw_gid != group.gr_gid:
        # Never leave behind an account the other wrappers would refuse to remove.
        commands.run(["userdel", "--", name], check=False)
        raise Failure(
            f"useradd gave {name} uid {entry.pw_uid} gid {entry.pw_gid}, outside"
            f" {config.ACCOUNT_UID_MIN}..{config.ACCOUNT_UID_MAX} / {config.MANAGED_GROUP};"
            " the account was removed again"
        )
    return entry


def check_password(password):
    """Refuse, before anything changes, a password the tools would mangle.

    validate.password_from_stdin already refuses line breaks; they are
    checked again here because a second line is exactly how another
    account's password would be set.
    """
    if any(char in password for char in "\n\r\0"):
        raise Refusal("the password contains a newline or another control character")
    if len(password.encode("utf-8")) > PASSWORD_MAX_BYTES:
        raise Refusal(f"the password is too long: at most {PASSWORD_MAX_BYTES} bytes of UTF-8")
    return password


def set_unix_password(entry, password):
    commands.run(["chpasswd"], input_text=f"{entry.pw_name}:{check_password(password)}\n")


def set_samba_password(entry, password):
    """Add or update ENTRY's Samba passdb record and make sure it is enabled."""
    check_password(password)
    config_file = settings().SAMBA_CONFIG
    commands.run(
        ["smbpasswd", "-c", config_file, "-s", "-a", entry.pw_name],
        input_text=f"{password}\n{password}\n",
    )
    commands.run(["smbpasswd", "-c", config_file, "-e", entry.pw_name])


def samba_users():
    """Names in the Samba passdb of SAMBA_CONFIG."""
    listing = commands.run(["pdbedit", "-s", settings().SAMBA_CONFIG, "-L"]).stdout
    return {line.split(":", 1)[0] for line in listing.splitlines() if ":" in line}


def has_volume(name):
    """Whether NAME still has a storage volume (in whichever backend runs)."""
    return storage.backend().get(name) is not None


def processes_of(entry):
    """Pids of processes running as ENTRY (real, effective or saved uid).

    The same test userdel makes: checked first, it refuses before the
    Samba entry is gone rather than failing half-way (an smbd serving the
    user's backup runs with the user's effective uid).
    """
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", encoding="utf-8") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if entry.pw_uid in (int(uid) for uid in line.split()[1:4]):
                            pids.append(int(name))
                        break
        except OSError:
            continue  # ended meanwhile
    return pids


def delete(entry):
    """Remove ENTRY's Samba passdb record (if any), then the account.

    Never ``userdel -r``: the home is the volume's mount point.
    """
    name = entry.pw_name
    if name in samba_users():
        commands.run(["smbpasswd", "-c", settings().SAMBA_CONFIG, "-x", name])
    commands.run(["userdel", "--", name])


def password_command(set_password):
    """main() of chpasswd.py and smbpasswd.py: USER's password from stdin."""

    def main(args):
        (user,) = validate.arguments(args, "USER")
        account = validate.managed_account(user)
        password = check_password(validate.password_from_stdin())
        with locks.volume_lock(account.pw_name):
            set_password(account, password)
        return {"user": account.pw_name}

    return main


def _unix_password_locked(name):
    with open("/etc/shadow", encoding="utf-8") as shadow:
        for line in shadow:
            fields = line.split(":")
            if fields[0] == name:
                return fields[1].startswith("!")
    return False


def suspend_logons(entry):
    """Disable the Samba entry and lock the Unix password (both undoable)."""
    if entry.pw_name in samba_users():
        commands.run(["smbpasswd", "-c", settings().SAMBA_CONFIG, "-d", entry.pw_name])
    if not _unix_password_locked(entry.pw_name):
        commands.run(["usermod", "-L", "--", entry.pw_name])


def resume_logons(entry):
    if entry.pw_name in samba_users():
        commands.run(["smbpasswd", "-c", settings().SAMBA_CONFIG, "-e", entry.pw_name])
    if _unix_password_locked(entry.pw_name):
        commands.run(["usermod", "-U", "--", entry.pw_name])


def logons_suspended(entry):
    return _unix_password_locked(entry.pw_name)
