"""Expected refusals in the request log as one line each."""

import logging


class OneLineRefusals(logging.Filter):
    """Django logs a 403 or 404 raised as an exception with its traceback;
    a refusal the site expects (someone else's page, an admin page, an
    unknown address) is one line, "Not Found: /x/". Server errors keep
    their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


def install() -> None:
    # On the logger itself: whatever handlers the deployment configures
    # (console, file, syslog) get the one line.
    logging.getLogger("django.request").addFilter(OneLineRefusals())
