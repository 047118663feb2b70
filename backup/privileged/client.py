"""Runs one wrapper: ``sudo -n <WRAPPERS_PATH>/<name> args…``, argv only.

Secrets go on stdin, results come back as JSON, and every failure becomes a
typed error carrying the wrapper's one-line reason. When the portal itself
runs as root (demo, tests) the wrapper is executed directly, without sudo.
"""

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

from django.conf import settings

from .safe_text import safe_json, safe_text

logger = logging.getLogger("backup.privileged")

# Exit statuses of the wrapper contract (wrappers/README.md).
EXIT_FAILED = 1
EXIT_REFUSED = 2

SUDO = "/usr/bin/sudo"
# The portal's side of the clean environment and search path (the wrappers,
# a separate trust domain that imports nothing of the portal's, have their
# own in wrapperlib/commands.py).
SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
CLEAN_ENV = {"PATH": ":".join(SEARCH_DIRS), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def last_line(text: str | None) -> str:
    """The last non-empty line of a command's output: its one-line why."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


class PrivilegedError(Exception):
    """A wrapper did not do what was asked; ``reason`` is its one-line why."""

    def __init__(self, wrapper: str, reason: str) -> None:
        super().__init__(f"{wrapper}: {reason}")
        self.wrapper = wrapper
        self.reason = reason


class Refused(PrivilegedError):
    """The wrapper refused before changing anything."""


class Failed(PrivilegedError):
    """The wrapper (or sudo) failed; something may have been attempted."""


class Counter:
    """How many wrappers this process has run (benchmarks read it)."""

    calls = 0


def _use_sudo() -> bool:
    if settings.WRAPPERS_USE_SUDO is None:
        return os.geteuid() != 0
    return bool(settings.WRAPPERS_USE_SUDO)


def _reason(stderr: str | None, name: str) -> str:
    if not (stderr or "").strip():
        return "no reason given"
    line = last_line(stderr)
    for prefix in (f"{name}: refused: ", f"{name}: failed: "):
        if line.startswith(prefix):
            return line[len(prefix) :]
    return line


def run(name: str, *args: str | int, stdin: str | None = None) -> object:
    """Run wrapper ``name`` with ``args``; return its JSON, still to be parsed
    into its typed result (results.py), or None when it printed nothing."""
    path = Path(settings.WRAPPERS_PATH) / name
    argv = [str(path), *(str(arg) for arg in args)]
    if _use_sudo():
        argv = [SUDO, "-n", *argv]
    Counter.calls += 1
    try:
        completed = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            # Undecodable bytes become \xNN here, never an exception.
            errors="backslashreplace",
            timeout=settings.WRAPPER_TIMEOUT_SECONDS,
            env=CLEAN_ENV,
            check=False,
        )
    except subprocess.TimeoutExpired:
        logger.error("%s %s timed out", name, list(args))
        raise Failed(name, "did not finish in time") from None
    except OSError as error:
        logger.error("%s %s could not start: %s", name, list(args), error)
        raise Failed(name, f"could not be started ({error.strerror})") from None
    if completed.returncode == 0:
        logger.info("%s %s: ok", name, list(args))
        output = completed.stdout.strip()
        try:
            return safe_json(json.loads(output)) if output else None
        except ValueError:
            raise Failed(name, "returned output that is not JSON") from None
    reason = safe_text(_reason(completed.stderr, name))
    logger.warning("%s %s: exit %s: %s", name, list(args), completed.returncode, reason)
    if completed.returncode == EXIT_REFUSED:
        raise Refused(name, reason)
    raise Failed(name, reason)


# A streamed wrapper's first line (its JSON header) is at most this long.
MAX_HEADER_BYTES = 4096
STREAM_CHUNK = 1 << 16


def _piped(pipe: IO[bytes] | None) -> IO[bytes]:
    if pipe is None:  # never: stream() pipes both
        raise Failed("stream", "a pipe is missing")
    return pipe


class Stream:
    """A wrapper whose stdout is a JSON header line and then ``size_bytes``
    raw bytes (snapshot-read.py). ``header`` is read and checked when it is
    opened; iterating yields the bytes, never more than the header said;
    close() (a finished or abandoned download) ends the wrapper."""

    def __init__(
        self, name: str, process: "subprocess.Popen[bytes]", header: dict[str, Any]
    ) -> None:
        self.name = name
        self.process = process
        self.header = header
        self.size: int = header["size_bytes"]
        self.stdout: IO[bytes] = _piped(process.stdout)
        self.stderr: IO[bytes] = _piped(process.stderr)

    def __iter__(self) -> Iterator[bytes]:
        left = self.size
        try:
            while left > 0:
                chunk = self.stdout.read(min(STREAM_CHUNK, left))
                if not chunk:
                    logger.warning("%s ended %s bytes early", self.name, left)
                    return
                left -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # sudo relays it to the wrapper
        try:
            self.process.wait(timeout=settings.WRAPPER_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.stdout, self.stderr):
            pipe.close()


def stream(name: str, *args: str) -> Stream:
    """Start wrapper ``name`` and read its header line; a refusal or failure
    before it raises, as run() does."""
    import select

    path = Path(settings.WRAPPERS_PATH) / name
    argv = [str(path), *args]
    if _use_sudo():
        argv = [SUDO, "-n", *argv]
    Counter.calls += 1
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=CLEAN_ENV,
        )
    except OSError as error:
        logger.error("%s %s could not start: %s", name, list(args), error)
        raise Failed(name, f"could not be started ({error.strerror})") from None
    stdout = _piped(process.stdout)
    line = b""
    ready, _, _ = select.select([stdout], [], [], settings.WRAPPER_TIMEOUT_SECONDS)
    if ready:
        line = stdout.readline(MAX_HEADER_BYTES)
    header: Any = None
    if line.endswith(b"\n"):
        try:
            header = safe_json(json.loads(line))
        except ValueError:
            header = None
    if not (
        isinstance(header, dict)
        and isinstance(size := header.get("size_bytes"), int)
        and not isinstance(size, bool)
        and size >= 0
        and isinstance(header.get("name"), str)
    ):
        _stream_failed(name, args, process, timed_out=not ready)
    logger.info("%s %s: streaming %s bytes", name, list(args), size)
    return Stream(name, process, header)


def _stream_failed(
    name: str, args: tuple[str, ...], process: "subprocess.Popen[bytes]", *, timed_out: bool
) -> NoReturn:
    """Raise what a wrapper that gave no header said (or that it hung)."""
    if timed_out and process.poll() is None:
        process.kill()
    try:
        _, stderr = process.communicate(timeout=settings.WRAPPER_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    if timed_out:
        logger.error("%s %s timed out", name, list(args))
        raise Failed(name, "did not finish in time")
    reason = safe_text(_reason(stderr.decode("utf-8", "backslashreplace"), name))
    logger.warning("%s %s: exit %s: %s", name, list(args), process.returncode, reason)
    if process.returncode == EXIT_REFUSED:
        raise Refused(name, reason)
    raise Failed(name, reason if process.returncode else "returned no header")
