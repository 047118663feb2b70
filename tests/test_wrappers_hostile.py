"""Hostile input for every wrapper: each case exits 2 with one stderr line
("<name>: refused: <why>") and a snapshot of the host before and after
(session accounts' passwd/shadow/group lines, files under the install base,
loop devices, mounts, Samba passdb entries) shows nothing changed.

The wrappers are parametrized from the directory listing, so a new wrapper
is covered as soon as it exists, and GRAMMAR must say what it takes (a
wrapper missing from the table fails test_every_wrapper_has_a_grammar).
"""

import os
import plistlib
import pwd
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support import accounts

pytestmark = pytest.mark.root

WRAPPERS_DIR = Path(__file__).resolve().parent.parent / "wrappers"
PRESENT = sorted(
    path.name for path in WRAPPERS_DIR.glob("*.py") if path.name != "wrappers_settings.py"
)

# Each wrapper's positional arguments: USER (an existing backup account),
# NEW_USER (a name useradd.py will create), USER? (optional USER), SIZE,
# FORMAT and PATH (a backup source as fetch_backups.py reports it, or for
# the snapshot wrappers a path in a snapshot, as refs), SNAPSHOT (a
# snapshot's name).
GRAMMAR = {
    "useradd.py": ("NEW_USER",),
    "deluser.py": ("USER",),
    "chpasswd.py": ("USER",),
    "smbpasswd.py": ("USER",),
    "lvcreate.py": ("USER", "SIZE"),
    "lvextend.py": ("USER", "SIZE"),
    "lvremove.py": ("USER",),
    "lvdisplay.py": ("USER?",),
    "vgdisplay.py": (),
    "mkfs-ext4.py": ("USER",),
    "mkfs-btrfs.py": ("USER",),
    "mkfs-xfs.py": ("USER",),
    "resize2fs.py": ("USER",),
    "mkdir.py": ("USER",),
    "rmdir.py": ("USER",),
    "mount.py": ("USER?",),
    "umount.py": ("USER",),
    "chown.py": ("USER",),
    "chmod.py": ("USER",),
    "setfacl.py": ("USER",),
    "df.py": ("USER?",),
    "dmsetup.py": (),
    "wrapper-settings.py": (),
    "replica-status.py": (),
    "rm-timemachine.py": ("USER",),
    "rm-backup.py": ("USER", "FORMAT", "PATH"),
    "defragment-btrfs.py": ("USER",),
    "scrub-btrfs.py": ("USER",),
    "fetch_backups.py": ("USER?",),
    "snapshot-create.py": ("USER?",),
    "snapshot-list.py": ("USER?",),
    "snapshot-prune.py": ("USER",),
    "snapshot-rollback.py": ("USER", "SNAPSHOT"),
    "snapshot-browse.py": ("USER", "SNAPSHOT", "PATH"),
    "snapshot-read.py": ("USER", "SNAPSHOT", "PATH"),
    "suspend.py": ("USER",),
    "resume.py": ("USER",),
    "snapshot-restore.py": ("USER", "SNAPSHOT", "PATH", "FOLDER?"),
}
READS_PASSWORD = {"chpasswd.py", "smbpasswd.py"}
READS_USER_DATA = ("rm-timemachine.py", "fetch_backups.py", "rm-backup.py")
VALID_PASSWORD = b"Valid-Passw0rd\n"
VALID_SNAPSHOT = "@GMT-2026.01.01-00.00.00"
USER_SLOTS = ("USER", "NEW_USER", "USER?")
# A real source in the trap volume below (its Time Machine bundle).
SOURCE_SLOTS = {"FORMAT": "time_machine", "PATH": "real.sparsebundle"}

