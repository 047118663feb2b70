"""Telling the runner that the daemon serves, or why it could not start.

Both runners wait for it through the one protocol they share, systemd's
sd_notify(3): the unit is Type=notify, and bin/start.sh's start-stop-daemon
--notify-await reads the same datagrams (READY=1, ERRNO=n). A runner that
asks for nothing sets no NOTIFY_SOCKET, and then this does nothing.
"""

import os
import socket


def notify(state: str) -> None:
    """Send one sd_notify state to NOTIFY_SOCKET, once: the variable is
    removed, so the wrappers and other processes the daemon starts never
    speak for it (as sd_notify's unset_environment does)."""
    address = os.environ.pop("NOTIFY_SOCKET", "")
    if not address:
        return
    if address.startswith("@"):  # an abstract socket (systemd's own)
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as link:
        link.sendto(state.encode(), address)


def ready() -> None:
    notify(f"READY=1\nMAINPID={os.getpid()}")


def failed(errno: int) -> None:
    """The daemon is exiting without having served; errno is the closest
    error number (the runner prints its text, the log has the reason)."""
    notify(f"ERRNO={errno}")
