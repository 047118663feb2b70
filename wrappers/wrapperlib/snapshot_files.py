"""Browsing a snapshot and copying from it into the live volume.

Both run as the user (wrapperlib.as_user) on descriptors opened one
component at a time with O_NOFOLLOW, bounded in entries and time. Names in
a volume are hostile bytes: they travel as refs (base64url of the raw name,
no padding), and are shown only through found.display.
"""

import base64
import binascii
import errno
import os
import re
import stat

from .discovery.found import display, iso
from .discovery.walk import DIRECTORY_FLAGS, Budget, Exhausted, Limits
from .errors import Failure, Refusal

REF = re.compile(r"[A-Za-z0-9_-]{1,400}")
MAX_COMPONENTS = 64
MAX_NAME_BYTES = 255
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
CHUNK = 1 << 20
MAX_SUFFIX = 100
# The restore folder's name, chosen by the portal (in its user's language):
# one printable name that Windows and macOS clients can open too, with room
# for a " (100)" suffix within NAME_MAX.
MAX_FOLDER_BYTES = 200
FOLDER_FORBIDDEN = set('/\\<>:"|?*')


def ref(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_path(text: str) -> list[bytes]:
    """PATH as raw names: "." (the snapshot's root) or refs joined by "/"."""
    if text == ".":
        return []
    parts = text.split("/") if isinstance(text, str) else []
    if not parts or len(parts) > MAX_COMPONENTS or not all(REF.fullmatch(p) for p in parts):
        raise Refusal("invalid path: give . or names as refs joined by /")
    names = []
    for part in parts:
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            raise Refusal("invalid path: a ref is not base64url") from None
        if ref(raw) != part:
            raise Refusal("invalid path: a ref is not in canonical form")
        if raw in (b"", b".", b"..") or b"/" in raw or b"\0" in raw or len(raw) > MAX_NAME_BYTES:
            raise Refusal("invalid path: a ref names no possible entry")
        names.append(raw)
    return names


def folder_name(text) -> str:
    """The restore folder's name: one printable name, not hidden, not an
    option, nothing a Windows or Mac client can't open."""
    if (
        not isinstance(text, str)
        or not text
        or len(text.encode("utf-8", "surrogatepass")) > MAX_FOLDER_BYTES
        or not text.isprintable()
        or FOLDER_FORBIDDEN.intersection(text)
        or text[0] in ".- "
        or text[-1] in ". "
    ):
        raise Refusal(
            "invalid folder name: give one printable name of at most"
            f' {MAX_FOLDER_BYTES} bytes, without / \\ < > : " | ? *,'
            " not starting with '.', '-' or a space, not ending with '.' or a space"
        )
    return text


def _kind(mode):
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


def _open_dirs(root, names):
    """An fd on root/names..., every component a directory opened O_NOFOLLOW."""
    fd = os.open(root, DIRECTORY_FLAGS)
    try:
        for raw in names:
            try:
                child = os.open(raw, DIRECTORY_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                    raise Refusal("that folder is not in the snapshot") from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def browse(root: str, names: list[bytes], max_entries: int, max_seconds: float) -> dict:
    """Runs as the user: one folder of the snapshot, at most max_entries."""
    budget = Budget(Limits(10 * max_entries + 1000, max_seconds))
    fd = _open_dirs(root, names)
    entries, total, truncated = [], 0, False
    try:
        with os.scandir(fd) as iterator:
            for entry in iterator:
                try:
                    budget.spend()
                except Exhausted:
                    truncated = True
                    break
                total += 1
                if len(entries) >= max_entries:
                    truncated = True
                    continue
                info = entry.stat(follow_symlinks=False)
                raw = os.fsencode(entry.name)
                entries.append(
                    {
                        "ref": ref(raw),
                        "name": display(entry.name),
                        "type": _kind(info.st_mode),
                        "size_bytes": info.st_size,
                        "modified": iso(info.st_mtime),
                    }
                )
    finally:
        os.close(fd)
    entries.sort(key=lambda item: item["name"])
    return {"entries": entries, "total": total, "truncated": truncated}


def send_file(root: str, names: list[bytes], max_bytes: int, out_fd: int) -> dict:
    """Runs as the user: write one regular file of the snapshot to out_fd,
    after a JSON line {"name", "size_bytes"}; refused (nothing written) for
    anything else or a file over max_bytes. {"sent": bytes}."""
    import json

    folder = _open_dirs(root, names[:-1])
    try:
        try:
            fd = os.open(names[-1], FILE_FLAGS, dir_fd=folder)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                raise Refusal("that file is not in the snapshot") from None
            if error.errno == errno.ELOOP:
                raise Refusal("that is a link, not a file: only files can be downloaded") from None
            raise
    finally:
        os.close(folder)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = {"dir": "a folder"}.get(_kind(info.st_mode), "a special file")
            raise Refusal(f"that is {kind}, not a file: only files can be downloaded")
        if info.st_size > max_bytes:
            raise Refusal(
                f"the file is {info.st_size} bytes, over the {max_bytes} that can be"
                " downloaded: restore it instead"
            )
        os.set_blocking(fd, True)
        header = {"name": display(os.fsdecode(names[-1])), "size_bytes": info.st_size}
        _write_all(out_fd, json.dumps(header).encode() + b"\n")
        # A read-only snapshot's file can't change; never more than it said.
        sent = 0
        while sent < info.st_size:
            chunk = os.read(fd, min(CHUNK, info.st_size - sent))
            if not chunk:
                raise Failure(f"the file ended after {sent} of {info.st_size} bytes")
            _write_all(out_fd, chunk)
            sent += len(chunk)
    finally:
        os.close(fd)
    return {"sent": sent}


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_data(source_fd, target_fd):
    copied = 0
    try:
        while True:
            # Within one btrfs this shares extents instead of copying bytes.
            done = os.copy_file_range(source_fd, target_fd, CHUNK)
            if done == 0:
                return copied
            copied += done
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
            raise
    while chunk := os.read(source_fd, CHUNK):
        os.write(target_fd, chunk)
        copied += len(chunk)
    return copied


class _Copy:
    def __init__(self, budget):
        self.budget = budget
        self.files = 0
        self.bytes = 0

    def entry(self, source_dir, name, target_dir, depth=0):
        self.budget.spend()
        info = os.stat(name, dir_fd=source_dir, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            if depth >= MAX_COMPONENTS:
                raise Failure(f"folders nested deeper than {MAX_COMPONENTS} levels")
            os.mkdir(name, 0o700, dir_fd=target_dir)
            source = os.open(name, DIRECTORY_FLAGS, dir_fd=source_dir)
            try:
                target = os.open(name, DIRECTORY_FLAGS, dir_fd=target_dir)
                try:
                    self.children(source, target, depth + 1)
                    os.chmod(target, stat.S_IMODE(info.st_mode) | 0o700)
                    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
                finally:
                    os.close(target)
            finally:
                os.close(source)
        elif stat.S_ISREG(info.st_mode):
            source = os.open(name, FILE_FLAGS, dir_fd=source_dir)
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                target = os.open(name, flags, 0o600, dir_fd=target_dir)
                try:
                    self.bytes += _copy_data(source, target)
                    os.chmod(target, stat.S_IMODE(info.st_mode) & 0o777)
                    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
                finally:
                    os.close(target)
            finally:
                os.close(source)
            self.files += 1
        elif stat.S_ISLNK(info.st_mode):
            # Recreated as it was, never followed.
            os.symlink(os.readlink(name, dir_fd=source_dir), name, dir_fd=target_dir)
            self.files += 1
        # Devices, FIFOs and sockets are not backups' content: skipped.

    def children(self, source, target, depth):
        with os.scandir(source) as iterator:
            names = [os.fsencode(entry.name) for entry in iterator]
        for name in names:
            self.entry(source, name, target, depth)


def _new_folder(volume_fd, base):
    for number in range(1, MAX_SUFFIX + 1):
        name = base if number == 1 else f"{base} ({number})"
        try:
            os.mkdir(name, 0o700, dir_fd=volume_fd)
            return name
        except FileExistsError:
            continue
    raise Failure(f"{MAX_SUFFIX} folders named {base!r} exist already; remove some first")


def restore(
    snapshot_root: str,
    names: list[bytes],
    volume_root: str,
    folder: str,
    max_entries: int,
    max_seconds: float,
) -> dict:
    """Runs as the user: copy names (a file or folder; [] for everything)
    from the snapshot into a new folder at the volume's top, under the same
    folders it was in (Restored …/Documents/Taxes/file.pdf: the person finds
    it where they left it), never over anything; {"restored_to", "files",
    "bytes", "stopped"}."""
    copy = _Copy(Budget(Limits(max_entries, max_seconds)))
    source = _open_dirs(snapshot_root, names[:-1])
    volume = os.open(volume_root, DIRECTORY_FLAGS)
    stopped = None
    try:
        if names:
            try:
                os.stat(names[-1], dir_fd=source, follow_symlinks=False)
            except FileNotFoundError:
                raise Refusal("that file or folder is not in the snapshot") from None
        created = _new_folder(volume, folder)
        target = os.open(created, DIRECTORY_FLAGS, dir_fd=volume)
        try:
            for raw in names[:-1]:
                # The new folder is this restore's own: nothing else there.
                os.mkdir(raw, 0o700, dir_fd=target)
                inner = os.open(raw, DIRECTORY_FLAGS, dir_fd=target)
                os.close(target)
                target = inner
            if names:
                copy.entry(source, names[-1], target)
            else:
                copy.children(source, target, 0)
        except Exhausted as stop:
            stopped = str(stop)
        finally:
            os.close(target)
    finally:
        os.close(volume)
        os.close(source)
    return {
        "restored_to": display(created),
        "files": copy.files,
        "bytes": copy.bytes,
        "stopped": stopped,
    }
