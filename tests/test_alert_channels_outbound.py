"""Alert channels can't be turned against the server's own network (issue
19): each trick that worked with Apprise, tried against a real listener on
the loopback, which must receive nothing; the method, headers and body are
the portal's; the address connected to is checked after DNS; redirects are
not followed; loopback, link-local and private addresses are refused unless
the administrator allows their network."""

import json
import ssl

import pytest

from backup.alerts import channels, outbound, services
from backup.alerts.models import AlertPreference, Channel
from support.apache import self_signed_certificate
from support.http_receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    server = Receiver()
    yield server
    server.close()


def send_through(person, url):
    """The channel as stored (an address saved before these rules, or typed
    past the form), sent by the one delivery path; returns (reached, failed)."""
    Channel.objects.create(user=person, url=url)
    AlertPreference.objects.create(user=person, email=False)
    sent = services.send_test(person)
    return sent.reached, sent.failed


@pytest.mark.parametrize(
    "options",
    ["?method=DELETE", "?method=PUT", "?+X-Injected=yes", "?:extra=field", "?-user=x", "#frag"],
)
def test_options_in_the_address_are_refused_and_nothing_is_sent(
    person, listener, settings, options
):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    reached, failed = send_through(person, f"json://127.0.0.1:{listener.port}/hook{options}")
    assert reached == []
    assert "Options in the address" in failed[0][1]
    assert listener.requests == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",  # a name that resolves to the loopback
        "2130706433",  # 127.0.0.1 spelled as one number: a name to the resolver
        "127.1",
        "0x7f000001",
        "[::ffff:127.0.0.1]",
    ],
)
def test_the_loopback_is_refused_unless_allowed(person, listener, host):
    reached, failed = send_through(person, f"json://{host}:{listener.port}/hook")
    assert reached == []
    assert "inside the server" in failed[0][1]
    assert listener.requests == []
    assert Channel.objects.get(user=person).last_failed_at is not None


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "2852039166",  # the same address spelled as one number: a name to the resolver
        "0xa9fea9fe",
        "[::ffff:169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",  # through NAT64
        "[2002:a9fe:a9fe::1]",  # 6to4
        "[fe80::1]",
    ],
)
def test_the_metadata_address_is_refused_before_any_connection(person, monkeypatch, host):
    def no_connection(*args, **kwargs):
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(outbound.socket, "create_connection", no_connection)
    reached, failed = send_through(person, f"json://{host}/latest/meta-data/")
    assert reached == []
    assert "inside the server" in failed[0][1]


UNSPECIFIED = "0.0.0.0"  # noqa: S104 (an address refused, not bound)


@pytest.mark.parametrize(
    "host", ["10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", UNSPECIFIED]
)
def test_private_shared_and_unspecified_ranges_are_refused(host):
    with pytest.raises(outbound.Refused):
        outbound.resolve(host, 80)


def test_an_allowed_network_is_reached_with_the_portals_request(person, listener, settings):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    reached, failed = send_through(person, f"json://localhost:{listener.port}/hook")
    assert failed == []
    assert len(reached) == 1
    ((method, path, headers, body),) = listener.requests
    assert (method, path) == ("POST", "/hook")
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"version", "title", "message", "type"}


def test_an_allowed_network_covers_only_itself(person, listener, settings):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.2/32", "10.0.0.0/8"]
    reached, _failed = send_through(person, f"json://127.0.0.1:{listener.port}/hook")
    assert reached == []
    assert listener.requests == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_to_an_internal_port(person, settings, status):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    internal = Receiver()
    try:
        allowed = Receiver(status=status, location=f"http://127.0.0.1:{internal.port}/admin")
        try:
            reached, failed = send_through(person, f"json://127.0.0.1:{allowed.port}/hook")
        finally:
            allowed.close()
    finally:
        internal.close()
    assert reached == []
    assert "redirect" in failed[0][1]
    assert [request[0] for request in allowed.requests] == ["POST"]
    assert internal.requests == []


def test_a_redirect_to_the_metadata_address_is_not_followed(person, settings, monkeypatch):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    hop = Receiver(status=302, location="http://169.254.169.254/latest/meta-data/")
    connected = []
    real = outbound.socket.create_connection

    def record(address, *args, **kwargs):
        connected.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "create_connection", record)
    try:
        reached, _failed = send_through(person, f"json://127.0.0.1:{hop.port}/hook")
    finally:
        hop.close()
    assert reached == []
    assert connected == ["127.0.0.1"]


def test_matrix_is_sent_with_the_portals_put_and_token(person, listener, settings):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _reached, failed = send_through(
        person, f"matrix://syt_token123@127.0.0.1:{listener.port}/!room:example.org"
    )
    assert failed == []
    ((method, path, headers, body),) = listener.requests
    assert method == "PUT"
    assert path.startswith("/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/")
    assert headers["Authorization"] == "Bearer syt_token123"
    assert json.loads(body)["msgtype"] == "m.text"


