"""The primary's side of the replica: what its SSH key may run.

The replica logs in with a key whose authorized_keys line forces
``tools/snapshot-send.py`` (``restrict,command=…``, btrbk's
``ssh_filter_btrbk.sh --source --restrict-path`` model). sshd puts what the
replica asked for in SSH_ORIGINAL_COMMAND: that is the caller's argv here,
hostile like any wrapper's, split on single spaces and full-matched:

    list                          every volume's read-only snapshots
    send USER SNAPSHOT            btrfs send of one snapshot, whole
    send USER SNAPSHOT PARENT     btrfs send -p PARENT SNAPSHOT
    report                        the replica's report of its run, JSON on
                                  stdin (replica_report), stored for the portal
    checksum USER SNAPSHOT        sha256 of a sample of the snapshot's files,
                                  their paths on stdin (replica_checksums)

USER must be a managed backup account whose volume is mounted with the
snapshot layout; SNAPSHOT and PARENT must be snapshot names found in its
``snapshots/`` folder as read-only subvolumes (PARENT older than SNAPSHOT).
No path, option, shell word or other verb gets through; nothing is written
on the primary but the replica's report, checked as hostile, in root's
STATE_DIR.
"""

import os
import subprocess
import sys

from . import (
    commands,
    layout,
    replica_checksums,
    replica_report,
    snapshot_ops,
    snapshots,
    storage,
    validate,
)
from .errors import Failure, Refusal
from .replica_subvolumes import info

MAX_REQUEST_CHARS = 200


def parse(request: str | None) -> list[str]:
    """The words of the request; refused unless it is exactly one of the
    three forms (checked further by the verb)."""
    if request is None:
        raise Refusal("this key may only run list, send, checksum or report (no command was given)")
    if len(request) > MAX_REQUEST_CHARS or not request.isascii() or not request.isprintable():
        raise Refusal("the request is too long or holds control or non-ASCII characters")
    words = request.split(" ")
    if words[0] in ("list", "report") and len(words) == 1:
        return words
    if words[0] == "send" and len(words) in (3, 4):
        return words
    if words[0] == "checksum" and len(words) == 3:
        return words
    raise Refusal(
        "this key may only run 'list', 'send USER SNAPSHOT [PARENT]', "
        "'checksum USER SNAPSHOT' or 'report'"
    )


def _top(user: str) -> str:
    top = snapshot_ops.top_level(user)
    if top is None:
        raise Refusal(f"{user}'s volume has no snapshots (not a mounted btrfs volume)")
    return top


def _read_only_snapshot(top: str, name: str) -> str:
    path = snapshot_ops.path_of(top, snapshots.snapshot_name(name))
    if not info(path).read_only:
        raise Refusal(f"snapshot {name} is not read-only; only read-only snapshots are sent")
    return path


def _volume_listing(user: str) -> dict:
    top = snapshot_ops.top_level(user)
    listed = []
    if top is not None:
        for name in snapshot_ops.names(top):
            subvolume = info(os.path.join(top, layout.SNAPSHOTS, name))
            if subvolume.read_only:
                listed.append({"name": name, "uuid": subvolume.uuid})
    return {"supported": top is not None, "snapshots": listed}


def listing() -> dict:
    """{"volumes": {USER: {"supported", "snapshots": [{"name", "uuid"}…]}}},
    oldest snapshot first; a volume that can't be read is left out."""
    volumes = {}
    for volume in storage.inventory()["volumes"]:
        try:
            user = validate.managed_account(volume["user"]).pw_name
            volumes[user] = _volume_listing(user)
        except (Refusal, Failure, OSError):
            continue
    return {"taken_at": snapshots.iso(snapshots.now()), "volumes": volumes}


def send_argv(user_text: str, name: str, parent: str | None) -> list[str]:
    """The btrfs send command line for a request, after every check."""
    user = validate.managed_account(user_text).pw_name
    top = _top(user)
    path = _read_only_snapshot(top, name)
    argv = [commands.executable("btrfs"), "send", "-q", "--proto", "1"]
    if parent is not None:
        if snapshots.taken_at(snapshots.snapshot_name(parent)) >= snapshots.taken_at(name):
            raise Refusal(f"the parent {parent} is not older than {name}")
        argv += ["-p", _read_only_snapshot(top, parent)]
    return [*argv, path]


def send(user: str, name: str, parent: str | None) -> None:
    """btrfs send to our stdout (the SSH channel); stderr stays ours."""
    argv = send_argv(user, name, parent)
    sys.stdout.flush()
    completed = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=sys.stdout.fileno(),
        stderr=subprocess.PIPE,
        env=commands.CLEAN_ENV,
        close_fds=True,
        check=False,
    )
    if completed.returncode != 0:
        message = commands.last_line(completed.stderr.decode("utf-8", "replace"))
        raise Failure(f"btrfs send failed: {message}")


def receive_report(stream) -> dict:
    """The replica's report from stream (the SSH channel), read to at most
    one byte over the bound, checked, then stored; nothing is stored when
    any of it is refused."""
    report = replica_report.parse(stream.read(replica_report.MAX_REPORT_BYTES + 1))
    replica_report.store(report)
    return {"stored": True, "volumes": len(report["volumes"])}


def checksums(user_text: str, name: str, stream) -> dict:
    """sha256 of the files named on stream in USER's read-only snapshot."""
    account = validate.managed_account(user_text)
    root = _read_only_snapshot(_top(account.pw_name), name)
    paths = replica_checksums.parse_paths(stream.read(replica_checksums.MAX_REQUEST_BYTES + 1))
    files = replica_checksums.checksums(account, root, paths)
    return {"user": account.pw_name, "snapshot": name, "files": files}


def serve(request: str | None) -> dict | None:
    """Carry out one request: the listing (JSON), a stream on stdout, or
    the replica's report stored."""
    words = parse(request)
    if words[0] == "list":
        return listing()
    if words[0] == "report":
        return receive_report(sys.stdin.buffer)
    if words[0] == "checksum":
        return checksums(words[1], words[2], sys.stdin.buffer)
    user, name, *parent = words[1:]
    send(user, name, parent[0] if parent else None)
    return None
