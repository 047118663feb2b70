"""How every wrapper starts and ends.

    if __name__ == "__main__":
        cli.run(main)

``main(args)`` gets the positional arguments and returns a JSON-able result
(printed on stdout) or None. A Refusal exits 2, anything else that goes wrong
exits 1; either way with one line on stderr and one in syslog.

Only what every call needs is imported up front: a wrapper runs once per
request of the portal, and its CPU time is mostly imports (the modules for
JSON, tracebacks or running commands come in where they are used).
"""

import os
import sys

from . import commands, syslogging
from .config import settings
from .errors import Failure, Refusal

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2


def _caller():
    # Who asked: sudo records the invoking user before env_reset.
    return os.environ.get("SUDO_USER") or f"uid {os.getuid()}"


def run(main):
    name = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    caller = _caller()
    os.umask(0o077)
    os.chdir("/")
    # Nothing the caller put in the environment reaches a command we run.
    os.environ.clear()
    os.environ.update(commands.CLEAN_ENV)
    address = "/dev/log"
    try:
        if os.geteuid() != 0:
            raise Refusal("must run as root (through sudo)")
        address = settings().SYSLOG_ADDRESS
        result = main(args)
    except Refusal as refusal:
        message = str(refusal)
        syslogging.log(name, address, f"refused {args!r} from {caller}: {message}", error=True)
        print(f"{name}: refused: {message}", file=sys.stderr)
        sys.exit(EXIT_REFUSED)
    except Failure as failure:
        message = str(failure)
        syslogging.log(name, address, f"failed {args!r} from {caller}: {message}", error=True)
        print(f"{name}: failed: {message}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except Exception as error:  # noqa: BLE001 (the boundary: one line, never a traceback)
        import traceback

        detail = "".join(traceback.format_exception_only(error)).strip()
        syslogging.log(
            name,
            address,
            f"crashed {args!r} from {caller}: {detail} | {traceback.format_exc()!r}",
            error=True,
        )
        print(f"{name}: failed: unexpected error: {detail}", file=sys.stderr)
        sys.exit(EXIT_FAILED)
    syslogging.log(name, address, f"ok {args!r} from {caller}")
    if result is not None:
        import json

        json.dump(result, sys.stdout, sort_keys=True)
        sys.stdout.write("\n")
    sys.exit(EXIT_OK)
