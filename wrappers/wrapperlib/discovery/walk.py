"""Bounded, no-follow reading of a user's volume.

Every directory is opened relative to its parent's descriptor with
O_NOFOLLOW, so no symlink anywhere in the volume is ever followed, whatever
the user planted. Files are opened non-blocking and must be regular files
(a FIFO or device can't stall the scan) no larger than the caller's limit.
Every directory entry read is charged to one Budget, which also carries the
wall-clock deadline; running out of either raises Exhausted, and the scan
reports what it had found so far.
"""

import collections
import errno
import os
import stat
import time

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


class Exhausted(Exception):
    """The scan's entry or time budget is spent."""


class Malformed(Exception):
    """An item has a format's markers but content that can't be trusted."""


# Named tuples, not frozen dataclasses: see found.Source.
Limits = collections.namedtuple("Limits", ("max_entries", "max_seconds"))


class Budget:
    def __init__(self, limits):
        self.entries_left = limits.max_entries
        self.seconds = limits.max_seconds
        self.deadline = time.monotonic() + limits.max_seconds

    def spend(self, entries=1):
        self.entries_left -= entries
        if self.entries_left < 0:
            raise Exhausted("too many entries")
        if time.monotonic() > self.deadline:
            raise Exhausted(f"time limit of {self.seconds} s reached")


# kind: "dir", "file", "symlink" or "other", from the entry type (no stat).
Entry = collections.namedtuple("Entry", ("name", "kind"))


def _kind(entry):
    if entry.is_symlink():
        return "symlink"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return "other"


class Dir:
    """An open directory of the volume; path is its names from the volume root."""

    def __init__(self, fd, path, budget, device=None):
        info = os.fstat(fd)
        if device is not None and info.st_dev != device:
            # Another file system mounted inside the volume is not the volume.
            os.close(fd)
            raise OSError(errno.EXDEV, "another file system", path[-1])
        self.fd = fd
        self.path = path
        self.budget = budget
        self.device = info.st_dev
        self.mtime = info.st_mtime
        self._entries = None
        # What entries() had read when a bound stopped it.
        self.partial = []

    @classmethod
    def open_root(cls, root, budget):
        return cls(os.open(root, DIRECTORY_FLAGS), (), budget)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        os.close(self.fd)

    def reopen(self, budget):
        """This directory again, charged to another budget."""
        return Dir(os.dup(self.fd), self.path, budget, self.device)

    @property
    def name(self):
        return self.path[-1] if self.path else ""

    def entries(self):
        """Every entry, read once and charged to the budget."""
        if self._entries is None:
            self.partial = []
            with os.scandir(self.fd) as iterator:
                for entry in iterator:
                    self.budget.spend()
                    self.partial.append(Entry(entry.name, _kind(entry)))
            self._entries = self.partial
        return self._entries

    def sample(self, limit):
        """lstat results of at most `limit` entries, without reading the rest."""
        results = []
        with os.scandir(self.fd) as iterator:
            for entry in iterator:
                if len(results) >= limit:
                    break
                self.budget.spend()
                try:
                    results.append(entry.stat(follow_symlinks=False))
                except FileNotFoundError:
                    continue  # removed since it was listed
        return results

    def lstat(self, name):
        """The entry's own metadata (a symlink is not followed), or None if absent."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def mtime_of(self, name):
        """The entry's own modification time, or None if it can't be read."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mtime
        except OSError:
            return None

    def subdirectories(self):
        return [entry.name for entry in self.entries() if entry.kind == "dir"]

    def has_dir(self, name):
        info = self.lstat(name)
        return info is not None and stat.S_ISDIR(info.st_mode)

    def has_file(self, name):
        info = self.lstat(name)
        return info is not None and stat.S_ISREG(info.st_mode)

    def open_dir(self, name):
        fd = os.open(name, DIRECTORY_FLAGS, dir_fd=self.fd)
        return Dir(fd, (*self.path, name), self.budget, self.device)

    def has_xattr(self, name, attribute):
        """True when the regular file `name` carries the extended attribute."""
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=self.fd)
        except OSError:
            return False
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            os.getxattr(fd, attribute)
        except OSError:
            return False
        finally:
            os.close(fd)
        return True

    def read(self, name, limit):
        """The content of a regular file of at most `limit` bytes."""
        data = self.head(name, limit + 1)
        if len(data) > limit:
            raise Malformed(f"{name} is larger than {limit} bytes")
        return data

    def head(self, name, size):
        """The first `size` bytes of a regular file."""
        try:
            fd = os.open(name, FILE_FLAGS, dir_fd=self.fd)
        except OSError as error:
            raise Malformed(f"{name}: {error.strerror}") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Malformed(f"{name} is not a regular file")
            chunks, remaining = [], size
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks)
