"""Root's file operations on paths where another account may have a hand.

The installer, the uninstaller and install-wrappers run as root over a tree
in which some directories belong to the service user (its data directory,
its log directory). A path is therefore never handed to the kernel whole:
it is walked from / one component at a time, each opened relative to its
parent's descriptor with O_NOFOLLOW, and the change is made on what was
opened (fchown, fchmod, a write to the opened file). A link planted anywhere
is refused, never followed; a link made by root in a directory only root can
change (such as /var/run -> /run) is followed, since nobody else could have
aimed it.

Every refusal is a ``Refused`` carrying one sentence that names the path.
Files with content (configuration, sudoers) are only written in directories
that root alone can change, through a temporary created exclusively beside
the target, fsynced and renamed over it. Standard library only: the
installer runs on the system Python with -I -B.
"""

import contextlib
import os
import pwd
import secrets
import shutil
import stat

ROOT = 0
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO planted where a file is expected must not hang root.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_MAX_LINKS = 40
# Stands for "group members or everyone" among the accounts that may change
# a directory.
OTHERS = "others"


class Refused(Exception):
    """A path root must not touch, said in one sentence naming it."""


def account_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def who_may_change(info):
    """The accounts besides root that may add, remove or rename entries in
    the directory (or change the file) that ``info`` describes."""
    who = set()
    if info.st_uid != ROOT:
        who.add(info.st_uid)
    # In a sticky directory (/tmp) only an entry's owner may rename or remove
    # it: a root-owned entry there stays root's.
    sticky = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky:
        who.add(OTHERS)
    return who


def _describe(who):
    names = sorted(
        "accounts other than its owner" if item == OTHERS else account_name(item) for item in who
    )
    return " and ".join(names)


def _parts(path):
    path = os.path.normpath(os.fspath(path))
    if not os.path.isabs(path):
        raise Refused(f"{path} is not an absolute path")
    return [part for part in path.split("/") if part]


def _joined(parts):
    return "/" + "/".join(parts)


def _open_directory(parts, trusted, *, create):
    """A descriptor on the directory made of ``parts``, or None when a
    component is missing and ``create`` is false.

    Each directory on the way may be changed by root and the accounts in
    ``trusted`` only; missing ones are made by root (0755) when ``create``."""
    fd = os.open("/", _DIR_FLAGS)
    done, todo, links = [], list(parts), 0
    try:
        while todo:
            name = todo.pop(0)
            here = _joined([*done, name])
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                # EEXIST: someone else made it first; the checks below judge it.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                changers = who_may_change(os.fstat(fd)) | ({info.st_uid} - {ROOT})
                if changers:
                    raise Refused(
                        f"{here} is a symbolic link that {_describe(changers)} could re-point"
                    )
                links += 1
                if links > _MAX_LINKS:
                    raise Refused(f"{here}: too many levels of symbolic links")
                target = os.readlink(name, dir_fd=fd)
                todo = _parts(os.path.join(_joined(done), target)) + todo
                os.close(fd)
                fd, done = os.open("/", _DIR_FLAGS), []
                continue
            if not stat.S_ISDIR(info.st_mode):
                raise Refused(f"{here} is not a directory")
            opened = _open_at(fd, name, _DIR_FLAGS, here)
            os.close(fd)
            fd = opened
            _same(os.fstat(fd), info, here)
            changers = who_may_change(os.fstat(fd)) - set(trusted)
            if changers:
                raise Refused(f"{here} can be changed by {_describe(changers)}, not only root")
            done.append(name)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_at(dir_fd, name, flags, shown, mode=0o600):
    try:
        return os.open(name, flags, mode, dir_fd=dir_fd)
    except OSError as error:
        # ELOOP/ENOTDIR: it became a link or something else since it was looked at.
        raise Refused(f"{shown} can't be opened safely ({error.strerror})") from None


def _same(info, expected, shown):
    if (info.st_dev, info.st_ino) != (expected.st_dev, expected.st_ino):
        raise Refused(f"{shown} was replaced while it was being checked")


