"""Back In Time: backintime/<host>/<user>/<profile>/<YYYYMMDD-HHMMSS-NNN>/.

A snapshot folder holding a "failed" file did not complete and is skipped;
"new_snapshot" is the one being taken (or left by an interrupted run). The
folder name is the client's local time, in a zone the server doesn't know,
so the completion time is the modification time of the files Back In Time
writes last (the rsynced backup/ folder keeps the source's times).
"""

import re

from .found import FAILED, IN_PROGRESS, Source, newest, unrecognised_child
from .walk import Malformed

FORMAT = "back_in_time"
CONTAINER = "backintime"
SNAPSHOT = re.compile(r"\d{8}-\d{6}-\d{3}")
NEW_SNAPSHOT = "new_snapshot"
FAILED_MARKER = "failed"
FINAL_FILES = ("info", "fileinfo.bz2", "takesnapshot.log.bz2", "config")
INFO = "info"
INFO_LIMIT = 64 << 10


def _machine_from_info(snapshot):
    """snapshot_machine= from the snapshot's info file, if it has one."""
    if not snapshot.has_file(INFO):
        return None
    text = snapshot.read(INFO, INFO_LIMIT).decode("utf-8", "surrogateescape")
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key == "snapshot_machine" and value:
            return value
    return None


def _profile(user, profile_name, host_name):
    with user.open_dir(profile_name) as profile:
        names = profile.subdirectories()
        snapshots = sorted((name for name in names if SNAPSHOT.fullmatch(name)), reverse=True)
        source = Source(FORMAT, profile.path, machine=host_name, backups=0)
        for name in snapshots:
            with profile.open_dir(name) as snapshot:
                if snapshot.lstat(FAILED_MARKER) is not None:
                    continue
                source.backups += 1
                if source.last_backup is None:
                    finished = [snapshot.mtime_of(final) for final in FINAL_FILES]
                    source.last_backup = newest(snapshot.mtime, *finished)
                    source.machine = _machine_from_info(snapshot) or host_name
        if snapshots and source.backups < len(snapshots):
            with profile.open_dir(snapshots[0]) as latest:
                if latest.lstat(FAILED_MARKER) is not None:
                    source.state = FAILED
        if NEW_SNAPSHOT in names:
            source.state = IN_PROGRESS
        return source


def recognise(directory):
    if directory.name != CONTAINER:
        return None
    results = []
    for host_name in directory.subdirectories():
        try:
            with directory.open_dir(host_name) as host:
                for user_name in host.subdirectories():
                    with host.open_dir(user_name) as user:
                        for profile_name in user.subdirectories():
                            try:
                                results.append(_profile(user, profile_name, host_name))
                            except (Malformed, OSError):
                                results.append(unrecognised_child(user, profile_name))
        except OSError:
            results.append(unrecognised_child(directory, host_name))
    return results
