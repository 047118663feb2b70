"""Time Machine over a network: <Mac>.sparsebundle or <Mac>.backupbundle.

Completed backups come from com.apple.TimeMachine.SnapshotHistory.plist
("Snapshots", each with a completion date). Without it, the bundle's last
activity is estimated from bands/ WITHOUT reading every band (a 2 TB bundle
has hundreds of thousands): the directory's own modification time, which
changes whenever a band is added or removed, and a small sample of bands.
"""

import datetime
import re

from .found import FAILED, Source, load_plist, naive_utc, newest
from .walk import Malformed

FORMAT = "time_machine"
BUNDLE_NAME = re.compile(r"(.+)\.(?:sparsebundle|backupbundle)", re.DOTALL)
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
BAND_SAMPLE = 64


def _machine(bundle_name):
    name = BUNDLE_NAME.fullmatch(bundle_name)[1]
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
        if isinstance(finished, datetime.datetime):
            completed.append(naive_utc(finished))
    return completed


def _band_activity(bundle):
    if not bundle.has_dir("bands"):
        return None
    with bundle.open_dir("bands") as bands:
        sampled = [info.st_mtime for info in bands.sample(BAND_SAMPLE)]
        return newest(bands.mtime, *sampled)


def recognise(directory):
    if not BUNDLE_NAME.fullmatch(directory.name):
        return None
    load_plist(directory, INFO, PLIST_LIMIT)  # every disk image bundle has one
    source = Source(FORMAT, directory.path, machine=_machine(directory.name))
    if directory.lstat(MACHINE_ID) is not None:
        machine_id = load_plist(directory, MACHINE_ID, PLIST_LIMIT)
        if machine_id.get("VerificationState") == VERIFICATION_FAILED:
            source.state = FAILED
    if directory.lstat(HISTORY) is not None:
        completed = _completions(load_plist(directory, HISTORY, PLIST_LIMIT))
        source.backups = len(completed)
        source.last_backup = newest(*completed)
    else:
        source.last_backup = _band_activity(directory)
    return [source]
