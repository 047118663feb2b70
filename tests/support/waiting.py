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


def next_second():
    """Return once the clock's whole second has moved on, for tools that
    name what they make by the second (an RRD takes one update per second;
    rdiff-backup, duplicity and Back In Time name sessions by it): the wait
    is the rest of the current second, not a guess."""
    started = int(time.time())
    wait_until(lambda: int(time.time()) > started, "the next second", seconds=5)


def filesystem_clock_passes(path):
    """Return once a file written now next to path gets a later mtime than
    path has: what a change must wait for to be seen by an mtime-based
    check (the filesystem's clock moves in ticks, not nanoseconds)."""
    before = path.stat().st_mtime_ns
    probe = path.with_name(f".{path.name}.clock")
    try:

        def later():
            probe.touch()
            return probe.stat().st_mtime_ns > before

        wait_until(later, f"the filesystem clock to pass {path}'s mtime", seconds=5)
    finally:
        probe.unlink(missing_ok=True)
