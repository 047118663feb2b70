"""The replica's pull: ask the primary what it holds, fetch what is new.

Why our own ``btrfs send | ssh | btrfs receive`` and not btrbk: btrbk runs
as root on the replica and pipes the source's stream into ``btrfs receive``
on the target directory itself, with no step that reads the stream first,
and receive creates what the stream names: a primary taken over could name
an existing snapshot, a path elsewhere, or a second subvolume. Checking every
command on its way (``replica_stream``), receiving under ``--chroot`` in a
fresh private directory and moving into place only after the received UUID
matches is what makes "root on the primary can't change what the replica
holds" true, and it is a few hundred lines on top of the wrappers' own
rules (names, protection gate, retention, simulated clock) that btrbk would
duplicate in its own configuration language. OpenSSH carries the stream;
its forced command on the primary (``tools/snapshot-send.py``) is the
restricted send side, like btrbk's ``ssh_filter_btrbk.sh``.
"""

import contextlib
import json
import os
import re
import subprocess
import tempfile
import threading
from datetime import timedelta

from . import commands, locks, replica_store, snapshots, validate
from .config import settings
from .errors import Failure, Refusal
from .replica_stream import Checker, relay

UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HOST_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]")
MAX_LISTING_BYTES = 64 << 20
MAX_SNAPSHOTS_PER_VOLUME = 100_000
LIST_TIMEOUT_SECONDS = 300
PIPE_BUFFER = 1 << 20
STATUS_FILE = ".status.json"
VERIFY_FILE = ".verify.json"
# The primary's bounds for the report (wrapperlib/replica_report.py).
MAX_REPORT_BYTES = 1 << 20
REPORT_SENTENCE = 300
SHORT_SENTENCE = 40
MAX_ANSWER_BYTES = 1 << 20
# How far ahead of the replica's clock the primary's may run.
CLOCK_SKEW = timedelta(hours=1)


def _setting(name, kind, check=lambda value: True, description=""):
    value = getattr(settings(), name)
    if not isinstance(value, kind) or isinstance(value, bool) or not check(value):
        raise Refusal(f"the wrapper setting {name} must be {description}")
    return value


def _ssh_executable() -> str:
    # ssh is the replica's alone: commands.COMMANDS (the primary's list) leaves it out.
    for directory in commands.SEARCH_DIRS:
        path = os.path.join(directory, "ssh")
        if os.access(path, os.X_OK):
            return path
    raise Failure("ssh is not installed (openssh-client)")


def ssh_argv(request: str) -> list[str]:
    """ssh to the primary with the replica's key alone, the primary's host
    key pinned, nothing forwarded and no configuration file read."""
    host = _setting("REPLICA_PRIMARY_HOST", str, HOST_PATTERN.fullmatch, "the primary's host name")
    port = _setting("REPLICA_PRIMARY_PORT", int, lambda p: 1 <= p <= 65535, "a port number")
    user = _setting(
        "REPLICA_PRIMARY_USER", str, validate.USERNAME_PATTERN.fullmatch, "an account name"
    )
    key = _setting("REPLICA_SSH_KEY", str, os.path.isabs, "an absolute path")
    known = _setting("REPLICA_KNOWN_HOSTS", str, os.path.isabs, "an absolute path")
    options = {
        "BatchMode": "yes",
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "UserKnownHostsFile": known,
        "GlobalKnownHostsFile": "/dev/null",
        "StrictHostKeyChecking": "yes",
        "ClearAllForwardings": "yes",
        "ForwardAgent": "no",
        "ForwardX11": "no",
        # AES-GCM first: with the processor's AES instructions it costs a
        # fraction of ChaCha20's CPU, and a pull is CPU-bound on two cores.
        "Ciphers": "aes128-gcm@openssh.com,chacha20-poly1305@openssh.com",
        "Compression": "no",
        "ConnectTimeout": "20",
        "ServerAliveInterval": "30",
        "ServerAliveCountMax": "4",
    }
    argv = [_ssh_executable(), "-F", "/dev/null", "-T", "-e", "none", "-i", key]
    argv += ["-p", str(port), "-l", user]
    for option, value in options.items():
        argv += ["-o", f"{option}={value}"]
    return [*argv, "--", host, request]


