"""Running code with a backup account's privileges.

Reading or deleting what a user wrote is done as that user: a symlink or a
crafted name in their volume then can't reach anything they could not reach
themselves. The work runs in a forked child that drops to the user's uid/gid
(no supplementary groups) before doing anything, within a CPU and wall-clock
budget; its result comes back as JSON over a pipe.
"""

import json
import os
import resource
import select
import signal
import time

from .errors import Failure, Refusal


def _child(account, function, write_fd, cpu_seconds):
    try:
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            raise Failure("could not drop root privileges")
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        outcome = {"result": function()}
    except Refusal as refusal:
        outcome = {"refused": str(refusal)}
    except Exception as error:  # noqa: BLE001 (reported to the parent, which decides)
        outcome = {"failed": f"{type(error).__name__}: {error}"}
    data = json.dumps(outcome).encode()
    view = memoryview(data)
    while view:
        written = os.write(write_fd, view)
        view = view[written:]
    os.close(write_fd)


def run(account, function, timeout_seconds):
    """Call function() as account (a pwd entry); return its JSON-able result."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        os.close(read_fd)
        try:
            _child(account, function, write_fd, max(1, int(timeout_seconds)))
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout_seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise Failure(f"gave up after {timeout_seconds} s")
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    try:
        outcome = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        raise Failure("the unprivileged worker returned nothing usable") from None
    if "refused" in outcome:
        raise Refusal(outcome["refused"])
    if "failed" in outcome:
        raise Failure(outcome["failed"])
    if "result" not in outcome:
        raise Failure("the unprivileged worker ended without a result")
    return outcome["result"]