@contextlib.contextmanager
def parent_of(path, trusted=(ROOT,), *, create=False):
    """(descriptor of path's directory or None when missing, path's last name)."""
    parts = _parts(path)
    if not parts:
        raise Refused("/ can't be managed")
    fd = _open_directory(parts[:-1], trusted, create=create)
    try:
        yield fd, parts[-1]
    finally:
        if fd is not None:
            os.close(fd)


def _kind_problem(path, info, kind):
    if stat.S_ISLNK(info.st_mode):
        return f"{path} is a symbolic link"
    if kind == "dir" and not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a directory"
    if kind == "file" and not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file"
    if kind == "file" and info.st_nlink > 1:
        # A hard link to another file (root's?) would be changed with it.
        return f"{path} has {info.st_nlink - 1} other hard links"
    return None


def check(path, kind, uid, trusted=(ROOT,)):
    """Refuse, changing nothing, unless path is absent or a ``kind`` ("dir"
    or "file", never a link) owned by root or ``uid``, under directories that
    only root and ``trusted`` may change. Missing parents are fine."""
    with parent_of(path, trusted) as (fd, name):
        if fd is None:
            return
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
    problem = _kind_problem(path, info, kind)
    if problem:
        raise Refused(problem)
    if info.st_uid not in (ROOT, uid):
        raise Refused(_owner_problem(path, info.st_uid, uid))


def _owner_problem(path, found, expected):
    allowed = "root" if expected == ROOT else f"{account_name(expected)} or root"
    return f"{path} is owned by {account_name(found)}, not {allowed}"


def _lstat(fd, name):
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _set_owner_mode(fd, uid, gid, mode):
    """Whether the opened object needed fchown/fchmod to be uid:gid mode."""
    info = os.fstat(fd)
    if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (uid, gid, mode):
        return False
    os.fchown(fd, uid, gid)
    # After fchown, which may clear set-id bits.
    os.fchmod(fd, mode)
    return True


def _open_checked(fd, name, path, kind, uid):
    """The existing entry opened without following it, checked like check()."""
    info = _lstat(fd, name)
    if info is None:
        return None
    problem = _kind_problem(path, info, kind)
    if problem:
        raise Refused(problem)
    if info.st_uid not in (ROOT, uid):
        raise Refused(_owner_problem(path, info.st_uid, uid))
    opened = _open_at(fd, name, _DIR_FLAGS if kind == "dir" else _FILE_FLAGS, path)
    try:
        _same(os.fstat(opened), info, path)
        if kind == "file" and os.fstat(opened).st_nlink > 1:
            raise Refused(f"{path} has other hard links")
    except BaseException:
        os.close(opened)
        raise
    return opened


def ensure_directory(path, uid, gid, mode, trusted=(ROOT,)):
    """Make path a directory uid:gid with mode: "created", "set" or None
    (it already was)."""
    with parent_of(path, trusted, create=True) as (fd, name):
        opened = _open_checked(fd, name, path, "dir", uid)
        created = opened is None
        if created:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=fd)
            opened = _open_checked(fd, name, path, "dir", ROOT)
        try:
            changed = _set_owner_mode(opened, uid, gid, mode)
        finally:
            os.close(opened)
    return "created" if created else ("set" if changed else None)


def ensure_file(path, uid, gid, mode, trusted=(ROOT,)):
    """Make path a file uid:gid with mode, empty when it must be created:
    "created", "set" or None. Made with O_EXCL, so nothing at its name is
    ever written through."""
    with parent_of(path, trusted, create=True) as (fd, name):
        opened = _open_checked(fd, name, path, "file", uid)
        created = opened is None
        if created:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            opened = _open_at(fd, name, flags, path)
        try:
            changed = _set_owner_mode(opened, uid, gid, mode)
        finally:
            os.close(opened)
    return "created" if created else ("set" if changed else None)


def read_file(path, trusted=(ROOT,)):
    """path's bytes, or None when it is missing; never through a link."""
    with parent_of(path, trusted) as (fd, name):
        if fd is None:
            return None
        opened = _open_checked(fd, name, path, "file", _lstat_uid(fd, name))
        if opened is None:
            return None
        with os.fdopen(opened, "rb") as file:
            return file.read()


