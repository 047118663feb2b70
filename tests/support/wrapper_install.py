"""A private, real installation of the wrappers for one test session.

Everything it creates lives under one base directory and one managed group,
both unique to the session, so that the cleanup removes exactly what the
tests made (accounts, mounts, loop devices, files) and nothing else.
"""

import grp
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
INSTALLER = REPO / "bin" / "install-wrappers"
WRAPPER_EXIT_REFUSED = 2


@dataclass
class WrapperInstall:
    base: Path
    settings: dict
    syslog: list = field(default_factory=list)

    @property
    def path(self):
        return self.base / "wrappers"

    @property
    def group(self):
        return self.settings["MANAGED_GROUP"]

    def run(self, name, *args, input_text=None, env=None, timeout=600):
        """Run a wrapper the way the privileged client does (as root, argv only)."""
        return subprocess.run(
            [str(self.path / name), *args],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env if env is not None else {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
            check=False,
        )

    def write_local_settings(self, **overrides):
        """Rewrite local_settings.py with these settings on top of the session's."""
        values = {**self.settings, **overrides}
        text = "".join(f"{key} = {value!r}\n" for key, value in sorted(values.items()))
        target = self.path / "local_settings.py"
        target.write_text(text)
        os.chmod(target, 0o600)

    def managed_accounts(self):
        gid = grp.getgrnam(self.group).gr_gid
        return sorted(entry.pw_name for entry in pwd.getpwall() if entry.pw_gid == gid)


def listen_syslog(path, lines):
    """Stands in for the syslog daemon: collects the lines sent to a socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))

    def receive():
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            lines.append(data.decode("utf-8", "replace"))

    threading.Thread(target=receive, daemon=True).start()
    return sock


def create(uid_min=40000, uid_max=49999):
    token = secrets.token_hex(3)
    base = Path(f"/var/tmp/bmtest-{token}")
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    group = f"bmt{token}"
    subprocess.run(["groupadd", group], check=True)
    subs = (
        ("srv", 0o755),
        ("snapshots", 0o755),
        ("pool", 0o700),
        ("locks", 0o700),
        ("state", 0o700),
        ("samba", 0o755),
    )
    for sub, mode in subs:
        (base / sub).mkdir(mode=mode)
    samba = base / "samba"
    for sub in ("private", "state", "cache", "lock", "pid", "log"):
        (samba / sub).mkdir(mode=0o700)
    (samba / "smb.conf").write_text(
        "[global]\n"
        f"  workgroup = BMTEST\n"
        f"  passdb backend = tdbsam:{samba}/private/passdb.tdb\n"
        f"  private dir = {samba}/private\n"
        f"  state directory = {samba}/state\n"
        f"  cache directory = {samba}/cache\n"
        f"  lock directory = {samba}/lock\n"
        f"  pid directory = {samba}/pid\n"
        f"  ncalrpc dir = {samba}/state/ncalrpc\n"
        f"  log file = {samba}/log/log.%m\n"
    )
    settings = {
        "BACKEND": "loopfile",
        "DIRECTORIES_ROOT": str(base / "srv"),
        "SNAPSHOTS_ROOT": str(base / "snapshots"),
        "LOOPFILE_POOL": str(base / "pool"),
        "LOOPFILE_POOL_SIZE_GIB": 20,
        "MANAGED_GROUP": group,
        "ACCOUNT_UID_MIN": uid_min,
        "ACCOUNT_UID_MAX": uid_max,
        "SAMBA_CONFIG": str(samba / "smb.conf"),
        "LOCK_DIR": str(base / "locks"),
        "STATE_DIR": str(base / "state"),
        "SYSLOG_ADDRESS": str(base / "syslog.sock"),
        "LOCK_TIMEOUT_SECONDS": 5,
    }
    install = WrapperInstall(base=base, settings=settings)
    install._syslog_socket = listen_syslog(base / "syslog.sock", install.syslog)
    subprocess.run([str(INSTALLER), str(install.path)], check=True, capture_output=True)
    install.write_local_settings()
    return install


def _loop_devices_backed_under(base):
    devices = []
    for entry in Path("/sys/block").glob("loop*"):
        backing = entry / "loop" / "backing_file"
        try:
            target = backing.read_text().strip()
        except OSError:
            continue
        if target.startswith(str(base) + "/"):
            devices.append(f"/dev/{entry.name}")
    return devices


def _mounts_under(base):
    mounts = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(str(base) + "/"):
                mounts.append(point)
    return sorted(mounts, key=len, reverse=True)


def leftovers(install):
    """What the session's installation still holds on the host."""
    return {
        "mounts": _mounts_under(install.base),
        "loop_devices": _loop_devices_backed_under(install.base),
        "accounts": install.managed_accounts(),
    }


def destroy(install):
    """Remove everything the session created, and only that."""
    # Loop devices first: once a filesystem holding their images is
    # unmounted, their backing files no longer show under the base.
    devices = _loop_devices_backed_under(install.base)
    for point in _mounts_under(install.base):
        if subprocess.run(["umount", point], check=False, capture_output=True).returncode:
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    for device in devices:
        subprocess.run(["losetup", "-d", device], check=False, capture_output=True)
    for name in install.managed_accounts():
        subprocess.run(["userdel", name], check=False, capture_output=True)
    subprocess.run(["groupdel", install.group], check=False, capture_output=True)
    install._syslog_socket.close()
    shutil.rmtree(install.base, ignore_errors=True)
