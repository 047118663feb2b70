"""The typed wrapper results (backup/privileged/results.py): a malformed
result is the wrapper's Failed saying which field is wrong and why, and the
recorded outputs the portal's tests run against parse with the same parser.
tests/test_wrapper_contract.py parses the real wrappers' output with it."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from backup.privileged import commands, results
from backup.privileged.client import Failed
from backup.privileged.fields import MAX_COUNT
from support.recorded_wrappers import PARSERS, RecordedWrappers, acknowledged, parse_recorded
from support.snapshot_outputs import (
    GIB,
    MIB,
    answer_browse,
    listed,
    measured,
    name_at,
    outcome,
    unsupported,
)

ACCOUNT = "bmtresults"
WHEN = "2026-11-30T21:00:00Z"
SNAPSHOT = "@GMT-2026.11.30-21.00.00"


def pool(**fields):
    return {"backend": "loopfile", "name": "pool", "size_bytes": 20 * GIB,
            "allocated_bytes": GIB, "used_bytes": GIB, "free_bytes": 19 * GIB,
            "volume_count": 1, **fields}  # fmt: skip


def volume(**fields):
    return {"user": ACCOUNT, "size_bytes": GIB, "device": None, "mount_point": "/srv/x",
            "mounted": False, "filesystem": None, **fields}  # fmt: skip


def source(**fields):
    return {"machine": "mac", "format": "time_machine", "path": "mac.sparsebundle",
            "last_backup": WHEN, "backups": 3, "state": "complete", "size_bytes": GIB,
            "size_estimated": False, "evidence": None, "in_progress_since": None,
            **fields}  # fmt: skip


def report(**fields):
    return {"user": ACCOUNT, "scanned_at": WHEN, "truncated": False, "sources": [source()],
            "more_sources": 0, "unrecognised": [], "more_unrecognised": 0,
            **fields}  # fmt: skip


def snapshot_run(volresult):
    return {"taken_at": WHEN, "volumes": {ACCOUNT: volresult}}


MALFORMED = [
    # (wrapper, parser, result, the reason Failed gives)
    ("vgdisplay.py", results.pool, None, "result: not an object but NoneType"),
    ("vgdisplay.py", results.pool, ["a", "list"], "result: not an object but list"),
    ("vgdisplay.py", results.pool, pool(size_bytes="5"), "size_bytes: not a whole number but '5'"),
    ("vgdisplay.py", results.pool, pool(volume_count=True),
     "volume_count: not a whole number but True"),
    ("vgdisplay.py", results.pool, pool(free_bytes=2.5), "free_bytes: not a whole number but 2.5"),
    ("vgdisplay.py", results.pool, pool(free_bytes=-1), r"free_bytes: out of range \(-1\)"),
    ("vgdisplay.py", results.pool, pool(used_bytes=MAX_COUNT + 1), "used_bytes: out of range"),
    ("vgdisplay.py", results.pool, {k: v for k, v in pool().items() if k != "name"},
     "name: missing"),
    ("vgdisplay.py", results.pool, pool(name="n" * 5000),
     r"name: longer than 4096 characters \(5000\)"),
    ("lvdisplay.py", results.inventory, {"backend": "loopfile", "volumes": [volume(user="../etc")]},
     r"volumes\[0\]\.user: not of the expected form: '\.\./etc'"),
    ("lvdisplay.py", results.inventory, {"backend": "loopfile", "volumes": [volume(mounted="yes")]},
     r"volumes\[0\]\.mounted: not true or false but 'yes'"),
    ("lvdisplay.py", results.one_volume, {"volume": volume(filesystem="ntfs")},
     "volume.filesystem: not one of ext4, btrfs, xfs: 'ntfs'"),
    ("fetch_backups.py", results.backup_report, report(sources={"not": "a list"}),
     "sources: not a list but dict"),
    ("fetch_backups.py", results.backup_report, report(sources=[source()] * 101),
     r"sources: more than 100 items \(101\)"),
    ("fetch_backups.py", results.backup_report, report(sources=["not a source"]),
     r"sources\[0\]: not an object but str"),
    ("fetch_backups.py", results.backup_report, report(sources=[source(machine="x" * 301)]),
     r"sources\[0\]\.machine: longer than 300 characters \(301\)"),
    ("fetch_backups.py", results.backup_report, report(sources=[source(machine=["not", "text"])]),
     r"sources\[0\]\.machine: not text but \['not', 'text'\]"),
    ("fetch_backups.py", results.backup_report, report(sources=[source(last_backup="yesterday")]),
     r"sources\[0\]\.last_backup: not a time YYYY-MM-DDTHH:MM:SSZ: 'yesterday'"),
    ("fetch_backups.py", results.backup_report, report(sources=[source(state="exploded")]),
     r"sources\[0\]\.state: not one of complete, in_progress, failed: 'exploded'"),
    ("fetch_backups.py", results.backup_report, report(sources=[source(size_bytes=-5)]),
     r"sources\[0\]\.size_bytes: out of range \(-5\)"),
    ("fetch_backups.py", results.backup_report, report(scanned_at="2026-02-30T00:00:00Z"),
     "scanned_at: not a time"),
    ("fetch_backups.py", results.backup_report,
     report(unrecognised=[{"path": 7, "modified": None}]),
     r"unrecognised\[0\]\.path: not text but 7"),
    *[("fetch_backups.py", results.backup_report, report(more_sources=more), "more_sources: ")
      for more in (-1, "5", True, None, 2.5)],
    ("snapshot-create.py", results.snapshot_run,
     snapshot_run(outcome(SNAPSHOT, MIB, MIB, change=measured(SNAPSHOT, MIB, deleted_files=True))),
     rf"volumes\.{ACCOUNT}\.change\.deleted_files: not a whole number but True"),
    ("snapshot-create.py", results.snapshot_run,
     snapshot_run(outcome(SNAPSHOT, MIB, MIB, change=measured("x" * 500, -3))),
     rf"volumes\.{ACCOUNT}\.change\.base: not of the expected form: .xxx"),
    ("snapshot-create.py", results.snapshot_run,
     snapshot_run(outcome("../../etc/passwd", MIB, MIB)),
     rf"volumes\.{ACCOUNT}\.snapshot: not of the expected form: '\.\./\.\./etc/passwd'"),
    ("snapshot-create.py", results.snapshot_run,
     snapshot_run(outcome(SNAPSHOT, MIB, MIB, pruned=["x"])),
     rf"volumes\.{ACCOUNT}\.pruned\[0\]: not a snapshot name: 'x'"),
    ("snapshot-list.py", results.snapshot_listings, {"volumes": {"Not An Account": {}}},
     "volumes: not an account name: 'Not An Account'"),
    ("snapshot-browse.py", results.snapshot_folder,
     {"user": ACCOUNT, "supported": True, "snapshot": SNAPSHOT, "path": ".", "total": 1,
      "truncated": False, "entries": [{"ref": "../x", "name": "x", "type": "file",
                                        "size_bytes": 1, "modified": None}]},
     r"entries\[0\]\.ref: not of the expected form: '\.\./x'"),
]  # fmt: skip


@pytest.mark.parametrize(("wrapper", "parser", "raw", "reason"), MALFORMED)
def test_a_malformed_result_is_the_wrappers_failure_saying_what_is_wrong(
    wrapper, parser, raw, reason
):
    with pytest.raises(Failed) as raised:
        results.parse(wrapper, raw, parser)
    assert raised.value.wrapper == wrapper
    assert raised.value.reason.startswith("returned a malformed result: ")
    assert re.search(reason, raised.value.reason), raised.value.reason


def test_keys_unknown_to_the_contract_are_dropped_not_passed_on():
    parsed = results.parse("vgdisplay.py", pool(evil="<script>"), results.pool)
    assert parsed == pool()
    listing = listed(ACCOUNT, results_time(), snapshot_bytes=None)
    listing["volumes"][ACCOUNT]["snapshots"][0]["extra"] = 1
    parsed_listing = results.parse("snapshot-list.py", listing, results.snapshot_listings)
    assert "extra" not in parsed_listing["volumes"][ACCOUNT]["snapshots"][0]


def results_time():
    from datetime import UTC, datetime

    return datetime(2026, 11, 30, 21, tzinfo=UTC)


def test_the_client_refuses_a_malformed_result_from_a_wrapper(tmp_path, settings):
    """Through the real client: the wrapper's Failed, nothing half-parsed."""
    settings.WRAPPERS_PATH = tmp_path
    settings.WRAPPERS_USE_SUDO = False
    recorded = RecordedWrappers(tmp_path)
    recorded.answer("vgdisplay.py", pool(free_bytes=-1), malformed=True)
    with pytest.raises(Failed, match=r"vgdisplay\.py: returned a malformed result: free_bytes"):
        commands.pool()
    recorded.answer("vgdisplay.py", pool())
    assert commands.pool() == pool()


