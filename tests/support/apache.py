"""A private Apache for one test: its own ServerRoot, PidFile and loopback
port, modules loaded by absolute path, never the system's /etc/apache2.

It serves deploy/apache/backupmanagement.conf itself, with the file's Define
lines pointed at the test's socket, static root, htpasswd file and a
self-signed certificate, so the tests exercise what admins install.
"""

import re
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SITE_CONF = REPO / "deploy" / "apache" / "backupmanagement.conf"
MODULES_DIR = Path("/usr/lib/apache2/modules")
# What the site needs (Debian's a2enmod ssl proxy_fcgi headers … enables these).
MODULES = (
    "mpm_event", "authz_core", "authn_core", "authn_file", "auth_basic", "authz_user",
    "alias", "mime", "setenvif", "headers", "socache_shmcb", "ssl", "proxy", "proxy_fcgi",
)  # fmt: skip
START_TIMEOUT_SECONDS = 20


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def site_conf(**defines):
    """The deployed site file with its Define lines set to these values."""
    text = SITE_CONF.read_text()
    for name, value in defines.items():
        text, count = re.subn(
            rf"^Define {name} .*$", f"Define {name} {value}", text, flags=re.MULTILINE
        )
        assert count == 1, f"{SITE_CONF} has no Define {name}"
    return text


def self_signed_certificate(directory, hostname="localhost"):
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={hostname}", "-addext", f"subjectAltName=DNS:{hostname}",
            "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return certificate, key


@dataclass
class Apache:
    root: Path
    port: int
    certificate: Path
    process: subprocess.Popen = None

    @property
    def conf(self):
        return self.root / "httpd.conf"

    @property
    def error_log(self):
        return self.root / "error.log"

    def url(self, path):
        return f"https://localhost:{self.port}{path}"

    def ssl_context(self):
        return ssl.create_default_context(cafile=str(self.certificate))


def start(
    root, *, socket_path, static_root, htpasswd, user="www-data", group="www-data", **defines
):
    """Start Apache in the foreground (so the test owns and reaps it);
    defines: more of the site's Define lines to change (BACKUP_REQUEST_TIMEOUT)."""
    root = Path(root)
    (root / "run").mkdir(parents=True, exist_ok=True)
    certificate, key = self_signed_certificate(root)
    port = free_port()
    (root / "site.conf").write_text(
        site_conf(
            BACKUP_HOST="localhost",
            BACKUP_HTTPS_PORT=port,
            BACKUP_CERTIFICATE=certificate,
            BACKUP_CERTIFICATE_KEY=key,
            BACKUP_SOCKET=socket_path,
            BACKUP_STATIC_ROOT=static_root,
            BACKUP_HTPASSWD=htpasswd,
            **defines,
        )
    )
    loads = "".join(
        f"LoadModule {name}_module {MODULES_DIR / f'mod_{name}.so'}\n" for name in MODULES
    )
    (root / "httpd.conf").write_text(
        f"ServerRoot {root}\n"
        f"PidFile {root / 'run' / 'httpd.pid'}\n"
        f"DefaultRuntimeDir {root / 'run'}\n"
        f"ErrorLog {root / 'error.log'}\n"
        "LogLevel warn\n"
        f"Listen 127.0.0.1:{port} https\n"
        "ServerName localhost\n"
        f"User {user}\nGroup {group}\n"
        f"{loads}"
        "TypesConfig /etc/mime.types\n"
        f"Include {root / 'site.conf'}\n"
    )
    apache = Apache(root=root, port=port, certificate=certificate)
    apache.process = subprocess.Popen(
        ["apache2", "-f", str(apache.conf), "-DFOREGROUND"],
        stdout=subprocess.DEVNULL,
        stderr=(root / "stderr.log").open("w"),
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if apache.process.poll() is not None:
            raise RuntimeError(f"apache2 exited: {_logs(root)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return apache
        except OSError:
            if time.monotonic() > deadline:
                stop(apache)
                raise RuntimeError(f"apache2 did not listen on {port}: {_logs(root)}") from None
            time.sleep(0.1)


def start_for(installation, passwords, *, bcrypt_cost=None, **defines):
    """Apache in front of an installed portal's FastCGI daemon, its basic
    auth admitting ``passwords`` (user: password). The passwords reach
    htpasswd on stdin, never its command line. ``bcrypt_cost``: the lowest
    (4) for benchmarks, which measure the portal, not bcrypt."""
    conf = installation.prefix / "apache"
    conf.mkdir()
    htpasswd = conf / "htpasswd"
    cost = ["-C", str(bcrypt_cost)] if bcrypt_cost else []
    for number, (user, password) in enumerate(passwords.items()):
        create = ["-c"] if number == 0 else []
        subprocess.run(
            ["htpasswd", "-i", "-B", *cost, *create, str(htpasswd), user],
            input=password,
            text=True,
            check=True,
            capture_output=True,
        )
    subprocess.run(["chgrp", "www-data", str(htpasswd)], check=True)
    htpasswd.chmod(0o640)
    return start(
        conf,
        socket_path=installation.socket,
        static_root=installation.static_root,
        htpasswd=htpasswd,
        **defines,
    )


def _logs(root):
    return "".join(
        (root / name).read_text() for name in ("stderr.log", "error.log") if (root / name).exists()
    )


def stop(apache):
    if apache.process is not None and apache.process.poll() is None:
        apache.process.terminate()
        try:
            apache.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            apache.process.kill()
            apache.process.wait()
