"""Removing what a user wrote, as that user, within a budget.

Used by rm-timemachine.py and rm-backup.py in the child that
wrapperlib.as_user dropped to the volume owner. Directories are opened
relative to their parent with O_NOFOLLOW (walk.Dir), so a symlink is at
most unlinked itself. Entries are removed while the directory is read,
each one charged to the budget: a folder of 250,000 bands loses as many
as the budget allows on every run, rather than being listed whole first
and stopping before anything was removed.
"""

import errno
import os

# Directory descriptors held at once while descending.
MAX_DEPTH = 64
# At the volume root: what rm-backup.py has taken out of the user's way and
# not yet removed; the next run removes it first. Scans never list it.
TRASH = ".backups-being-deleted"


class Nested(Exception):
    """A tree deeper than MAX_DEPTH, or another file system inside it."""


class Removal:
    """Removes trees under one budget; `removed` counts the entries gone so
    far, also when walk.Exhausted stopped it part-way."""

    def __init__(self):
        self.removed = 0

    def tree(self, parent, name, depth=0):
        """Remove directory `name` of parent (a walk.Dir) and all it holds."""
        if depth >= MAX_DEPTH:
            raise Nested(f"a folder is nested more than {MAX_DEPTH} directories deep")
        try:
            directory = parent.open_dir(name)
        except OSError as error:
            if error.errno == errno.EXDEV:
                raise Nested("another file system is mounted inside the volume") from None
            raise
        with directory:
            self._empty(directory, depth)
        os.rmdir(name, dir_fd=parent.fd)
        self.removed += 1

    def _empty(self, directory, depth):
        # Removing entries while reading a directory may make the reading
        # skip some on some file systems: read again until a pass finds none.
        while True:
            seen = 0
            with os.scandir(directory.fd) as iterator:
                for entry in iterator:
                    directory.budget.spend()
                    seen += 1
                    if entry.is_dir(follow_symlinks=False):
                        self.tree(directory, entry.name, depth + 1)
                    else:
                        os.unlink(entry.name, dir_fd=directory.fd)
                        self.removed += 1
            if not seen:
                return

    def files(self, directory, prefix):
        """Remove directory's regular files and links named prefix…."""
        with os.scandir(directory.fd) as iterator:
            for entry in iterator:
                directory.budget.spend()
                if entry.name.startswith(prefix) and not entry.is_dir(follow_symlinks=False):
                    os.unlink(entry.name, dir_fd=directory.fd)
                    self.removed += 1

    def trash(self, root):
        """Empty the volume's TRASH folder, then remove it."""
        if not root.has_dir(TRASH):
            return
        self.tree(root, TRASH)
