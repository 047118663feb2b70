"""The production front end for real: a private Apache serving
deploy/apache/backupmanagement.conf over HTTPS with basic auth, in front of
the flup daemon started by bin/start.sh as the service user of a bin/install
installation."""

import base64
import http.client
import json
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from prometheus_client.parser import text_string_to_metric_families

from support import apache, deployment, slow_fcgi
from support.waiting import wait_until

REPO = deployment.REPO

pytestmark = [pytest.mark.root, pytest.mark.slow]

# Account names are global: unique to the session, so that two test runs (or
# a demo) never meet on one.
_TOKEN = secrets.token_hex(3)
ALICE, BOB = f"alice{_TOKEN}", f"bob{_TOKEN}"
PASSWORDS = {ALICE: "alice-password-1", BOB: "bob-password-2"}
METRICS_TOKEN = "metrics-" + "k" * 40


@pytest.fixture(scope="module")
def site():
    installation = deployment.create()
    server = None
    try:
        installed = installation.install()
        assert installed.returncode == 0, installed.stdout + installed.stderr
        # As an admin would for a small pool: the test pool is 20 GiB.
        with installation.config.open("a") as config:
            config.write("default_disk_size = 1\n")
            # Scrapes come from this host: only the token may admit them.
            config.write(f'metrics_allowed_networks = []\nmetrics_token = "{METRICS_TOKEN}"\n')
        started = installation.start_daemon()
        assert started.returncode == 0, started.stderr
        server = apache.start_for(installation, PASSWORDS)
        server.installation = installation
        yield server
    finally:
        if server is not None:
            apache.stop(server)
        deployment.destroy(installation)


@dataclass
class Response:
    status: int
    headers: dict
    body: str