BAD_NAMES = {
    "path traversal": ["../x", "a/b", "..", "/etc/passwd"],
    "option-like": ["-rf", "--help", "-"],
    "uppercase": ["Alice", "aLICE"],
    # Latin a-ring, Cyrillic a, zero-width space, fullwidth a.
    "unicode": ["\u00e5lice", "\u0430lice", "alice\u200b", "\uff41lice"],
    "empty": [""],
    "overlong": ["a" * 33],
    "whitespace and shell characters": [" alice", "alice\n", "al ice", "a;id", "a$(id)"],
}
BAD_SIZES = [
    "-1",
    "0",
    "00",
    "01",
    "1.5",
    "1e3",
    "0x10",
    "+1",
    " 1",
    "1\n",
    "abc",
    "",
    "\u0663",  # Arabic-Indic three: a digit to str.isdigit, not to the wrappers
    "\uff11",  # fullwidth one
    "1_0",
    "9999999",
    "99999999999999999999",
]
BAD_SNAPSHOTS = [
    "",
    ".",
    "..",
    "../data",
    "@GMT-2026.01.01-00.00.00/..",
    "@GMT-2026.01.01-00.00.00/",
    "/@GMT-2026.01.01-00.00.00",
    "@GMT-2026.01.01-00.00.00\n",
    " @GMT-2026.01.01-00.00.00",
    "@GMT-2026.13.01-00.00.00",  # no month 13
    "@GMT-2026.02.30-00.00.00",
    "@GMT-2026.1.1-0.0.0",
    "@GMT-\u0662026.01.01-00.00.00",  # an Arabic-Indic digit
    "-rf",
    "snapshots",
    "data",
    "*",
]
BAD_PASSWORDS = [
    b"Passw0rd-x\nroot:owned-pw",
    b"Passw0rd-x\rroot:owned-pw",
    b"Passw0rd-x\r\n",
    b"Passw0rd-x\n\n",
    b"Passw0rd\x00-x",
    b"Passw0rd\x1b[2J",
    b"Passw0rd\xe2\x80\xa8line-separator",
    b"\xff\xfe-not-utf8",
    b"",
    b"\n",
    b"short\n",
    b"x" * 257,
    "€".encode() * 85,  # 255 bytes: over what smbpasswd can take
]


def slots(wrapper):
    return GRAMMAR.get(wrapper, ())


def with_user_slot():
    return [w for w in PRESENT if any(slot in USER_SLOTS for slot in slots(w))]


def with_size_slot():
    return [w for w in PRESENT if "SIZE" in slots(w)]


def reading_passwords():
    return [w for w in PRESENT if w in READS_PASSWORD]


