"""A real LVM volume group on a loop-device PV, private to one test or
benchmark, with activation off (this kernel has no device-mapper).

Everything it makes (image, loop device, PV, VG, LVs) carries a random name
and is removed afterwards, whatever happened in between.
"""

import contextlib
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30
LVM_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LVM_SUPPRESS_FD_WARNINGS": "1"}


def lvm(*argv, check=True):
    """Run an LVM command without device-mapper (--driverloaded n)."""
    command, *rest = argv
    return subprocess.run(
        [command, "--driverloaded", "n", *rest],
        capture_output=True,
        text=True,
        env=LVM_ENV,
        check=check,
    )


@dataclass
class VolumeGroup:
    name: str
    device: str

    def lv_sizes(self):
        """{LV name: size in bytes}, straight from LVM."""
        report = lvm("lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_name,lv_size",
                     self.name).stdout  # fmt: skip
        return {name: int(size) for name, size in (line.split() for line in report.splitlines())}


@contextlib.contextmanager
def loop_volume_group(size_gib=8, metadata_mib=4):
    """Yield a VolumeGroup on a sparse image of size_gib GiB."""
    workdir = Path(tempfile.mkdtemp(prefix="bmtest-lvm-", dir="/var/tmp"))
    image = workdir / "pv.img"
    name = f"bmtvg{secrets.token_hex(4)}"
    device = None
    created = False
    try:
        with open(image, "wb") as handle:
            handle.truncate(size_gib * GIB)
        device = subprocess.run(
            ["losetup", "--find", "--show", str(image)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        lvm("pvcreate", "-y", "--metadatasize", f"{metadata_mib}m", device)
        lvm("vgcreate", name, device)
        created = True
        yield VolumeGroup(name=name, device=device)
    finally:
        if created:
            lvm("vgremove", "-ff", "-y", name, check=False)
        if device:
            lvm("pvremove", "-ff", "-y", device, check=False)
            subprocess.run(["losetup", "--detach", device], capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
