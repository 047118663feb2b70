"""Running system commands: absolute paths, fixed argv, no shell, clean env."""

import os

from .errors import Failure

SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
CLEAN_ENV = {
    "PATH": ":".join(SEARCH_DIRS),
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "LVM_SUPPRESS_FD_WARNINGS": "1",
}
DEFAULT_TIMEOUT = 600

# Every system command a wrapper may run. A name outside it is never run, and
# the test suite resolves each one to its Debian package and checks that
# bin/setup installs it (tests/test_system_dependencies.py).
COMMANDS = frozenset(
    {
        "blkid", "btrfs", "chpasswd", "e2fsck", "losetup", "lvchange", "lvcreate", "lvextend",
        "lvremove", "lvs", "mkfs.btrfs", "mkfs.ext4", "mkfs.xfs", "mount", "pdbedit",
        "resize2fs", "smbpasswd", "useradd", "userdel", "usermod", "vgs", "xfs_growfs",
    }
)  # fmt: skip


def executable(name):
    """The absolute path of a system command, from the fixed search dirs only."""
    if name not in COMMANDS:
        raise Failure(f"{name} is not one of the commands the wrappers may run")
    for directory in SEARCH_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    raise Failure(f"{name} is not installed")


def run(argv, *, input_text=None, timeout=DEFAULT_TIMEOUT, check=True):
    """Run argv[0] (a bare command name) with the rest as fixed arguments."""
    # Imported here: most query wrappers run no command, and this module's
    # CLEAN_ENV is read by every wrapper at start.
    import subprocess

    from . import crashsafe

    command = [executable(argv[0]), *argv[1:]]
    crashsafe.step()
    try:
        completed = subprocess.run(
            command,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=CLEAN_ENV,
            timeout=timeout,
            close_fds=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Failure(f"{argv[0]} did not finish within {timeout} s") from None
    if check and completed.returncode != 0:
        raise Failure(f"{argv[0]} failed: {last_line(completed.stderr or completed.stdout)}")
    return completed


def last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
