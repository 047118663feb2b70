"""sshd must not accept the backup accounts' passwords."""

import contextlib
from pathlib import Path

from .base import _which, _wrapper_settings, ok, warn

SSHD_CONFIGS = (Path("/etc/ssh/sshd_config"), Path("/etc/ssh/sshd_config.d"))


def refuses_passwords_for(group, texts):
    """Whether sshd configuration texts hold a ``Match Group`` block for group
    that turns password and keyboard-interactive logins off (as
    deploy/sshd/backupmanagement.conf does)."""
    for text in texts:
        matched, off = False, set[str]()
        for raw in text.splitlines():
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            keyword = words[0].lower()
            if keyword == "match":
                if matched and {"passwordauthentication", "kbdinteractiveauthentication"} <= off:
                    return True
                matched = [word.lower() for word in words[1:3]] == ["group", group.lower()]
                off = set()
            elif matched and len(words) > 1 and words[1].lower() == "no":
                off.add(keyword)
        if matched and {"passwordauthentication", "kbdinteractiveauthentication"} <= off:
            return True
    return False


def sshd_refuses_backup_accounts(context):
    """Backup accounts have a real Unix password (for AFP): sshd must not
    accept it. A warning, not a failure: the shell is nologin either way."""
    name = "sshd"
    if _which("sshd") is None:
        return ok(name, "not installed: backup accounts can't log in over SSH")
    try:
        group = _wrapper_settings(context).get("managed_group", "backupusers")
    except (OSError, ValueError):
        group = "backupusers"
    texts = []
    for location in SSHD_CONFIGS:
        files = sorted(location.glob("*.conf")) if location.is_dir() else [location]
        for path in files:
            with contextlib.suppress(OSError):
                texts.append(path.read_text())
    if refuses_passwords_for(group, texts):
        return ok(name, f"password logins are off for group {group}")
    return warn(
        name,
        f"sshd may accept the backup accounts' passwords (group {group}): copy "
        "deploy/sshd/backupmanagement.conf to /etc/ssh/sshd_config.d/ and reload sshd",
    )
