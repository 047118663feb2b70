"""Stopping at any instant: critical sections and step boundaries.

``sudo`` relays the caller's SIGTERM, SIGINT, SIGHUP and SIGQUIT to the
wrapper, and Python's default for SIGTERM ends the process without running a
single ``finally``: a wrapper stopped between two steps would leave a
private mount behind, or a volume half changed. ``deferred()`` blocks those
signals for a critical section and lets the kernel deliver them once it
ends (so the wrapper still stops, just not half-way). SIGKILL and power loss
can't be deferred: every wrapper that changes a volume orders its steps so
that each state in between is valid, and the next run (``recovery``) puts
back what only a finished run would have (mounts, leftovers).

``step()`` marks each boundary between two steps (every command run, every
mount change, every rename or record written). In normal use it only counts;
the root-only test setting FAULT_INJECTION = {"step": N, "signal": name}
makes the wrapper signal itself at the Nth boundary, so a test can stop a
wrapper at every one of them in turn.
"""

import contextlib
import os
import signal

from .config import settings

TERMINATING = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT})
SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}

_steps = 0


@contextlib.contextmanager
def deferred():
    """Termination signals wait until the block ends (nested blocks: the
    outermost). Commands run inside inherit the mask: a relayed signal
    does not stop them half-way either."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def step() -> None:
    """A boundary between two steps (see the module's docstring)."""
    global _steps
    _steps += 1
    injection = settings().FAULT_INJECTION
    if injection is None or injection.get("step") != _steps:
        return
    # Stand-ins for a relayed SIGTERM (deferred inside a critical section,
    # like a real one) and for SIGKILL or power loss (immediate).
    os.kill(os.getpid(), SIGNALS[injection.get("signal", "SIGKILL")])
