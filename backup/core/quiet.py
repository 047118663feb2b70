"""Commands run from cron, which mails whatever they print: below -v 2 the
"backup" loggers say only warnings (not the line per wrapper call the
privileged client logs)."""

import contextlib
import logging


@contextlib.contextmanager
def quiet_unless_verbose(verbosity):
    logger = logging.getLogger("backup")
    level = logger.level
    if verbosity < 2:
        logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
