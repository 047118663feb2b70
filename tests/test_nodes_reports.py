"""When the portal says a storage server is unreachable: from the age of its
last report (issue 22), on the test database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backup.nodes import reports
from backup.nodes.models import Node, NodeReport

pytestmark = pytest.mark.django_db


@pytest.fixture
def node():
    return Node.objects.create(name="n1", samba_address="n1.example.com")


def test_a_node_that_reports_is_reachable(node, settings):
    settings.NODE_SILENT_AFTER_SECONDS = 600
    now = timezone.now()
    NodeReport.objects.create(
        node=node, reported_at=now - timedelta(seconds=599), pool_size_bytes=10,
        pool_free_bytes=5, volume_count=0,
    )  # fmt: skip
    assert reports.unreachable_since(node, now=now) is None


def test_a_silent_node_is_unreachable_since_its_last_report(node, settings):
    settings.NODE_SILENT_AFTER_SECONDS = 600
    now = timezone.now()
    last = now - timedelta(seconds=601)
    NodeReport.objects.create(
        node=node, reported_at=last, pool_size_bytes=10, pool_free_bytes=5, volume_count=0
    )
    assert reports.unreachable_since(node, now=now) == last


def test_a_node_that_never_reported_is_unreachable_since_it_was_added(node, settings):
    settings.NODE_SILENT_AFTER_SECONDS = 600
    later = node.created_at + timedelta(seconds=601)
    assert reports.unreachable_since(node, now=later) == node.created_at
    assert reports.unreachable_since(node, now=node.created_at + timedelta(seconds=60)) is None
