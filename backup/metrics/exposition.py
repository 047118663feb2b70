"""The figures as Prometheus metric families, through the official client's
collector API: the library writes the text format and escapes the label
values, which include names taken from users' volumes."""

from collections.abc import Callable, Iterator

from django.utils import timezone
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder

from backup.replica import metrics as replica_metrics

from . import figures


class PortalCollector:
    """Reads the stored figures afresh on every scrape; registered on a
    registry of its own, so no process-wide state is kept or exposed."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from volume_families(figures.volumes(now))
        yield from operation_families(figures.operations())
        yield from pool_families(figures.pool(now))
        yield from replica_metrics.families(now)


def volume_families(volumes: list[figures.VolumeFigures]) -> Iterator[Metric]:
    size = GaugeMetricFamily(
        "backup_volume_size_bytes", "Size of the backup volume.", labels=["volume"]
    )
    used = GaugeMetricFamily(
        "backup_volume_used_bytes",
        "Space used on the volume, as the space collector last recorded it "
        "(absent when it recorded none in the last 15 minutes).",
        labels=["volume"],
    )
    scanned = GaugeMetricFamily(
        "backup_volume_scan_timestamp_seconds",
        "When the volume's backups were last scanned.",
        labels=["volume"],
    )
    stale = GaugeMetricFamily(
        "backup_volume_stale_computers",
        "Computers whose last backup is older than the owner's threshold, as of the last scan.",
        labels=["volume"],
    )
    last_backup = GaugeMetricFamily(
        "backup_volume_last_backup_timestamp_seconds",
        "When each computer's last completed backup on the volume was made, as of the last scan.",
        labels=["volume", "computer", "format", "path"],
    )
    for volume in volumes:
        size.add_metric([volume.account], volume.size_bytes)
        if volume.used_bytes is not None:
            used.add_metric([volume.account], volume.used_bytes)
        if volume.scanned_at is not None:
            scanned.add_metric([volume.account], volume.scanned_at)
            stale.add_metric([volume.account], volume.stale_computers)
        for backup in volume.last_backups:
            last_backup.add_metric(
                [volume.account, backup.computer, backup.format, backup.path], backup.timestamp
            )
    yield from (size, used, scanned, stale, last_backup)


def operation_families(operations: list[figures.OperationFigures]) -> Iterator[Metric]:
    total = CounterMetricFamily(
        "backup_operations", "Operations recorded in the audit log, by kind.", labels=["kind"]
    )
    failed = CounterMetricFamily(
        "backup_operation_failures", "Operations that failed, by kind.", labels=["kind"]
    )
    for operation in operations:
        total.add_metric([operation.kind], operation.total)
        failed.add_metric([operation.kind], operation.failed)
    yield from (total, failed)


def pool_families(pool: figures.PoolFigures) -> Iterator[Metric]:
    for name, value, help_text in (
        ("backup_pool_size_bytes", pool.size_bytes, "Size of the storage pool."),
        ("backup_pool_allocated_bytes", pool.allocated_bytes, "Pool space given to volumes."),
        ("backup_pool_used_bytes", pool.used_bytes, "Pool space holding data."),
        (
            "backup_pool_days_to_full",
            pool.days_to_full,
            "Days until the pool is full at its recent growth (+Inf: not growing; "
            "absent: too little history).",
        ),
    ):
        family = GaugeMetricFamily(name, help_text)
        if value is not None:
            family.add_metric([], value)
        yield family


def render(accept: str | None) -> tuple[bytes, str]:
    """(body, content type) in the format the scraper asked for."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PortalCollector())
    encoder: Callable[[CollectorRegistry], bytes]
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
