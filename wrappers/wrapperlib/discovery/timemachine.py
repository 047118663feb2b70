"""Time Machine over a network: <Mac>.sparsebundle or <Mac>.backupbundle.

Completed backups come from com.apple.TimeMachine.SnapshotHistory.plist
("Snapshots", each with a completion date). Modern bundles (APFS, macOS 11
and later) have no such file: their completed backups are APFS snapshots
inside the disk image, which the server can't read without opening it.
Every attempt writes bands, completed or not (a backup that fails every
hour writes them every hour), so a band write is never called a completed
backup: the newest band write is reported as "last written, completion
unknown" ("evidence": "last_written"), and the computer's own check-in is
what says whether it completed. Modern bundles have few bands (256 MiB
each): when they fit in ALL_BANDS (and half the remaining budget), every
band is read. An old bundle with hundreds of thousands of 8 MiB bands is
dated from the folder's time (changed when a band is added or removed) and
the bands read, an estimate said so ("evidence": "bands_sample").

During the first backup the bundle carries a temporary name
(<Mac>.tmp.sparsebundle), renamed when that backup completes: such a bundle
is a backup in progress since the bundle was made (its Info.plist is
written then), not a completed one.

A bundle with none of Time Machine's marks (its MachineID or
SnapshotHistory file, or the com.apple.backupd.ComputerName stream it puts
on Info.plist, kept by Samba's streams_xattr or netatalk as an extended
attribute) is a disk image of some other kind (an encrypted data image, a Carbon Copy
Cloner image): listed as a folder, with its newest band write, never as a
Time Machine backup.
"""

import datetime
import re

from .found import (
    FAILED,
    IN_PROGRESS,
    LAST_WRITTEN,
    Source,
    Unrecognised,
    load_plist,
    naive_utc,
    newest,
    plausible,
)
from .walk import Malformed

FORMAT = "time_machine"
BUNDLE_NAME = re.compile(r"(.+)\.(?:sparsebundle|backupbundle)", re.DOTALL)
FIRST_BACKUP_NAME = re.compile(r"(.+)\.tmp\.(?:sparsebundle|backupbundle)", re.DOTALL)
# Before Mac OS X 10.6.3 the bundle name ended with the Mac's Ethernet address.
MAC_ADDRESS_SUFFIX = re.compile(r"_[0-9A-Fa-f]{12}")
INFO = "Info.plist"
MACHINE_ID = "com.apple.TimeMachine.MachineID.plist"
HISTORY = "com.apple.TimeMachine.SnapshotHistory.plist"
COMPLETION_DATE = "com.apple.backupd.SnapshotCompletionDate"
# backupd sets VerificationState 2 when verification found the backup damaged
# and the Mac asks the user to start a new one.
VERIFICATION_FAILED = 2
PLIST_LIMIT = 8 << 20
# The stream Time Machine writes on Info.plist, as Samba (vfs_streams_xattr)
# and netatalk store it.
COMPUTER_NAME_ATTRIBUTES = (
    "user.DosStream.com.apple.backupd.ComputerName:$DATA",
    "user.com.apple.backupd.ComputerName",
)
# Bands read one by one at most: a 2 TB modern bundle has about 8,000.
ALL_BANDS = 16384


def _machine(bundle_name):
    first = FIRST_BACKUP_NAME.fullmatch(bundle_name)
    name = first[1] if first else BUNDLE_NAME.fullmatch(bundle_name)[1]
    suffix = MAC_ADDRESS_SUFFIX.search(name)
    if suffix and suffix.end() == len(name):
        name = name[: suffix.start()]
    return name


def _completions(history):
    snapshots = history.get("Snapshots")
    if not isinstance(snapshots, list):
        raise Malformed(f"{HISTORY} has no Snapshots list")
    completed = []
    for snapshot in snapshots:
        if not isinstance(snapshot, dict):
            raise Malformed(f"{HISTORY} has a snapshot that is not a dictionary")
        finished = snapshot.get(COMPLETION_DATE)
        # A completion dated in the future (2099) is no completion.
        if isinstance(finished, datetime.datetime) and plausible(naive_utc(finished)):
            completed.append(naive_utc(finished))
    return completed


def _band_activity(bundle):
    """(newest change of the bands, evidence) or (None, None)."""
    if not bundle.has_dir("bands"):
        return None, None
    with bundle.open_dir("bands") as bands:
        limit = min(ALL_BANDS, bundle.budget.entries_left // 2)
        read = bands.sample(limit + 1)
        complete = len(read) <= limit
        latest = newest(*(info.st_mtime for info in read))
        if not complete:
            latest = newest(latest, bands.mtime)
    return latest, LAST_WRITTEN if complete else "bands_sample"


def _named_by_time_machine(directory):
    return any(directory.has_xattr(INFO, name) for name in COMPUTER_NAME_ATTRIBUTES)


def recognise(directory):
    if not BUNDLE_NAME.fullmatch(directory.name):
        return None
    load_plist(directory, INFO, PLIST_LIMIT)  # every disk image bundle has one
    source = Source(FORMAT, directory.path, machine=_machine(directory.name))
    if FIRST_BACKUP_NAME.fullmatch(directory.name):
        source.state = IN_PROGRESS
        source.in_progress_since = directory.mtime_of(INFO)
        return [source]
    has_history = directory.lstat(HISTORY) is not None
    if not (has_history or directory.lstat(MACHINE_ID) or _named_by_time_machine(directory)):
        written, _evidence = _band_activity(directory)
        return [Unrecognised(directory.path, directory.mtime if written is None else written)]
    if directory.lstat(MACHINE_ID) is not None:
        machine_id = load_plist(directory, MACHINE_ID, PLIST_LIMIT)
        if machine_id.get("VerificationState") == VERIFICATION_FAILED:
            source.state = FAILED
    if has_history:
        completed = _completions(load_plist(directory, HISTORY, PLIST_LIMIT))
        source.backups = len(completed)
        source.last_backup = newest(*completed)
    else:
        source.last_backup, source.evidence = _band_activity(directory)
    return [source]
