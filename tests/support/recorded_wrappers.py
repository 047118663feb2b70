"""Stand-ins for wrappers that answer with recorded outputs, so the portal's
side (the real privileged client included) can be tested against an agreed
interface: each stand-in logs its argv and prints the recorded answer, or
refuses or fails the way the wrapper contract says.

Every recorded output is parsed, when it is recorded, by the portal's own
parser for that wrapper (backup.privileged.results), the one that
tests/test_wrapper_contract.py runs against the real wrappers: a
hand-written output the real wrapper could not print fails there, saying
which field is wrong. ``malformed=True`` records one on purpose."""

import json
import os
from pathlib import Path

from backup.privileged import results

# wrapper: (parser without arguments, parser with USER...), as commands.py
# pairs them; None where the portal never calls that form.
PARSERS = {
    "lvdisplay.py": (results.inventory, results.one_volume),
    "vgdisplay.py": (results.pool, None),
    "useradd.py": (None, results.account_created),
    "lvcreate.py": (None, results.volume_created),
    "lvextend.py": (None, results.volume_extended),
    "mkfs-ext4.py": (None, results.formatted),
    "mkfs-btrfs.py": (None, results.formatted),
    "mkfs-xfs.py": (None, results.formatted),
    "mkdir.py": (None, results.mount_point_made),
    "mount.py": (None, results.mounted),
    "umount.py": (None, results.unmounted),
    "resume.py": (None, results.resumed),
    "dmsetup.py": (results.block_devices, None),
    "wrapper-settings.py": (results.wrapper_settings, None),
    "rm-timemachine.py": (None, results.time_machine_removed),
    "rm-backup.py": (None, results.backup_removed),
    "defragment-btrfs.py": (None, results.defragmented),
    "scrub-btrfs.py": (None, results.scrubbed),
    "fetch_backups.py": (results.all_backup_reports, results.backup_report),
    "snapshot-create.py": (results.snapshot_run, results.one_snapshot),
    "snapshot-list.py": (results.snapshot_listings, results.snapshot_listings),
    "snapshot-prune.py": (None, results.pruned),
    "snapshot-rollback.py": (None, results.rolled_back),
    "snapshot-browse.py": (None, results.snapshot_folder),
    "snapshot-restore.py": (None, results.restored),
    **dict.fromkeys(
        ("deluser.py", "chpasswd.py", "smbpasswd.py", "lvremove.py", "rmdir.py",
         "chown.py", "chmod.py", "setfacl.py", "suspend.py"),
        (None, results.user_result),
    ),
}  # fmt: skip


def parse_recorded(command, stdout):
    """The recorded output of ``command`` ("name.py ARG…" or "name.py", the
    latter standing in for every argv) parsed as the portal parses the
    wrapper's; raises the client's Failed naming the wrong field."""
    name, *args = command.split(" ")
    without, with_user = PARSERS[name]
    parser = with_user if args or without is None else without
    return results.parse(name, stdout, parser)


def acknowledged(command):
    """What a state-changing wrapper prints when it did what was asked
    ("umount.py USER": also that something was mounted)."""
    name, user = command.split(" ")
    return {"user": user, "was_mounted": True} if name == "umount.py" else {"user": user}


STAND_IN = """#!/usr/bin/python3
import json, pathlib, sys
here = pathlib.Path(__file__).resolve().parent
name = pathlib.Path(__file__).name
argv = sys.argv[1:]
with open(here / "calls.log", "a") as log:
    log.write(json.dumps([name, *argv]) + "\\n")
answers = json.loads((here / "answers.json").read_text())
answer = answers.get(" ".join([name, *argv]), answers.get(name))
if answer is None:
    sys.stderr.write(f"{name}: refused: no recorded answer for {argv}\\n")
    sys.exit(2)
if "refused" in answer:
    sys.stderr.write(f"{name}: refused: {answer['refused']}\\n")
    sys.exit(2)
if "failed" in answer:
    sys.stderr.write(f"{name}: failed: {answer['failed']}\\n")
    sys.exit(1)
print(json.dumps(answer["stdout"]))
"""


class RecordedWrappers:
    """A wrappers directory whose every wrapper answers from ``answers``:
    {"name.py": {...}} or, for one argv, {"name.py ARG ARG": {...}}, each
    {"stdout": json} or {"refused": reason} or {"failed": reason}."""

    def __init__(self, path: Path):
        self.path = path
        self.answers = {}

    def answer(self, command, stdout=None, *, refused=None, failed=None, malformed=False):
        if refused is not None:
            self.answers[command] = {"refused": refused}
        elif failed is not None:
            self.answers[command] = {"failed": failed}
        else:
            if not malformed:
                parse_recorded(command, stdout)
            self.answers[command] = {"stdout": stdout}
        (self.path / "answers.json").write_text(json.dumps(self.answers))
        name = command.split(" ", 1)[0]
        script = self.path / name
        if not script.exists():
            script.write_text(STAND_IN)
            os.chmod(script, 0o755)

    def calls(self):
        log = self.path / "calls.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def forget_calls(self):
        (self.path / "calls.log").unlink(missing_ok=True)
