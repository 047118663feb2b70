"""How full a volume is, as df.py and snapshot-list.py report it: filled by
its backup account until the filesystem refuses more, each filesystem must
say (nearly) 100 %, so the 95 % alert can fire; on btrfs used/size of
statvfs stopped near 90 % with nothing left to write."""

import errno
import os
import subprocess

import pytest
from conftest import require_tool

from support import snapshots as snap
from support.storage import mount_point, ok

pytestmark = pytest.mark.root

MKFS_TOOL = {"ext4": "mkfs.ext4", "btrfs": "mkfs.btrfs", "xfs": "mkfs.xfs"}


def fill(entry, directory):
    """Write as the account until the filesystem says it is full."""
    chunk = os.urandom(1 << 20)
    script = (
        "import sys\n"
        "chunk = sys.stdin.buffer.read()\n"
        "n = 0\n"
        "try:\n"
        "    while True:\n"
        "        with open(f'{sys.argv[1]}/fill-{n}', 'wb') as out:\n"
        "            for _ in range(16):\n"
        "                out.write(chunk)\n"
        "        n += 1\n"
        "except OSError as error:\n"
        f"    sys.exit(0 if error.errno in ({errno.ENOSPC}, {errno.EDQUOT}) else 1)\n"
    )
    result = subprocess.run(
        ["/usr/bin/python3", "-c", script, str(directory)],
        input=chunk,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=[],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Small files still fit in what metadata has left: take that too.
    for n in range(2000):
        if snap.as_user(entry, ["/usr/bin/touch", f"{directory}/small-{n}"]).returncode:
            break


@pytest.mark.parametrize("fstype", ["btrfs", "ext4", "xfs"])
def test_a_full_volume_reports_at_least_99_percent(wrappers, fstype):
    require_tool(MKFS_TOOL[fstype])
    with snap.volume(wrappers, filesystem=fstype) as entry:
        user = entry.pw_name
        (empty,) = ok(wrappers, "df.py", user)["volumes"]
        # Empty, btrfs already can't give the owner its metadata chunks and
        # reserve (about 12 % of 1 GiB, far less of a real volume).
        assert empty["used_bytes"] < empty["size_bytes"] * 0.15
        fill(entry, mount_point(wrappers, user))
        (full,) = ok(wrappers, "df.py", user)["volumes"]
        assert full["size_bytes"] == empty["size_bytes"]
        assert full["free_bytes"] < (8 << 20), full
        assert full["used_bytes"] + full["free_bytes"] == full["size_bytes"]
        assert full["used_bytes"] >= 0.99 * full["size_bytes"], full
        if fstype == "btrfs":
            # The snapshot run reports what the files take (the base of the
            # mass-change share): less than what can no longer be written.
            listed = ok(wrappers, "snapshot-list.py", user)["volumes"][user]
            assert 0.5 * full["used_bytes"] < listed["used_bytes"] < full["used_bytes"], listed
