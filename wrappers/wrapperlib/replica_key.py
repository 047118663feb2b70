"""Whether the replica's key on the primary is held to its forced command:
every line of root's authorized_keys that forces tools/snapshot-send.py, or
carries the replica's key comment (``backupmanagement-replica@…``, as
bin/install-replica prints it), must have ``restrict`` and that forced
command. Read for check_prerequisities (through replica-status.py): the
portal's service account can't read root's authorized_keys itself.
"""

import os
import pwd
import stat

from .config import settings
from .errors import Refusal

FORCED = "snapshot-send.py"
COMMENT = "backupmanagement-replica@"
MAX_BYTES = 1 << 20
KEY_TYPES = ("ssh-", "ecdsa-", "sk-")


def _split_options(line: str) -> tuple[list[str], str]:
    """(options, the rest) of an authorized_keys line; quoted commas and
    spaces stay inside their option, as sshd reads them."""
    if line.startswith(KEY_TYPES):
        return [], line
    options, current, quoted, index = [], "", False, 0
    while index < len(line):
        char = line[index]
        if char == "\\" and quoted and index + 1 < len(line):
            current += line[index : index + 2]
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            options.append(current)
            current = ""
        elif char in " \t" and not quoted:
            break
        else:
            current += char
        index += 1
    options.append(current)
    return options, line[index:].strip()


def _forced_command(options: list[str]) -> str | None:
    for option in options:
        name, _, value = option.partition("=")
        if name.lower() == "command":
            return value.replace('\\"', '"')
    return None


def check() -> dict:
    """{"path", "forced": lines forcing snapshot-send.py, "problems": [why…]}."""
    configured = settings().REPLICA_AUTHORIZED_KEYS
    if configured is not None and not (isinstance(configured, str) and os.path.isabs(configured)):
        raise Refusal(
            "the wrapper setting REPLICA_AUTHORIZED_KEYS must be None or an absolute path"
        )
    path = configured or os.path.join(pwd.getpwuid(0).pw_dir, ".ssh", "authorized_keys")
    found = {"path": path, "forced": 0, "problems": []}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        found["problems"].append(f"{path} does not exist: the replica can't log in")
        return found
    except OSError as error:
        found["problems"].append(f"{path} can't be read: {error.strerror}")
        return found
    with os.fdopen(fd, "rb") as keys:
        if not stat.S_ISREG(os.fstat(keys.fileno()).st_mode):
            found["problems"].append(f"{path} is not a regular file")
            return found
        text = keys.read(MAX_BYTES).decode("utf-8", "replace")
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        options, rest = _split_options(line)
        command = _forced_command(options)
        forces_send = command is not None and os.path.basename(command.split()[0]) == FORCED
        if not forces_send and COMMENT not in rest:
            continue
        if forces_send:
            found["forced"] += 1
        else:
            found["problems"].append(f"line {number}: the replica's key has no forced command")
            continue
        if "restrict" not in {option.lower() for option in options}:
            found["problems"].append(f"line {number}: the replica's key lacks restrict")
        if command.split() != [command.split()[0]]:
            found["problems"].append(f"line {number}: the forced command has arguments")
    if not found["forced"] and not found["problems"]:
        found["problems"].append(f"no line of {path} forces {FORCED}: the replica can't pull")
    return found