def run(install, wrapper, args, stdin=b"", env=None):
    result = subprocess.run(
        [str(install.path / wrapper), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env=env or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        check=False,
    )
    return (
        result.returncode,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
    )


class Hostile:
    """The session install, a backup account to aim at, and what to snapshot."""

    def __init__(self, install, victim, outsiders):
        self.install = install
        self.victim = victim
        self.outsiders = outsiders

    def args(self, wrapper, user=None, size="1", snapshot=None):
        values = []
        for slot in slots(wrapper):
            if slot in USER_SLOTS:
                default = accounts.unique_name() if slot == "NEW_USER" else self.victim
                values.append(default if user is None else user)
            elif slot == "SNAPSHOT":
                values.append(VALID_SNAPSHOT if snapshot is None else snapshot)
            elif slot == "PATH" and wrapper.startswith("snapshot-"):
                values.append(".")
            elif slot in SOURCE_SLOTS:
                values.append(SOURCE_SLOTS[slot])
            elif slot == "FOLDER?":
                values.append("Restored from snapshot")
            else:
                values.append(size)
        return values

    def stdin(self, wrapper):
        return VALID_PASSWORD if wrapper in READS_PASSWORD else b""

    def refuses_all(self, wrapper, cases, reason):
        """Every (args, stdin) case is refused for reason; nothing changes."""
        names = [self.victim, *self.outsiders, "root", "daemon", "nobody"]
        before = accounts.host_state(self.install, names)
        problems = []
        # The cases are independent refusals: run them side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            outcomes = list(pool.map(lambda case: run(self.install, wrapper, *case), cases))
        for (args, stdin), (code, out, err) in zip(cases, outcomes, strict=True):
            lines = err.splitlines()
            if code != 2 or len(lines) != 1 or out:
                problems.append(f"{args!r} stdin={stdin[:20]!r}: exit {code}, {out!r} {err!r}")
            elif not lines[0].startswith(f"{wrapper}: refused: "):
                problems.append(f"{args!r}: not a refusal line: {lines[0]!r}")
            elif not re.search(reason, lines[0]):
                problems.append(f"{args!r}: refused for another reason: {lines[0]!r}")
        changed = accounts.changes(before, accounts.host_state(self.install, names))
        assert not problems, "\n".join(problems)
        assert not changed, "\n".join(changed)


@pytest.fixture(scope="module")
def hostile(wrappers):
    victim = accounts.create_backup_account(wrappers)
    low, high = wrappers.settings["ACCOUNT_UID_MIN"], wrappers.settings["ACCOUNT_UID_MAX"]
    try:
        with (
            accounts.outsider(uid=accounts.free_uid(low, high)) as in_range,
            accounts.outsider(group=wrappers.group, system=True) as system_member,
        ):
            yield Hostile(wrappers, victim, [in_range.pw_name, system_member.pw_name])
    finally:
        accounts.remove_backup_account(wrappers, victim)


@pytest.mark.parametrize("wrapper", PRESENT)
def test_every_wrapper_has_a_grammar(wrapper):
    assert wrapper in GRAMMAR, f"add {wrapper}'s arguments to GRAMMAR in {__file__}"


@pytest.mark.parametrize("category", BAD_NAMES)
@pytest.mark.parametrize("wrapper", with_user_slot())
def test_malformed_user_names(hostile, wrapper, category):
    cases = [
        (hostile.args(wrapper, user=name), hostile.stdin(wrapper)) for name in BAD_NAMES[category]
    ]
    hostile.refuses_all(wrapper, cases, "invalid user name")


@pytest.mark.parametrize("wrapper", with_user_slot())
def test_protected_users(hostile, wrapper):
    """root always; and an account added to PROTECTED_USERS in local settings."""
    guarded = hostile.victim
    with accounts.settings_override(hostile.install, PROTECTED_USERS=("admin1", guarded)):
        cases = [
            (hostile.args(wrapper, user=name), hostile.stdin(wrapper)) for name in ("root", guarded)
        ]
        hostile.refuses_all(wrapper, cases, "is a protected account")


@pytest.mark.parametrize("wrapper", with_user_slot())
def test_system_accounts(hostile, wrapper):
    # Refused by name (reserved) before anyone looks the account up; sshd
    # need not exist here.
    names = ["daemon", "nobody", "bin", "sshd"]
    reason = "reserved for a system or service account"
    cases = [(hostile.args(wrapper, user=name), hostile.stdin(wrapper)) for name in names]
    hostile.refuses_all(wrapper, cases, reason)


@pytest.mark.parametrize("wrapper", with_user_slot())
def test_accounts_outside_the_managed_group(hostile, wrapper):
    """One with a uid in the managed range but another group; one in the
    managed group with a system uid."""
    reason = "already exists" if wrapper == "useradd.py" else "not a backup account"
    cases = [
        (hostile.args(wrapper, user=name), hostile.stdin(wrapper)) for name in hostile.outsiders
    ]
    hostile.refuses_all(wrapper, cases, reason)


@pytest.mark.parametrize("wrapper", [w for w in with_user_slot() if w != "useradd.py"])
def test_accounts_that_do_not_exist(hostile, wrapper):
    cases = [(hostile.args(wrapper, user=accounts.unique_name("bmx")), hostile.stdin(wrapper))]
    hostile.refuses_all(wrapper, cases, "no backup account named")


@pytest.mark.parametrize("wrapper", with_size_slot())
def test_bad_sizes(hostile, wrapper):
    maximum = str(4096 + 1)  # MAX_VOLUME_GIB, as the session leaves it
    cases = [(hostile.args(wrapper, size=size), b"") for size in [*BAD_SIZES, maximum]]
    hostile.refuses_all(wrapper, cases, "invalid size|over the maximum")


@pytest.mark.parametrize("wrapper", PRESENT)
def test_extra_and_missing_arguments(hostile, wrapper):
    if wrapper not in GRAMMAR:
        pytest.skip("no grammar yet (test_every_wrapper_has_a_grammar fails)")
    valid = hostile.args(wrapper)
    required = [slot for slot in slots(wrapper) if not slot.endswith("?")]
    cases = [
        ([*valid, "extra"], hostile.stdin(wrapper)),
        ([*valid, "--", "x"], hostile.stdin(wrapper)),
    ]
    if required:
        cases += [
            (valid[: len(required) - 1], hostile.stdin(wrapper)),
            ([], hostile.stdin(wrapper)),
        ]
    hostile.refuses_all(wrapper, cases, "expected")


@pytest.mark.parametrize("wrapper", [w for w in PRESENT if "SNAPSHOT" in slots(w)])
def test_bad_snapshot_names(hostile, wrapper):
    cases = [(hostile.args(wrapper, snapshot=name), b"") for name in BAD_SNAPSHOTS]
    hostile.refuses_all(wrapper, cases, "invalid snapshot name")


@pytest.mark.parametrize("wrapper", reading_passwords())
def test_passwords_with_control_characters_or_bad_length(hostile, wrapper):
    cases = [(hostile.args(wrapper), password) for password in BAD_PASSWORDS]
    hostile.refuses_all(wrapper, cases, "password")


# Reading what users wrote: a symlink in a volume never leads out of it.


@pytest.fixture
def trap(hostile):
    """The victim's mounted volume holding symlinks to the outside: to a
    root-owned directory and file, and to a directory the user may write
    (so even the user's own rights would let a followed link do harm)."""
    install, victim = hostile.install, hostile.victim
    entry = pwd.getpwnam(victim)
    outside = install.base / f"outside-{accounts.unique_name('t')}"
    root_dir, user_dir = outside / "root-owned", outside / "users-own"
    try:
        for directory in (outside, root_dir, user_dir):
            directory.mkdir(mode=0o755)
        (root_dir / "secret").write_text("root-secret-marker\n")
        (user_dir / "precious").write_text("user-precious-marker\n")
        os.chown(user_dir, entry.pw_uid, entry.pw_gid)
        os.chown(user_dir / "precious", entry.pw_uid, entry.pw_gid)
        with accounts.tmpfs_volume(install, victim) as volume:
            links = {
                "evil.sparsebundle": root_dir,
                "secret.sparsebundle": root_dir / "secret",
                "mine.backupbundle": user_dir,
            }
            real = volume / "real.sparsebundle"
            real.mkdir()
            # A bundle the scan recognises, for rm-backup.py to delete.
            (real / "Info.plist").write_bytes(plistlib.dumps({"band-size": 8388608}))
            os.chown(real / "Info.plist", entry.pw_uid, entry.pw_gid)
            machine_id = real / "com.apple.TimeMachine.MachineID.plist"
            machine_id.write_bytes(plistlib.dumps({}))
            os.chown(machine_id, entry.pw_uid, entry.pw_gid)
            links |= {
                "real.sparsebundle/bands": user_dir,
                "real.sparsebundle/file": user_dir / "precious",
            }
            for name, target in links.items():
                (volume / name).symlink_to(target)
            for path in (real, *[volume / name for name in links]):
                os.lchown(path, entry.pw_uid, entry.pw_gid)
            yield volume, outside
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def outside_state(outside):
    return sorted(
        (str(path), path.stat().st_mode, path.read_text() if path.is_file() else None)
        for path in outside.rglob("*")
    )


@pytest.mark.parametrize("wrapper", [w for w in READS_USER_DATA if w in PRESENT])
def test_symlinks_out_of_the_volume_are_never_followed(hostile, trap, wrapper):
    volume, outside = trap
    before = outside_state(outside)
    code, out, err = run(hostile.install, wrapper, hostile.args(wrapper))
    assert code == 0, err
    assert outside_state(outside) == before
    assert "root-secret-marker" not in out
    assert "user-precious-marker" not in out
    if wrapper in ("rm-timemachine.py", "rm-backup.py"):
        # The real bundle went (its links unlinked, not followed); the links
        # named like bundles are not directories, so they stay as they are.
        assert sorted(p.name for p in volume.iterdir()) == [
            "evil.sparsebundle",
            "mine.backupbundle",
            "secret.sparsebundle",
        ]
        assert all((volume / name).is_symlink() for name in os.listdir(volume))
