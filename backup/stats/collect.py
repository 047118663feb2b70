"""The two collectors behind the seed's cron jobs.

Each is one pass: one or two privileged calls whatever the number of
volumes, then unprivileged reads (statvfs, /proc/diskstats) and in-process
RRD updates. A file that can't be written is reported and skipped; the
other volumes are still collected.
"""

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass, field

from backup.privileged import commands
from backup.privileged.client import PrivilegedError
from backup.privileged.results import Pool as PoolResult
from backup.volumes.status import usage_of

from . import diskstats, rrd


class Busy(Exception):
    """Another run of the same collector still holds its lock."""


@dataclass
class Report:
    counts: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)  # sentences for the admin
    failed: bool = False
    # What collect_space read, for the space alerts that follow it:
    # account -> (total bytes, used bytes) of each mounted volume, and the pool.
    usage: dict = field(default_factory=dict)
    pool: PoolResult | None = None

    def add(self, outcome):
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def store(self, label, path, layout, timestamp, values):
        """record() one file; a failure is noted, never raised."""
        try:
            outcome = rrd.record(path, layout, timestamp, values)
        except (rrd.RecordError, OSError) as error:
            self.problems.append(f"{label}: not recorded: {error}")
            self.failed = True
            self.add("failed")
            return
        if outcome == rrd.RECREATED:
            self.problems.append(f"{label}: {path} was unreadable; recreated it")
        self.add(outcome)

    def fail(self, message):
        self.problems.append(message)
        self.failed = True

    def summary(self):
        return ", ".join(f"{count} {outcome}" for outcome, count in sorted(self.counts.items()))


@contextlib.contextmanager
def exclusive(name):
    """Holds RRD_DIRECTORY/.<name>.lock; Busy if another run has it (cron
    starts the next run even when the last one is still going)."""
    directory = rrd.directory()
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    fd = os.open(directory / f".{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another {name} is still running; this run was skipped") from None
        yield
    finally:
        os.close(fd)


def collect_space(now=None):
    """update_df_stats: used bytes and inodes of every mounted volume, and
    the pool. Two privileged calls (inventory, pool) in all."""
    timestamp = int(now if now is not None else time.time())
    report = Report()
    volumes = commands.inventory()
    try:
        pool = commands.pool()
    except PrivilegedError as error:
        pool = None
        report.fail(f"pool: not recorded: {error}")
    for volume in volumes:
        # Account names were checked where the result was parsed
        # (backup.privileged.results): safe as file names.
        account = volume["user"]
        values = {"size": volume["size_bytes"], "used": None, "inodes": None}
        point = volume["mount_point"]
        # The inventory said mounted a moment ago; checking again keeps an
        # unmount in between from recording the parent filesystem.
        usage = usage_of(point) if volume["mounted"] and os.path.ismount(point) else None
        if usage is not None:
            values.update(used=usage.used_bytes, inodes=usage.inodes_used)
            report.usage[account] = (usage.total_bytes, usage.used_bytes)
        report.store(account, rrd.space_file(account), rrd.SPACE, timestamp, values)
    if pool is not None:
        report.pool = pool
        values = {
            "size": pool["size_bytes"],
            "allocated": pool["allocated_bytes"],
            "used": pool["used_bytes"],
            "free": pool["free_bytes"],
        }
        report.store("pool", rrd.pool_file(), rrd.POOL, timestamp, values)
    return report


def _device_state_file():
    return rrd.directory() / "io" / "devices.json"


def _load_devices():
    try:
        state = json.loads(_device_state_file().read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save_devices(state):
    path = _device_state_file()
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(json.dumps(state, sort_keys=True))
    temporary.replace(path)


def collect_io(now=None):
    """rrd_waittime: disk activity of the server's physical disks and of each
    attached volume's block device. One privileged call (dmsetup.py)."""
    timestamp = int(now if now is not None else time.time())
    report = Report()
    devices = commands.block_devices()
    stats = diskstats.read()
    total = diskstats.server_total(stats, diskstats.physical_disks())
    report.store("server", rrd.server_io_file(), rrd.IO, timestamp, total.rrd_values())

    previous = _load_devices()
    current = {}
    for device in devices:
        account = device["user"]
        key = f"{device['major']}:{device['minor']}"
        found = stats.get((device["major"], device["minor"]))
        if found is None:
            continue
        current[account] = key
        values = found[1].rrd_values()
        if previous.get(account) != key:
            # Another device than last time (re-attached to another loop
            # device): its counters are not a continuation of the old ones,
            # so restart the rates instead of drawing the difference.
            values = dict.fromkeys(values) | {"inflight": values["inflight"]}
        report.store(account, rrd.io_file(account), rrd.IO, timestamp, values)
    if current != previous:
        try:
            _save_devices(current)
        except OSError as error:
            report.fail(f"could not save the device list: {error}")
    return report
