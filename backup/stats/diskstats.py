"""Disk activity counters from /proc/diskstats (readable by anyone).

The kernel counts sectors of 512 bytes whatever the device's own sector
size (the original took them for kilobytes), and times in milliseconds.
"""

import os
from dataclasses import astuple, dataclass
from pathlib import Path

SECTOR_BYTES = 512
DISKSTATS = Path("/proc/diskstats")
SYS_BLOCK = Path("/sys/block")


@dataclass(frozen=True)
class Counters:
    reads: int = 0
    read_sectors: int = 0
    read_ms: int = 0
    writes: int = 0
    written_sectors: int = 0
    write_ms: int = 0
    in_flight: int = 0
    queue_ms: int = 0  # weighted: each millisecond counted once per request waiting

    def __add__(self, other):
        return Counters(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def rrd_values(self):
        """The values of the IO layout (backup.stats.rrd.IO)."""
        return {
            "read": self.read_sectors * SECTOR_BYTES,
            "written": self.written_sectors * SECTOR_BYTES,
            "ios": self.reads + self.writes,
            "io_ms": self.read_ms + self.write_ms,
            "queue_ms": self.queue_ms,
            "inflight": self.in_flight,
        }


def parse(text):
    """{(major, minor): (name, Counters)} from the text of /proc/diskstats."""
    devices = {}
    for line in text.splitlines():
        fields = line.split()
        # major minor name, then at least the 11 fields every kernel since
        # 2.6 has (newer ones append discard and flush counters).
        if len(fields) < 14:
            continue
        try:
            numbers = [int(field) for field in fields[3:14]]
            major, minor = int(fields[0]), int(fields[1])
        except ValueError:
            continue
        reads, _, read_sectors, read_ms, writes, _, written, write_ms, flight, _, queue = numbers
        devices[(major, minor)] = (
            fields[2],
            Counters(reads, read_sectors, read_ms, writes, written, write_ms, flight, queue),
        )
    return devices


def read():
    return parse(DISKSTATS.read_text())


def physical_disks(sys_block=SYS_BLOCK):
    """Names of the whole disks backed by hardware (or a hypervisor's disk):
    loop, device-mapper, md, zram and ram devices live under
    /sys/devices/virtual and sit on top of these, and partitions are not in
    /sys/block, so summing these counts every byte once."""
    try:
        entries = list(os.scandir(sys_block))
    except OSError:
        return set()
    return {
        entry.name for entry in entries if "/devices/virtual/" not in os.path.realpath(entry.path)
    }


def server_total(devices, disks):
    """The counters of the named disks added up (zeros when there are none)."""
    total = Counters()
    for name, counters in devices.values():
        if name in disks:
            total = total + counters
    return total
