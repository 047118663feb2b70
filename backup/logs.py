"""Log lines that can't be forged: names and messages may carry what a user
wrote (a file name with a newline and a terminal escape), so every control
character in a message is escaped before it reaches a log file or syslog."""

import logging


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