@dataclass
class Browser:
    """A client that keeps cookies, never follows redirects, and signs in
    with basic auth like a browser that was given the password."""

    server: apache.Apache
    user: str = None
    password: str = None
    cookies: dict = field(default_factory=dict)

    def request(self, method, path, *, body=None, headers=None):
        connection = http.client.HTTPSConnection(
            "localhost", self.server.port, context=self.server.ssl_context(), timeout=30
        )
        sent = dict(headers or {})
        if self.user:
            password = self.password or PASSWORDS[self.user]
            token = base64.b64encode(f"{self.user}:{password}".encode()).decode()
            sent["Authorization"] = f"Basic {token}"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Response(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read().decode("utf-8", "replace"),
            )
        finally:
            connection.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post(self, path, data, headers=None):
        return self.request(
            "POST",
            path,
            body=urlencode(data),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    @property
    def origin(self):
        return f"https://localhost:{self.server.port}"


def signed_in_as(body):
    found = re.search(r'data-testid="signed-in-user"[^>]*>(.*?)</', body, flags=re.DOTALL)
    return re.sub(r"<[^>]+>|Signed in as", "", found.group(1)).strip() if found else None


def test_unauthenticated_requests_get_401(site):
    anonymous = Browser(site)
    for path in ("/backup/", "/backup/ping/", "/backup/admin/", "/backup/volume/create/"):
        response = anonymous.get(path)
        assert response.status == 401, path
        assert response.headers["www-authenticate"] == 'Basic realm="Backup management"'
    assert Browser(site, user=ALICE, password="wrong-password").get("/backup/").status == 401
    assert Browser(site, user="mallory", password="no-such-user").get("/backup/").status == 401


def test_a_claimed_identity_without_a_password_is_401(site):
    anonymous = Browser(site)
    response = anonymous.get("/backup/", headers={"Remote-User": ALICE, "X-Remote-User": ALICE})
    assert response.status == 401


def test_signed_in_user_reaches_their_own_dashboard(site):
    for user in PASSWORDS:
        response = Browser(site, user=user).get("/backup/")
        assert response.status == 200, response.body[:500]
        assert signed_in_as(response.body) == user
        assert "Set-Cookie" not in response.headers or "Secure" in response.headers["set-cookie"]


def test_daemon_answers_through_the_proxy(site):
    response = Browser(site, user=ALICE).get("/backup/ping/")
    assert (response.status, response.body) == (200, "pong")
    # Django saw HTTPS (mod_ssl's HTTPS=on through FastCGI), so no redirect
    # loop, and sets its security headers.
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_spoofed_identity_headers_change_nothing(site):
    alice = Browser(site, user=ALICE)
    for header in ("Remote-User", "X-Remote-User", "Remote_User"):
        response = alice.get("/backup/", headers={header: BOB})
        assert response.status == 200
        assert signed_in_as(response.body) == ALICE, header


def test_prefix_is_kept_in_urls_and_redirects(site):
    alice = Browser(site, user=ALICE)
    bare = alice.get("/backup")
    assert bare.status == 301
    assert bare.headers["location"] == f"{alice.origin}/backup/"
    body = alice.get("/backup/").body
    assert 'href="/backup/static/' in body
    assert 'href="/static/' not in body


def test_static_files_are_served_by_apache(site):
    alice = Browser(site, user=ALICE)
    stylesheets = re.findall(r'href="(/backup/static/[^"]+\.css)"', alice.get("/backup/").body)
    assert stylesheets
    anonymous = Browser(site)
    for url in stylesheets:
        response = anonymous.get(url)
        assert response.status == 200, url
        assert response.headers["content-type"].startswith("text/css")
        on_disk = site.installation.static_root / url.removeprefix("/backup/static/")
        assert response.body == on_disk.read_text()
        # Django's middleware would have added this: Apache served the file.
        assert "x-frame-options" not in response.headers
    assert anonymous.get("/backup/static/admin/css/base.css").status == 200
    assert anonymous.get("/backup/static/../../etc/backupmanagement/backup.toml").status in (
        400,
        401,
        403,
        404,
    )


def test_csrf_protected_post_works_through_the_proxy(site):
    alice = Browser(site, user=ALICE)
    page = alice.get("/backup/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    assert "csrftoken" in alice.cookies
    origin = {"Origin": alice.origin, "Referer": f"{alice.origin}/backup/"}

    missing = alice.post("/backup/volume/create/", {}, headers=origin)
    assert missing.status == 403
    forged = alice.post(
        "/backup/volume/create/",
        {"csrfmiddlewaretoken": token},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
    )
    assert forged.status == 403

    accepted = alice.post("/backup/volume/create/", {"csrfmiddlewaretoken": token}, headers=origin)
    assert accepted.status == 302, accepted.body[:500]
    assert accepted.headers["location"].startswith("/backup/")


def test_a_volume_is_created_end_to_end(site):
    """Apache, flup, the task worker, sudo and the root-owned wrappers, as
    installed: an employee's click makes a real volume."""
    bob = Browser(site, user=BOB)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', bob.get("/backup/").body)
    started = bob.post(
        "/backup/volume/create/",
        {"csrfmiddlewaretoken": token.group(1)},
        headers={"Origin": bob.origin, "Referer": f"{bob.origin}/backup/"},
    )
    assert started.status == 302
    operation = re.fullmatch(r"/backup/operations/(\d+)/", started.headers["location"])
    assert operation, started.headers["location"]
    worker = site.installation.start_worker()
    try:

        def ended():
            status = json.loads(bob.get(f"/backup/operations/{operation.group(1)}/status/").body)
            return None if status["active"] else status

        status = wait_until(ended, "the operation to end", seconds=180)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert status["state"] == "succeeded", status
    dashboard = bob.get("/backup/")
    assert signed_in_as(dashboard.body) == BOB
    assert 'data-testid="size"' in dashboard.body
    mount_point = site.installation.prefix / "srv" / "userbackup" / BOB
    assert mount_point.is_mount()
    # Every privileged step went through sudo as the service user.
    asked = [line for line in site.installation.syslog if "useradd.py: ok" in line]
    assert asked
    assert f"from {site.installation.user}" in asked[0]


def test_metrics_need_the_token_not_a_sign_in(site):
    """Apache lets /backup/metrics through without signing in and passes the
    bearer token on; the portal admits the token and nobody else."""
    anonymous = Browser(site)
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    response = anonymous.get("/backup/metrics", headers=bearer)
    assert response.status == 200, response.body[:500]
    families = {f.name for f in text_string_to_metric_families(response.body)}
    assert {"backup_volume_size_bytes", "backup_pool_size_bytes"} <= families
    refused = [
        anonymous.get("/backup/metrics"),
        anonymous.get("/backup/metrics", headers={"Authorization": "Bearer wrong"}),
        # Signing in to the portal is not a way to the metrics.
        Browser(site, user=ALICE).get("/backup/metrics"),
    ]
    assert [(r.status, r.body) for r in refused] == [(403, "Forbidden\n")] * 3
    # Only that one path is open: its neighbours still ask for a sign-in.
    assert anonymous.get("/backup/metrics/").status == 401
    assert anonymous.get("/backup/metricsx", headers=bearer).status == 401


def test_requests_beyond_the_daemons_children_wait_instead_of_getting_503(site):
    """Six times as many requests at once as the daemon has children, through
    Apache: all are answered (flup's threaded server refused the extra ones)."""
    installation = site.installation
    restarted = installation.as_service_user(str(REPO / "bin" / "start.sh"), "--workers", "2")
    assert restarted.returncode == 0, restarted.stderr
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(
                pool.map(lambda _: Browser(site, user=ALICE).get("/backup/ping/"), range(24))
            )
        assert [(answer.status, answer.body) for answer in answers] == [(200, "pong")] * 24
    finally:
        assert installation.start_daemon().returncode == 0


def test_a_request_apache_gave_up_on_stops_in_the_daemon_at_the_same_time(site):
    """Apache stamps each request; the daemon counts the limit from that
    stamp, so the time a request waited for a free child counts too.

    Timed by events, not guesses: the only child holds a request until the
    test releases it, the second request is seen waiting in the daemon's
    backlog, and it waits there 2 s. Any wait from 1 s to the 6 s limit
    shows the same (it then has at most 5 s left and needs 5.9); counted
    from when a child took it, it would have finished."""
    prefix = site.installation.prefix
    directory = prefix / "slow"
    directory.mkdir(mode=0o755)
    daemon = slow_fcgi.start(directory, workers=1, request_timeout=6, group="www-data")
    front = None
    try:
        front = apache.start(
            prefix / "apache-slow",
            socket_path=daemon.socket,
            static_root=site.installation.static_root,
            htpasswd=site.root / "htpasswd",
            BACKUP_REQUEST_TIMEOUT=6,
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            busy = pool.submit(Browser(front, user=ALICE).get, "/backup/hold/60")
            wait_until(lambda: daemon.entries() == ["started /hold/60"], "the only child busy")
            queued = pool.submit(Browser(front, user=ALICE).get, "/backup/queued/5.9")
            wait_until(lambda: daemon.backlog() == 1, "the second request in the backlog")
            time.sleep(2)  # how long it waits for a free child (see above)
            daemon.release()
            assert busy.result().status == 200
            assert queued.result().status == 504
        assert daemon.entries() == ["started /hold/60", "finished /hold/60", "started /queued/5.9"]
        # The child that ran it was stopped (and reaped, so it can never
        # write "finished"), as Apache gave up.
        wait_until(
            lambda: "a request ran longer than 6 s" in daemon.log.read_text(),
            "the daemon to stop the request",
        )
        assert "finished /queued/5.9" not in daemon.entries()
    finally:
        if front is not None:
            apache.stop(front)
        slow_fcgi.stop(daemon)
