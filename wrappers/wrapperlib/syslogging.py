"""One syslog line per wrapper outcome."""

import logging
import logging.handlers
import os

_logger = None


def _get_logger(ident, address):
    global _logger
    if _logger is None:
        # Without a syslog daemon a record can't be sent; the wrapper's
        # outcome is on stderr anyway, so say nothing rather than a traceback.
        logging.raiseExceptions = False
        _logger = logging.getLogger("backupmanagement-wrappers")
        _logger.setLevel(logging.INFO)
        _logger.propagate = False
        try:
            handler = logging.handlers.SysLogHandler(
                address=address, facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV
            )
        except OSError:
            # No syslog daemon: the wrapper still works, its stderr still says why.
            handler = logging.NullHandler()
        # Python's handler may fail only when sending (no /dev/log): stay
        # silent then, so stderr keeps its one line instead of a traceback.
        logging.raiseExceptions = False
        prefix = f"backupmanagement[{os.getpid()}]: {ident}"
        handler.setFormatter(logging.Formatter(f"{prefix}: %(message)s"))
        _logger.addHandler(handler)
    return _logger


def log(ident, address, message, *, error=False):
    logger = _get_logger(ident, address)
    # Syslog records are single lines.
    message = " ".join(str(message).split())
    (logger.error if error else logger.info)(message)
