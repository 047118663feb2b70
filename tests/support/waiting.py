"""Waiting on an event, not for a time: a condition polled until it holds,
under a deadline generous enough for a loaded machine. It returns as soon
as the condition holds, so the deadline is never what a test measures; on
a timeout the assertion says what never happened."""

import time

DEADLINE_SECONDS = 30
POLL_SECONDS = 0.05


def wait_until(condition, what, seconds=DEADLINE_SECONDS):
    """Poll condition() until it returns something true, and return that."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(POLL_SECONDS)
    return result
