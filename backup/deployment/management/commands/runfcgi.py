"""manage.py runfcgi: serve the portal over FastCGI on a unix socket (flup).

Run as the service user, never as root: the web process is what the root-owned
wrappers and the sudoers entry protect the system from. bin/start.sh runs
``runfcgi --replace --daemonize``; the systemd unit runs it in the foreground.
"""

import os
import sys
import traceback
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.wsgi import get_wsgi_application
from django.db import connections

from backup.deployment import fcgi


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
    help = "Serve the portal over FastCGI on a unix socket (flup, preforking)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--socket",
            type=Path,
            default=_default("FCGI_SOCKET", "backup.sock"),
            help="unix socket to listen on (default: FCGI_SOCKET, %(default)s)",
        )
        parser.add_argument(
            "--pidfile",
            type=Path,
            default=_default("FCGI_PIDFILE", "backup.pid"),
            help="pidfile, locked while the daemon runs (default: %(default)s)",
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
            "--replace",
            action="store_true",
            help="stop a running daemon of the same pidfile first (a restart)",
        )
        parser.add_argument(
            "--daemonize",
            action="store_true",
            help="detach once serving; output goes to --log-file",
        )
        parser.add_argument(
            "--log-file",
            type=Path,
            default=_default("FCGI_LOG_FILE", "fcgi.log"),
            help="where a detached daemon writes (default: %(default)s)",
        )
        parser.add_argument("--stop", action="store_true", help="stop the running daemon")
        parser.add_argument(
            "--timeout",
            type=int,
            default=45,
            help="seconds to wait for a running daemon to stop before killing it; above "
            "--request-timeout, so that requests in progress can finish (default: %(default)s)",
        )

    def handle(self, **options):
        if os.geteuid() == 0:
            raise CommandError(
                "refusing to serve as root: run as the service user, "
                "e.g. sudo -u backupmanagement bin/start.sh"
            )
        if options["stop"] or options["replace"]:
            # A restart stops the old daemon here, in the foreground, so that
            # whoever restarts it is told when it had to be killed.
            try:
                outcome = fcgi.stop(options["pidfile"], options["timeout"])
            except fcgi.DaemonError as error:
                raise CommandError(str(error)) from None
            if outcome == "killed":
                self.stderr.write(
                    f"the running daemon was still busy {options['timeout']} s after SIGTERM: "
                    "killed it (SIGKILL); requests it was serving were cut off"
                )
            if options["stop"]:
                self.stdout.write(outcome or "not running")
                return
        if options["daemonize"]:
            self._daemonize(options)
        else:
            self._serve(options, on_ready=None)

    def _serve(self, options, on_ready):
        try:
            fcgi.serve(
                _application,
                socket_path=options["socket"],
                pidfile_path=options["pidfile"],
                socket_mode=options["socket_mode"],
                socket_group=options["socket_group"],
                workers=options["workers"],
                request_timeout=options["request_timeout"],
                replace=options["replace"],
                timeout=options["timeout"],
                on_ready=on_ready,
            )
        except fcgi.DaemonError as error:
            raise CommandError(str(error)) from None

    def _daemonize(self, options):
        """Fork; the parent returns once the child serves (or says why not)."""
        try:
            log = os.open(options["log_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as error:
            raise CommandError(f"cannot open {options['log_file']}: {error.strerror}") from None
        connections.close_all()
        sys.stdout.flush()
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        if os.fork():
            os.close(write_end)
            os.close(log)
            with os.fdopen(read_end) as report:
                message = report.read().strip()
            if message.startswith("ready"):
                self.stdout.write(f"serving on {options['socket']} ({message[6:]})")
                return
            raise CommandError(
                message or f"the daemon exited while starting: see {options['log_file']}"
            )
        os.close(read_end)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(devnull)
        os.close(log)
        starting = _StartReport(write_end)
        status = 0
        try:
            self._serve(options, on_ready=starting.ready)
        except CommandError as error:
            self.stderr.write(f"runfcgi: {error}")
            starting.failed(str(error))
            status = 1
        except BaseException:  # noqa: BLE001 (the detached child must never return)
            traceback.print_exc()
            starting.failed(f"the daemon failed while starting: see {options['log_file']}")
            status = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)


class _StartReport:
    """Tells the waiting parent, once, whether the detached child serves."""

    def __init__(self, fd):
        self._fd = fd

    def _send(self, message):
        if self._fd is not None:
            os.write(self._fd, f"{message}\n".encode())
            os.close(self._fd)
            self._fd = None

    def ready(self):
        self._send(f"ready pid {os.getpid()}")

    def failed(self, message):
        self._send(message)
