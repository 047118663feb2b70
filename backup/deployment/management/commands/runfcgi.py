"""manage.py runfcgi: serve the portal over FastCGI on a unix socket (flup).

Run as the service user, never as root: the web process is what the root-owned
wrappers and the sudoers entry protect the system from. It serves in the
foreground until SIGTERM; its runner puts it in the background and restarts
it: the systemd unit, or, without systemd, bin/start.sh (start-stop-daemon).
"""

import errno
import os
import sys
import traceback
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.wsgi import get_wsgi_application
from django.db import connections

from backup.deployment import fcgi
from backup.deployment.fcgi import readiness


def _mode(text):
    value = int(text, 8)
    if not 0 <= value <= 0o777:
        raise ValueError(text)
    return value


def _positive(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _application():
    """Django, loaded once in the parent so that each child starts warm;
    without the parent's database connections, which children must not share."""
    application = get_wsgi_application()
    connections.close_all()
    return application


def _default(name, fallback):
    return Path(getattr(settings, name, settings.BASE_DIR / "var" / fallback))


class Command(BaseCommand):
    help = "Serve the portal over FastCGI on a unix socket (flup, preforking), in the foreground."
    # The closest error number to why it did not start (for the runner).
    failure_errno = errno.EINVAL

    def add_arguments(self, parser):
        parser.add_argument(
            "--socket",
            type=Path,
            default=_default("FCGI_SOCKET", "backup.sock"),
            help="unix socket to listen on (default: FCGI_SOCKET, %(default)s)",
        )
        parser.add_argument(
            "--socket-mode",
            type=_mode,
            default=0o660,
            help="octal mode of the socket (default: 660; the web server reaches it "
            "through the socket directory's group)",
        )
        parser.add_argument(
            "--socket-group",
            help="group to give the socket (default: inherited from a setgid directory)",
        )
        parser.add_argument(
            "--workers",
            type=_positive,
            default=fcgi.default_workers(),
            help="child processes serving requests; more wait in the socket's backlog "
            "(default: two per core plus one, here %(default)s)",
        )
        parser.add_argument(
            "--request-timeout",
            type=_positive,
            default=30,
            help="seconds a request may run before its child is stopped; keep it equal "
            "to the web server's (Apache: ProxyPass timeout=) (default: %(default)s)",
        )
        parser.add_argument(
            "--runner-files",
            action="store_true",
            help="print the pidfile and the log file bin/start.sh keeps for the daemon "
            "(FCGI_PIDFILE, FCGI_LOG_FILE), one a line, and exit",
        )

    def handle(self, **options):
        if options["runner_files"]:
            # bin/start.sh asks here so that the paths stay in the settings
            # (backup.toml), read by the same code as everything else.
            self.stdout.write(str(_default("FCGI_PIDFILE", "backup.pid")))
            self.stdout.write(str(_default("FCGI_LOG_FILE", "fcgi.log")))
            return
        if os.geteuid() == 0:
            self.failure_errno = errno.EPERM
            raise CommandError(
                "refusing to serve as root: run as the service user, "
                "e.g. sudo -u backupmanagement bin/start.sh"
            )
        try:
            fcgi.serve(
                _application,
                socket_path=options["socket"],
                socket_mode=options["socket_mode"],
                socket_group=options["socket_group"],
                workers=options["workers"],
                request_timeout=options["request_timeout"],
                on_ready=readiness.ready,
            )
        except fcgi.SocketError as error:
            self.failure_errno = error.errno
            raise CommandError(str(error)) from None

    def run_from_argv(self, argv):
        """Whatever stops the daemon before it serves (a bad option, a failed
        system check, a view that doesn't import, a socket in use) is told to
        the runner, which would otherwise wait for a readiness that never
        comes; and only after the reason is written, since bin/start.sh shows
        the end of the log as soon as it hears. After ready() nothing more
        is sent."""
        try:
            super().run_from_argv(argv)
        except SystemExit as stop:
            # Django has written the reason (a CommandError, a usage error).
            if stop.code not in (0, None):
                readiness.failed(self.failure_errno)
            raise
        except Exception:  # noqa: BLE001 (written, told, and the process exits)
            traceback.print_exc()
            sys.stderr.flush()
            readiness.failed(self.failure_errno)
            raise SystemExit(1) from None
