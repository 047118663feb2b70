"""The lvm backend: one logical volume per user in VOLUME_GROUP, as in the
original system.

Inventory is one ``lvs`` call for all volumes. With LVM_ACTIVATION off (only
for kernels without device-mapper, such as the test machines) every command
runs with ``--driverloaded n`` and volumes are created inactive, unzeroed and
unwiped: metadata only, nothing can be formatted or mounted.
"""

import json
import os
import re

from .. import commands, validate
from ..config import settings
from ..errors import Failure, Refusal
from . import Pool, Volume

# What LVM accepts as a VG name, and LV name parts it keeps for itself.
VG_NAME_PATTERN = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}")
RESERVED_LV_PREFIXES = ("snapshot", "pvmove")
RESERVED_LV_PARTS = (
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_imeta", "_iorig", "_mimage",
    "_mlog", "_pmspare", "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin",
    "_wcorig",
)  # fmt: skip
LV_FIELDS = "lv_name,lv_size,lv_active,lv_path"


def activation():
    return bool(settings().LVM_ACTIVATION)


def volume_group():
    name = settings().VOLUME_GROUP.removeprefix("/dev/")
    if not VG_NAME_PATTERN.fullmatch(name) or name in (".", ".."):
        raise Refusal(f"invalid VOLUME_GROUP {name!r} in the wrapper settings")
    return name


def _lvm(command, *args):
    """Run an LVM command; without activation it must not touch device-mapper."""
    argv = [command]
    if not activation():
        argv += ["--driverloaded", "n"]
    return commands.run([*argv, *args])


def _report(command, fields, *args, key):
    completed = _lvm(
        command, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields, *args
    )
    try:
        return json.loads(completed.stdout)["report"][0][key]
    except (ValueError, KeyError, IndexError):
        raise Failure(f"{command} printed a report that could not be read") from None


def _volume(row):
    device = None
    if row.get("lv_active") == "active" and os.path.exists(row["lv_path"]):
        device = row["lv_path"]
    return Volume(user=row["lv_name"], size_bytes=int(row["lv_size"]), device=device)


def _lv(user):
    return f"{volume_group()}/{user}"


def get(user):
    # The name is validated ([a-z][a-z0-9._-]*), so quoting it is enough for
    # LVM's selection syntax.
    rows = _report("lvs", LV_FIELDS, "-S", f'lv_name="{user}"', volume_group(), key="lv")
    return _volume(rows[0]) if rows else None


def list_all():
    rows = _report("lvs", LV_FIELDS, volume_group(), key="lv")
    volumes = [_volume(row) for row in rows if validate.USERNAME_PATTERN.fullmatch(row["lv_name"])]
    return sorted(volumes, key=lambda volume: volume.user)


def pool():
    rows = _report("vgs", "vg_name,vg_size,vg_free,lv_count", volume_group(), key="vg")
    if not rows:
        raise Failure(f"volume group {volume_group()} not found")
    row = rows[0]
    size, free = int(row["vg_size"]), int(row["vg_free"])
    # LVs are fully allocated up front: what is allocated is used.
    return Pool(
        backend="lvm",
        name=row["vg_name"],
        size_bytes=size,
        allocated_bytes=size - free,
        used_bytes=size - free,
        free_bytes=free,
        volume_count=int(row["lv_count"]),
    )


def _check_lv_name(user):
    if user.startswith(RESERVED_LV_PREFIXES) or any(part in user for part in RESERVED_LV_PARTS):
        raise Refusal(f"{user} can't be a logical volume name (LVM reserves part of it)")


def create(user, gib):
    _check_lv_name(user)
    options = ["-y", "-L", f"{gib}g", "-n", user]
    if activation():
        # Old signatures at the reused extents must not pass for a filesystem.
        options += ["-ay", "-Zy", "-Wy"]
    else:
        options += ["-an", "-Zn", "-Wn"]
    _lvm("lvcreate", *options, volume_group())


def extend(user, new_gib):
    # The filesystem is grown by the caller (online or offline as it can).
    _lvm("lvextend", "-L", f"{new_gib}g", _lv(user))


def remove(user):
    _lvm("lvremove", "-y", _lv(user))


def device(user, attach=False):
    volume = get(user)
    if volume is None:
        if attach:
            raise Refusal(f"{user} has no volume")
        return None
    if volume.device is not None or not attach:
        return volume.device
    if not activation():
        raise Refusal(
            "LVM activation is off in the wrapper settings (LVM_ACTIVATION = False):"
            " volumes can't be formatted or mounted on this host"
        )
    _lvm("lvchange", "-ay", _lv(user))
    activated = get(user)
    if activated is None or activated.device is None:
        raise Failure(f"{_lv(user)} did not become active")
    return activated.device


def detach(user):
    # Active LVs stay active, as in the original: nothing is held per mount.
    return False


def probe_path(user):
    return device(user, attach=activation())
