"""Which process runs an operation, and whether that process still exists.

A running operation records ``host:pid:start`` of the process running it;
``start`` (the kernel's start time of the process) tells a reused pid from
the original, so a worker killed on this host is recognised at once, without
waiting for its heartbeat to go stale.
"""

import os
import socket


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # Field 22 of proc_pid_stat(5), counted after the ")" ending field 2.
    return fields[19].decode() if len(fields) > 19 else None


def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def is_gone(worker: str) -> bool:
    """True when ``worker`` ran on this host and that process has ended;
    False when it is alive or ran elsewhere (then only the heartbeat tells)."""
    try:
        host, pid, start = worker.rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    return _start_time(pid_number) != start
