"""The demo's moving parts: the pool under var/, the wrappers installed
there, and the processes (web server, task worker, ...) until Ctrl-C.

Everything lives under var/ and one managed group, so `--reset` removes
exactly what the demo made: mounts, loop devices, accounts, files.

Root makes var/ and what is in it through bin/safe_paths.py (no link
followed, a stranger's file refused), trusting root and the checkout's
owner, who could change this code anyway; and it never opens a file there
that a backup account could have put in its place.
"""

import argparse
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import safe_paths

REPO = Path(__file__).resolve().parent.parent
VAR = REPO / "var"
POOL_IMAGE = VAR / "pool.img"
POOL_MOUNT = VAR / "pool"
POOL_GIB = 20
GROUP = "backupdemo"
UID_RANGE = (30000, 30999)
PYTHON = str(REPO / ".venv" / "bin" / "python")
MANAGE = [PYTHON, str(REPO / "manage.py")]
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "backup.settings.dev", "PYTHONUNBUFFERED": "1"}
ADDRESS = "127.0.0.1:8000"
# The usage and disk-activity collectors (cron's update_df_stats and
# rrd_waittime) run every half minute, so the graphs fill while you watch.
COLLECT_EVERY_SECONDS = 30
COLLECTORS = [
    "/bin/sh", "-c",
    'while :; do "$0" "$1" rrd_waittime; "$0" "$1" update_df_stats;'
    f" sleep {COLLECT_EVERY_SECONDS}; done",
    *MANAGE,
]  # fmt: skip
# The backup scan (hourly in production: fetch_backups) runs every minute,
# so that "Your backups" follows what you copy onto a demo volume; the
# stale-backup alerts (daily in production) follow it, printed on the
# console like every demo alert (each person still gets one a day at most).
SCAN_EVERY_SECONDS = 60
BACKUP_SCANS = [
    "/bin/sh", "-c",
    'while :; do "$0" "$1" fetch_backups; "$0" "$1" send_backup_alerts;'
    f" sleep {SCAN_EVERY_SECONDS}; done",
    *MANAGE,
]  # fmt: skip
# Snapshots (every 15 minutes in production: take_snapshots) every two
# minutes, so the dashboard's list, the change figures and a mass-change
# alert after you overwrite the demo volume's files all show within
# minutes; and the destruction of deleted volumes whose protection ended
# (destroy_due_volumes). The wrappers' protection and retention stay as in
# production.
SNAPSHOT_EVERY_SECONDS = 120
SNAPSHOTS = [
    "/bin/sh", "-c",
    'while :; do "$0" "$1" take_snapshots; "$0" "$1" destroy_due_volumes;'
    f" sleep {SNAPSHOT_EVERY_SECONDS}; done",
    *MANAGE,
]  # fmt: skip
SAMBA = VAR / "samba"
SAMBA_CONFIG = SAMBA / "smb.conf"
SMBD = shutil.which("smbd", path="/usr/sbin:/usr/bin:/sbin:/bin") or "smbd"


def trusted():
    """Root and whoever owns the checkout."""
    return {0, os.stat(REPO).st_uid}


def make_directories(directories):
    """(path, mode) pairs, made root's in order; a link or a stranger's
    directory at one stops the demo, naming it, before it is used."""
    for path, mode in directories:
        try:
            safe_paths.ensure_directory(path, 0, 0, mode, trusted())
        except safe_paths.Refused as refused:
            sys.exit(f"demo: {refused}: remove it (or run bin/demo --reset) and start again")


def say(message):
    print(f"demo: {message}", flush=True)


def run(*argv, **kwargs):
    return subprocess.run(argv, check=True, **kwargs)


def mounts_under(base):
    points = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == str(base) or point.startswith(f"{base}/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def loop_devices_backed_under(base):
    """{loop device: backing file} for files under base."""
    devices = {}
    for entry in Path("/sys/block").glob("loop*"):
        try:
            backing = (entry / "loop" / "backing_file").read_text().strip()
        except OSError:
            continue
        if backing.startswith(f"{base}/"):
            devices[f"/dev/{entry.name}"] = backing
    return devices


def wrapper_settings():
    return {
        "BACKEND": "loopfile",
        "DIRECTORIES_ROOT": str(VAR / "srv" / "userbackup"),
        # Each btrfs volume's top level (its snapshots), beside the shares.
        "SNAPSHOTS_ROOT": str(VAR / "srv" / "userbackup-snapshots"),
        "LOOPFILE_POOL": str(POOL_MOUNT / "images"),
        "LOOPFILE_POOL_SIZE_GIB": None,
        "MANAGED_GROUP": GROUP,
        "ACCOUNT_UID_MIN": UID_RANGE[0],
        "ACCOUNT_UID_MAX": UID_RANGE[1],
        "SAMBA_CONFIG": str(VAR / "samba" / "smb.conf"),
        "LOCK_DIR": str(VAR / "locks"),
        "STATE_DIR": str(VAR / "wrapper-state"),
    }


def prepare_pool():
    make_directories([(VAR, 0o755)])
    try:
        safe_paths.check(POOL_IMAGE, "file", 0, trusted())
    except safe_paths.Refused as refused:
        sys.exit(f"demo: {refused}: run bin/demo --reset")
    if not POOL_IMAGE.exists():
        say(f"creating a {POOL_GIB} GiB sparse pool image ({POOL_IMAGE.relative_to(REPO)})")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(POOL_IMAGE, flags, 0o600), "wb") as image:
            image.truncate(POOL_GIB * 1024**3)
        run("mkfs.ext4", "-q", "-L", "backupdemo", str(POOL_IMAGE))
    make_directories([(POOL_MOUNT, 0o700)])
    if str(POOL_MOUNT) not in mounts_under(POOL_MOUNT):
        run("mount", "-o", "loop,nodev,nosuid", str(POOL_IMAGE), str(POOL_MOUNT))
    make_directories([(POOL_MOUNT / "images", 0o700)])


