"""The replica's pull against the raw floor: ``btrfs send | btrfs receive``
on the same machine, no SSH, no checks.

    sudo .venv/bin/python bench/bench_replica.py [GIB [VOLUMES]]

Two servers as in the tests (tests/support/replica): the primary is a
private wrapper installation, the replica a second one with its own btrfs
pool, and a private sshd on a loopback port carries the pull
(tools/replica-pull.py: SSH, the forced command on the primary, the stream
checked command by command, receive under --chroot in a private directory,
the UUID check and the move into place). The floor receives the same
streams into a btrfs of the same kind (a loop-file image) by a plain pipe.

Rows: a volume holding GIB (default 1) GiB of incompressible files, sent
whole; then 1,000 small files (4 KiB) written and sent incrementally; then
a run with nothing new (what every volume costs at each pull: the listing);
then promote (a writable data from the newest copy); then VOLUMES (default
8) more volumes with one small new snapshot each, pulled one volume at a
time and four at once (REPLICA_PARALLEL_VOLUMES), the cost per volume
extrapolated to 1,000; then all VOLUMES promoted in one run (give 100 for
the issue's figure). Both sides read warm caches: the floor runs first
once, untimed. Everything is removed afterwards.
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support import replica, wrapper_install
from support import snapshots as snap
from support.storage import mount_point, ok

CHUNK = 64 << 20
SMALL_FILES = 1000
SMALL_BYTES = 4096
# The cipher the pull prefers (wrapperlib/replica_pull.py).
CIPHER = "aes128-gcm@openssh.com"


def write_files(entry, folder, count, size):
    for index in range(count):
        snap.write_as(entry, folder / f"f{index:05d}.bin", os.urandom(size))
    os.sync()


def take(primary, user, when):
    with snap.clock(primary, when):
        return ok(primary, "snapshot-create.py", user)["snapshot"]


def floor(source, parent, target):
    """Seconds for btrfs send [-p parent] source | btrfs receive target."""
    send = ["btrfs", "send", "-q", "--proto", "1"]
    send += ["-p", str(parent)] if parent else []
    start = time.monotonic()
    sender = subprocess.Popen([*send, str(source)], stdout=subprocess.PIPE)
    receiver = subprocess.run(["btrfs", "receive", "-q", str(target)], stdin=sender.stdout)
    sender.stdout.close()
    if sender.wait() or receiver.returncode:
        raise SystemExit("the raw send | receive failed")
    return time.monotonic() - start


def floor_pool(base):
    image, point = base / "floor.img", base / "floor"
    with open(image, "wb") as sparse:
        sparse.truncate(4 << 30)
    subprocess.run(["mkfs.btrfs", "-q", str(image)], check=True, capture_output=True)
    point.mkdir()
    subprocess.run(["mount", "-o", "loop", str(image), str(point)], check=True)
    return point


def pulled(two, when):
    with snap.clock(two.replica, when):
        start = time.monotonic()
        completed, status = two.pull()
        seconds = time.monotonic() - start
    if completed.returncode != 0:
        raise SystemExit(f"the pull failed: {completed.stderr} {status['volumes']}")
    return seconds, status


def row(label, size, floor_seconds, pull_seconds):
    ratio = pull_seconds / floor_seconds
    rate = f"{size / (1 << 20) / pull_seconds:8.0f} MiB/s" if size else " " * 14
    print(
        f"{label:<34} floor {floor_seconds:7.2f} s   pull {pull_seconds:7.2f} s {rate}"
        f"   pull/floor {ratio:5.2f}"
    )


def main():
    gib = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    volumes = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    primary = wrapper_install.create()
    try:
        with replica.servers(primary) as two, snap.volume(primary, gib=str(gib + 1)) as entry:
            user = entry.pw_name
            data = mount_point(primary, user)
            (data / "big").mkdir()
            os.chown(data / "big", entry.pw_uid, entry.pw_gid)
            for index in range(gib * (1 << 30) // CHUNK):
                snap.write_as(entry, data / "big" / f"chunk{index:04d}", os.urandom(CHUNK))
            os.sync()
            first = take(primary, user, "2026-03-02T00:00:00Z")
            folder = snap.snapshot_folder(primary, user)
            floors = floor_pool(primary.base)
            warm = floors / "warm"
            warm.mkdir()
            floor(folder / first, None, warm)  # warms the caches, untimed
            whole = floors / "whole"
            whole.mkdir()
            floor_whole = floor(folder / first, None, whole)
            pull_whole, _ = pulled(two, "2026-03-02T00:00:00Z")
            row(f"{gib} GiB volume, whole", gib << 30, floor_whole, pull_whole)
            start = time.monotonic()
            argv = two.ssh_argv("send", user, first, options=("-o", f"Ciphers={CIPHER}"))
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            alone = time.monotonic() - start
            print(f"{'  of which SSH alone (to /dev/null)':<34} {alone:.2f} s")

            (data / "small").mkdir()
            os.chown(data / "small", entry.pw_uid, entry.pw_gid)
            write_files(entry, data / "small", SMALL_FILES, SMALL_BYTES)
            second = take(primary, user, "2026-03-02T01:00:00Z")
            floor_small = floor(folder / second, folder / first, whole)
            pull_small, status = pulled(two, "2026-03-02T01:00:00Z")
            assert status["volumes"][user]["received"] == [second]
            row(f"{SMALL_FILES:,} small files, incremental", 0, floor_small, pull_small)

            idle, _ = pulled(two, "2026-03-02T01:30:00Z")
            print(f"{'a pull with nothing new':<34} {idle:.2f} s (listing, one volume)")
            start = time.monotonic()
            promoted = two.replica.run("tools/replica-promote.py", user)
            took = time.monotonic() - start
            if promoted.returncode != 0:
                raise SystemExit(promoted.stderr)
            print(f"{'promote one volume':<34} {took:.2f} s (writable data from the newest copy)")
            subprocess.run(["umount", str(floors)], check=False)
            many_volumes(two, volumes)
    finally:
        wrapper_install.destroy(primary)


def many_volumes(two, count):
    """count volumes with one small new snapshot each (and the big one with
    none): a whole pull, one volume at a time and four at once."""
    primary = two.primary
    with contextlib.ExitStack() as stack:
        entries = [stack.enter_context(snap.volume(primary)) for _ in range(count)]
        hour = 2
        for parallel in (None, 1, 4):
            for entry in entries:
                path = mount_point(primary, entry.pw_name) / f"new{hour}.txt"
                snap.write_as(entry, path, os.urandom(SMALL_BYTES))
            when = f"2026-03-02T{hour:02d}:00:00Z"
            with snap.clock(primary, when):
                ok(primary, "snapshot-create.py")
            overrides = {} if parallel is None else {"REPLICA_PARALLEL_VOLUMES": parallel}
            with snap.clock(two.replica, when, **overrides):
                start = time.monotonic()
                completed, status = two.pull()
                seconds = time.monotonic() - start
            if completed.returncode != 0:
                raise SystemExit(f"the pull failed: {completed.stderr}")
            copied = sum(len(volume["received"]) for volume in status["volumes"].values())
            if copied != count + 1:
                raise SystemExit(f"the pull copied {copied} snapshots, not {count + 1}")
            hour += 1
            if parallel is None:
                continue  # the first copies, whole
            per_volume = seconds / (count + 1)
            print(
                f"{count + 1} volumes, one new snapshot each, {parallel} at once:"
                f" {seconds:.2f} s, {per_volume:.2f} s a volume"
                f" (1,000 volumes: about {per_volume * 1000 / 60:.0f} min)"
            )
        # Recovery time when the primary is lost: every volume at once (the
        # big one was promoted above and is reported as already promoted).
        start = time.monotonic()
        promoted = two.replica.run("tools/replica-promote.py")
        seconds = time.monotonic() - start
        if promoted.returncode != 0:
            raise SystemExit(f"promote failed: {promoted.stderr}")
        done = len(json.loads(promoted.stdout)["promoted"])
        if done != count:
            raise SystemExit(f"promote made {done} volumes writable, not {count}")
        print(
            f"promote all {count} volumes: {seconds:.2f} s, {seconds / count:.3f} s a volume"
            f" (1,000 volumes: about {seconds / count * 1000 / 60:.1f} min)"
        )


if __name__ == "__main__":
    main()
