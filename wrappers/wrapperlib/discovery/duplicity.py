"""duplicity and Déjà Dup: volumes, signatures and manifests named by time.

duplicity writes a set's manifest after its last volume, so the manifests
are the completed backups: duplicity-full.<time>.manifest and
duplicity-inc.<from>.to.<time>.manifest (".gpg" when encrypted), times in
UTC. Volumes newer than the newest manifest belong to a backup that is
running or was interrupted. An unencrypted manifest starts with the client's
host name.
"""

import re

from .found import IN_PROGRESS, Source, parse_compact_utc, plausible

FORMAT = "duplicity"
FILE_PREFIX = "duplicity-"
_TIME = r"(\d{8}T\d{6}Z)"
_SET = rf"duplicity-(?:full\.{_TIME}|inc\.{_TIME}\.to\.{_TIME})"
MANIFEST = re.compile(rf"{_SET}\.manifest(\.gpg)?")
VOLUME = re.compile(rf"{_SET}\.vol\d+\.difftar(?:\.[a-z0-9]+)*")
HOSTNAME_LINE = re.compile(rb"Hostname ([^\r\n]+)")
MANIFEST_HEAD = 4096


def _set_time(match):
    return parse_compact_utc(match[1] or match[3])


def _machine(directory, manifest_name):
    first_line = HOSTNAME_LINE.match(directory.head(manifest_name, MANIFEST_HEAD))
    return first_line[1].decode("utf-8", "surrogateescape") if first_line else None


def recognise(directory):
    manifests, volume_times = {}, []
    for entry in directory.entries():
        if entry.kind != "file" or not entry.name.startswith(FILE_PREFIX):
            continue
        match = MANIFEST.fullmatch(entry.name)
        if match and plausible(_set_time(match)) is not None:
            manifests[_set_time(match)] = (entry.name, match[4] is None)
            continue
        match = VOLUME.fullmatch(entry.name)
        if match and _set_time(match) is not None:
            volume_times.append(_set_time(match))
    if not manifests and not volume_times:
        return None
    source = Source(FORMAT, directory.path, backups=len(manifests), owns=FILE_PREFIX)
    if manifests:
        source.last_backup = max(manifests)
        name, plain = manifests[source.last_backup]
        if plain:
            source.machine = _machine(directory, name)
    if any(when > (source.last_backup or 0) for when in volume_times):
        source.state = IN_PROGRESS
    return [source]