def _lstat_uid(fd, name):
    info = _lstat(fd, name)
    return info.st_uid if info else ROOT


def owner_mode(path, trusted=(ROOT,)):
    """(uid, gid, mode) of path, not following it, or None when missing."""
    with parent_of(path, trusted) as (fd, name):
        info = _lstat(fd, name) if fd is not None else None
    if info is None:
        return None
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def write_file(path, data, uid, gid, mode, *, keep_existing=False, verify=None, trusted=(ROOT,)):
    """Give path exactly ``data``, owned uid:gid with mode: "wrote", "updated",
    "set" or None. Only in a directory root alone can change (the ones
    above it: root's and ``trusted``'s): the temporary is created there with
    O_EXCL under a fresh dotted name (which sudo and most config readers
    skip), fsynced, checked by ``verify(temporary path)`` if given (which
    raises to refuse it), then renamed over the target."""
    with parent_of(path, trusted, create=True) as (fd, name):
        changers = who_may_change(os.fstat(fd))
        if changers:
            shown = os.path.dirname(os.path.normpath(path))
            raise Refused(f"{shown} can be changed by {_describe(changers)}, not only root")
        opened = _open_checked(fd, name, path, "file", uid)
        current = None
        if opened is not None:
            with os.fdopen(opened, "rb") as file:
                current = file.read()
                if current == data or keep_existing:
                    return "set" if _set_owner_mode(file.fileno(), uid, gid, mode) else None
        temporary = f".{name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        written = _open_at(fd, temporary, flags, path)
        try:
            with os.fdopen(written, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
                os.fchown(file.fileno(), uid, gid)
                os.fchmod(file.fileno(), mode)
            if verify is not None:
                verify(os.path.join(os.path.dirname(os.path.normpath(path)), temporary))
            os.rename(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=fd)
            raise
        os.fsync(fd)
    return "wrote" if current is None else "updated"


def remove(path, trusted=(ROOT,)):
    """Remove path (a whole directory tree, a file, or a link itself, never
    what a link leads to): whether something was there."""
    with parent_of(path, trusted) as (fd, name):
        if fd is None:
            return False
        info = _lstat(fd, name)
        if info is None:
            return False
        if stat.S_ISDIR(info.st_mode):
            # rmtree with dir_fd walks by descriptor and never follows links.
            shutil.rmtree(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
        return True


def remove_if_empty(path, trusted=(ROOT,)):
    """Remove the directory path if it is empty: "removed", "kept" (it holds
    something) or None (missing)."""
    with parent_of(path, trusted) as (fd, name):
        if fd is None or _lstat(fd, name) is None:
            return None
        try:
            os.rmdir(name, dir_fd=fd)
        except OSError:
            return "kept"
        return "removed"


def entries(path, trusted=(ROOT,)):
    """The names in directory path (opened without following it), or None."""
    with parent_of(path, trusted) as (fd, name):
        if fd is None or _lstat(fd, name) is None:
            return None
        opened = _open_at(fd, name, _DIR_FLAGS, path)
        try:
            return sorted(os.listdir(opened))
        finally:
            os.close(opened)


def check_tree(path):
    """Refuse unless everything below the directory path (if it exists) is
    root's and no link: a tree root fills and then trusts, as the wrappers'."""
    with parent_of(path) as (fd, name):
        if fd is None or _lstat(fd, name) is None:
            return
        opened = _open_checked(fd, name, path, "dir", ROOT)
    try:
        _check_below(opened, os.path.normpath(path))
    finally:
        os.close(opened)


def _check_below(fd, shown):
    with os.scandir(fd) as listing:
        found = [(entry.name, entry.stat(follow_symlinks=False)) for entry in listing]
    for name, info in found:
        here = f"{shown}/{name}"
        if stat.S_ISLNK(info.st_mode):
            raise Refused(f"{here} is a symbolic link")
        if who_may_change(info):
            raise Refused(f"{here} can be changed by {_describe(who_may_change(info))}")
        if stat.S_ISDIR(info.st_mode):
            child = _open_at(fd, name, _DIR_FLAGS, here)
            try:
                _same(os.fstat(child), info, here)
                _check_below(child, here)
            finally:
                os.close(child)