@pytest.mark.parametrize(
    ("url", "kind", "path"),
    [
        ("https://hooks.slack.com/services/T0/B0/XXXX", "slack", "/services/T0/B0/XXXX"),
        ("https://discord.com/api/webhooks/123/abc", "discord", "/api/webhooks/123/abc"),
        (
            "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t",
            "gchat",
            "/v1/spaces/AAA/messages?key=k&token=t",
        ),
        ("https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z", "teams", None),
        (
            "https://prod-1.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke"
            "?api-version=2016-06-01&sig=s",
            "teams",
            None,
        ),
        ("mmosts://chat.example.com/abcd1234", "mattermost", "/hooks/abcd1234"),
        ("ntfys://ntfy.example.com/alerts", "ntfy", "/"),
        ("gotifys://push.example.com/Atoken", "gotify", "/message"),
    ],
)
def test_each_service_gets_the_portals_post(url, kind, path):
    address = channels.parse(url)
    assert address.kind == kind
    request = channels.request_for(address, "Backup alert", "Something happened.\n")
    assert request.method == "POST"
    assert request.secure
    if path:
        assert request.path == path
    payload = json.loads(request.body)
    assert "Backup alert" in json.dumps(payload)
    assert url.split("/")[-1].split("?")[0] not in channels.redacted(url) or kind == "ntfy"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com.evil.example/services/x",
        "https://evil.example/api/webhooks/1/2",
        "https://user:pw@hooks.slack.com/services/x",
        "https://hooks.slack.com:8443/services/x",
        "https://discord.com/api/webhooks/1/2?method=DELETE",
        "matrixs://token@matrix.example.com/#alias:example.com",
        "matrixs://matrix.example.com/!room:example.com",
    ],
)
def test_look_alike_webhooks_are_refused(url):
    with pytest.raises(channels.UnusableURL):
        channels.parse(url)


def test_a_discord_message_pings_nobody():
    request = channels.request_for(
        channels.parse("https://discord.com/api/webhooks/1/abc"), "t", "@everyone look"
    )
    assert json.loads(request.body)["allowed_mentions"] == {"parse": []}


def test_the_allowed_networks_setting_is_checked_at_start(settings):
    from backup.alerts import checks

    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["10.0.0.0/8", "not-a-network"]
    assert [error.id for error in checks.alert_settings(None)] == ["backup.alerts.E003"]


@pytest.fixture
def tls_listener(tmp_path):
    """An https listener on the loopback with a certificate for "localhost"."""
    certificate, key = self_signed_certificate(tmp_path)
    server = Receiver(tls=(certificate, key))
    server.certificate = certificate
    yield server
    server.close()


def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(person, tls_listener, settings):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    reached, failed = send_through(person, f"jsons://localhost:{tls_listener.port}/hook")
    assert reached == []
    assert "CERTIFICATE_VERIFY_FAILED" in failed[0][1]
    assert tls_listener.requests == []


def test_https_checks_the_name_while_connecting_to_the_checked_address(
    person, tls_listener, settings, monkeypatch
):
    """The socket goes to the address checked after DNS; the certificate
    must still be for the name in the address."""
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    trusting = ssl.create_default_context(cafile=str(tls_listener.certificate))
    monkeypatch.setattr(outbound, "tls_context", lambda: trusting)
    reached, failed = send_through(person, f"jsons://localhost:{tls_listener.port}/hook")
    assert failed == []
    assert [request[:2] for request in tls_listener.requests] == [("POST", "/hook")]
    assert tls_listener.requests[0][2]["Host"] == f"localhost:{tls_listener.port}"
    Channel.objects.all().delete()
    AlertPreference.objects.all().delete()
    reached, failed = send_through(person, f"jsons://127.0.0.1:{tls_listener.port}/hook")
    assert reached == []
    assert "CERTIFICATE_VERIFY_FAILED" in failed[0][1] or "match" in failed[0][1]
    assert len(tls_listener.requests) == 1


@pytest.mark.parametrize(
    ("address", "method", "path", "field"),
    [
        ("json://{host}/hook", "POST", "/hook", "message"),
        ("form://{host}/hook", "POST", "/hook", None),
        ("ntfy://{host}/backup-alerts", "POST", "/", "topic"),
        ("gotify://{host}/AppToken1", "POST", "/message", "priority"),
        ("mmost://{host}/hookid123", "POST", "/hooks/hookid123", "text"),
        ("matrix://tok@{host}/!r:example.org", "PUT", None, "msgtype"),
    ],
)
def test_each_self_hosted_kind_reaches_a_real_listener_with_the_portals_request(
    person, listener, settings, address, method, path, field
):
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _reached, failed = send_through(person, address.format(host=f"127.0.0.1:{listener.port}"))
    assert failed == []
    ((got_method, got_path, headers, body),) = listener.requests
    assert got_method == method
    if path:
        assert got_path == path
    if field:
        assert field in json.loads(body)
    else:
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert b"title=" in body
    assert headers["User-Agent"] == "backup-portal-alerts"
