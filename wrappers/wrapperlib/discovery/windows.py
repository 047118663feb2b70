"""Windows: Backup and Restore file backups, system images, File History.

Folder names carry the PC's local time in a zone the server doesn't know, so
times come from the modification times the server itself recorded.
"""

import re
import stat

from .found import IN_PROGRESS, Source, newest, oldest, unrecognised_child
from .walk import Malformed

BACKUP_FORMAT = "windows_backup"
IMAGE_FORMAT = "windows_system_image"
FILE_HISTORY_FORMAT = "windows_file_history"

# <PC>/Backup Set <date>/Backup Files <date>: one "Backup Files" per run,
# and <PC>/Backup Set <date>/Catalogs/GlobalCatalog.wbcat, the set's catalog
# (Windows 7 Resource Kit, "File and Folder Backup Structure": a Catalogs
# folder in every Backup Set, one Backup Files folder per incremental run),
# which Windows rewrites when a run has written all its files. A run whose
# folder changed after its set's catalog did not complete: it is running, or
# was interrupted (and is in progress since its first file was written).
BACKUP_SET = re.compile(r"Backup Set \d{4}-\d{2}-\d{2} \d{6}")
BACKUP_FILES = re.compile(r"Backup Files \d{4}-\d{2}-\d{2} \d{6}")
CATALOGS, GLOBAL_CATALOG = "Catalogs", "GlobalCatalog.wbcat"
# Windows writes the catalog within moments of a run's last file.
CATALOG_SLACK_SECONDS = 60
# WindowsImageBackup/<PC>/Backup <date>
IMAGE_CONTAINER = "WindowsImageBackup"
IMAGE = re.compile(r"Backup \d{4}-\d{2}-\d{2} \d{6}")
IMAGE_CATALOG, GLOBAL_IMAGE_CATALOG = "Catalog", "GlobalCatalog"
# FileHistory/<user>/<PC>/Configuration and Data; the catalogs in
# Configuration are rewritten at the end of every File History cycle. A
# share chosen as the drive itself (or a folder inside one) gets
# <user>/<PC>/Configuration and Data without the FileHistory folder.
FILE_HISTORY_CONTAINER = "FileHistory"
CONFIGURATION = "Configuration"
DATA = "Data"


def _catalog_time(backup_set):
    if not backup_set.has_dir(CATALOGS):
        return None
    with backup_set.open_dir(CATALOGS) as catalogs:
        return catalogs.mtime_of(GLOBAL_CATALOG)


def _first_write(backup_set, run):
    with backup_set.open_dir(run) as files:
        return oldest(*(files.mtime_of(entry.name) for entry in files.entries()))


def recognise_backup_set(directory):
    sets = sorted(name for name in directory.subdirectories() if BACKUP_SET.fullmatch(name))
    if not sets:
        return None
    source = Source(BACKUP_FORMAT, directory.path, machine=directory.name, backups=0)
    unfinished = []
    for name in sets:
        with directory.open_dir(name) as backup_set:
            catalog = _catalog_time(backup_set)
            for run in backup_set.subdirectories():
                if not BACKUP_FILES.fullmatch(run):
                    continue
                written = backup_set.mtime_of(run)
                if catalog is None or (written or 0) > catalog + CATALOG_SLACK_SECONDS:
                    unfinished.append((written or 0, _first_write(backup_set, run) or written))
                    continue
                source.backups += 1
                source.last_backup = newest(source.last_backup, written)
    newer = [since for written, since in unfinished if written > (source.last_backup or 0)]
    if newer or not source.backups:
        source.state = IN_PROGRESS
        source.in_progress_since = oldest(*newer)
    return [source]


def _image_writes(pc, name):
    """(first write, last write, bytes) of one image folder: a handful of
    files (VHDX and XML descriptions), cheap to stat."""
    with pc.open_dir(name) as image:
        times, size = [image.mtime], 0
        for entry in image.entries():
            info = image.lstat(entry.name)
            if info is not None:
                times.append(info.st_mtime)
                if stat.S_ISREG(info.st_mode):
                    size += info.st_size
    return oldest(*times), newest(*times), size


def _image(container, pc_name):
    """The PC's images; one written after the Catalog's GlobalCatalog (which
    Windows updates when an image completes, Windows 7 Resource Kit, "System
    Image Backup Structure") is running or was interrupted."""
    with container.open_dir(pc_name) as pc:
        images = sorted(name for name in pc.subdirectories() if IMAGE.fullmatch(name))
        source = Source(IMAGE_FORMAT, pc.path, machine=pc_name, backups=0)
        catalog = None
        if pc.has_dir(IMAGE_CATALOG):
            with pc.open_dir(IMAGE_CATALOG) as catalogs:
                catalog = catalogs.mtime_of(GLOBAL_IMAGE_CATALOG)
        unfinished = []
        for name in images:
            first, last, size = _image_writes(pc, name)
            if catalog is not None and (last or 0) > catalog + CATALOG_SLACK_SECONDS:
                unfinished.append((last or 0, first))
                continue
            source.backups += 1
            if last is not None and last >= (source.last_backup or 0):
                source.last_backup, source.size_bytes = last, size
        newer = [first for last, first in unfinished if last > (source.last_backup or 0)]
        if newer or not source.backups:
            source.state = IN_PROGRESS
            source.in_progress_since = oldest(*newer)
        return source


def recognise_system_image(directory):
    if directory.name != IMAGE_CONTAINER:
        return None
    results = []
    for pc_name in directory.subdirectories():
        try:
            results.append(_image(directory, pc_name))
        except (Malformed, OSError):
            results.append(unrecognised_child(directory, pc_name))
    return results


def _file_history(user, pc_name):
    with user.open_dir(pc_name) as pc:
        if not pc.has_dir(CONFIGURATION):
            raise Malformed(f"no {CONFIGURATION} folder")
        with pc.open_dir(CONFIGURATION) as configuration:
            changed = [configuration.mtime_of(entry.name) for entry in configuration.entries()]
            last = newest(configuration.mtime, *changed)
        return Source(FILE_HISTORY_FORMAT, pc.path, machine=pc_name, last_backup=last)


def recognise_file_history(directory):
    if directory.name != FILE_HISTORY_CONTAINER:
        return None
    results = []
    for user_name in directory.subdirectories():
        try:
            with directory.open_dir(user_name) as user:
                for pc_name in user.subdirectories():
                    try:
                        results.append(_file_history(user, pc_name))
                    except (Malformed, OSError):
                        results.append(unrecognised_child(user, pc_name))
        except OSError:
            results.append(unrecognised_child(directory, user_name))
    return results


def recognise_file_history_user(directory):
    """A user's folder of File History without its FileHistory container:
    PC folders holding both Configuration and Data."""
    results = []
    for pc_name in directory.subdirectories():
        directory.budget.spend(0)  # no entry read, but the time bound holds
        try:
            with directory.open_dir(pc_name) as pc:
                if not (pc.has_dir(CONFIGURATION) and pc.has_dir(DATA)):
                    continue
        except OSError:
            continue
        try:
            source = _file_history(directory, pc_name)
        except (Malformed, OSError):
            continue
        source.owns = pc_name
        results.append(source)
    return results or None