def _parse_listing(text: str) -> dict[str, dict[str, str]]:
    """{user: {name: uuid}} from the primary's answer, oldest first; the
    answer is hostile: anything malformed is refused, not repaired."""
    try:
        answer = json.loads(text)
    except ValueError:
        raise Failure("the primary's listing is not JSON") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("volumes"), dict):
        raise Failure("the primary's listing has no volumes")
    listed = {}
    for user, volume in answer["volumes"].items():
        validate.username(user)
        entries = volume.get("snapshots") if isinstance(volume, dict) else None
        if not isinstance(entries, list) or len(entries) > MAX_SNAPSHOTS_PER_VOLUME:
            raise Failure(f"the primary's listing of {user} is malformed")
        held = {}
        for entry in entries:
            name = entry.get("name") if isinstance(entry, dict) else None
            uuid = entry.get("uuid") if isinstance(entry, dict) else None
            if snapshots.taken_at(name) is None or not isinstance(uuid, str):
                raise Failure(f"the primary's listing of {user} is malformed")
            if not UUID_PATTERN.fullmatch(uuid) or name in held:
                raise Failure(f"the primary's listing of {user} is malformed")
            held[name] = uuid
        listed[user] = dict(sorted(held.items(), key=lambda item: snapshots.taken_at(item[0])))
    return listed