# --- The recorded outputs the portal's tests use -----------------------------


def test_the_recorded_snapshot_outputs_parse_as_the_real_ones_must():
    """support/snapshot_outputs.py builds what the snapshot wrappers print;
    each form is parsed by the client's parser."""
    base = name_at(results_time())
    forms = [
        ("snapshot-create.py", snapshot_run(outcome(SNAPSHOT, None, MIB))),
        ("snapshot-create.py", snapshot_run(outcome(SNAPSHOT, MIB, MIB, pruned=[base],
                                                    change=measured(base, GIB, deleted_files=3),
                                                    window=measured(base, None), holds=MIB))),
        ("snapshot-create.py", snapshot_run(outcome(None, None, 0, error="busy"))),
        ("snapshot-list.py", listed(ACCOUNT, results_time())),
        ("snapshot-list.py", unsupported(ACCOUNT)),
        *[(f"{name} {ACCOUNT}", acknowledged(f"{name} {ACCOUNT}"))
          for name in ("umount.py", "lvremove.py", "rmdir.py", "deluser.py", "suspend.py")],
    ]  # fmt: skip
    for command, stdout in forms:
        parse_recorded(command, stdout)


def test_a_recorded_output_is_parsed_when_recorded(tmp_path):
    recorded = RecordedWrappers(tmp_path)
    stand_in = SimpleNamespace(account=ACCOUNT)
    answer_browse(recorded, stand_in, SNAPSHOT)  # support's own recording parses
    with pytest.raises(Failed, match=r"snapshot-list\.py: .*volumes\.bmtresults\.snapshots"):
        recorded.answer("snapshot-list.py", {"volumes": {ACCOUNT: {"supported": False}}})
    with pytest.raises(Failed, match=r"umount\.py: .*result: not an object but NoneType"):
        recorded.answer(f"umount.py {ACCOUNT}", None)


def test_every_wrapper_the_portal_runs_has_a_parser_for_its_recordings():
    source_text = Path(commands.__file__).read_text()
    # Through run(): a JSON result. (snapshot-read.py is streamed: its header
    # is checked where the stream is opened, client.stream.)
    called = set(re.findall(r'\brun\(\s*"([a-z_-]+\.py)"', source_text))
    called |= {f"mkfs-{filesystem}.py" for filesystem in ("ext4", "btrfs", "xfs")}
    # The second server's report: written by another machine, so parsed as
    # hostile by the app that owns its shape (backup.replica.services).
    called -= {"replica-status.py"}
    assert called <= set(PARSERS), called - set(PARSERS)


def test_a_reason_quotes_a_huge_value_only_in_part():
    with pytest.raises(Failed) as raised:
        results.parse("vgdisplay.py", pool(name=["x" * 10_000] * 100_000), results.pool)
    assert raised.value.reason.startswith("returned a malformed result: name: not text but [")
    assert len(raised.value.reason) < 120
