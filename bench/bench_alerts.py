"""What the alert path costs: one channel post through the portal's own
checked request (name resolved and checked, connection to the checked
address, no redirect) to a listener on the loopback, against a plain
http.client post; and retry_pending, which update_df_stats runs every five
minutes, with 1,000 undelivered alerts waiting (its steady state) and with
1,000 due while the mail server is down (it attempts at most
MAX_ATTEMPTS_PER_RUN of them per run).

In-process, a throwaway database; nothing needs root. Run:

    .venv/bin/python bench/bench_alerts.py
"""

import datetime
import http.client
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backup.settings.test")

import django  # noqa: E402

django.setup()
logging.getLogger("backup").setLevel(logging.CRITICAL)

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from backup.alerts import channels, delivery  # noqa: E402
from backup.alerts.models import PendingAlert  # noqa: E402
from support.http_receiver import Receiver, closed_port  # noqa: E402

POSTS = 200
PENDING = 1000
TARGETS = {
    "post": "a checked post within 2 ms of a plain one on the loopback",
    "retry": "retry_pending under 1 s with 1,000 waiting, under 10 s with 1,000 due",
}


def median_ms(samples):
    return statistics.median(samples) * 1000


def bench_posts():
    settings.ALERT_CHANNELS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver = Receiver()
    try:
        url = f"json://127.0.0.1:{receiver.port}/hook"
        checked, plain = [], []
        for _ in range(POSTS):
            start = time.perf_counter()
            assert channels.push(url, "Backup alert", "bench") is None
            checked.append(time.perf_counter() - start)
            start = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=5)
            connection.request("POST", "/hook", body=b"{}", headers={"Content-Type": "x"})
            connection.getresponse().read()
            connection.close()
            plain.append(time.perf_counter() - start)
    finally:
        receiver.close()
    return median_ms(checked), median_ms(plain)


def bench_retry(user):
    now = timezone.now()
    later = now + datetime.timedelta(hours=1)
    rows = [
        PendingAlert(
            user=user,
            template="alerts/email/test",
            messages={"": ["subject", "body"]},
            created_at=now,
            last_attempt_at=now,
            next_attempt_at=later,
        )
        for _ in range(PENDING)
    ]
    PendingAlert.objects.bulk_create(rows)
    start = time.perf_counter()
    delivery.retry_pending(now=now)
    waiting = time.perf_counter() - start
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    start = time.perf_counter()
    run = delivery.retry_pending(now=later)
    due = time.perf_counter() - start
    assert len(run.failed) == delivery.MAX_ATTEMPTS_PER_RUN
    return waiting * 1000, due * 1000


def main():
    with tempfile.TemporaryDirectory() as workdir:
        setup_test_environment()
        settings.DATABASES["default"]["NAME"] = str(Path(workdir) / "bench.sqlite3")
        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create(username="benchalerts", email="b@corp.test")
        checked, plain = bench_posts()
        waiting, due = bench_retry(user)
    print(f"channel post, median of {POSTS}: checked {checked:.2f} ms, plain {plain:.2f} ms")
    print(f"  target: {TARGETS['post']}: {'met' if checked - plain <= 2 else 'NOT met'}")
    print(f"retry_pending, {PENDING} waiting, none due: {waiting:.1f} ms")
    print(
        f"retry_pending, {PENDING} due, mail server down: {due:.0f} ms "
        f"({delivery.MAX_ATTEMPTS_PER_RUN} attempted)"
    )
    met = waiting < 1000 and due < 10_000
    print(f"  target: {TARGETS['retry']}: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
