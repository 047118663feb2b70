"""Backup volumes for discovery tests, and the real backup tools run into them.

Each tool runs as root with a clean environment (a private HOME, so caches,
keys and state stay in the test's own directory; TZ=UTC, so the times the
tools print are UTC), and the tree is then handed to the volume's owner, as
a client writing over Samba would leave it.
"""

import contextlib
import datetime
import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from . import accounts

PASSWORD = "discovery-test-password"


@contextlib.contextmanager
def backup_volume(install):
    """(account name, volume directory): a backup account made by useradd.py
    and its mount point made by mkdir.py, a plain directory owned by the
    account with mode 0700 as chown.py/chmod.py leave a mounted volume."""
    name = accounts.create_backup_account(install)
    path = Path(install.settings["DIRECTORIES_ROOT"]) / name
    try:
        result = install.run("mkdir.py", name)
        assert result.returncode == 0, result.stderr
        entry = pwd.getpwnam(name)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(path, 0o700)
        yield name, path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        accounts.remove_backup_account(install, name)


def give_to(path, name):
    """chown -R path to the account, never following a symlink."""
    entry = pwd.getpwnam(name)
    subprocess.run(
        ["chown", "-R", "-h", f"{entry.pw_uid}:{entry.pw_gid}", "--", str(path)], check=True
    )


def fetch(install, name):
    """fetch_backups.py's parsed output; fails the test on any other outcome."""
    result = install.run("fetch_backups.py", name)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def source_at(report, path):
    matches = [source for source in report["sources"] if source["path"] == path]
    assert len(matches) == 1, (path, report)
    return matches[0]


def utc(text):
    return datetime.datetime.fromisoformat(text).astimezone(datetime.UTC)


def make_tree(path):
    """A small tree to back up."""
    (path / "documents").mkdir(parents=True)
    (path / "documents" / "report.txt").write_text("quarterly numbers\n")
    (path / "photo.jpg").write_bytes(os.urandom(4096))


class Tools:
    """The real tools, each run as root with a private HOME under work."""

    def __init__(self, work):
        self.home = work / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "RESTIC_PASSWORD": PASSWORD,
            "PASSPHRASE": PASSWORD,
            "BORG_BASE_DIR": str(self.home),
            "BORG_PASSPHRASE": PASSWORD,
        }

    def run(self, *argv, timeout=300):
        result = subprocess.run(
            argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
        return result.stdout

    # rdiff-backup

    def rdiff_backup(self, source, mirror):
        self.run("rdiff-backup", "backup", str(source), str(mirror))

    def rdiff_backup_sessions(self, mirror):
        """Times of every session, oldest first (the last is the current mirror)."""
        out = self.run("rdiff-backup", "--parsable-output", "list", "increments", str(mirror))
        return [int(line.split()[0]) for line in out.splitlines() if line.strip()]

    # restic

    def restic_backup(self, source, repository):
        if not (repository / "config").exists():
            self.run("restic", "--no-cache", "-r", str(repository), "init")
        self.run("restic", "--no-cache", "-r", str(repository), "backup", str(source))

    def restic_tag(self, repository, tag):
        """Tag the latest snapshot: restic rewrites its file, backing up nothing."""
        self.run("restic", "--no-cache", "-r", str(repository), "tag", "--add", tag, "latest")

    def restic_snapshots(self, repository):
        out = self.run("restic", "--no-cache", "-r", str(repository), "snapshots", "--json")
        return json.loads(out)

    # Copies: rsync -a and rclone sync keep the source files' times

    def rsync_mirror(self, source, target):
        self.run("rsync", "-a", "--delete", f"{source}/", f"{target}/")

    def rclone_sync(self, source, target):
        self.run("rclone", "--config", "/dev/null", "sync", str(source), str(target))

    # Borg 1.x ("borg") and Borg 2 ("borg2")

    def borg_backup(self, source, repository, archive):
        if not repository.exists():
            self.run("borg", "init", "--encryption", "none", str(repository))
        self.run("borg", "create", f"{repository}::{archive}", str(source))

    def borg_archives(self, repository):
        return json.loads(self.run("borg", "list", "--json", str(repository)))["archives"]

    def borg2_backup(self, source, repository, archive):
        if not repository.exists():
            self.run("borg2", "-r", str(repository), "rcreate", "--encryption", "none")
        self.run("borg2", "-r", str(repository), "create", archive, str(source))

    def borg2_archives(self, repository):
        return json.loads(self.run("borg2", "-r", str(repository), "rlist", "--json"))["archives"]

    # duplicity

    def duplicity_backup(self, source, target, kind="full"):
        self.run(
            "duplicity",
            kind,
            "--no-encryption",
            "--archive-dir",
            str(self.home / "duplicity"),
            "--name",
            "test",
            str(source),
            f"file://{target}",
        )

    def duplicity_status(self, target):
        """(chain end time, number of backup sets) from collection-status."""
        out = self.run(
            "duplicity",
            "collection-status",
            "--no-encryption",
            "--archive-dir",
            str(self.home / "duplicity"),
            "--name",
            "test",
            f"file://{target}",
        )
        fields = {}
        for line in out.splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
        end = datetime.datetime.strptime(fields["Chain end time"], "%a %b %d %H:%M:%S %Y")
        return end.replace(tzinfo=datetime.UTC), int(fields["Number of contained backup sets"])

    # Back In Time (backintime-common runs headless from a config file)

    def backintime_config(self, source, target, host, user):
        """A one-profile config; Back In Time expects its snapshot folder
        backintime/<host>/<user>/<profile> to exist (its GUI creates it)."""
        (target / "backintime" / host / user / "1").mkdir(parents=True)
        config = self.home / "backintime.conf"
        config.write_text(
            "config.version=6\n"
            "profiles.version=1\n"
            f"profile1.snapshots.path={target}\n"
            "profile1.snapshots.mode=local\n"
            f"profile1.snapshots.path.host={host}\n"
            f"profile1.snapshots.path.user={user}\n"
            "profile1.snapshots.path.profile=1\n"
            f"profile1.snapshots.include.1.value={source}\n"
            "profile1.snapshots.include.1.type=0\n"
            "profile1.snapshots.include.size=1\n"
            "profile1.snapshots.notify.enabled=false\n"
        )
        return config

    def backintime_backup(self, config):
        self.run("backintime", "--config", str(config), "backup")

    def backintime_snapshots(self, config):
        """Snapshot ids (YYYYMMDD-HHMMSS-NNN, the client's local time) it lists."""
        out = self.run("backintime", "--config", str(config), "snapshots-list")
        return sorted(word for line in out.splitlines() for word in line.split() if _is_id(word))


def _is_id(word):
    return len(word) == 19 and word[8] + word[15] == "--" and word.replace("-", "").isdigit()
