"""Log lines that can't be forged: names and messages may carry what a user
wrote (a file name with a newline and a terminal escape), so every control
character in a message is escaped before it reaches a log file or syslog.
And the commands cron runs stay quiet unless asked to speak."""

import contextlib
import errno
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterator


def escape_controls(text: str) -> str:
    """text with every non-printable character except space as \\xNN/\\uNNNN
    (a newline can't start a forged line, an ESC can't drive a terminal)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class EscapingFormatter(logging.Formatter):
    """The message escaped; a traceback the formatter appends stays as it is."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class SyslogIfPresent(logging.handlers.SysLogHandler):
    """SysLogHandler for a host that may have no syslog daemon (a container,
    a minimal Debian without systemd): the stock handler prints a "Logging
    error" traceback for every record it can't send, which filled the
    daemon's log. This one says once, on stderr (the daemon's log), that
    syslog is unreachable, drops syslog's copy of each record silently from
    then on (the portal's log file still has it) and sends again as soon as
    the socket answers (a syslog daemon started later)."""

    def __init__(self, *args, **kwargs) -> None:
        self._said = False
        super().__init__(*args, **kwargs)
        # Checked once at configuration time, before the daemon forks its
        # children, so they inherit "already said" and stay quiet.
        if isinstance(self.address, str) and not os.path.exists(self.address):
            self._say(FileNotFoundError(errno.ENOENT, "no such socket"))

    def _say(self, error: OSError) -> None:
        if self._said:
            return
        self._said = True
        # Why stderr and not logging: a record about logging would come back here.
        sys.stderr.write(
            f"backupmanagement: syslog at {self.address} is unreachable "
            f"({error.strerror or error}): records go to the log file only; "
            'set syslog_address = "" in backup.toml if this host has no syslog\n'
        )
        sys.stderr.flush()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            self._say(error)
            return
        super().handleError(record)


@contextlib.contextmanager
def quiet_unless_verbose(verbosity: int) -> Iterator[None]:
    """For commands run from cron, which mails whatever they print: below
    -v 2 the "backup" loggers say only warnings (not the line per wrapper
    call the privileged client logs)."""
    logger = logging.getLogger("backup")
    level = logger.level
    if verbosity < 2:
        logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
