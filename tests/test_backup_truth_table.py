"""The scan's truth table: every layout the format tests build, scanned,
and judged right, honestly unknown, wrong or not recognised.

Run with -s to see the table (format / expected / verdict); the test fails
on any verdict other than the one the layout expects. Real tools' own
repositories are judged by tests/test_backup_formats.py (test_real_*).
"""

import sys
from pathlib import Path

import pytest

from support import backup_layouts
from support.backup_layouts import CASES, DAY, T0, Case, iso

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "wrappers"))
import test_backup_formats as formats  # the existing formats' layout builders

from wrapperlib import discovery


def _existing_cases():
    def history(root):
        formats.time_machine_bundle(root, "Ann's MacBook.sparsebundle", [T0 - DAY, T0])

    def rdiff(root):
        when = "2024-03-01T09:00:00Z"
        formats.rdiff_repository(root / "laptop", [when], [when])

    def back_in_time(root):
        profile = root / "backintime" / "host" / "ann" / "1"
        formats.backintime_snapshot(profile, "20240229-100000-456", T0)

    def borg(root):
        formats.borg_repository(root / "borg")

    def duplicity(root):
        full = "duplicity-full.20240301T090000Z"
        backup_layouts.touch(root / "dup" / f"{full}.manifest", T0, b"Hostname pc\n")
        backup_layouts.touch(root / "dup" / f"{full}.vol1.difftar.gz", T0)

    def duplicati(root):
        backup_layouts.touch(root / "dt" / "duplicati-20240301T090000Z.dlist.zip.aes", T0)

    def kopia(root):
        backup_layouts.touch(root / "kopia" / "kopia.repository.f", T0 - DAY, formats.FORMAT_BLOB)
        backup_layouts.touch(root / "kopia" / "xn0_1234-s1.f", T0, b"index")

    def file_history(root):
        pc = root / "FileHistory" / "ann" / "LAPTOP"
        backup_layouts.touch(pc / "Configuration" / "Config1.edb", T0)
        backup_layouts.set_time(pc / "Configuration", T0 - DAY)
        (pc / "Data").mkdir()

    def shared_restic(root):
        # Two computers' snapshots, encrypted: the stale one's can't be told apart.
        backup_layouts.restic_repository(root / "restic", backups=[T0 - 30 * DAY, T0])

    return [
        Case(
            "Time Machine with snapshot history",
            history,
            "Ann's MacBook.sparsebundle",
            "time_machine",
            {"last_backup": iso(T0), "backups": 2},
        ),
        Case("rdiff-backup", rdiff, "laptop", "rdiff_backup", {"last_backup": iso(T0)}),
        Case(
            "Back In Time",
            back_in_time,
            "backintime/host/ann/1",
            "back_in_time",
            {"last_backup": iso(T0), "backups": 1},
        ),
        Case(
            "Borg 1 repository",
            borg,
            "borg",
            "borg",
            {"last_backup": iso(T0), "evidence": "repository_change"},
            kind="honest",
        ),
        Case("duplicity", duplicity, "dup", "duplicity", {"last_backup": iso(T0), "machine": "pc"}),
        Case("Duplicati", duplicati, "dt", "duplicati", {"last_backup": iso(T0), "backups": 1}),
        Case(
            "Kopia repository",
            kopia,
            "kopia",
            "kopia",
            {"last_backup": iso(T0), "evidence": "repository_change"},
            kind="honest",
        ),
        Case(
            "Windows File History",
            file_history,
            "FileHistory/ann/LAPTOP",
            "windows_file_history",
            {"last_backup": iso(T0), "machine": "LAPTOP"},
        ),
        # Known wrong from the scan alone: one source, the newest computer's
        # date. Each computer's own check-in (backup.checkins) tells them apart.
        Case(
            "restic repository shared by two computers, one stale",
            shared_restic,
            "restic",
            "restic",
            {"last_backup": iso(T0 - 30 * DAY)},
            kind="wrong",
        ),
    ]


ALL_CASES = _existing_cases() + CASES


def verdict(case, report):
    """right / honest / wrong / not recognised, as the case expects it (a
    case known to be wrong expects "wrong": the table shows it as it is)."""
    at_path = [source for source in report["sources"] if source["path"] == case.path]
    if case.format is None:
        listed = any(item["path"] == case.path for item in report["unrecognised"])
        return "right" if not at_path and listed else "wrong"
    matching = [source for source in at_path if source["format"] == case.format]
    if not matching:
        return "wrong" if at_path else "not recognised"
    source = matching[0]
    if all(source.get(key) == value for key, value in case.expected.items()):
        return case.kind
    return "wrong"


def _judge(case, root):
    root.mkdir()
    case.build(root)
    report = discovery.scan(str(root), discovery.Limits(200_000, 20))
    return verdict(case, report), report


def test_truth_table(tmp_path, capsys):
    rows = []
    for index, case in enumerate(ALL_CASES):
        found, report = _judge(case, tmp_path / str(index))
        rows.append((case, found, report))
    width = max(len(case.name) for case, _, _ in rows)
    with capsys.disabled():
        print(f"\n{'layout':<{width}}  {'format':<20} {'expected':<9} verdict")
        for case, found, _ in rows:
            label = case.format or "(no backup)"
            print(f"{case.name:<{width}}  {label:<20} {case.kind:<9} {found}")
        counts = {}
        for _, found, _ in rows:
            counts[found] = counts.get(found, 0) + 1
        print("totals:", ", ".join(f"{key}: {value}" for key, value in sorted(counts.items())))
    wrong = [
        (case.name, found, report["sources"]) for case, found, report in rows if found != case.kind
    ]
    assert wrong == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_new_layout(case, tmp_path):
    found, report = _judge(case, tmp_path / "volume")
    assert found == case.kind, report
