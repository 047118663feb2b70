"""The loopfile backend: one sparse image file per user in LOOPFILE_POOL.

The loop device is an implementation detail: attached when the volume is
formatted, mounted or grown, released again when it is unmounted or
removed. Which loop device holds an image is read from sysfs, without
running anything.
"""

import contextlib
import os
import stat

from .. import commands, crashsafe, paths, validate
from ..config import settings
from ..errors import Failure, Refusal
from . import GIB, Pool, Volume, in_use

SYS_BLOCK = "/sys/block"
IMAGE_SUFFIX = ".img"


def _attached_loops():
    """{backing file: [/dev/loopN, ...]} for every attached loop device."""
    found = {}
    for entry in os.scandir(SYS_BLOCK):
        if not entry.name.startswith("loop"):
            continue
        try:
            with open(os.path.join(entry.path, "loop", "backing_file"), encoding="utf-8") as f:
                backing = f.read().rstrip("\n")
        except (FileNotFoundError, NotADirectoryError):
            continue  # a loop device with nothing attached
        found.setdefault(backing, []).append(f"/dev/{entry.name}")
    for devices in found.values():
        devices.sort()
    return found


def _loops_of(image, loops=None):
    return (loops if loops is not None else _attached_loops()).get(os.fspath(image), [])


def get(user):
    image = paths.loopfile_image(user)
    try:
        info = os.lstat(image)
    except FileNotFoundError:
        return None
    loops = _loops_of(image)
    return Volume(user=user, size_bytes=info.st_size, device=loops[0] if loops else None)


def _images():
    """(user, lstat result) for every image in the pool."""
    pool = paths.loopfile_pool()
    for entry in os.scandir(pool):
        user = entry.name.removesuffix(IMAGE_SUFFIX)
        if user == entry.name or not validate.USERNAME_PATTERN.fullmatch(user):
            continue
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISREG(info.st_mode):
            yield user, info


def list_all():
    pool = paths.loopfile_pool()
    loops = _attached_loops()
    volumes = []
    for user, info in sorted(_images()):
        devices = _loops_of(os.path.join(pool, f"{user}{IMAGE_SUFFIX}"), loops)
        volumes.append(
            Volume(user=user, size_bytes=info.st_size, device=devices[0] if devices else None)
        )
    return volumes


def pool():
    """Free space never promises more than the pool filesystem can hold:
    the images are sparse, so what they may still write is set aside."""
    directory = paths.loopfile_pool()
    fs = os.statvfs(directory)
    configured = settings().LOOPFILE_POOL_SIZE_GIB
    size = configured * GIB if configured is not None else fs.f_blocks * fs.f_frsize
    allocated = used = count = 0
    for _, info in _images():
        allocated += info.st_size
        used += min(info.st_blocks * 512, info.st_size)
        count += 1
    can_still_hold = fs.f_bavail * fs.f_frsize - (allocated - used)
    return Pool(
        backend="loopfile",
        name=str(directory),
        size_bytes=size,
        allocated_bytes=allocated,
        used_bytes=used,
        free_bytes=max(0, min(size - allocated, can_still_hold)),
        volume_count=count,
    )


def create(user, gib):
    """The image appears whole or not at all: sized under a temporary name
    in the pool (root's alone), then linked to its name, which never
    replaces anything; a temporary left by a stopped run is replaced."""
    image = paths.loopfile_image(user)
    if os.path.lexists(image):
        raise Refusal(f"{user} already has a volume")
    temporary = image.with_name(f".{image.name}.new")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)
    crashsafe.step()
    fd = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
    )
    try:
        os.ftruncate(fd, gib * GIB)
    except OSError as error:
        os.unlink(temporary)
        raise Failure(f"cannot size {image}: {error.strerror}") from None
    finally:
        os.close(fd)
    crashsafe.step()
    try:
        os.link(temporary, image, follow_symlinks=False)
    except FileExistsError:
        raise Refusal(f"{user} already has a volume") from None
    finally:
        os.unlink(temporary)


def extend(user, new_gib):
    image = paths.loopfile_image(user)
    fd = os.open(image, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Failure(f"{image} is not a regular file")
        os.ftruncate(fd, new_gib * GIB)
    finally:
        os.close(fd)
    for device in _loops_of(image):
        # The attached loop device keeps its old size until told.
        commands.run(["losetup", "--set-capacity", device])


def remove(user):
    image = paths.loopfile_image(user)
    detach(user)
    os.unlink(image)


def device(user, attach=False):
    image = paths.loopfile_image(user)
    loops = _loops_of(image)
    if loops:
        return loops[0]
    if not attach:
        return None
    if not os.path.lexists(image):
        raise Refusal(f"{user} has no volume")
    completed = commands.run(["losetup", "--find", "--show", os.fspath(image)])
    attached = completed.stdout.strip()
    if not attached.startswith("/dev/loop"):
        raise Failure(f"losetup gave no loop device for {image}")
    return attached


def detach(user):
    image = paths.loopfile_image(user)
    loops = _loops_of(image)
    for loop in loops:
        # Detaching a mounted loop device would only defer it; never do that.
        if in_use(loop):
            raise Failure(f"{loop} is still in use; it was not released")
        commands.run(["losetup", "--detach", loop])
    return bool(loops)


def probe_path(user):
    # blkid reads a signature from the image file as well as from its loop
    # device, so checking needs no attach.
    image = paths.loopfile_image(user)
    return os.fspath(image) if os.path.lexists(image) else None
