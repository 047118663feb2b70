"""Check-ins through the production front end: a private Apache serving
deploy/apache/backupmanagement.conf over HTTPS in front of the flup daemon
of a real bin/install. The check-in path is open without signing in, its
neighbours are not; a check-in sets no cookie, whatever credentials come
with it; the token reaches neither the portal's log nor syslog."""

import base64
import http.client
import re
import secrets

import pytest

from backup.checkins import tokens
from support import apache, deployment

pytestmark = [pytest.mark.root, pytest.mark.slow]

USER = f"chk{secrets.token_hex(3)}"
PASSWORD = "check-in-password-1"


@pytest.fixture(scope="module")
def site():
    installation = deployment.create()
    server = None
    try:
        installed = installation.install()
        assert installed.returncode == 0, installed.stdout + installed.stderr
        started = installation.start_daemon()
        assert started.returncode == 0, started.stderr
        server = apache.start_for(installation, {USER: PASSWORD})
        server.installation = installation
        yield server
    finally:
        if server is not None:
            apache.stop(server)
        deployment.destroy(installation)


def request(server, method, path, *, body=None, headers=None, signed_in=False, cookie=None):
    """(status, headers, body) of one request over HTTPS."""
    connection = http.client.HTTPSConnection(
        "localhost", server.port, context=server.ssl_context(), timeout=30
    )
    sent = dict(headers or {})
    if signed_in:
        sent["Authorization"] = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    if cookie:
        sent["Cookie"] = cookie
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.fixture(scope="module")
def checkin_url(site):
    """A check-in address made through the portal's own pages, as an employee does."""
    status, headers, page = request(site, "GET", "/backup/", signed_in=True)
    assert status == 200
    cookies = "; ".join(
        value.split(";", 1)[0] for name, value in headers.items() if name.lower() == "set-cookie"
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    origin = f"https://localhost:{site.port}"
    status, headers, _ = request(
        site,
        "POST",
        "/backup/checkins/create/",
        body=f"csrfmiddlewaretoken={token}&name=Laptop&period_hours=24",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": f"{origin}/backup/",
        },
        signed_in=True,
        cookie=cookies,
    )
    assert status == 302
    assert headers["Location"] == "/backup/checkins/shown/"
    _, _, shown = request(site, "GET", "/backup/checkins/shown/", signed_in=True, cookie=cookies)
    url = re.search(r'data-testid="checkin-url">([^<]+)<', shown).group(1)
    assert url.startswith(f"{origin}/backup/ping/")
    return url.removeprefix(origin), cookies


def test_a_check_in_needs_no_sign_in_and_sets_no_cookie(site, checkin_url):
    path, cookies = checkin_url
    for method, suffix, body in (
        ("GET", "/start", None),
        ("POST", "", b"all done"),
        ("POST", "/fail", b"<b>disk full</b>"),
        ("HEAD", "", None),
        ("GET", "/0", None),
    ):
        status, headers, text = request(site, method, path + suffix, body=body)
        assert status == 200, (suffix, text)
        assert "Set-Cookie" not in headers
    # Basic-auth credentials and a session cookie sent along change nothing.
    status, headers, _ = request(site, "POST", path, signed_in=True, cookie=cookies)
    assert status == 200
    assert "Set-Cookie" not in headers
    # What the daemon stored, read with the installation's own settings.
    shown = site.installation.manage(
        "shell",
        "--no-imports",
        "-c",
        "from backup.checkins.models import CheckIn; c = CheckIn.objects.get(); "
        "print(c.check_ins, c.failure_log, c.last_exit_status, c.started_at)",
    )
    assert shown.stdout.split() == ["6", "<b>disk", "full</b>", "None", "None"], shown.stderr


def test_only_the_check_in_paths_are_open(site, checkin_url):
    unknown = request(site, "GET", "/backup/ping/" + "A" * 32)
    assert (unknown[0], unknown[2]) == (404, "not found")
    assert request(site, "GET", "/backup/ping/")[0] == 401
    assert request(site, "GET", "/backup/checkins/setup/")[0] == 401
    assert request(site, "GET", "/backup/pingx/" + "A" * 32)[0] == 401


def test_a_huge_body_is_answered_and_only_its_start_kept(site, checkin_url):
    """The portal reads at most checkin_log_max_bytes of a body, whatever
    its size; the rest is never read into the portal's memory."""
    path, _ = checkin_url
    status, _, text = request(site, "POST", path + "/log", body=b"x" * (64 * 1024 * 1024))
    assert (status, text) == (200, "OK")
    shown = site.installation.manage(
        "shell",
        "--no-imports",
        "-c",
        "from backup.checkins.models import CheckIn; c = CheckIn.objects.get(); "
        "print(len(c.last_log), c.last_log_truncated)",
    )
    assert shown.stdout.split() == ["10000", "True"], shown.stderr


def test_the_token_is_not_logged_by_the_portal(site, checkin_url):
    path, _ = checkin_url
    token = path.split("/")[3]
    request(site, "GET", path + "/1000")  # refused: 400
    request(site, "PUT", path)  # refused: 405
    unknown = tokens.new()
    assert request(site, "POST", f"/backup/ping/{unknown}/fail", body=b"x")[0] == 404
    logs = [
        entry for entry in (site.installation.prefix / "var" / "log").rglob("*") if entry.is_file()
    ]
    logged = "".join(entry.read_text(errors="replace") for entry in logs)
    # The portal's log is among them: it names the unknown token by its hash.
    assert tokens.shown(tokens.digest(unknown)) in logged
    assert token not in logged
    assert unknown not in logged
