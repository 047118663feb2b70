"""The second server's figures for /metrics, from the stored report only
(three queries; nothing at all when no replica is configured)."""

import datetime
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from . import services


def families(now: datetime.datetime) -> Iterator[Metric]:
    state = services.state(now)
    if state is None:
        return
    age = GaugeMetricFamily(
        "backup_replica_report_age_seconds",
        "Seconds since the second server's last report reached this server "
        "(absent: it never reported).",
    )
    reachable = GaugeMetricFamily(
        "backup_replica_reachable",
        "1 while the second server reports in time and reaches this server, else 0.",
    )
    free = GaugeMetricFamily(
        "backup_replica_pool_free_bytes", "Free space in the second server's pool."
    )
    size = GaugeMetricFamily("backup_replica_pool_size_bytes", "Size of the second server's pool.")
    lag = GaugeMetricFamily(
        "backup_replica_lag_seconds",
        "How far each volume's newest copy on the second server is behind its newest snapshot.",
        labels=["volume"],
    )
    max_lag = GaugeMetricFamily(
        "backup_replica_max_lag_seconds", "The largest lag of any volume's copy."
    )
    behind = GaugeMetricFamily(
        "backup_replica_volumes_behind",
        "Volumes whose copy is more than twice the pull interval behind.",
    )
    reachable.add_metric([], 0 if state.unreachable or state.report is None else 1)
    if state.report is not None and state.silent_for is not None:
        age.add_metric([], state.silent_for.total_seconds())
        free.add_metric([], state.report.pool_free_bytes)
        size.add_metric([], state.report.pool_size_bytes)
    for volume in state.volumes:
        if volume.lag is not None:
            lag.add_metric([volume.account], volume.lag.total_seconds())
    if state.max_lag is not None:
        max_lag.add_metric([], state.max_lag.total_seconds())
    behind.add_metric([], len(state.behind))
    yield from (age, reachable, free, size, lag, max_lag, behind)
