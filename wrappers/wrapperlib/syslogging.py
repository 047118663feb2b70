"""One syslog line per wrapper outcome.

Sent straight to the syslog socket, as Python's SysLogHandler would send it
(``<priority>backupmanagement[pid]: ident: message`` and a NUL), without the
logging package: a wrapper logs one line and exits, and importing logging
and logging.handlers cost more CPU than the rest of a query wrapper's work.
"""

import os
import socket

# RFC 3164 facility authpriv (10) and severities err (3) and info (6).
LOG_AUTHPRIV = 10
LOG_ERR = 3
LOG_INFO = 6


def _connect(address):
    """A socket connected to the syslog daemon at address, or None."""
    # rsyslog and journald listen with datagrams; some daemons use streams.
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        sock = socket.socket(socket.AF_UNIX, kind)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            continue
        return sock
    return None


def log(ident, address, message, *, error=False):
    # Syslog records are single lines.
    message = " ".join(str(message).split())
    priority = (LOG_AUTHPRIV << 3) | (LOG_ERR if error else LOG_INFO)
    record = f"<{priority}>backupmanagement[{os.getpid()}]: {ident}: {message}\000"
    sock = _connect(address)
    if sock is None:
        # No syslog daemon: the wrapper still works, its stderr still says why.
        return
    try:
        sock.sendall(record.encode("utf-8", "backslashreplace"))
    except OSError:
        # Sending can fail only after connecting (a full or closed socket):
        # stay silent, so stderr keeps its one line instead of a traceback.
        pass
    finally:
        sock.close()