def prepare_samba():
    """The demo's own smbd: the configuration `manage.py samba_config` makes
    for the portal's settings (the share, on SAMBA_PORT), listening on the
    loopback only, with its state, passdb and logs under var/samba. The
    wrappers' SAMBA_CONFIG names the same file, so the passwords the portal
    sets are the ones this smbd checks."""
    make_directories(
        (SAMBA / sub, 0o755 if not sub else 0o700)
        for sub in ("", "private", "state", "cache", "lock", "pid", "log")
    )
    run(
        *MANAGE,
        "samba_config",
        "--instance-dir",
        str(SAMBA),
        "--interfaces",
        "lo",
        "--audit-log",
        "file",
        "--output",
        str(SAMBA_CONFIG),
        env=ENV,
    )
    # smbd opens a volume as its owner, who must be able to walk down to it.
    for directory in (VAR / "srv" / "userbackup").parents:
        if not os.stat(directory).st_mode & 0o001:
            say(
                f"warning: {directory} is closed to other users, so the backup accounts "
                "can't reach their volumes over SMB; try the demo from a checkout under "
                "/opt or /srv to use Samba"
            )
            break


def samba_port():
    found = re.search(r"^\s*smb ports = (\d+)$", SAMBA_CONFIG.read_text(), re.MULTILINE)
    return int(found.group(1))


def prepare_system():
    make_directories(
        [
            (VAR / "srv", 0o755),
            (VAR / "srv" / "userbackup", 0o755),
            (VAR / "srv" / "userbackup-snapshots", 0o755),
            (VAR / "locks", 0o700),
        ]
    )
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        run("groupadd", GROUP)
    prepare_samba()
    settings_file = VAR / "wrappers-local-settings.py"
    text = "".join(f"{key} = {value!r}\n" for key, value in sorted(wrapper_settings().items()))
    safe_paths.write_file(settings_file, text.encode(), 0, 0, 0o600, trusted=trusted())
    run(
        str(REPO / "bin" / "install-wrappers"),
        str(VAR / "wrappers"),
        str(settings_file),
        stdout=subprocess.DEVNULL,
    )
    run(*MANAGE, "migrate", "--noinput", "-v", "0", env=ENV)


def start(name, argv):
    say(f"starting {name}")
    return name, subprocess.Popen(argv, env=ENV, cwd=REPO, start_new_session=True)


def processes():
    return [
        start("web server", [*MANAGE, "runserver", "--noreload", ADDRESS]),
        start("task worker", [*MANAGE, "db_worker", "--interval", "0.5"]),
        start("backup scans", BACKUP_SCANS),
        start(f"snapshots every {SNAPSHOT_EVERY_SECONDS} s", SNAPSHOTS),
        start("statistics collectors", COLLECTORS),
        start(
            f"Samba (smbd on 127.0.0.1:{samba_port()}, logs in var/samba/log)",
            [SMBD, "--foreground", "--no-process-group", "--configfile", str(SAMBA_CONFIG)],
        ),
    ]


def serve():
    prepare_pool()
    prepare_system()
    running = processes()
    say(f"open http://{ADDRESS}/ as the demo employee; the yellow bar switches to the admin")
    say(
        "back up over SMB with the password the portal shows: "
        f"smbclient //127.0.0.1/alice -p {samba_port()} -U alice"
    )
    say("press Ctrl-C to stop; the pool stays for next time (bin/demo --reset removes it)")

    def stop(*_, status=0):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for _name, process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process in running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        say("stopped")
        sys.exit(status)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for name, process in running:
            if process.poll() is not None:
                say(f"{name} exited ({process.returncode}); stopping")
                stop(status=1)
        time.sleep(1)


def unmount(point):
    if subprocess.run(["umount", point], check=False).returncode != 0:
        subprocess.run(["umount", "-l", point], check=False)


def detach(devices):
    for device in devices:
        subprocess.run(["losetup", "-d", device], check=False, stderr=subprocess.DEVNULL)


def reset():
    # Found before anything is unmounted: once the pool is gone, the volumes'
    # backing files no longer show under var/.
    devices = loop_devices_backed_under(VAR)
    pool_devices = [device for device, backing in devices.items() if backing == str(POOL_IMAGE)]
    # Volumes first, then the pool that holds their images.
    for point in mounts_under(VAR):
        if point != str(POOL_MOUNT):
            unmount(point)
    detach(device for device in devices if device not in pool_devices)
    for point in mounts_under(POOL_MOUNT):
        unmount(point)
    detach(pool_devices)
    try:
        gid = grp.getgrnam(GROUP).gr_gid
    except KeyError:
        gid = None
    if gid is not None:
        for entry in pwd.getpwall():
            if entry.pw_gid == gid:
                subprocess.run(["userdel", entry.pw_name], check=False)
        subprocess.run(["groupdel", GROUP], check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(VAR)], check=False)
    say("removed the demo pool, its volumes, accounts and var/")


def main():
    parser = argparse.ArgumentParser(description="Run the backup portal demo.")
    parser.add_argument(
        "--reset", action="store_true", help="remove the demo pool and everything it made"
    )
    if parser.parse_args().reset:
        reset()
    else:
        serve()


if __name__ == "__main__":
    main()