def list_primary() -> dict[str, dict[str, str]]:
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            ssh_argv("list"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=commands.CLEAN_ENV,
            close_fds=True,
        )
        try:
            data = process.stdout.read(MAX_LISTING_BYTES + 1)
            process.stdout.close()
            process.wait(timeout=LIST_TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        if len(data) > MAX_LISTING_BYTES:
            raise Failure("the primary's listing is too large")
        if process.returncode != 0:
            raise Failure(f"the primary did not answer: {_last_line(errors)}")
    return _parse_listing(data.decode("utf-8", "replace"))


def _last_line(stream) -> str:
    stream.seek(0)
    return commands.last_line(stream.read(65536).decode("utf-8", "replace"))


def _stop(*processes) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
    for process in processes:
        process.wait()


def transfer_cap() -> int:
    """The most one stream may hold: REPLICA_TRANSFER_MAX_GIB, and never so
    much that the pool would keep less than REPLICA_MIN_FREE_PERCENT free
    (a primary taken over could otherwise send without end and fill the
    pool every other volume's copies need)."""
    most = _setting("REPLICA_TRANSFER_MAX_GIB", int, lambda n: n >= 1, "a whole number of GiB >= 1")
    reserve = _setting(
        "REPLICA_MIN_FREE_PERCENT", int, lambda n: 0 <= n < 100, "a whole percentage below 100"
    )
    pool = _pool_figures(replica_store.root())
    room = pool["free_bytes"] - pool["size_bytes"] * reserve // 100
    return max(0, min(most << 30, room))


def pull_one(user: str, name: str, uuid: str, parent: tuple[str, str] | None) -> int:
    """Fetch one snapshot (incremental from parent when given) into a fresh
    private directory, check it and move it into place. Returns the bytes
    the stream held. Whatever fails, nothing of this transfer counts and
    what it left is deleted."""
    request = f"send {user} {name}" + (f" {parent[0]}" if parent else "")
    incoming = replica_store.new_incoming(user)
    checker = Checker(name, uuid, parent[1] if parent else None)
    cap = transfer_cap()
    limit = _setting(
        "REPLICA_TRANSFER_MAX_SECONDS", int, lambda n: n >= 1, "a whole number of seconds >= 1"
    )
    with tempfile.TemporaryFile() as ssh_errors, tempfile.TemporaryFile() as receive_errors:
        sender = subprocess.Popen(
            ssh_argv(request),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=ssh_errors,
            env=commands.CLEAN_ENV,
            close_fds=True,
            bufsize=PIPE_BUFFER,
        )
        receiver = subprocess.Popen(
            [commands.executable("btrfs"), "receive", "-C", "-e", "-E", "1", incoming],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=receive_errors,
            env=commands.CLEAN_ENV,
            close_fds=True,
            bufsize=PIPE_BUFFER,
        )
        expired = threading.Event()

        def expire():
            expired.set()
            _stop(sender, receiver)

        timer = threading.Timer(limit, expire)
        timer.start()
        try:
            try:
                size = relay(sender.stdout, receiver.stdin, checker, cap)
                receiver.stdin.close()
            except BrokenPipeError:
                raise Failure(f"btrfs receive stopped: {_last_line(receive_errors)}") from None
            if receiver.wait() != 0:
                raise Failure(f"btrfs receive failed: {_last_line(receive_errors)}")
            if sender.wait() != 0:
                raise Failure(f"the primary's send failed: {_last_line(ssh_errors)}")
            replica_store.accept(user, incoming, name, uuid)
            return size
        except (Refusal, Failure, OSError, ValueError):
            if expired.is_set():
                raise Failure(f"the transfer of {name} took over {limit} s") from None
            raise
        finally:
            timer.cancel()
            with contextlib.suppress(OSError):
                receiver.stdin.close()
            _stop(sender, receiver)
            sender.stdout.close()
            if os.path.isdir(incoming):
                replica_store.remove_transfer(incoming)


def _common_parent(held: dict[str, str], primary: dict[str, str]) -> tuple[str, str] | None:
    """The newest snapshot both hold (same name, same UUID on the primary)."""
    for name in reversed(held):
        if primary.get(name) == held[name]:
            return name, held[name]
    return None


def pull_volume(user: str, primary: dict[str, str]) -> list[str]:
    """Every snapshot the primary holds that is newer than the replica's
    newest, oldest first, each from the one before as parent."""
    held = replica_store.counted(user)
    newest = snapshots.taken_at(list(held)[-1]) if held else None
    parent = _common_parent(held, primary)
    # A snapshot from the future would hold back every later one (only what
    # is newer than the newest copy is pulled) and stay protected for years.
    latest_allowed = snapshots.now() + CLOCK_SKEW
    received = []
    for name, uuid in primary.items():
        if snapshots.taken_at(name) > latest_allowed:
            raise Refusal(f"the primary lists {name}, a snapshot from the future; not copied")
        if newest is not None and snapshots.taken_at(name) <= newest:
            continue
        pull_one(user, name, uuid, parent)
        received.append(name)
        parent = (name, uuid)
    return received


def volume_status(user: str, moment, interval_seconds: int) -> dict:
    held = list(replica_store.counted(user))
    newest = held[-1] if held else None
    lag = int((moment - snapshots.taken_at(newest)).total_seconds()) if newest else None
    return {
        "newest": newest,
        "newest_taken_at": snapshots.iso(snapshots.taken_at(newest)) if newest else None,
        "lag_seconds": lag,
        "behind": lag is None or lag > 2 * interval_seconds,
        "count": len(held),
    }


def _pool_figures(path: str) -> dict:
    figures = os.statvfs(path)
    return {
        "size_bytes": figures.f_blocks * figures.f_frsize,
        "free_bytes": figures.f_bavail * figures.f_frsize,
    }


def write_status(status: dict) -> None:
    """<REPLICA_ROOT>/.status.json, replaced whole (readers never see half)."""
    target = os.path.join(replica_store.root(), STATUS_FILE)
    temporary = f"{target}.new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(status, out, sort_keys=True)
        out.write("\n")
    os.replace(temporary, target)


def _last_verify() -> dict | None:
    """The last verify run's outcome in brief (replica_verify writes it)."""
    try:
        with open(os.path.join(replica_store.root(), VERIFY_FILE), "rb") as kept:
            verify = json.loads(kept.read(MAX_REPORT_BYTES))
        failed = [
            user
            for user, volume in verify["volumes"].items()
            if volume["mismatched"] or volume["unreadable"] or volume["differing"]
        ]
        return {"checked_at": verify["checked_at"], "failed": sorted(failed)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _sentence(text: str | None) -> str | None:
    """An error as the primary accepts it: one printable line, bounded."""
    if text is None:
        return None
    line = "".join(c if c.isprintable() else " " for c in text)
    return line[: REPORT_SENTENCE - 1] + "…" if len(line) > REPORT_SENTENCE else line


def report_of(status: dict) -> dict:
    """What the primary is told of this run (replica_report's format)."""
    return {
        "checked_at": status["checked_at"],
        "reachable": status["reachable"],
        "error": _sentence(status["error"]),
        "pool": status["pool"],
        "verify": _last_verify(),
        "volumes": {
            user: {
                "newest": volume["newest"],
                "count": volume["count"],
                "error": _sentence(volume["error"]),
            }
            for user, volume in status["volumes"].items()
        },
    }


def ask(request: str, data: bytes, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """One request to the primary with data on its stdin; its answer (at
    most limit bytes), or Failure with the primary's one-line why."""
    try:
        completed = subprocess.run(
            ssh_argv(request),
            input=data,
            capture_output=True,
            env=commands.CLEAN_ENV,
            close_fds=True,
            timeout=LIST_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Failure(f"the primary did not answer: {error}") from None
    if completed.returncode != 0:
        raise Failure(commands.last_line(completed.stderr.decode("utf-8", "replace")))
    if len(completed.stdout) > limit:
        raise Failure("the primary's answer is too large")
    return completed.stdout


def send_report(status: dict) -> str | None:
    """Tell the primary how this run went, over the same restricted key
    (the ``report`` request, JSON on stdin): the primary can't ask the
    replica anything. None when stored, else why not."""
    report = report_of(status)
    data = json.dumps(report, separators=(",", ":")).encode()
    if len(data) > MAX_REPORT_BYTES:
        # Thousands of volumes failing at once: their sentences, shortened,
        # must not cost the whole report (the status file keeps them whole).
        for volume in report["volumes"].values():
            volume["error"] = volume["error"] and volume["error"][:SHORT_SENTENCE]
        data = json.dumps(report, separators=(",", ":")).encode()
    try:
        ask("report", data)
    except (Refusal, Failure, OSError) as failure:
        return str(failure)
    return None


def _volume(user: str, primary: dict | None, interval: int) -> dict:
    """One volume's pull, retention and status; its error is its own."""
    entry = {"received": [], "pruned": [], "error": None}
    try:
        if primary is not None and user in primary:
            entry["received"] = pull_volume(user, primary[user])
    except (Refusal, Failure, OSError) as failure:
        entry["error"] = str(failure)
    moment = snapshots.now()
    try:
        holds = set(primary.get(user, {})) if primary is not None else set()
        entry["pruned"] = replica_store.prune(user, moment, holds)
    except (Refusal, Failure, OSError) as failure:
        entry["error"] = entry["error"] or str(failure)
    return {**entry, **volume_status(user, moment, interval)}


def run() -> dict:
    """One scheduled run: leftovers, the primary's listing, every volume's
    new snapshots, retention, status. One volume's error never stops the
    others; an unreachable primary still gets retention and status.

    REPLICA_PARALLEL_VOLUMES volumes are pulled at once: a small change
    costs mostly waiting (an SSH handshake, the primary's tool starting),
    which overlaps; each volume's snapshots still come one after another."""
    from concurrent.futures import ThreadPoolExecutor

    interval = 60 * _setting(
        "REPLICA_INTERVAL_MINUTES", int, lambda m: m >= 1, "a whole number of minutes >= 1"
    )
    parallel = _setting(
        "REPLICA_PARALLEL_VOLUMES", int, lambda n: 1 <= n <= 64, "a whole number from 1 to 64"
    )
    with locks.global_lock("replica-pull", "another replica pull is still running", timeout=0):
        cleared = replica_store.clear_leftovers()
        try:
            primary, error = list_primary(), None
        except (Refusal, Failure, OSError) as failure:
            primary, error = None, str(failure)
        users = sorted(set(primary or {}) | set(replica_store.volumes()))
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = pool.map(lambda user: _volume(user, primary, interval), users)
            volumes = dict(zip(users, results, strict=True))
        status = {
            "checked_at": snapshots.iso(snapshots.now()),
            "primary": settings().REPLICA_PRIMARY_HOST,
            "reachable": primary is not None,
            "error": error,
            "cleared": cleared,
            "pool": _pool_figures(replica_store.root()),
            "volumes": volumes,
        }
        status["report_error"] = send_report(status)
        write_status(status)
    return status
